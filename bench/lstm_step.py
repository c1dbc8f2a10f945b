"""Benchmark: why one LSTM epoch cannot get much faster on this CPU.

The training step of ``bench/epoch_throughput.py``'s LSTM (vocabulary 20,000, batch 128, 200
steps, embedding 128, 64 units) timed four ways, with the arithmetic rate each reaches, next to
what this CPU's matrix multiplication can do at all:

- ``keras_lstm``: ``keras.layers.LSTM`` as both paths of ``epoch_throughput`` run it (on CPU,
  Keras' per-step loop; cuDNN is GPU-only);
- ``keras_lstm_unrolled``: the same with ``unroll=True`` (no while loop, one long graph);
- ``hoisted_projection``: the input projection of all steps as one large matmul before the loop,
  only the recurrent matmul inside it (``keras.layers.RNN`` with a recurrent-only cell);
- ``keras_lstm_vocab_1000``: ``keras_lstm`` with a 1,000-word embedding, which shows what Adam's
  dense update of the 20,000 x 128 embedding costs per batch (Keras applies it to every row);
- ``keras_lstm_fused_adam``: ``keras_lstm`` with ``model.FusedAdam`` (the project's optimizer:
  the same update as one fused kernel);
- ``keras_lstm_xla``: ``keras_lstm`` compiled with XLA (``jit_compile=True``);
- ``projected_lstm`` and ``projected_lstm_float32``: ``model.ProjectedLSTM`` (the project's
  LSTM on a CPU with native bfloat16: the input projection of all steps as one product before
  the loop, in bfloat16, and in float32), with ``model.FusedAdam``;
- ``custom_bptt`` and ``custom_bptt_xla``: an LSTM with a hand-written backward pass
  (``bench/_custom_lstm.py``: input projection and recurrent-weight gradient hoisted out of the
  loops, local derivatives stored by the forward loop), without and with XLA; its gradients are
  compared with Keras' LSTM's on the same weights (``custom_bptt_max_gradient_difference``);
- ``matmul``: one step's matmul shape (batch x (embedding + units) by 4 x units) and a large
  square one, float32 and bfloat16 (this CPU's AMX units only help the large one).

A step's matmul work is 3 x 2 x batch x steps x (embedding + units) x 4 x units FLOPs (forward,
and the two matmuls per matmul of the backward pass); the element-wise gate arithmetic is left
out, so the rates are lower bounds. Prints JSON.

    python bench/lstm_step.py                 # 1 thread, as a sweep's trial runs here
    python bench/lstm_step.py --threads 2
    python bench/lstm_step.py --quick         # tiny shapes (CI)
    python bench/lstm_step.py --default-space # also: models of the default search space

``--default-space`` adds ``default_space_steps``: the training step of ``model.build_model``'s
models at sizes of the default sweep's space (n-gram branch, dropout 0.3, mean pooling for
``bilstm``, 300 steps), with ``lstm_kernel`` keras and projected, each the faster of two builds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _rate(flops: float, seconds: float) -> float:
    """GFLOP/s to 3 significant digits (one decimal place rounded the quick mode's tiny
    products to 0.0 on a slow VM)."""
    return float(f"{flops / seconds / 1e9:.3g}")


def _timed(fn, reps: int) -> float:
    """Seconds per call of ``fn`` after one warm-up call; the best of three rounds."""
    fn()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - start) / reps)
    return best


def lstm_steps(vocab: int, batch: int, steps: int, emb: int, units: int, reps: int) -> dict:
    import keras
    import numpy as np
    from keras import layers, ops

    class RecurrentOnlyCell(layers.Layer):
        """An LSTM cell whose input projection was done before the loop."""

        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = [units, units]
            self.output_size = units

        def build(self, input_shape):
            self.recurrent_kernel = self.add_weight(
                shape=(self.units, 4 * self.units), initializer="orthogonal"
            )

        def call(self, z, states, training=False):
            h, c = states
            i, f, g, o = ops.split(z + ops.matmul(h, self.recurrent_kernel), 4, axis=-1)
            c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
            h = ops.sigmoid(o) * ops.tanh(c)
            return h, [h, c]

    from _custom_lstm import CustomBPTTLSTM  # bench/ is on sys.path when run as a script

    from sweep.model import FusedAdam, ProjectedLSTM

    def model(kind: str):
        ids = keras.Input((steps,), dtype="int32")
        x = layers.Embedding(1000 if kind == "keras_lstm_vocab_1000" else vocab, emb)(ids)
        if kind == "hoisted_projection":
            x = layers.RNN(RecurrentOnlyCell(units))(layers.Dense(4 * units)(x))
        elif kind.startswith("projected_lstm"):
            dtype = "float32" if kind.endswith("float32") else "bfloat16"
            x = ProjectedLSTM(units, projection_dtype=dtype)(x)[:, -1]
        elif kind.startswith("custom_bptt"):
            x = CustomBPTTLSTM(units)(x)
        else:
            x = layers.LSTM(units, unroll=kind == "keras_lstm_unrolled")(x)
        net = keras.Model(ids, layers.Dense(1, activation="sigmoid")(x))
        fused = kind == "keras_lstm_fused_adam" or kind.startswith("projected_lstm")
        optimizer = FusedAdam() if fused else "adam"
        net.compile(optimizer, "binary_crossentropy", jit_compile=kind.endswith("_xla"))
        return net

    rng = np.random.default_rng(0)
    x = rng.integers(1, 1000, (batch, steps)).astype("int32")
    y = rng.integers(0, 2, (batch, 1)).astype("float32")
    flops = 3 * 2 * batch * steps * (emb + units) * 4 * units
    out = {}
    kinds = (
        "keras_lstm",
        "keras_lstm_unrolled",
        "hoisted_projection",
        "keras_lstm_vocab_1000",
        "keras_lstm_fused_adam",
        "keras_lstm_xla",
        "projected_lstm",
        "projected_lstm_float32",
        "custom_bptt",
        "custom_bptt_xla",
    )
    for kind in kinds:
        net = model(kind)
        start = time.perf_counter()
        net.train_on_batch(x, y)  # tracing
        trace_s = time.perf_counter() - start
        seconds = _timed(lambda net=net: net.train_on_batch(x, y), reps)
        out[kind] = {
            "ms_per_batch": round(seconds * 1000, 2),
            "reviews_per_second": round(batch / seconds),
            "matmul_gflops_per_second": _rate(flops, seconds),
            "first_step_seconds": round(trace_s, 2),
        }
    return out


DEFAULT_SPACE_CASES = (  # architecture, units, embedding, batch
    ("lstm", 32, 64, 64),
    ("lstm", 64, 128, 64),
    ("lstm", 128, 128, 128),
    ("bilstm", 32, 64, 64),
    ("bilstm", 64, 64, 64),
    ("bilstm", 64, 128, 128),
    ("bilstm", 128, 128, 64),
    ("stacked_lstm", 64, 64, 128),
)


def default_space_steps(quick: bool) -> list[dict]:
    """ms per training step of default-space models with either LSTM kernel."""
    import numpy as np

    from sweep.model import ModelConfig, TrainConfig, build_model, compile_model

    vocab, steps, buckets = (500, 16, 1024) if quick else (20_000, 300, 262_144)
    cases = DEFAULT_SPACE_CASES[:2] if quick else DEFAULT_SPACE_CASES
    rng = np.random.default_rng(0)
    rows = []
    for arch, units, emb, batch in cases:
        if quick:
            units, emb, batch = units // 8, emb // 8, batch // 8
        x = rng.integers(1, vocab, (batch, steps)).astype("int32")
        y = rng.integers(0, 2, (batch, 1)).astype("float32")
        ms = {}
        for kernel in ("keras", "projected", "keras", "projected"):
            cfg = ModelConfig(
                arch, vocab, steps, emb, units, layers=2 if arch == "stacked_lstm" else 1,
                dropout=0.3, pooling="mean", ngram_buckets=buckets, lstm_kernel=kernel,
            )  # fmt: skip
            net = compile_model(build_model(cfg), TrainConfig(batch_size=batch))
            seconds = _timed(lambda n=net, a=x, b=y: n.train_on_batch(a, b), 2 if quick else 4)
            ms[kernel] = min(ms.get(kernel, float("inf")), seconds * 1000)
        rows.append(
            {
                "architecture": arch,
                "units": units,
                "embedding": emb,
                "batch": batch,
                "keras_ms": round(ms["keras"], 2),
                "projected_ms": round(ms["projected"], 2),
                "speedup": round(ms["keras"] / ms["projected"], 2),
            }
        )
    return rows


def custom_bptt_difference(batch: int, steps: int, emb: int, units: int) -> float:
    """Largest difference between the gradients (inputs and weights) of ``CustomBPTTLSTM``
    and ``keras.layers.LSTM`` holding the same weights."""
    import numpy as np
    import tensorflow as tf
    from _custom_lstm import CustomBPTTLSTM
    from keras import layers

    x = tf.constant(np.random.default_rng(1).normal(size=(batch, steps, emb)), tf.float32)
    reference = layers.LSTM(units, return_sequences=True)
    ours = CustomBPTTLSTM(units, return_sequences=True)
    reference(x), ours(x)
    ours.set_weights(reference.get_weights())
    weights = tf.constant(np.random.default_rng(2).normal(size=(batch, steps, units)), tf.float32)
    grads = []
    for layer in (reference, ours):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x) * weights)
        grads.append(tape.gradient(loss, [x, *layer.trainable_weights]))
    return max(
        float(tf.reduce_max(tf.abs(tf.convert_to_tensor(a) - tf.convert_to_tensor(b))))
        for a, b in zip(*grads, strict=True)
    )


def matmul_rates(shape: tuple[int, int, int], big: int, chain: int) -> dict:
    """GFLOP/s of a chain of dependent matmuls of ``shape`` (as inside an LSTM loop, no Python
    between them) and of one ``big`` x ``big`` matmul, float32 and bfloat16."""
    import tensorflow as tf

    m, k, n = shape
    out = {}
    for dtype in (tf.float32, tf.bfloat16):
        a = tf.cast(tf.random.normal((m, k)) * 0.01, dtype)
        w = tf.cast(tf.random.normal((k, n)) * 0.01, dtype)

        @tf.function
        def chained(a=a, w=w):
            s = tf.zeros((m, n), a.dtype)
            for _ in range(chain):  # each matmul depends on the last: no overlap, no reuse
                s = tf.matmul(a + s[:, :k], w)
            return s

        q = tf.cast(tf.random.normal((big, big)), dtype)
        square = tf.function(lambda q=q: tf.matmul(q, q))
        small_s = _timed(lambda f=chained: f().numpy(), 3)
        big_s = _timed(lambda f=square: f().numpy(), 3)
        out[dtype.name] = {
            f"{m}x{k}x{n}_gflops_per_second": _rate(chain * 2 * m * k * n, small_s),
            f"{big}x{big}x{big}_gflops_per_second": _rate(2 * big**3, big_s),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--default-space", action="store_true")
    args = parser.parse_args()
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    vocab, batch, steps, emb, units, reps, big = (
        (2000, 16, 12, 8, 4, 2, 64) if args.quick else (20_000, 128, 200, 128, 64, 8, 2048)
    )
    result = {
        "benchmark": "lstm_step",
        "quick": args.quick,
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs",
        "threads": args.threads,
        "shape": {"vocab": vocab, "batch": batch, "steps": steps, "embedding": emb, "units": units},
        "training_step": lstm_steps(vocab, batch, steps, emb, units, reps),
        "custom_bptt_max_gradient_difference": custom_bptt_difference(16, 24, 8, 6),
        "matmul": matmul_rates((batch, emb + units, 4 * units), big, 50 if args.quick else 200),
    }
    if args.default_space:
        result["default_space_steps"] = default_space_steps(args.quick)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
