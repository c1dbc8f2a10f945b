"""Benchmark: how many random trials TPE should start with in a short sweep.

Optuna's TPE samples its first ``n_startup_trials`` (default 10, the sweep spec's
``startup_trials``) at random. In a 12-trial sweep (the default sweep's size) that is random
search for 10 of 12 trials; the alternative measured here starts TPE after a third of the
trials (at least ``concurrency``): 4 of 12. Same data, space, ASHA settings, trials and seeds; the
only difference is ``startup_trials``. Prints JSON per seed and on average: best validation
accuracy, trial-epochs, and the trial-epochs each needed to reach the lower of the two best
values.

    python bench/tpe_startup.py --data ../shared/data/imdb/aclImdb_v1.tar.gz
    python bench/tpe_startup.py --data ... --quick      # tiny, for CI
"""

from __future__ import annotations

import json
import os
import platform

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")

# bench/ is on sys.path when run as a script
from fidelity_feedback import paired_parser, paired_runs, summarize

CONCURRENCY = 2


def startup_variants(trials: int) -> dict[str, int]:
    return {"optuna_default_10": 10, "third_of_trials": max(CONCURRENCY, trials // 3)}


def main() -> None:
    args = paired_parser(__doc__).parse_args()

    trials = args.trials or (4 if args.quick else 12)
    seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    variants = {v: {"startup_trials": n} for v, n in startup_variants(trials).items()}
    _, data, runs = paired_runs(args, "tpe-startup-bench", trials, CONCURRENCY, seeds, variants)
    print(
        json.dumps(
            {
                "benchmark": "tpe_startup",
                "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
                "data": {"n_train": len(data.y_train), "n_validation": len(data.y_val)},
                "trials_per_run": trials,
                "concurrency": CONCURRENCY,
                "seeds": seeds,
                "runs": runs,
                **{v: summarize([r for r in runs if r["variant"] == v]) for v in variants},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
