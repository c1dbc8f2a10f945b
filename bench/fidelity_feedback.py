"""Benchmark: what TPE is told about trials ASHA stopped early, stock versus fidelity-aware.

Same data, space, ASHA settings, number of trials and seeds; the only difference is the
sweep spec's ``feedback``: ``complete`` (stock Ray ``OptunaSearch``: an early-stopped trial
is COMPLETE with its last value) or ``pruned`` (this project: it is PRUNED, ranked by how far
it got). For each seed and each way it records every reported epoch in order and prints JSON:
best validation accuracy, trial-epochs spent, and the trial-epochs each way needed to reach
the lower of the two best values (the "same best validation accuracy").

    python bench/fidelity_feedback.py --data ../shared/data/imdb/aclImdb_v1.tar.gz
    python bench/fidelity_feedback.py --data ... --quick      # tiny, for CI
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import replace

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")

from _args import seed_list  # bench/ is on sys.path when run as a script
from _spaces import QUICK_SPACE, SPACE


def _recorder():
    from ray.tune import Callback

    class Recorder(Callback):
        """Every reported epoch, in the order the driver received them."""

        def __init__(self):
            self.events: list[tuple[str, int, float]] = []

        def on_trial_result(self, iteration, trials, trial, result, **info):
            self.events.append(
                (trial.trial_id, int(result["training_iteration"]), float(result["val_accuracy"]))
            )

    return Recorder()


def trial_epochs_to_reach(events, target: float) -> int | None:
    """Trial-epochs spent (in arrival order) until some trial's value reached ``target``."""
    for spent, (_, _, value) in enumerate(events, start=1):
        if value >= target - 1e-12:
            return spent
    return None


def run_one(spec, data, storage: str, name: str, **changes) -> dict:
    """One sweep ``name`` of ``spec`` with ``changes`` (spec keys, e.g. ``feedback``, ``seed``);
    every reported epoch is kept in arrival order under ``_events``."""
    from sweep.search import search_only

    recorder = _recorder()
    spec = replace(spec, storage=storage, **changes)
    start = time.perf_counter()
    trials = search_only(spec, name, data, callbacks=[recorder])
    seconds = time.perf_counter() - start
    best = max((v for _, _, v in recorder.events), default=float("nan"))
    return {
        **changes,
        "best_val_accuracy": best,
        "trial_epochs": len(recorder.events),
        "trials": len(trials),
        "trials_to_max_epochs": sum(len(t.history) >= spec.asha.max_epochs for t in trials),
        "seconds": round(seconds, 1),
        "_events": recorder.events,
    }


def settle_pair(pair: list[dict]) -> None:
    """Give each run of a pair the trial-epochs it needed to reach the lower of the two bests."""
    target = min(r["best_val_accuracy"] for r in pair)
    for r in pair:
        r["same_best_target"] = round(target, 4)
        r["trial_epochs_to_same_best"] = trial_epochs_to_reach(r.pop("_events"), target)
        r["best_val_accuracy"] = round(r["best_val_accuracy"], 4)


def summarize(rows: list[dict]) -> dict:
    reach = [r["trial_epochs_to_same_best"] for r in rows]
    return {
        "mean_best_val_accuracy": round(statistics.mean(r["best_val_accuracy"] for r in rows), 4),
        "mean_trial_epochs": statistics.mean(r["trial_epochs"] for r in rows),
        "mean_trial_epochs_to_same_best": statistics.mean(reach) if None not in reach else None,
    }


def paired_parser(doc: str) -> argparse.ArgumentParser:
    """The options of a benchmark built on :func:`paired_runs`."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("SWEEP_IMDB", "imdb"))
    parser.add_argument("--quick", action="store_true", help="tiny run for CI")
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--seeds", type=seed_list, default=None, help="comma-separated TPE seeds")
    parser.add_argument("--max-reviews", type=int, default=None)
    return parser


def paired_runs(args, name: str, trials: int, concurrency: int, seeds, variants: dict):
    """For each seed, one sweep per variant (``{variant: spec keys}``) on the same data and
    space; each row is named by its variant and gets the trial-epochs it needed to reach the
    lower of its seed's bests. Returns the base spec, the data and the rows."""
    import ray

    from sweep.cluster import start_local_ray
    from sweep.search import parse_sweep_spec, prepare_data

    spec = parse_sweep_spec(
        {
            "name": name,
            "data": {
                "source": args.data,
                "max_reviews": args.max_reviews or (None if args.quick else 6000),
            },
            "trials": trials,
            "concurrency": concurrency,
            "asha": {
                "max_epochs": 3 if args.quick else 4,
                "grace_period": 1,
                "reduction_factor": 2,
            },
            "space": QUICK_SPACE if args.quick else SPACE,
        }
    )
    start_local_ray(num_cpus=os.cpu_count())
    _, data = prepare_data(spec, progress=False)
    runs = []
    with tempfile.TemporaryDirectory() as storage:
        for seed in seeds:
            with contextlib.redirect_stdout(sys.stderr):  # Tune's tables; stdout is the JSON
                pair = [
                    {"variant": v, **run_one(spec, data, storage, f"{v}-{seed}", **k, seed=seed)}
                    for v, k in variants.items()
                ]
            settle_pair(pair)
            runs.extend(pair)
    ray.shutdown()
    return spec, data, runs


def main() -> None:
    parser = paired_parser(__doc__)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()

    trials = args.trials or (4 if args.quick else 24)
    seeds = args.seeds or ([0] if args.quick else [0, 1])
    variants = {fb: {"feedback": fb} for fb in ("complete", "pruned")}
    spec, data, runs = paired_runs(
        args, "fidelity-bench", trials, args.concurrency, seeds, variants
    )
    print(
        json.dumps(
            {
                "benchmark": "fidelity_feedback",
                "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
                "data": {"n_train": len(data.y_train), "n_validation": len(data.y_val)},
                "trials_per_run": trials,
                "asha": {
                    "max_epochs": spec.asha.max_epochs,
                    "grace_period": 1,
                    "reduction_factor": 2,
                },
                "seeds": seeds,
                "runs": runs,
                "stock_complete": summarize([r for r in runs if r["feedback"] == "complete"]),
                "fidelity_pruned": summarize([r for r in runs if r["feedback"] == "pruned"]),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
