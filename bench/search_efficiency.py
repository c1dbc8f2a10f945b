"""Benchmark: the same search space and the same wall-clock budget on this machine for
(a) this service (Ray Tune, OptunaSearch TPE + ASHA, parallel trials), (b) KerasTuner's
Hyperband, (c) plain Optuna TPE running trials one after another in one process, each trained
to the maximum epochs.

All three train the same Keras models (``model.build_model``) on the same vectorized data;
only the search differs. For each it records every epoch's validation accuracy with the time it
arrived, then prints JSON: best validation accuracy over time, trials finished, trial-epochs,
the time each needed to reach the others' best, and the winner's test accuracy (the best
configuration retrained on train for its best epoch count, then tested once).

With several ``--seeds`` (the seed of TPE and of Hyperband; the data split stays the same) it runs
the three methods once per seed and adds a verdict over all of them: for each seed and each other
method, the service's time to reach that method's best over the time that method took, and how
many of these ratios are under one half (the issue's target). One seed's comparison is decided
mostly by what each method happens to draw early, so the verdict is the count and the median.

The service runs ``--concurrency`` one-CPU trials at once (default: every CPU of the machine);
the other two run in one process that TensorFlow spreads over every CPU, as users run them.

    python bench/search_efficiency.py --data ../shared/data/imdb/aclImdb_v1.tar.gz --seeds 0,1,2
    python bench/search_efficiency.py --data ... --quick      # tiny, for CI
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


class Timeline:
    """(seconds since start, trial, epoch, value) of every epoch, within the budget."""

    def __init__(self, budget: float) -> None:
        self.start = time.perf_counter()
        self.budget = budget
        self.rows: list[tuple[float, str, int, float]] = []
        self.configs: dict[str, dict] = {}

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def over(self) -> bool:
        return self.elapsed() >= self.budget

    def add(self, trial: str, epoch: int, value: float, config: dict) -> None:
        if not self.over():
            self.rows.append((self.elapsed(), trial, epoch, float(value)))
            self.configs[trial] = config

    def best(self) -> tuple[float, str, int] | None:
        """(value, trial, epoch) of the best epoch; None when no epoch ended within the budget."""
        if not self.rows:
            return None
        t = max(self.rows, key=lambda r: (r[3], -r[0]))
        return t[3], t[1], t[2]

    def time_to(self, target: float) -> float | None:
        for at, _, _, value in self.rows:
            if value >= target - 1e-12:
                return round(at, 1)
        return None

    def first_epochs(self) -> dict | None:
        """Every trial's first epoch (what ASHA's first rung decides on) and where the best
        trial's first epoch stood among them; None without first epochs. A KerasTuner trial that
        continues an earlier one starts past epoch 1, so its first epoch is not known here."""
        firsts = {trial: value for _, trial, epoch, value in self.rows if epoch == 1}
        if not firsts:
            return None
        found = self.best()
        ours = firsts.get(found[1]) if found else None
        return {
            "trials": len(firsts),
            "median": round(statistics.median(firsts.values()), 4),
            "best_trial": None if ours is None else round(ours, 4),
            "best_trial_share_below": (
                None
                if ours is None
                else round(sum(v < ours for v in firsts.values()) / len(firsts), 3)
            ),
        }

    def curve(self, points: int = 12) -> list[tuple[float, float]]:
        out, best = [], float("-inf")
        for at, _, _, value in self.rows:
            if value > best:
                best = value
                out.append((round(at, 1), round(value, 4)))
        return out[-points:]


def _epoch_logger(timeline: Timeline, trial: str, config: dict):
    import keras

    class Log(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            timeline.add(trial, epoch + 1, (logs or {}).get("val_accuracy", float("nan")), config)
            if timeline.over():
                self.model.stop_training = True

    return Log()


def _views(data, config):
    from sweep.data import sequence_view

    v, n = config["vocab_size"], config["sequence_length"]
    return (
        (sequence_view(data.x_train, v, n), data.y_train),
        (sequence_view(data.x_val, v, n), data.y_val),
    )


def _train(config, data, spec, epochs, callbacks=()):
    from sweep.model import build_model, compile_model, fit
    from sweep.search import trial_configs

    model_cfg, train_cfg = trial_configs(config, spec.train)
    train, val = _views(data, config)
    net = compile_model(build_model(model_cfg), train_cfg)
    fit(net, train, val, replace(train_cfg, epochs=epochs), callbacks=list(callbacks))
    return net


# -- (a) this service --------------------------------------------------------------------------
def run_service(spec, data, budget: float, storage: str) -> Timeline:
    from ray.tune import Callback

    from sweep.search import search_only

    timeline = Timeline(budget)

    class Record(Callback):
        def on_trial_result(self, iteration, trials, trial, result, **info):
            timeline.add(
                trial.trial_id,
                int(result["training_iteration"]),
                result["val_accuracy"],
                dict(trial.config),
            )

    spec = replace(spec, trials=1000, time_budget_s=budget, storage=storage)
    search_only(spec, "service", data, callbacks=[Record()])
    return timeline


# -- (b) KerasTuner Hyperband --------------------------------------------------------------------
def run_keras_tuner(spec, data, budget: float, directory: str, seed: int) -> Timeline:
    import keras_tuner as kt

    from sweep.search import SHARED_PARAMS, Choice, IntRange

    timeline = Timeline(budget)
    space = spec.space
    counter = iter(range(10**6))

    def config_of(hp) -> dict:
        def pick(name):
            p = getattr(space, name)
            if isinstance(p, Choice):
                return hp.Choice(name, list(p.values)) if len(p.values) > 1 else p.values[0]
            if isinstance(p, IntRange):
                return hp.Int(name, p.low, p.high, step=p.step)
            return hp.Float(name, p.low, p.high, sampling="log" if p.log else "linear")

        config = {"architecture": pick("architecture")}
        for name in SHARED_PARAMS:
            config[name] = pick(name)
        arch = config["architecture"]
        with hp.conditional_scope("architecture", ["stacked_lstm"]):
            if arch == "stacked_lstm":
                config["layers"] = pick("layers")
        with hp.conditional_scope("architecture", ["bilstm"]):
            if arch == "bilstm":
                config["pooling"] = pick("pooling")
        with hp.conditional_scope("architecture", ["conv_lstm"]):
            if arch == "conv_lstm":
                config["conv_filters"] = pick("conv_filters")
                config["conv_kernel_size"] = pick("conv_kernel_size")
        return config

    class Model(kt.HyperModel):
        def build(self, hp):
            from sweep.model import build_model, compile_model
            from sweep.search import trial_configs

            model_cfg, train_cfg = trial_configs(config_of(hp), spec.train)
            return compile_model(build_model(model_cfg), train_cfg)

        def fit(self, hp, model, *args, callbacks=(), epochs=1, initial_epoch=0, **kwargs):
            from sweep.model import fit
            from sweep.search import trial_configs

            config = config_of(hp)
            _, train_cfg = trial_configs(config, spec.train)
            train, val = _views(data, config)
            name = f"kt-{next(counter)}"
            cbs = [*callbacks, _epoch_logger(timeline, name, config)]
            results = fit(
                model,
                train,
                val,
                train_cfg,
                callbacks=cbs,
                initial_epoch=initial_epoch,
                epochs=epochs,
            )
            return {"val_accuracy": max((r.val_accuracy for r in results), default=0.0)}

    class Stop(Exception):
        pass

    class Budgeted(kt.Hyperband):
        def _configure_tensorboard_dir(self, callbacks, trial, execution=0):
            """No TensorBoard callback is passed; skip KerasTuner's tensorboard import."""

        def on_trial_begin(self, trial):
            if timeline.over():
                raise Stop
            super().on_trial_begin(trial)

    tuner = Budgeted(
        Model(),
        objective=kt.Objective("val_accuracy", "max"),
        max_epochs=spec.asha.max_epochs,
        factor=spec.asha.reduction_factor,
        hyperband_iterations=100,
        seed=seed,
        directory=directory,
        project_name="kt",
        overwrite=True,
    )
    with contextlib.suppress(Stop):
        tuner.search(verbose=0)
    return timeline


