"""Search efficiency at 1 to 128 workers, on recorded IMDB learning curves (simulated clock).

Every method makes its own decisions with its own code: this service's searcher with Ray Tune's
ASHAScheduler (``sweep.search._simulate``), stock ``OptunaSearch`` feedback with ASHA, random search
with ASHA, plain Optuna TPE with full-length trials (one at a time, and W at a time on one
study), and KerasTuner's Hyperband oracle driven through its oracle API by W workers. Curves
come from the surrogate fitted on the table (``--curves tabular``: recorded configurations
only). Per worker count: the best validation accuracy against simulated time (median and
interquartile band over the seeds, as PNG with ``--plots``), the time to reach the target
(within 0.5 points of the table's best), its ratio to each other method with a bootstrap 95 %
interval, trial-epochs spent, and the best at the budget.

    python bench/simulate.py --workers 1,2,8,32 --seeds 20 --plots docs/figures
    python bench/simulate.py --quick
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

from sweep.search import parse_sweep_spec
from sweep.search._simulate import METHODS, Clock, Outcome, record_best, simulate
from sweep.search._space import param_name
from sweep.search._surrogate import CurveTable, Surrogate, Tabular, cross_validate

ALL_METHODS = (*METHODS, "kerastuner_hyperband")


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected numbers like 1,2,8") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: every value must be at least 1")
    return values


def keras_tuner_space(space):
    """The sweep's space as KerasTuner hyperparameters (conditionals declared for all)."""
    import keras_tuner as kt

    from sweep.search._space import Choice, FloatRange, IntRange

    hp = kt.HyperParameters()
    for name, param in vars(space).items():
        if isinstance(param, Choice):
            if len(param.values) == 1:
                hp.Fixed(name, param.values[0])
            else:
                hp.Choice(name, list(param.values))
        elif isinstance(param, IntRange):
            hp.Int(name, param.low, param.high, step=param.step)
        elif isinstance(param, FloatRange):
            hp.Float(name, param.low, param.high, sampling="log" if param.log else "linear")
    return hp


def simulate_keras_tuner(spec, curves, workers: int, seed: int, budget_s: float, overhead_s):
    """KerasTuner's Hyperband oracle with ``workers`` tuners: a trial that continues an
    earlier one trains only its new epochs, from that trial's curve."""
    import keras_tuner as kt
    import optuna
    from keras_tuner.src.engine import trial as trial_module

    oracle = kt.oracles.HyperbandOracle(
        objective="val_accuracy",
        max_epochs=spec.asha.max_epochs,
        factor=spec.asha.reduction_factor,
        hyperband_iterations=1000,  # the budget ends the search, not the oracle
        seed=seed,
        hyperparameters=keras_tuner_space(spec.space),
    )
    tmp = tempfile.TemporaryDirectory()
    oracle._set_project_dir(tmp.name, "sim")
    rng = np.random.default_rng(seed)
    outcome = Outcome("kerastuner_hyperband", workers, seed)
    clock = Clock()
    drawn: dict[str, object] = {}  # a configuration's curve, shared by its continuations
    idle: set[str] = {f"w{i}" for i in range(workers)}

    def start(worker: str) -> bool:
        trial = oracle.create_trial(worker)
        if trial.status != trial_module.TrialStatus.RUNNING:
            return False
        values = trial.hyperparameters.values
        named = {param_name(k, values): v for k, v in values.items()}  # as the space draws them
        config = spec.space(optuna.trial.FixedTrial(named))
        key = json.dumps(config, sort_keys=True)
        curve = drawn.setdefault(key, curves.curve(config, rng))
        first = int(values.get("tuner/initial_epoch", 0)) + 1
        last = int(values["tuner/epochs"])
        outcome.trials += 1
        ends = clock.now + overhead_s + curve.epoch_seconds[first - 1]
        clock.at(ends, (worker, trial, first, last, curve))
        return True

    try:
        while True:
            for worker in sorted(idle):
                if clock.now < budget_s and start(worker):
                    idle.discard(worker)
            if not clock:
                break
            worker, trial, epoch, last, curve = clock.next()
            if clock.now > budget_s:
                clock.now = budget_s
                break
            value = curve.val_accuracy[epoch - 1]
            outcome.trial_epochs += 1
            record_best(outcome, clock.now, value, "max")
            oracle.update_trial(trial.trial_id, {"val_accuracy": value}, step=epoch)
            if epoch < last:
                ends = clock.now + curve.epoch_seconds[epoch]
                clock.at(ends, (worker, trial, epoch + 1, last, curve))
                continue
            trial.status = trial_module.TrialStatus.COMPLETED
            oracle.end_trial(trial)
            outcome.finished += 1
            outcome.stopped_early += last < spec.asha.max_epochs
            idle.add(worker)
    finally:
        tmp.cleanup()
    outcome.makespan = clock.now
    return outcome


