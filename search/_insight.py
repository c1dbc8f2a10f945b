"""Search insight for a sweep: Optuna's own plots over the study, ASHA's stopping picture,
and the compute spent against training every trial to the maximum epochs."""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

from sweep.model import html_figures, html_page, html_table
from sweep.states import TrialStatus

from ._sweep_spec import SweepSpec

log = logging.getLogger(__name__)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# importances from fewer trials than this mean nothing (fANOVA fits a forest to them)
MIN_IMPORTANCE_TRIALS = 8


def _ranked_values(trial: dict[str, Any]) -> list[float]:
    return [float(v) for v in trial.get("history") or [] if v is not None and v == v]


def fidelity_epoch(trials: dict[str, dict[str, Any]], spec: SweepSpec) -> int:
    """The epoch at which trials are compared: the highest ASHA
    rung (grace period x reduction factor^k) that at least ``MIN_IMPORTANCE_TRIALS`` trials
    reached, else the first rung, which every trial that trained reached."""
    reached = [len(_ranked_values(t)) for t in trials.values()]
    rungs, rung = [], spec.asha.grace_period
    while rung <= spec.asha.max_epochs:
        rungs.append(rung)
        rung *= spec.asha.reduction_factor
    best = rungs[0]
    for rung in rungs:
        if sum(r >= rung for r in reached) >= MIN_IMPORTANCE_TRIALS:
            best = rung
    return best


def study_at_epoch(study, trials: dict[str, dict[str, Any]], epoch: int, direction: str):
    """An in-memory Optuna study of every trial that reached ``epoch``, valued at it: each
    trial's sampled parameters and their distributions, from the sweep's study."""
    import optuna

    from ._searcher import RAY_TRIAL_ATTR

    sampled = {t.system_attrs.get(RAY_TRIAL_ATTR): t for t in study.get_trials(deepcopy=False)}
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "new study created" line
    try:
        out = optuna.create_study(direction=direction)
    finally:
        optuna.logging.set_verbosity(verbosity)
    for trial_id, trial in trials.items():
        values, source = _ranked_values(trial), sampled.get(trial_id)
        if source is None or len(values) < epoch or not source.distributions:
            continue
        out.add_trial(
            optuna.trial.create_trial(
                params=source.params, distributions=source.distributions, value=values[epoch - 1]
            )
        )
    return out


def compute_summary(trials: dict[str, dict[str, Any]], spec: SweepSpec) -> dict[str, Any]:
    """Trial-epochs and CPU/GPU seconds spent, and what no early stopping would have cost
    (each trial trained to ``max_epochs`` at its measured seconds per epoch)."""
    rows = [t for t in trials.values() if t.get("epochs")]
    spent = sum(int(t["epochs"]) for t in rows)
    full = len(rows) * spec.asha.max_epochs
    seconds = sum(float(t.get("train_seconds", 0.0)) for t in rows)
    full_seconds = sum(
        float(t.get("train_seconds", 0.0)) / int(t["epochs"]) * spec.asha.max_epochs for t in rows
    )
    return {
        "trials": len(trials),
        "trials_with_results": len(rows),
        "stopped_early": sum(bool(t.get("stopped_early")) for t in rows),
        "trial_epochs": spent,
        "trial_epochs_without_asha": full,
        "saved_fraction": 1 - spent / full if full else 0.0,
        "train_seconds": seconds,
        "train_seconds_without_asha": full_seconds,
        "cpu_seconds": seconds * spec.resources.cpus,
        "gpu_seconds": seconds * spec.resources.gpus,
    }


