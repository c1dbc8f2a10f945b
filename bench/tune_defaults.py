"""The service's own defaults, chosen on the simulator: one setting changed at a time.

Each variant is the sweep's default spec with one key changed (ASHA's grace period,
reduction factor and brackets; TPE's start-up trials, ``constant_liar`` and ``multivariate``,
and the two together as Optuna 5 defaults them; fidelity-aware against stock feedback), run
by this service's searcher and Ray Tune's ASHAScheduler on the simulated clock
(``sweep.search._simulate``) at each worker count, over the same seeds. Printed as JSON per
worker count and variant: time to the target (within 0.5 points of the table's best;
quartiles over seeds), how many seeds reached it, the best at the budget, trial-epochs, and
the ratio of the variant's median time to the default's with a bootstrap 95 % interval
(under 1: the variant is faster).

    python bench/tune_defaults.py --workers 2,32 --seeds 20
    python bench/tune_defaults.py --quick
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np
from simulate import _int_list, _quartiles, _space_of, _strict, ratio_interval, run_method

from sweep.search import parse_sweep_spec
from sweep.search._surrogate import CurveTable, Surrogate

# name: the spec keys it changes (the default spec: grace 1, reduction 2, 1 bracket,
# 10 start-up trials, no constant liar, univariate TPE, pruned feedback)
VARIANTS: dict[str, dict] = {
    "default": {},
    "grace_period=2": {"asha": {"grace_period": 2}},
    "reduction_factor=3": {"asha": {"reduction_factor": 3}},
    "reduction_factor=4": {"asha": {"reduction_factor": 4}},
    "brackets=2": {"asha": {"brackets": 2}},
    "startup_trials=5": {"startup_trials": 5},
    "startup_trials=20": {"startup_trials": 20},
    "constant_liar": {"constant_liar": True},
    "multivariate": {"multivariate": True},
    # Optuna 5's own TPE defaults, which plain Optuna in bench/simulate.py runs with
    "constant_liar+multivariate": {"constant_liar": True, "multivariate": True},
    "feedback=complete": {"feedback": "complete"},
}


def variant_spec(base: dict, change: dict):
    mapping = json.loads(json.dumps(base))
    for key, value in change.items():
        if isinstance(value, dict):
            mapping[key] = {**mapping.get(key, {}), **value}
        else:
            mapping[key] = value
    return parse_sweep_spec(mapping)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default=None, help="curve table (bundled)")
    parser.add_argument("--workers", type=_int_list, default=[2, 32])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--overhead", type=float, default=1.5, help="seconds per trial start")
    parser.add_argument("--quick", action="store_true", help="2 seeds, W 2, three variants")
    args = parser.parse_args(argv)
    names = args.variants.split(",")
    if args.quick:
        args.seeds, args.workers = 2, [2]
        names = ["default", "reduction_factor=3", "constant_liar"]
    unknown = sorted(set(names) - set(VARIANTS))
    if unknown:
        parser.error(f"--variants: {unknown} unknown; choose from {list(VARIANTS)}")
    if args.seeds < 1:
        parser.error(f"--seeds {args.seeds}: must be at least 1")
    if "default" not in names:
        names.insert(0, "default")

    began = time.monotonic()
    table = CurveTable.load(args.table)
    curves = Surrogate(table)
    target = table.best_final() - 0.005
    one_config = statistics.median(sum(r.curve.epoch_seconds) for r in table.first_seed())
    base = {"trials": 100_000, "space": _space_of(table), "concurrency": 1}
    base["asha"] = {"max_epochs": table.max_epochs}
    rng = np.random.default_rng(0)
    report: dict = {
        "benchmark": "tune_defaults",
        "table": table.source,
        "configurations": len(table.first_seed()),
        "target_val_accuracy": round(target, 4),
        "time_one_config_s": round(one_config, 1),
        "seeds": args.seeds,
        "by_workers": {},
    }
    for workers in args.workers:
        budget = one_config * (2 if args.quick else 6) * max(1.0, 64 / workers) ** 0.5
        rows = {}
        for name in names:
            spec = variant_spec(base, VARIANTS[name])
            rows[name] = [
                run_method("service", spec, curves, workers, seed, budget, args.overhead)
                for seed in range(args.seeds)
            ]
            print(f"W={workers} {name}: done at {time.monotonic() - began:.0f} s", file=sys.stderr)
        times = {n: [o.time_to(target) for o in outs] for n, outs in rows.items()}
        report["by_workers"][str(workers)] = {
            "budget_s": round(budget, 1),
            "variants": {
                name: {
                    "time_to_target_s_quartiles": [round(v, 1) for v in _quartiles(times[name])],
                    "reached": sum(math.isfinite(t) for t in times[name]),
                    "best_at_budget_median": round(
                        statistics.median(o.best_at(budget) or 0.0 for o in outs), 4
                    ),
                    "trial_epochs_median": statistics.median(o.trial_epochs for o in outs),
                    "trials_median": statistics.median(o.trials for o in outs),
                    "stopped_early_share": round(
                        sum(o.stopped_early for o in outs) / max(1, sum(o.finished for o in outs)),
                        3,
                    ),
                    "time_ratio_to_default": None
                    if name == "default"
                    else [round(v, 3) for v in ratio_interval(times[name], times["default"], rng)],
                }
                for name, outs in rows.items()
            },
        }
    report["seconds"] = round(time.monotonic() - began, 1)
    print(json.dumps(_strict(report), indent=2))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.exit(main())
