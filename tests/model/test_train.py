"""Length-bucketed input: every review once per epoch, batches of similar length, nothing cut;
training state built before the first trace; a warm latency measurement."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from sweep.model import (
    ModelConfig,
    TrainConfig,
    build_model,
    compile_model,
    fit,
    inference_latency_ms,
    make_dataset,
)
from sweep.model._train import length_batches, token_lengths


def _right_padded(lengths, width=50, seed=0):
    rng = np.random.default_rng(seed)
    x = np.zeros((len(lengths), width), dtype=np.int32)
    for i, n in enumerate(lengths):
        x[i, :n] = rng.integers(1, 100, n)
    return x


def test_length_batches_cover_every_row_once_and_group_similar_lengths():
    rng = np.random.default_rng(1)
    lengths = rng.integers(1, 400, 5000)
    batches = length_batches(lengths, 32, np.random.default_rng(0), pool=16)
    rows = np.concatenate(batches)
    assert sorted(rows.tolist()) == list(range(5000))
    assert all(len(b) <= 32 for b in batches) and sum(len(b) == 32 for b in batches) >= 150
    spread = np.mean([np.ptp(lengths[b]) for b in batches])
    random_spread = np.mean(
        [np.ptp(lengths[b]) for b in np.array_split(rng.permutation(5000), 157)]
    )
    assert spread < random_spread / 5
    again = length_batches(lengths, 32, np.random.default_rng(0), pool=16)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again, strict=True))  # seeded
    other = length_batches(lengths, 32, np.random.default_rng(1), pool=16)
    assert not all(np.array_equal(a, b) for a, b in zip(batches, other, strict=True))


def test_bucketed_dataset_cuts_batches_to_their_longest_review_and_loses_no_token():
    lengths = np.random.default_rng(3).integers(1, 50, 300)
    x = _right_padded(lengths)
    y = (np.arange(300) % 2).astype("float32")
    seen_tokens, seen_rows, widths = 0, 0, []
    for xb, yb in make_dataset(x, y, 16, shuffle=True, seed=0):
        xb = xb.numpy()
        widths.append(xb.shape[1])
        assert xb.shape[1] == token_lengths(xb).max()  # cut to the longest review, no more
        seen_tokens += int(token_lengths(xb).sum())
        seen_rows += len(xb)
        assert len(yb) == len(xb)
    assert seen_rows == 300 and seen_tokens == int(lengths.sum())
    assert len(widths) == make_dataset(x, y, 16).cardinality().numpy() == 19  # known to Keras
    assert np.mean(widths) < 50 * 0.8  # most batches are shorter than the full width
    first = [b[0].numpy().tolist() for b in make_dataset(x, y, 16, shuffle=True, seed=0)]
    second = [b[0].numpy().tolist() for b in make_dataset(x, y, 16, shuffle=True, seed=1)]
    assert first != second  # a new seed (fit passes seed + epoch) gives a new order
    plain = next(iter(make_dataset(x, y, 16, bucket=False)))[0]
    assert plain.shape == (16, 50)


def test_pipelines_run_without_the_autotune_model_thread():
    """Deleting an exhausted iterator waits for tf.data's autotuning model thread, which sleeps
    out a period that doubles to 60 s while the iterator lives: 0.6 s after a 0.5 s epoch, 9.5 s
    after a 13 s one (bench/iterator_teardown.py). A trial drops one such iterator per epoch."""
    x = _right_padded(np.random.default_rng(4).integers(1, 50, 64))
    y = np.zeros(64, dtype="float32")
    for bucket in (True, False):
        ds = make_dataset(x, y, 16, shuffle=True, bucket=bucket)
        assert ds.options().autotune.enabled is False
        assert sum(len(b[0]) for b in ds) == 64  # prefetching still yields every row


def _counting(net, step: str) -> list[int]:
    """Count how often Keras traces ``net``'s ``train_step``/``predict_step``."""
    calls, original = [0], getattr(net, step)

    def counted(data):
        calls[0] += 1
        return original(data)

    setattr(net, step, counted)
    return calls


@pytest.mark.parametrize(
    "config",
    [
        ModelConfig(vocab_size=200, sequence_length=48, embedding_dim=8, units=4),
        ModelConfig(
            architecture="bilstm",
            vocab_size=200,
            sequence_length=48,
            embedding_dim=8,
            units=4,
            ngram_buckets=256,
        ),
    ],
    ids=["lstm", "bilstm-ngram"],
)
@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
def test_compile_model_builds_optimizer_and_metrics_so_the_train_step_is_traced_once(
    tiny_vectors, config, optimizer
):
    train = (tiny_vectors.x_train[:64, :48], tiny_vectors.y_train[:64])
    val = (tiny_vectors.x_val[:32, :48], tiny_vectors.y_val[:32])
    cfg = TrainConfig(epochs=2, batch_size=16, optimizer=optimizer)
    net = compile_model(build_model(config), cfg)
    assert net.optimizer.built and len(net.optimizer.variables) > 1
    traces = _counting(net, "train_step")
    inside = []

    def creator(next_creator, **kwargs):
        inside.append((kwargs.get("name"), tf.inside_function()))
        return next_creator(**kwargs)

    with tf.variable_creator_scope(creator):
        results = fit(net, train, val, cfg)
    assert [name for name, traced in inside if traced] == []  # nothing created while tracing
    assert traces[0] == 1  # Keras' default (state created in the first trace) traces twice
    assert len(results) == 2 and all(np.isfinite(r.val_loss) for r in results)

    plain = build_model(config)
    plain.compile(optimizer=keras.optimizers.Adam(), loss="binary_crossentropy")
    default = _counting(plain, "train_step")
    plain.fit(*train, batch_size=16, epochs=1, verbose=0)
    assert default[0] == 2  # what the build above avoids; if Keras changes, this says so


def test_inference_latency_is_timed_warm_without_a_trace_inside_the_timing(tiny_vectors):
    net = compile_model(
        build_model(ModelConfig(vocab_size=200, sequence_length=48, embedding_dim=8, units=4)),
        TrainConfig(),
    )
    traces = _counting(net, "predict_step")
    ms = inference_latency_ms(net, tiny_vectors.x_val[:, :48], n=64, batch_size=32)
    assert ms > 0 and np.isfinite(ms)
    assert traces[0] == 2  # the warm-up's two batch shapes; the timed batches reuse the second
    net.predict(tiny_vectors.x_val[:64, :48], batch_size=32, verbose=0)
    assert traces[0] == 2
    assert np.isnan(inference_latency_ms(net, tiny_vectors.x_val[:0, :48]))


def test_a_run_given_a_gpu_refuses_to_train_on_the_cpu(monkeypatch):
    from sweep.model import GpuUnavailable, configure_runtime

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")  # what Ray sets for a GPU trial
    if tf.config.list_physical_devices("GPU"):
        configure_runtime(gpus=0.5)  # a machine with a GPU: nothing to refuse
        return
    configure_runtime(gpus=0)  # a CPU run on a CPU machine is fine
    expected = r"given 0\.5 GPU .*CUDA_VISIBLE_DEVICES=0.*sees no GPU"
    with pytest.raises(GpuUnavailable, match=expected):
        configure_runtime(gpus=0.5)
