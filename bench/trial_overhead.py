"""Benchmark: per-trial overhead, from the moment Ray Tune starts a trial to the end of the
trial's first training batch, over a sweep of tiny trials (the time a trial costs beyond its
training). Measured with actor reuse (the service's setting) and without, in one run.

Start = the driver's ``on_trial_start`` (wall clock); first batch = the trial's own Keras
callback (wall clock, same machine). Prints JSON with mean / p50 / p90 / max seconds.

    python bench/trial_overhead.py --data ../shared/data/imdb/aclImdb_v1.tar.gz
    python bench/trial_overhead.py --data ... --quick      # fewer trials, for CI
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import tempfile
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")

TINY = {
    "architecture": ["lstm", "bilstm", "conv_lstm"],
    "vocab_size": [500, 1000],
    "sequence_length": [32, 64],
    "embedding_dim": [8, 16],
    "units": [4, 8],
    "dropout": {"low": 0.0, "high": 0.3},
    "pooling": ["max"],
    "conv_filters": [8],
    "conv_kernel_size": [3],
    "optimizer": ["adam"],
    "learning_rate": 0.01,
    "batch_size": [32],
    "ngram_buckets": [0],  # LSTM-only, as measured
}


def _starts():
    from ray.tune import Callback

    class Starts(Callback):
        def __init__(self):
            self.at: dict[str, float] = {}
            self.first_batch: dict[str, float] = {}

        def on_trial_start(self, iteration, trials, trial, **info):
            self.at.setdefault(trial.trial_id, time.time())

        def on_trial_result(self, iteration, trials, trial, result, **info):
            if result.get("first_batch_at"):
                self.first_batch.setdefault(trial.trial_id, result["first_batch_at"])

    return Starts()


def measure(spec, data, reuse: bool, storage: str) -> dict:
    from dataclasses import replace

    from sweep.search import search_only

    starts = _starts()
    wall = time.perf_counter()
    search_only(
        replace(spec, storage=storage),
        f"overhead-reuse-{reuse}",
        data,
        callbacks=[starts],
        reuse_actors=reuse,
    )
    wall = time.perf_counter() - wall
    gaps = np.array(
        [starts.first_batch[t] - starts.at[t] for t in starts.at if t in starts.first_batch]
    )
    return {
        "reuse_actors": reuse,
        "trials": len(gaps),
        "wall_seconds": round(wall, 1),
        # the whole cost of a trial slot: wall time x concurrent trials / trials
        "wall_seconds_per_trial": round(wall * spec.concurrency / len(gaps), 2),
        "overhead_seconds": {
            "mean": round(float(gaps.mean()), 3),
            "p50": round(float(np.percentile(gaps, 50)), 3),
            "p90": round(float(np.percentile(gaps, 90)), 3),
            "max": round(float(gaps.max()), 3),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("SWEEP_IMDB", "imdb"))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--trials", type=int, default=None)
    args = parser.parse_args()

    import ray

    from sweep.cluster import start_local_ray
    from sweep.search import parse_sweep_spec, prepare_data

    trials = args.trials or (4 if args.quick else 24)
    spec = parse_sweep_spec(
        {
            "name": "overhead",
            "data": {"source": args.data, "max_reviews": 400},
            "trials": trials,
            "concurrency": 2,
            "asha": {"max_epochs": 1, "grace_period": 1},
            "space": TINY,
        }
    )
    start_local_ray()
    _, data = prepare_data(spec, progress=False)
    with tempfile.TemporaryDirectory() as storage, contextlib.redirect_stdout(sys.stderr):
        rows = [measure(spec, data, reuse, storage) for reuse in (True, False)]
    ray.shutdown()
    print(
        json.dumps(
            {
                "benchmark": "trial_overhead",
                "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
                "trials_per_run": trials,
                "concurrency": 2,
                "runs": rows,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
