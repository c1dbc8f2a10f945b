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


def write_search_report(
    folder: str | Path, study, trials: dict[str, dict[str, Any]], spec: SweepSpec, sweep_id: str
) -> dict[str, Any]:
    """Write the plots, compute.json and report.html; returns a summary."""
    import optuna.visualization.matplotlib as ovm

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    plots = []
    for fn, name, title in (
        (
            ovm.plot_optimization_history,
            "optimization_history.png",
            f"Optimization history ({spec.metric} per trial)",
        ),
        (
            ovm.plot_param_importances,
            "param_importances.png",
            f"Hyperparameter importances for {spec.metric}",
        ),
        (
            ovm.plot_parallel_coordinate,
            "parallel_coordinate.png",
            f"Parallel coordinates of the sampled hyperparameters ({spec.metric})",
        ),
    ):
        target = {}
        if spec.cost:  # two objectives: plot the metric; importances want low = good
            sign = -1.0 if fn is ovm.plot_param_importances and spec.mode == "max" else 1.0
            target = {"target": lambda t, sign=sign: sign * t.values[0]}
        if _save_optuna_plot(fn, study, out / name, title, target_name=spec.metric, **target):
            plots.append((out / name, title))
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
    html = html_page(
        f"Sweep {sweep_id}",
        [
            ("Compute spent (ASHA against training every trial to the maximum)", compute_table),
            ("Plots", html_figures(plots)),
            ("Trials, best first", table),
        ],
    )
    (out / "report.html").write_text(html, encoding="utf-8")
    return {"folder": str(out), "plots": [str(p) for p, _ in plots], "compute": compute}