# -- (c) plain Optuna, sequential, full training ------------------------------------------------
def run_optuna_sequential(spec, data, budget: float, seed: int) -> Timeline:
    import optuna

    timeline = Timeline(budget)

    def objective(trial):
        config = spec.space(trial)
        name = f"optuna-{trial.number}"
        net_log = _epoch_logger(timeline, name, config)
        _train(config, data, spec, spec.asha.max_epochs, [net_log])
        values = [r[3] for r in timeline.rows if r[1] == name]
        return max(values) if values else 0.0

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, timeout=budget, callbacks=[lambda s, t: timeline.over() and s.stop()])
    return timeline


def test_accuracy(spec, data, timeline: Timeline) -> float | None:
    """The best configuration retrained on train for its best epoch count, tested once."""
    from sweep.data import sequence_view
    from sweep.model import evaluate

    best = timeline.best()
    if best is None:
        return None
    _, trial, epoch = best
    config = timeline.configs[trial]
    net = _train(config, data, spec, epoch)
    x_test = sequence_view(data.x_test, config["vocab_size"], config["sequence_length"])
    metrics, _ = evaluate(net, x_test, data.y_test)
    return round(metrics.accuracy, 4)


OTHERS = ("keras_tuner_hyperband", "optuna_sequential")


def summarize(timelines: dict[str, Timeline], tests: dict, budget: float) -> dict:
    """Each method's row of the JSON; a method with no epoch inside the budget gets a note."""
    out = {}
    for name, t in timelines.items():
        found = t.best()
        if found is None:
            out[name] = {
                "best_val_accuracy": None,
                "trials": 0,
                "trial_epochs": 0,
                "note": f"no epoch ended within the {budget:g} s budget",
            }
            continue
        best, trial, epoch = found
        others = max(
            (o.best()[0] for n, o in timelines.items() if n != name and o.best()), default=None
        )
        out[name] = {
            "best_val_accuracy": round(best, 4),
            "best_config": t.configs[trial],
            "best_epoch": epoch,
            "winner_test_accuracy": tests[name],
            "trials": len({r[1] for r in t.rows}),
            "trial_epochs": len(t.rows),
            "seconds_to_own_best": t.time_to(best),
            "seconds_to_best_of_the_others": None if others is None else t.time_to(others),
            "best_so_far": t.curve(),
            "first_epochs": t.first_epochs(),
        }
    for name in OTHERS:
        target = out[name]["best_val_accuracy"]
        service_time = None if target is None else timelines["service"].time_to(target)
        out["service"][f"seconds_to_reach_{name}_best"] = service_time
        out["service"][f"{name}_seconds_to_its_best"] = out[name].get("seconds_to_own_best")
    return out


