"""The language model (forward + backward LSTM, sampled softmax), its checkpoint and resume,
loading its encoder into a classifier, and fine-tuning rates and gradual unfreezing."""

from __future__ import annotations

import numpy as np
import pytest

from sweep.model import (
    LMSettings,
    ModelConfig,
    TrainConfig,
    build_model,
    compile_model,
    fine_tuning,
    fit,
    lm_windows,
    load_encoder,
    pretrain_language_model,
)
from sweep.model._pretrain import reverse_rows

SETTINGS = LMSettings(embedding_dim=16, units=16, window=16, epochs=3, batch_size=32, sampled=8)


def _cyclic_corpus(n: int = 300, vocab: int = 40, seed: int = 0) -> list[np.ndarray]:
    """Reviews that count up through the vocabulary from a random start: each next word is
    fully predictable from the one before, so a language model can learn it."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        start, length = rng.integers(0, vocab - 2), rng.integers(10, 60)
        out.append(np.array([2 + (start + j) % (vocab - 2) for j in range(length)], np.int32))
    return out


def test_lm_windows_cut_reviews_into_overlapping_rows_and_reverse_keeps_padding_last():
    rows = lm_windows([np.arange(2, 9), np.array([5]), np.array([3, 4])], window=4)
    # 7 words: inputs 2..5 / targets 3..6, then 6..8; one word gives no row; two words one row
    assert rows.tolist() == [[2, 3, 4, 5, 6], [6, 7, 8, 0, 0], [3, 4, 0, 0, 0]]
    assert reverse_rows(rows).tolist() == [[6, 5, 4, 3, 2], [8, 7, 6, 0, 0], [4, 3, 0, 0, 0]]


def test_language_model_loss_falls_and_perplexity_drops(tmp_path):
    weights, history = pretrain_language_model(
        _cyclic_corpus(), 40, SETTINGS, tmp_path / "ckpt", progress=False
    )
    assert [h.epoch for h in history] == [1, 2, 3]
    assert history[-1].loss < history[0].loss
    assert history[-1].val_loss < history[0].val_loss
    assert history[-1].perplexity < 0.8 * history[0].perplexity
    assert history[-1].perplexity == pytest.approx(np.exp(history[-1].val_loss))
    assert [w.shape for w in weights["lstm_0"]] == [w.shape for w in weights["lstm_0_backward"]]
    assert weights["embedding"][0].shape == (40, 16)


def test_an_interrupted_pretraining_resumes_at_its_next_epoch(tmp_path):
    class Stop(Exception):
        pass

    def stop_after_first(entry, weights, history):
        assert [h.epoch for h in history] == [1] and set(weights) == {
            "embedding",
            "lstm_0",
            "lstm_0_backward",
        }
        if entry.epoch == 1:
            raise Stop

    folder = tmp_path / "ckpt"
    with pytest.raises(Stop):
        pretrain_language_model(
            _cyclic_corpus(), 40, SETTINGS, folder, progress=False, on_epoch=stop_after_first
        )
    trained = []
    _, history = pretrain_language_model(
        _cyclic_corpus(),
        40,
        SETTINGS,
        folder,
        progress=False,
        on_epoch=lambda entry, weights, history: trained.append(entry),
    )
    assert [e.epoch for e in trained] == [2, 3]  # epoch 1 came from the checkpoint
    assert [h.epoch for h in history] == [1, 2, 3]
    # a finished checkpoint trains nothing more
    trained.clear()
    pretrain_language_model(
        _cyclic_corpus(),
        40,
        SETTINGS,
        folder,
        progress=False,
        on_epoch=lambda entry, weights, history: trained.append(entry),
    )
    assert trained == []
    # nor does a checkpoint past the epochs asked for stand in for fewer
    with pytest.raises(ValueError, match="at epoch 3, past the 2 asked for"):
        pretrain_language_model(_cyclic_corpus(), 40, replace_epochs(2), folder, progress=False)


def test_a_corpus_too_small_for_one_window_is_refused(tmp_path):
    from sweep.data import DataError

    with pytest.raises(DataError, match="needs at least 2: use more training or unlabelled"):
        pretrain_language_model([np.array([3])], 40, SETTINGS, tmp_path, progress=False)


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    weights, _ = pretrain_language_model(
        _cyclic_corpus(), 40, replace_epochs(1), tmp_path_factory.mktemp("lm"), progress=False
    )
    return weights


def replace_epochs(epochs: int) -> LMSettings:
    from dataclasses import replace

    return replace(SETTINGS, epochs=epochs)


@pytest.mark.parametrize("architecture", ["lstm", "bilstm", "stacked_lstm"])
def test_the_encoder_loads_into_the_classifier_first_lstm_layer(encoder, architecture):
    config = ModelConfig(
        architecture=architecture,
        vocab_size=30,
        sequence_length=20,
        embedding_dim=16,
        units=16,
        layers=2 if architecture == "stacked_lstm" else 1,
    )
    net = build_model(config)
    done = load_encoder(net, encoder, "encoder")
    expected = {"embedding", "lstm_0"} | (
        {"lstm_0_backward"} if architecture == "bilstm" else set()
    )
    assert set(done) == expected
    # the classifier's vocabulary is a prefix of the language model's
    np.testing.assert_array_equal(
        net.get_layer("embedding").get_weights()[0], encoder["embedding"][0][:30]
    )
    for name in set(done) - {"embedding"}:
        for got, want in zip(net.get_layer(name).get_weights(), encoder[name], strict=True):
            np.testing.assert_array_equal(got, want)


def test_an_encoder_of_other_sizes_is_refused_with_the_reason(encoder):
    net = build_model(ModelConfig(vocab_size=30, embedding_dim=16, units=8))
    with pytest.raises(ValueError, match="units and embedding_dim"):
        load_encoder(net, encoder, "encoder")


def _changed(before, net, name):
    return any(
        not np.array_equal(a, b)
        for a, b in zip(before[name], net.get_layer(name).get_weights(), strict=True)
    )


def test_gradual_unfreezing_trains_the_head_then_the_lstm_then_the_embedding(encoder, seeded):
    config = ModelConfig(vocab_size=30, sequence_length=20, embedding_dim=16, units=16)
    train = TrainConfig(
        epochs=1,
        batch_size=16,
        early_stopping_patience=0,
        reduce_lr_patience=0,
        unfreeze="gradual",
        encoder_rate=0.5,
    )
    net = compile_model(build_model(config), train)
    pretrained = load_encoder(net, encoder, "encoder")
    callbacks = [fine_tuning(net, pretrained, train.encoder_rate, train.unfreeze)]
    rng = np.random.default_rng(0)
    x = rng.integers(1, 30, size=(64, 20)).astype("int32")
    y = rng.integers(0, 2, size=64).astype("int32")
    moved = []
    for epoch in range(3):
        before = {n: net.get_layer(n).get_weights() for n in ("embedding", "lstm_0", "positive")}
        fit(net, (x, y), None, train, callbacks=callbacks, initial_epoch=epoch, epochs=epoch + 1)
        moved.append({n for n in before if _changed(before, net, n)})
    assert moved == [{"positive"}, {"positive", "lstm_0"}, {"positive", "lstm_0", "embedding"}]


def test_all_layers_train_from_the_start_without_gradual_unfreezing(encoder, seeded):
    config = ModelConfig(vocab_size=30, sequence_length=20, embedding_dim=16, units=16)
    train = TrainConfig(epochs=1, batch_size=16, early_stopping_patience=0, reduce_lr_patience=0)
    net = compile_model(build_model(config), train)
    pretrained = load_encoder(net, encoder, "encoder")
    callbacks = [fine_tuning(net, pretrained, 0.1, "all")]
    rng = np.random.default_rng(1)
    x = rng.integers(1, 30, size=(64, 20)).astype("int32")
    before = {n: net.get_layer(n).get_weights() for n in ("embedding", "lstm_0")}
    fit(net, (x, rng.integers(0, 2, 64).astype("int32")), None, train, callbacks=callbacks)
    assert _changed(before, net, "embedding") and _changed(before, net, "lstm_0")


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "rmsprop"])
def test_a_rate_scale_shrinks_the_first_step_of_its_weights(optimizer):
    import keras

    from sweep.model._train import make_optimizer

    def first_step(scale):
        keras.utils.set_random_seed(0)
        net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, name="d")])
        opt = make_optimizer(TrainConfig(optimizer=optimizer, learning_rate=1e-2, weight_decay=0))
        net.compile(opt, "mse")
        if scale is not None:
            opt.scale_rates(net.get_layer("d").trainable_variables, keras.Variable(scale))
        before = net.get_layer("d").get_weights()[0]
        x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
        net.fit(x, x.sum(1), batch_size=32, epochs=1, verbose=0)
        return np.abs(net.get_layer("d").get_weights()[0] - before)

    np.testing.assert_allclose(first_step(0.25), 0.25 * first_step(None), rtol=1e-3)
