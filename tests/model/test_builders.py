"""Each architecture builds, trains a step, and (with masking) learns above chance."""

from __future__ import annotations

import numpy as np
import pytest

from sweep.model import (
    BranchDropout,
    ConfigError,
    ModelConfig,
    TrainConfig,
    build_model,
    evaluate,
    fit,
    ngram_ids,
)

SMALL = {"vocab_size": 200, "sequence_length": 48, "embedding_dim": 8, "units": 4}


@pytest.mark.parametrize(
    "extra",
    [
        {"architecture": "lstm"},
        {"architecture": "stacked_lstm", "layers": 2},
        {"architecture": "bilstm"},
        {"architecture": "bilstm", "pooling": "max"},
        {"architecture": "bilstm", "pooling": "mean"},
        {"architecture": "conv_lstm", "conv_filters": 8, "conv_kernel_size": 3},
        {"architecture": "lstm", "ngram_buckets": 64},
        {"architecture": "bilstm", "pooling": "max", "ngram_buckets": 64, "ngram_dim": 4},
    ],
    ids=lambda e: "-".join(str(v) for v in e.values()),
)
def test_each_architecture_builds_and_trains_one_step(extra, tiny_vectors, seeded):
    cfg = ModelConfig(**SMALL, **extra)
    net = build_model(cfg)
    assert net.output_shape == (None, 1)
    x, y = tiny_vectors.x_train[:64, :48], tiny_vectors.y_train[:64]
    before = [w.copy() for w in net.get_weights()]
    history = fit(net, (x, y), None, TrainConfig(epochs=1, batch_size=64))
    assert len(history) == 1 and np.isfinite(history[0].loss)
    assert any(not np.array_equal(a, b) for a, b in zip(before, net.get_weights(), strict=True))
    p = net.predict(x[:4], verbose=0)
    assert ((p > 0) & (p < 1)).all()


