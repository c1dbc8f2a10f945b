"""Benchmark: what deleting an exhausted tf.data iterator costs, with and without tf.data's
autotuning model thread.

Keras' ``fit`` creates the next epoch's iterator at the end of each epoch and drops the
exhausted one; a trial calls ``fit`` once per epoch, so every epoch drops one. This bench
drains ``model.make_dataset``'s training pipeline at a set pace (a stand-in for the training
steps, so an "epoch" lasts ``--epoch-seconds``), opens the next iterator as Keras does, and
times the deletion of the exhausted one: (a) the pipeline with the autotuning model thread
turned back on (TensorFlow's default), (b) the pipeline as shipped (``without_autotune_model``).
Prints JSON.

    python bench/iterator_teardown.py                  # 3, 7 and 13 s epochs, 6 each way
    python bench/iterator_teardown.py --quick          # tiny, for CI
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def drained_then_deleted(ds, n_batches: int, epoch_seconds: float) -> float:
    """Seconds to delete an iterator drained over ``epoch_seconds``, with the next one open."""
    pace = epoch_seconds / n_batches
    exhausted = iter(ds)
    for _ in exhausted:
        time.sleep(pace)  # the training step's time; sleeping holds no GIL, like TF's kernels
    upcoming = iter(ds)  # what Keras opens at the end of an epoch
    start = time.perf_counter()
    del exhausted
    seconds = time.perf_counter() - start
    del upcoming
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny run for CI")
    parser.add_argument("--epoch-seconds", type=float, nargs="+", default=None)
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    epochs = args.epoch_seconds or ([0.5] if args.quick else [3.0, 7.0, 13.0])
    repeats = args.repeats if args.repeats is not None else (2 if args.quick else 6)
    if repeats < 1:
        parser.error(f"--repeats {repeats}: must be at least 1")
    if min(epochs) <= 0:
        parser.error(f"--epoch-seconds {min(epochs)}: must be above 0")

    import numpy as np
    import tensorflow as tf

    from sweep.model import configure_runtime, make_dataset

    configure_runtime(cpus=1, seed=0)  # as a trial runs: 1-thread pools
    rng = np.random.default_rng(0)
    n, width, batch = 4800, 200, 64
    lengths = rng.integers(10, width + 1, n)
    x = np.where(
        np.arange(width)[None, :] < lengths[:, None], 1 + rng.integers(0, 4999, (n, width)), 0
    )
    x = x.astype("int32")
    y = rng.integers(0, 2, n)
    n_batches = -(-n // batch)

    def pipeline(autotune_model: bool):
        ds = make_dataset(x, y, batch, shuffle=True, seed=0)
        if autotune_model:  # TensorFlow's default, which make_dataset turns off
            options = tf.data.Options()
            options.autotune.enabled = True
            ds = ds.with_options(options)
        return ds

    runs = []
    for seconds in epochs:
        for autotune_model in (True, False):
            ds = pipeline(autotune_model)
            deletes = [drained_then_deleted(ds, n_batches, seconds) for _ in range(repeats)]
            runs.append(
                {
                    "epoch_seconds": seconds,
                    "autotune_model_thread": autotune_model,
                    "delete_seconds": [round(d, 3) for d in deletes],
                    "median": round(statistics.median(deletes), 3),
                    "max": round(max(deletes), 3),
                    "total": round(sum(deletes), 3),
                }
            )
    print(
        json.dumps(
            {
                "benchmark": "iterator_teardown",
                "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
                "tensorflow": tf.__version__,
                "batches_per_epoch": n_batches,
                "repeats": repeats,
                "runs": runs,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
