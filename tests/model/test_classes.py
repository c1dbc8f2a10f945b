"""K-class models: a softmax head on every architecture and the n-gram blend, K-class
metrics and reports (scikit-learn's), and the binary model unchanged."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sweep.data import DataConfig, prepare_splits, vectorize_splits
from sweep.model import (
    ModelConfig,
    TrainConfig,
    build_model,
    evaluate,
    evaluate_probabilities,
    fit,
    fit_branch_weight,
    write_evaluation_report,
)
from tests import _synthetic

ARCHITECTURES = [
    ("lstm", {}),
    ("stacked_lstm", {"layers": 2}),
    ("bilstm", {"pooling": "max"}),
    ("conv_lstm", {"conv_filters": 4, "conv_kernel_size": 3}),
]
TINY = {"vocab_size": 60, "sequence_length": 16, "embedding_dim": 8, "units": 4}


@pytest.mark.parametrize("ngram", [0, 64], ids=["lstm only", "with n-gram branch"])
@pytest.mark.parametrize("architecture,extra", ARCHITECTURES, ids=[a for a, _ in ARCHITECTURES])
def test_k_classes_give_a_softmax_and_two_a_sigmoid(architecture, extra, ngram):
    ids = np.random.default_rng(0).integers(1, 60, (5, 16)).astype("int32")
    ids[0, 10:] = 0  # padding
    for k in (2, 3, 5):
        cfg = ModelConfig(architecture, **TINY, **extra, ngram_buckets=ngram, num_classes=k)
        net = build_model(cfg)
        out = np.asarray(net(ids, training=False))
        if k == 2:
            assert out.shape == (5, 1) and ((out > 0) & (out < 1)).all()
        else:
            assert out.shape == (5, k)
            np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
        trained = np.asarray(net(ids, training=True))  # BranchDropout's training path
        assert trained.shape == out.shape


@pytest.fixture(scope="module")
def three_class_vectors(tmp_path_factory):
    folder = tmp_path_factory.mktemp("k3")
    path = _synthetic.write_table(
        folder / "t.csv", _synthetic.class_corpus(["bug", "billing", "account"], 120)
    )
    splits = prepare_splits(DataConfig(str(path), cache_dir=str(folder / "cache")), progress=False)
    return splits, vectorize_splits(splits, 200, 40)


def test_a_three_class_model_learns_with_the_n_gram_blend(three_class_vectors):
    _, vec = three_class_vectors
    cfg = ModelConfig(
        vocab_size=200,
        sequence_length=40,
        embedding_dim=16,
        units=8,
        ngram_buckets=512,
        num_classes=3,
    )
    net = build_model(cfg)
    history = fit(
        net,
        (vec.x_train, vec.y_train),
        (vec.x_val, vec.y_val),
        TrainConfig(
            epochs=6,
            batch_size=32,
            learning_rate=5e-3,
            early_stopping_patience=0,
            reduce_lr_patience=0,
        ),
    )
    assert np.isfinite(history[-1].val_macro_f1) and np.isnan(history[-1].val_auc)
    test, p = evaluate(net, vec.x_test, vec.y_test, classes=vec.classes)
    assert p.shape == (len(vec.y_test), 3)
    assert test.accuracy > 0.8, test  # chance is 1/3; each class has its own cue words
    assert test.classes == ["account", "billing", "bug"]
    assert np.array(test.confusion_matrix).shape == (3, 3)


def test_k_class_metrics_on_a_known_example():
    y = np.array([0, 1, 2, 2])
    p = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.6, 0.3], [0.1, 0.1, 0.8]])
    m = evaluate_probabilities(y, p, ["a", "b", "c"])
    assert m.accuracy == 0.75
    assert m.confusion_matrix == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
    # per class F1: a 1, b 2/3 (precision 1/2, recall 1), c 2/3 (precision 1, recall 1/2)
    assert m.macro_f1 == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)
    assert m.report["c"]["recall"] == 0.5 and m.report["b"]["precision"] == 0.5
    assert m.roc_auc_per_class["a"] == 1.0
    assert m.roc_auc == pytest.approx(np.mean(list(m.roc_auc_per_class.values())))
    assert m.loss == pytest.approx(-np.mean(np.log([0.8, 0.7, 0.3, 0.8])), rel=1e-5)


def test_binary_metrics_are_unchanged_by_k_classes():
    y = np.array([0, 0, 1, 1])
    m = evaluate_probabilities(y, np.array([0.1, 0.6, 0.7, 0.4]))
    assert m.classes == ["negative", "positive"]
    assert (m.precision, m.recall, m.accuracy) == (0.5, 0.5, 0.5)
    assert m.confusion_matrix == [[1, 1], [1, 1]]


def test_the_blend_weight_for_k_classes_follows_the_branch_that_is_right():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 200)
    right = np.eye(4)[y] * 3.0  # logits that pick the true class
    wrong = np.eye(4)[(y + 1) % 4] * 3.0
    logits = np.stack([right, wrong], axis=-1)  # [n, K, branches]: LSTM right, bag wrong
    # every weight above 0.5 classifies all right: the tie goes to the one nearest the mean
    assert fit_branch_weight(logits, y, "val_accuracy") == 0.55
    assert fit_branch_weight(np.stack([wrong, right], axis=-1), y, "val_macro_f1") == 0.45
    assert fit_branch_weight(logits, y, "val_loss") == 1.0  # the loss keeps improving


def test_a_k_class_report_has_per_class_metrics_roc_curves_and_errors(tmp_path):
    rng = np.random.default_rng(1)
    y = np.repeat([0, 1, 2], 30)
    p = rng.dirichlet([1, 1, 1], len(y))
    p[np.arange(len(y)), y] += 1.0  # mostly right, some confidently wrong
    p /= p.sum(axis=1, keepdims=True)
    p[0] = [0.05, 0.9, 0.05]  # the most confident mistake of class "x"
    texts = [f"text {i}" for i in range(len(y))]
    metrics = write_evaluation_report(tmp_path, y, p, texts, classes=["x", "y", "z"])
    assert json.loads((tmp_path / "metrics.json").read_text())["classes"] == ["x", "y", "z"]
    assert set(metrics["roc_auc_per_class"]) == {"x", "y", "z"}
    report = (tmp_path / "classification_report.txt").read_text()
    assert all(name in report for name in ("x", "y", "z", "macro avg", "weighted avg"))
    import pandas as pd

    errors = pd.read_csv(tmp_path / "errors.csv")
    wrong = np.argmax(p, axis=1) != y
    assert len(errors) == int(wrong.sum())
    assert (errors["label"] != errors["predicted"]).all()
    first_x = errors[errors["label"] == "x"].iloc[0]
    assert (first_x["text"], first_x["predicted"]) == ("text 0", "y")
    for name in ("confusion_matrix.png", "roc_curve.png", "report.html"):
        assert (tmp_path / name).stat().st_size > 1000
    assert "Most confidently wrong: class z" in (tmp_path / "report.html").read_text()


def test_balanced_class_weights_are_scikit_learns_and_lift_a_rare_class():
    import keras

    from sweep.model._train import class_weights

    y = np.array([0] * 90 + [1] * 10 + [2] * 20)
    assert class_weights(y) == pytest.approx({0: 120 / (3 * 90), 1: 120 / (3 * 10), 2: 2.0})
    rng = np.random.default_rng(0)
    x = rng.integers(1, 60, (len(y), 16)).astype("int32")  # no signal: only the prior is learnt
    mean_rare = {}
    for weighting in ("none", "balanced"):
        keras.utils.set_random_seed(0)
        net = build_model(ModelConfig(**TINY, num_classes=3))
        fit(
            net,
            (x, y),
            None,
            TrainConfig(epochs=3, batch_size=16, learning_rate=0.01, class_weight=weighting),
        )
        mean_rare[weighting] = float(np.asarray(net.predict(x, verbose=0))[:, 1].mean())
    # unweighted, the model learns the prior (about 10/120 for class 1); balanced, each class
    # weighs the same, so the rare class gets about a third
    assert mean_rare["none"] < 0.2 < mean_rare["balanced"]