def run_method(method, spec, curves, workers, seed, budget_s, overhead_s) -> Outcome:
    if method == "kerastuner_hyperband":
        with contextlib.redirect_stdout(sys.stderr):  # the oracle prints each trial
            return simulate_keras_tuner(spec, curves, workers, seed, budget_s, overhead_s)
    return simulate(method, spec, curves, workers, seed, budget_s=budget_s, overhead_s=overhead_s)


def _quartiles(values: list[float]) -> list[float]:
    finite = [v for v in values if math.isfinite(v)]
    if len(finite) < len(values) / 2:  # most never reached it: no median
        return [math.inf, math.inf, math.inf]
    ordered = sorted(values)
    q = np.quantile(np.array(ordered, dtype=float), [0.25, 0.5, 0.75], method="lower")
    return [float(v) for v in q]


def ratio_interval(a: list[float], b: list[float], rng, draws: int = 2000) -> list[float]:
    """Median of a over median of b (times to target), with a bootstrap 95 % interval."""

    def ratio(x, y):
        mx, my = statistics.median(x), statistics.median(y)
        if math.isinf(mx) and math.isinf(my):
            return math.nan
        return math.inf if my == 0 else mx / my

    point = ratio(a, b)
    samples = []
    for _ in range(draws):
        ia = rng.integers(len(a), size=len(a))
        ib = rng.integers(len(b), size=len(b))
        samples.append(ratio([a[i] for i in ia], [b[i] for i in ib]))
    samples = [s for s in samples if not math.isnan(s)]
    if not samples:
        return [point, math.nan, math.nan]
    lo, hi = np.quantile(np.array(samples), [0.025, 0.975])
    return [point, float(lo), float(hi)]