def _save_optuna_plot(fn, study, path: Path, title: str, **kwargs) -> bool:
    from optuna.exceptions import ExperimentalWarning

    plt = _pyplot()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            ax = fn(study, **kwargs)
    except (ValueError, RuntimeError, ZeroDivisionError) as exc:  # too few trials, etc.
        log.warning("%s not drawn: %s", title, exc)
        return False
    axes = ax if hasattr(ax, "__len__") else [ax]
    fig = axes.flat[0].figure if hasattr(axes, "flat") else axes[0].figure
    fig.suptitle(title)
    fig.set_size_inches(9, 5)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _asha_plot(trials: dict[str, dict[str, Any]], spec: SweepSpec, path: Path) -> None:
    plt = _pyplot()
    rows = sorted(trials.values(), key=lambda t: t.get("started_at") or 0)
    fig, ax = plt.subplots(figsize=(9, 4))
    colors = [
        "tab:orange"
        if t.get("stopped_early")
        else "tab:red"
        if t.get("status") in (TrialStatus.ERROR, TrialStatus.LOST)
        else "tab:blue"
        for t in rows
    ]
    ax.bar(range(len(rows)), [t.get("epochs", 0) for t in rows], color=colors)
    ax.axhline(spec.asha.max_epochs, color="gray", linestyle="--", label="max epochs")
    ax.set_xticks(range(len(rows)), [t["trial_id"][-6:] for t in rows], rotation=60)
    ax.set_title("Epochs reached per trial (orange: stopped early by ASHA, red: failed)")
    ax.set_xlabel("Trial (in start order)")
    ax.set_ylabel("Epochs trained")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _history_plot(trials: dict[str, dict[str, Any]], spec: SweepSpec, path: Path) -> int:
    """Every trial at each epoch it reached, in start order, its best marked (stopped early
    or trained to the end), with the best-so-far line over all of them; the trials drawn.
    (Optuna's own history plots COMPLETE trials only: ASHA's stopped trials are PRUNED.)"""
    plt = _pyplot()
    rows = [t for t in sorted(trials.values(), key=lambda t: t.get("started_at") or 0)]
    rows = [t for t in rows if _ranked_values(t)]
    pick = max if spec.mode == "max" else min
    fig, ax = plt.subplots(figsize=(9, 5))
    best_so_far, running = [], None
    for i, t in enumerate(rows):
        values = _ranked_values(t)
        ax.scatter([i] * len(values), values, s=8, color="lightgray", zorder=1)
        stopped = bool(t.get("stopped_early"))
        ax.scatter(
            [i], [pick(values)], marker="x" if stopped else "o", zorder=3,
            color="tab:orange" if stopped else "tab:blue",
        )  # fmt: skip
        running = pick(values) if running is None else pick(running, pick(values))
        best_so_far.append(running)
    ax.step(range(len(rows)), best_so_far, where="post", color="tab:green", label="best so far")
    ax.scatter([], [], color="tab:blue", label="trained to the end (its best)")
    ax.scatter([], [], marker="x", color="tab:orange", label="stopped early by ASHA (its best)")
    ax.scatter([], [], s=8, color="lightgray", label="every epoch's value")
    ax.set_xlabel("Trial (in start order)")
    ax.set_ylabel(spec.metric)
    ax.set_title(f"Optimization history: all {len(rows)} trials with a result")
    ax.legend(loc="lower right" if spec.mode == "max" else "upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return len(rows)


def write_search_report(
    folder: str | Path, study, trials: dict[str, dict[str, Any]], spec: SweepSpec, sweep_id: str
) -> dict[str, Any]:
    """Write the plots, compute.json and report.html; returns a summary."""
    import optuna.visualization.matplotlib as ovm

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    drawn = _history_plot(trials, spec, out / "optimization_history.png")
    plots = [(out / "optimization_history.png", f"Optimization history ({drawn} trials)")]
    figures: dict[str, Any] = {"optimization_history": {"trials": drawn}}
    epoch = fidelity_epoch(trials, spec)
    direction = "maximize" if spec.mode == "max" else "minimize"
    at_epoch = study_at_epoch(study, trials, epoch, direction)
    compared = len(at_epoch.trials)
    for fn, name, title, least in (
        (
            ovm.plot_parallel_coordinate,
            "parallel_coordinate",
            f"Parallel coordinates: {compared} trials, {spec.metric} at epoch {epoch}",
            2,
        ),
        (
            ovm.plot_param_importances,
            "param_importances",
            f"Hyperparameter importances: {compared} trials, {spec.metric} at epoch {epoch}",
            MIN_IMPORTANCE_TRIALS,
        ),
    ):
        figures[name] = {"trials": compared, "epoch": epoch}
        if compared < least:
            figures[name]["withheld"] = (
                f"withheld: {compared} trials reached epoch {epoch}, and this figure needs at "
                f"least {least} to mean anything"
            )
        elif _save_optuna_plot(fn, at_epoch, out / f"{name}.png", title, target_name=spec.metric):
            plots.append((out / f"{name}.png", title))
        else:
            figures[name]["withheld"] = "withheld: Optuna could not draw it (see the log)"
    if spec.cost:
        title = f"Pareto front: {spec.metric} against {spec.cost}"
        if _save_optuna_plot(
            ovm.plot_pareto_front,
            study,
            out / "pareto_front.png",
            title,
            target_names=[spec.metric, spec.cost],
        ):
            plots.append((out / "pareto_front.png", title))
    _asha_plot(trials, spec, out / "asha_epochs.png")
    plots.append((out / "asha_epochs.png", "Epochs reached per trial (ASHA)"))
    compute = compute_summary(trials, spec)
    (out / "compute.json").write_text(json.dumps(compute, indent=2))
    ranked = sorted(
        (t for t in trials.values() if t.get("best") is not None),
        key=lambda t: t["best"],
        reverse=spec.mode == "max",
    )
    table = html_table(
        ["trial", "status", "epochs", spec.metric, "config"],
        [
            (
                t["trial_id"],
                t["status"] + (" (stopped early)" if t.get("stopped_early") else ""),
                t.get("epochs", 0),
                float(t["best"]),
                ", ".join(f"{k}={v}" for k, v in sorted(t.get("config", {}).items())),
            )
            for t in ranked
        ],
        text_col=4,
    )
    compute_table = html_table(["", "value"], [(k, v) for k, v in compute.items()])
    notes = html_table(
        ["figure", "trials", "compared at epoch", "note"],
        [
            (name, f["trials"], f.get("epoch", "every epoch"), f.get("withheld", "drawn"))
            for name, f in figures.items()
        ],
    )
    html = html_page(
        f"Sweep {sweep_id}",
        [
            ("Compute spent (ASHA against training every trial to the maximum)", compute_table),
            ("What each figure rests on", notes),
            ("Plots", html_figures(plots)),
            ("Trials, best first", table),
        ],
    )
    (out / "report.html").write_text(html, encoding="utf-8")
    return {
        "folder": str(out),
        "plots": [str(p) for p, _ in plots],
        "figures": figures,
        "compute": compute,
    }


def best_so_far(
    record: dict[str, Any], trials: dict[str, dict[str, Any]], mode: str
) -> list[tuple[float, int, float]]:
    """The sweep's best metric as its trials ended: (seconds since it started running,
    trial-epochs spent so far, best so far), one point per trial with a result."""
    start = float(record.get("running_at") or record.get("created_at") or 0.0)
    ended = sorted(
        (t for t in trials.values() if _ranked_values(t) and t.get("finished_at")),
        key=lambda t: t["finished_at"],
    )
    pick = max if mode == "max" else min
    points, best, spent = [], None, 0
    for t in ended:
        spent += len(_ranked_values(t))
        value = pick(_ranked_values(t))
        best = value if best is None else pick(best, value)
        points.append((float(t["finished_at"]) - start, spent, best))
    return points


def write_comparison(
    folder: str | Path, sweeps: list[tuple[str, dict[str, Any], dict[str, dict[str, Any]]]]
) -> dict[str, Any]:
    """Overlay several sweeps' best-so-far curves, against wall time and against
    trial-epochs (the compute ASHA saves), in ``comparison.png`` and ``comparison.html``."""
    plt = _pyplot()
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    fig, (by_time, by_epochs) = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    rows, metrics = [], set()
    for sweep_id, record, trials in sweeps:
        spec = record.get("spec") or {}
        metrics.add(spec.get("metric", "metric"))
        points = best_so_far(record, trials, spec.get("mode", "max"))
        if not points:
            continue
        seconds, epochs, best = zip(*points, strict=True)
        by_time.step([s / 60 for s in seconds], best, where="post", label=sweep_id)
        by_epochs.step(epochs, best, where="post", label=sweep_id)
        rows.append((sweep_id, len(points), epochs[-1], round(seconds[-1] / 60, 1), best[-1]))
    by_time.set_xlabel("minutes since the sweep started running")
    by_epochs.set_xlabel("trial-epochs spent")
    by_time.set_ylabel(" / ".join(sorted(metrics)))
    by_epochs.legend(fontsize="small")
    fig.suptitle("Best so far, each point a trial ending")
    fig.tight_layout()
    fig.savefig(out / "comparison.png", dpi=110)
    plt.close(fig)
    table = html_table(["sweep", "trials", "trial-epochs", "minutes", "best"], rows)
    html = html_page(
        "Sweeps compared",
        [
            ("Sweeps", table),
            ("Best so far", html_figures([(out / "comparison.png", "Best so far")])),
        ],
    )
    (out / "comparison.html").write_text(html, encoding="utf-8")
    columns = ("trials", "trial_epochs", "minutes", "best")
    return {
        "folder": str(out),
        "comparison": str(out / "comparison.png"),
        "sweeps": {r[0]: dict(zip(columns, r[1:], strict=True)) for r in rows},
    }