def verdict(runs: list[dict]) -> dict:
    """The issue's target over every seed: for each seed and each other method, the service's
    time to reach that method's best over the time the method took to reach it (a ratio under
    0.5 meets the target; ``None``: the service never reached it within the budget)."""
    comparisons = []
    for run in runs:
        results = run["results"]
        for other in OTHERS:
            target = results[other]["best_val_accuracy"]
            if target is None:  # nothing to reach: the method ended no epoch in its budget
                continue
            theirs = results[other]["seconds_to_own_best"]
            ours = results["service"][f"seconds_to_reach_{other}_best"]
            ratio = None if ours is None or not theirs else round(ours / theirs, 3)
            comparisons.append(
                {
                    "seed": run["seed"],
                    "other": other,
                    "their_best": target,
                    "their_seconds": theirs,
                    "service_seconds": ours,
                    "ratio": ratio,
                    "under_half": ratio is not None and ratio < 0.5,
                }
            )
    ratios = [float("inf") if c["ratio"] is None else c["ratio"] for c in comparisons]
    median = statistics.median(ratios) if ratios else None
    means = {}
    for name in ("service", *OTHERS):
        for key in ("best_val_accuracy", "winner_test_accuracy"):
            values = [r["results"][name].get(key) for r in runs]
            values = [v for v in values if v is not None]
            means.setdefault(name, {})[f"mean_{key}"] = (
                round(statistics.fmean(values), 4) if values else None
            )
    return {
        "comparisons": comparisons,
        "under_half": sum(c["under_half"] for c in comparisons),
        "of": len(comparisons),
        # None: in at least half of the comparisons the service never reached the other's best
        "median_ratio": None if median is None or median == float("inf") else round(median, 3),
        "means": means,
    }