@pytest.mark.parametrize(
    "extra",
    [
        {"architecture": "lstm"},
        {"architecture": "stacked_lstm", "layers": 2},
        {"architecture": "bilstm", "pooling": "last"},
        {"architecture": "bilstm", "pooling": "max"},
        {"architecture": "bilstm", "pooling": "mean"},
        {"architecture": "conv_lstm", "conv_filters": 8, "conv_kernel_size": 3},
        {"architecture": "bilstm", "pooling": "mean", "ngram_buckets": 64},
        {"architecture": "conv_lstm", "ngram_buckets": 1000, "ngram_dim": 3},
    ],
    ids=lambda e: "-".join(str(v) for v in e.values()),
)
@pytest.mark.parametrize("kernel", ["keras", "projected"])
def test_prediction_does_not_depend_on_the_padding_that_follows(extra, kernel, seeded):
    """Training batches are cut to their longest review; serving pads to the full length.
    Both must give the same prediction."""
    cfg = ModelConfig(**{**SMALL, **extra, "sequence_length": 30, "lstm_kernel": kernel})
    net = build_model(cfg)
    seq = np.array([[5, 17, 3, 99, 42, 7, 8]], dtype=np.int32)
    exact = net.predict(seq, verbose=0)
    for pad in (1, 4, 23):
        padded = np.pad(seq, ((0, 0), (0, pad)))
        np.testing.assert_allclose(net.predict(padded, verbose=0), exact, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("architecture", ["lstm", "conv_lstm", "bilstm", "lstm+ngrams"])
def test_small_model_learns_above_chance_on_right_padded_input(architecture, tiny_vectors, seeded):
    v = tiny_vectors
    architecture, _, ngrams = architecture.partition("+")
    cfg = ModelConfig(
        **{**SMALL, "units": 8, "embedding_dim": 16},
        architecture=architecture,
        pooling="max" if architecture == "bilstm" else "last",
        ngram_buckets=256 if ngrams else 0,
    )
    net = build_model(cfg)
    history = fit(
        net,
        (v.x_train[:, :48], v.y_train),
        (v.x_val[:, :48], v.y_val),
        TrainConfig(epochs=6, batch_size=32, learning_rate=5e-3),
    )
    metrics, _ = evaluate(net, v.x_test[:, :48], v.y_test)
    assert max(r.val_accuracy for r in history) > 0.8
    assert metrics.accuracy > 0.8


def test_early_stopping_and_reduce_lr_act(tiny_vectors, seeded):
    v = tiny_vectors
    net = build_model(ModelConfig(**SMALL))
    # a huge learning rate makes validation stall, so both callbacks must act
    cfg = TrainConfig(
        epochs=12,
        batch_size=64,
        learning_rate=0.9,
        optimizer="rmsprop",
        early_stopping_patience=2,
        reduce_lr_patience=1,
    )
    history = fit(net, (v.x_train, v.y_train), (v.x_val, v.y_val), cfg)
    assert len(history) < 12
    assert history[-1].learning_rate < 0.9


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"architecture": "gru"}, "architecture='gru' is unknown"),
        ({"architecture": "stacked_lstm", "layers": 1}, "stacked_lstm needs layers >= 2"),
        ({"dropout": 1.5}, r"dropout=1.5 must be in \[0, 1\)"),
        ({"pooling": "sum"}, "pooling='sum' is unknown"),
        ({"units": 0}, "units=0 must be >= 1"),
        ({"ngram_buckets": -1}, r"ngram_buckets=-1 must be in \[0, 16777216\]"),
        ({"ngram_dim": 0}, "ngram_dim=0 must be >= 1"),
    ],
)
def test_bad_model_config_names_the_value(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        ModelConfig(**kwargs)


def test_bad_train_config_names_the_value():
    with pytest.raises(ConfigError, match="optimizer='sgdx' is unknown"):
        TrainConfig(optimizer="sgdx")
    with pytest.raises(ConfigError, match="learning_rate=0 must be"):
        TrainConfig(learning_rate=0)


@pytest.mark.parametrize("kernel", ["keras", "projected"])
@pytest.mark.parametrize("pooling", [None, "last", "max"])
def test_unmasked_lstm_read_at_the_last_step_equals_keras_masked_lstm(pooling, kernel, seeded):
    """The LSTMs run unmasked for speed; the result must be Keras' masked LSTM's (within
    bfloat16's rounding of the projected inputs for the projected kernel)."""
    import keras

    arch = "lstm" if pooling is None else "bilstm"
    cfg = ModelConfig(
        **{**SMALL, "dropout": 0.0},
        architecture=arch,
        pooling=pooling or "last",
        lstm_kernel=kernel,
    )
    ours = build_model(cfg)
    ids = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(cfg.vocab_size, cfg.embedding_dim, mask_zero=True)(ids)
    lstm = keras.layers.LSTM(cfg.units, return_sequences=pooling == "max")
    both = keras.layers.Bidirectional(lstm)
    x = both(x) if arch == "bilstm" else lstm(x)
    if pooling == "max":  # max over the real steps of the masked LSTM's outputs
        real = keras.ops.not_equal(ids, 0)[..., None]
        x = keras.ops.max(keras.ops.where(real, x, -1e9), axis=1)
    head = keras.layers.Dense(1, activation="sigmoid")
    reference = keras.Model(ids, head(x))
    reference.layers[1].set_weights(ours.get_layer("embedding").get_weights())
    forward = both.forward_layer if arch == "bilstm" else lstm
    forward.set_weights(ours.get_layer("lstm_0").get_weights())
    if arch == "bilstm":
        both.backward_layer.set_weights(ours.get_layer("lstm_0_backward").get_weights())
    head.set_weights(ours.get_layer("positive").get_weights())
    rng = np.random.default_rng(0)
    batch = np.zeros((6, 20), dtype=np.int32)
    for row, n in enumerate([1, 3, 7, 12, 19, 20]):
        batch[row, :n] = rng.integers(1, cfg.vocab_size, n)
    tolerance = {"rtol": 1e-5, "atol": 1e-6} if kernel == "keras" else {"rtol": 0, "atol": 2e-3}
    np.testing.assert_allclose(
        ours.predict(batch, verbose=0), reference.predict(batch, verbose=0), **tolerance
    )


def test_ngram_ids_keep_words_hash_ordered_bigrams_and_skip_padding():
    ids = np.array([[5, 7, 9, 0, 0], [7, 5, 0, 0, 0]], dtype=np.int32)
    grams = np.asarray(ngram_ids(ids, vocab_size=10, buckets=1000))
    np.testing.assert_array_equal(grams[:, :5], ids)  # words keep their own rows
    bigrams = grams[:, 5:]
    assert bigrams[0].tolist() == [10 + 57, 10 + 79, 0, 0]  # a * vocab + b, offset by vocab
    assert bigrams[1].tolist() == [10 + 75, 0, 0, 0]  # (7, 5) is not (5, 7)
    small = np.asarray(ngram_ids(ids, vocab_size=10, buckets=7))[:, 5:]
    assert ((small == 0) | ((small >= 10) & (small < 17))).all()  # hashed into the buckets


def test_branch_dropout_averages_at_inference_and_drops_branches_in_training(seeded):
    layer = BranchDropout(seed=1)
    lstm = np.full((3000, 1), 1.0, "float32")
    bag = np.full((3000, 1), 3.0, "float32")
    np.testing.assert_allclose(np.asarray(layer([lstm, bag])), 2.0)
    trained = np.asarray(layer([lstm, bag], training=True)).ravel()
    values, counts = np.unique(trained, return_counts=True)
    assert values.tolist() == [1.0, 2.0, 3.0]  # the LSTM alone, both, the bag alone
    assert (np.abs(counts / 3000 - 1 / 3) < 0.05).all()
