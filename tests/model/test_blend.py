"""The branch weight: fitted on validation (pure), applied at inference, saved with the model."""

from __future__ import annotations

import numpy as np
import pytest

from sweep.model import (
    WEIGHT_GRID,
    BranchDropout,
    ModelConfig,
    TrainConfig,
    blend_layer,
    branch_logits,
    build_model,
    fit,
    fit_branch_weight,
    set_branch_weight,
)

TINY = ModelConfig(
    architecture="bilstm", vocab_size=200, sequence_length=48, embedding_dim=8, units=4,
    pooling="max", ngram_buckets=64, ngram_dim=4,
)  # fmt: skip


def _logits(seed=0, n=2000):
    """Labels, a branch that is right 90 % of the time and one that is right 60 %."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n).astype("float32")
    sign = 2 * y - 1
    good = sign * rng.normal(2.0, 1.6, n)  # P(right) ~ 0.9
    weak = sign * rng.normal(0.5, 2.0, n)  # P(right) ~ 0.6
    return y, good, weak


@pytest.mark.parametrize("metric", ["val_accuracy", "val_auc", "val_loss", "accuracy"])
def test_the_weight_follows_the_better_branch(metric):
    y, good, weak = _logits()
    lstm_good = fit_branch_weight(np.stack([good, weak], 1), y, metric)
    bag_good = fit_branch_weight(np.stack([weak, good], 1), y, metric)
    assert lstm_good in WEIGHT_GRID and bag_good in WEIGHT_GRID
    assert lstm_good > 0.5 > bag_good
    assert lstm_good == pytest.approx(1.0 - bag_good)  # the same problem, mirrored


def test_a_flat_validation_curve_keeps_the_mean():
    y, good, _ = _logits()
    assert fit_branch_weight(np.stack([good, good], 1), y) == 0.5  # every weight ties
    assert fit_branch_weight(np.zeros((0, 2)), np.zeros(0)) == 0.5  # nothing to fit on


def test_an_unknown_metric_names_the_choices():
    choices = "val_accuracy, val_macro_f1, val_auc or val_loss"
    with pytest.raises(ValueError, match=f"metric='f1': choose {choices}"):
        fit_branch_weight(np.zeros((4, 2)), np.zeros(4), "f1")


def test_branch_dropout_weighs_branches_at_inference_and_saves_the_weights():
    lstm = np.full((5, 1), 1.0, "float32")
    bag = np.full((5, 1), 3.0, "float32")
    layer = BranchDropout(branch_weights=(0.25, 0.75))
    np.testing.assert_allclose(np.asarray(layer([lstm, bag])), 2.5)
    config = layer.get_config()
    assert config["branch_weights"] == [0.25, 0.75]
    np.testing.assert_allclose(np.asarray(BranchDropout.from_config(config)([lstm, bag])), 2.5)
    del config["branch_weights"]  # a model saved before the weights existed: the mean
    np.testing.assert_allclose(np.asarray(BranchDropout.from_config(config)([lstm, bag])), 2.0)


@pytest.fixture(scope="module")
def trained(tiny_vectors):
    import keras

    keras.utils.set_random_seed(0)
    net = build_model(TINY)
    fit(net, (tiny_vectors.x_train, tiny_vectors.y_train), None, TrainConfig(epochs=1))
    return net


def test_branch_logits_come_back_in_input_order_and_make_the_models_output(trained, tiny_vectors):
    import keras

    x = tiny_vectors.x_val
    logits = branch_logits(trained, x, batch_size=16)  # batched by length, then put back
    heads = keras.Model(
        trained.inputs, [trained.get_layer(n).output for n in ("lstm_logit", "ngram_logit")]
    )
    direct = np.concatenate([np.asarray(z) for z in heads.predict(x, verbose=0)], axis=1)
    assert logits.shape == (len(x), 2)
    np.testing.assert_allclose(logits, direct, atol=1e-5)  # padding changes nothing
    p = trained.predict(x, verbose=0).ravel()
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-logits.mean(axis=1))), atol=1e-5)


def test_setting_the_weight_changes_the_next_prediction(trained, tiny_vectors):
    x = tiny_vectors.x_val[:32]
    logits = branch_logits(trained, x)
    try:
        trained.predict(x, verbose=0)  # traced with the mean
        set_branch_weight(trained, 1.0)  # the LSTM alone
        np.testing.assert_allclose(
            trained.predict(x, verbose=0).ravel(), 1 / (1 + np.exp(-logits[:, 0])), atol=1e-5
        )
        set_branch_weight(trained, 0.0)  # the bag alone
        np.testing.assert_allclose(
            trained.predict(x, verbose=0).ravel(), 1 / (1 + np.exp(-logits[:, 1])), atol=1e-5
        )
        with pytest.raises(ValueError, match=r"branch weight 1.5 must be in \[0, 1\]"):
            set_branch_weight(trained, 1.5)
    finally:
        set_branch_weight(trained, None)
    assert blend_layer(trained).branch_weights is None


def test_an_lstm_only_model_has_no_blend():
    net = build_model(ModelConfig(vocab_size=50, sequence_length=8, embedding_dim=4, units=2))
    assert blend_layer(net) is None
    set_branch_weight(net, 0.3)  # nothing to set: no error