def run_seed(spec, data, budget: float, seed: int) -> dict:
    """The three methods one after another with ``seed``; the service on a fresh local Ray,
    shut down before the single-process tools get the whole machine."""
    import ray

    from sweep.cluster import start_local_ray

    spec = replace(spec, seed=seed)
    timelines = {}
    start_local_ray()
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(sys.stderr):
        try:
            timelines["service"] = run_service(spec, data, budget, tmp)
        finally:
            ray.shutdown()
        timelines["keras_tuner_hyperband"] = run_keras_tuner(spec, data, budget, tmp, seed)
        timelines["optuna_sequential"] = run_optuna_sequential(spec, data, budget, seed)
        tests = {name: test_accuracy(spec, data, t) for name, t in timelines.items()}
    return {"seed": seed, "results": summarize(timelines, tests, budget)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("SWEEP_IMDB", "imdb"))
    parser.add_argument("--quick", action="store_true", help="tiny run for CI")
    parser.add_argument("--budget", type=float, default=None, help="seconds per method")
    parser.add_argument("--max-reviews", type=int, default=None)
    parser.add_argument(
        "--seeds", type=seed_list, default=[0], help="comma-separated seeds, one run each (0)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=os.cpu_count() or 1,
        help="the service's trials at once, one CPU each (default: the machine's CPUs)",
    )
    args = parser.parse_args()
    if args.concurrency < 1:
        parser.error(f"--concurrency {args.concurrency}: must be at least 1")

    from sweep.search import parse_sweep_spec, prepare_data

    # quick: Ray's start, the first trial's TensorFlow import and one epoch fit in 30 s on a
    # slow 2-core VM (15 s did not, on one)
    budget = args.budget or (30.0 if args.quick else 480.0)
    spec = parse_sweep_spec(
        {
            "name": "efficiency",
            "data": {
                "source": args.data,
                "max_reviews": args.max_reviews or (None if args.quick else 6000),
            },
            "concurrency": args.concurrency,
            "resources": {"cpus": 1},
            "asha": {
                "max_epochs": 3 if args.quick else 4,
                "grace_period": 1,
                "reduction_factor": 2,
            },
            "space": QUICK_SPACE if args.quick else SPACE,
        }
    )
    _, data = prepare_data(spec, progress=False)
    runs = [run_seed(spec, data, budget, seed) for seed in args.seeds]
    print(
        json.dumps(
            {
                "benchmark": "search_efficiency",
                "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
                "budget_seconds_each": budget,
                "concurrency": args.concurrency,
                "data": {
                    "n_train": len(data.y_train),
                    "n_validation": len(data.y_val),
                    "n_test": len(data.y_test),
                },
                "max_epochs": spec.asha.max_epochs,
                "runs": runs,
                "verdict": verdict(runs),
            },
            indent=2,
            default=str,
        )
    )


if __name__ == "__main__":
    main()