def plot(rows: dict, workers: int, path: Path, target: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    horizon = max(o.makespan for outs in rows.values() for o in outs)
    grid = np.linspace(0, horizon, 200)
    for method, outcomes in rows.items():
        curves = np.array(
            [[np.nan if o.best_at(t) is None else o.best_at(t) for t in grid] for o in outcomes]
        )
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # before a method's first epoch
            median = np.nanmedian(curves, axis=0)
            lo, hi = np.nanpercentile(curves, [25, 75], axis=0)
        ax.plot(grid / 3600, median, label=method)
        ax.fill_between(grid / 3600, lo, hi, alpha=0.2)
    ax.axhline(target, color="grey", linestyle="--", linewidth=1, label="target")
    ax.set_xlabel("simulated hours")
    ax.set_ylabel("best validation accuracy")
    seeds = len(next(iter(rows.values())))
    ax.set_title(f"{workers} worker(s): median and interquartile band over {seeds} seeds")
    ax.legend(fontsize=8)
    top = max((o.best or 0.0) for outs in rows.values() for o in outs)
    ax.set_ylim(max(0.5, target - 0.1), min(1.0, max(target + 0.03, top + 0.005)))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, default=None, help="curve table (bundled)")
    parser.add_argument("--curves", choices=["surrogate", "tabular"], default="surrogate")
    parser.add_argument("--workers", type=_int_list, default=[1, 2, 8, 32, 128])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--methods", default=",".join(ALL_METHODS))
    parser.add_argument(
        "--budget", type=float, default=None, help="simulated seconds (default per W, below)"
    )
    parser.add_argument("--overhead", type=float, default=1.5, help="seconds per trial start")
    parser.add_argument("--plots", type=Path, default=None, help="folder for the PNG figures")
    parser.add_argument("--quick", action="store_true", help="2 seeds, W 1 and 2, small budget")
    args = parser.parse_args(argv)
    methods = args.methods.split(",")
    unknown = sorted(set(methods) - set(ALL_METHODS))
    if unknown:
        parser.error(f"--methods: {unknown} unknown; choose from {list(ALL_METHODS)}")
    if args.seeds < 1:
        parser.error(f"--seeds {args.seeds}: must be at least 1")
    if args.quick:
        args.seeds, args.workers = 2, [1, 2]

    began = time.monotonic()
    table = CurveTable.load(args.table)
    validation = cross_validate(table) if args.curves == "surrogate" else None
    curves = Surrogate(table) if args.curves == "surrogate" else Tabular(table)
    target = table.best_final() - 0.005
    one_config = statistics.median(sum(r.curve.epoch_seconds) for r in table.first_seed())
    spec = parse_sweep_spec(
        {"trials": 100_000, "space": json.loads(json.dumps(_space_of(table))), "concurrency": 1}
    )
    spec = replace(spec, asha=replace(spec.asha, max_epochs=table.max_epochs))
    rng = np.random.default_rng(0)
    report: dict = {
        "benchmark": "simulate",
        "table": table.source,
        "configurations": len(table.first_seed()),
        "curves": args.curves,
        "surrogate_validation": validation.to_dict() if validation else None,
        "target_val_accuracy": round(target, 4),
        "time_one_config_s": round(one_config, 1),
        "overhead_s": args.overhead,
        "seeds": args.seeds,
        "by_workers": {},
    }
    for workers in args.workers:
        budget = args.budget or one_config * (
            (2 if args.quick else 6) * max(1.0, 64 / workers) ** 0.5
        )
        rows = {}  # optuna_sequential runs one worker at every W: the reference
        for method in methods:
            w = 1 if method == "optuna_sequential" else workers
            rows[method] = [
                run_method(method, spec, curves, w, seed, budget, args.overhead)
                for seed in range(args.seeds)
            ]
        times = {m: [o.time_to(target) for o in outs] for m, outs in rows.items()}
        summary = {
            m: {
                "time_to_target_s_quartiles": [round(v, 1) for v in _quartiles(times[m])],
                "reached": sum(math.isfinite(t) for t in times[m]),
                "best_at_budget_median": round(
                    statistics.median(o.best_at(budget) or 0.0 for o in outs), 4
                ),
                "trial_epochs_median": statistics.median(o.trial_epochs for o in outs),
                "trials_median": statistics.median(o.trials for o in outs),
            }
            for m, outs in rows.items()
        }
        ratios = {
            other: [
                round(v, 3) if math.isfinite(v) else v
                for v in ratio_interval(times["service"], times[other], rng)
            ]
            for other in rows
            if other != "service" and "service" in rows
        }
        report["by_workers"][str(workers)] = {
            "budget_s": round(budget, 1),
            "methods": summary,
            "service_time_ratio_to": ratios,
        }
        if args.plots:
            args.plots.mkdir(parents=True, exist_ok=True)
            plot(rows, workers, args.plots / f"simulate-w{workers}.png", target)
    report["seconds"] = round(time.monotonic() - began, 1)
    print(json.dumps(_strict(report), indent=2))
    return 0


def _strict(value):
    """JSON without NaN or Infinity (strict parsers refuse them): null stands for
    "never reached" and "no ratio"."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(v) for v in value]
    return value


def _space_of(table: CurveTable) -> dict:
    """The space the table was drawn from, as the recorder wrote it in its provenance."""
    provenance = Path(str(table.source).replace(".jsonl.gz", ".provenance.json"))
    if provenance.exists():
        return json.loads(provenance.read_text())[-1]["space"]
    from sweep.search import spec_to_dict

    return spec_to_dict(parse_sweep_spec({}))["space"]


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.exit(main())
