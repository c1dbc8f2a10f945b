"""``sweep simulate [SPEC]``: what a spec would do, before anyone pays for a cluster."""

from __future__ import annotations

import math
import statistics

import click

from ._common import echo_json, open_store, require_sweep, store_options
from ._errors import BadInput, cli_errors


def _curves(curves_from: str | None, redis_url, prefix):
    """The curve table: a past sweep's trials in Redis, else the bundled IMDB table."""
    from sweep.search._surrogate import CurveTable

    if curves_from is None:
        try:
            table = CurveTable.load()
        except FileNotFoundError:
            raise BadInput(
                "this installation has no bundled curve table (search/curves/"
                "imdb-4800.jsonl.gz); record one with bench/record_curves.py, or replay a "
                "past sweep with --curves SWEEP_ID"
            ) from None
        size = len(table.first_seed())
        return table, f"the bundled IMDB curves ({size} configurations, search/curves)"
    store = open_store(redis_url, prefix)
    require_sweep(store, curves_from)
    table = CurveTable.from_trials(store.trials(curves_from), f"sweep {curves_from}")
    if not table.runs:
        raise BadInput(
            f"sweep {curves_from} has no trial with a reported epoch; simulate on the bundled "
            "curves (no --curves) or on a sweep that ran"
        )
    return table, f"the {len(table.runs)} trials of sweep {curves_from}"


@click.command()
@click.argument("spec", required=False, type=click.Path(dir_okay=False))
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Trials at once "
              "(default: the spec's concurrency).")  # fmt: skip
@click.option("--seeds", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--trials", type=click.IntRange(min=1), default=None, help="Overrides trials.")
@click.option(
    "--curves",
    "curves_from",
    metavar="SWEEP_ID",
    default=None,
    help="Replay the recorded trials of a past sweep (from Redis) instead of the bundled "
    "IMDB curves.",
)
@click.option("--overhead", type=click.FloatRange(min=0), default=1.5, show_default=True,
              help="Seconds each trial start costs (bench/trial_overhead.py).")  # fmt: skip
@click.option("--plot", type=click.Path(dir_okay=False), default=None, help="Write a PNG here.")
@store_options
@click.option("--json", "as_json", is_flag=True)
@cli_errors
def simulate(spec, workers, seeds, trials, curves_from, overhead, plot, redis_url, prefix, as_json):
    """Replay SPEC's searcher and ASHA settings on a simulated clock, over learning curves:
    the expected time to a good model (within 0.5 points of the best the curves hold) and
    the trial-epochs it costs, over --seeds runs. The spec's time_budget_s ends each
    simulated sweep as it would end the real one.

    \b
    Examples:
      sweep simulate examples/cluster.yaml --workers 32 --seeds 20 --plot sim.png
      sweep simulate --curves imdb-lstm-20261124-101500-ab12 --workers 8
    """
    from dataclasses import replace

    from sweep.search._simulate import simulate as run
    from sweep.search._surrogate import Surrogate, uncovered

    from ._sweep_cmds import _load_spec

    parsed = _load_spec(spec)
    if trials:
        parsed = replace(parsed, trials=trials)
    if parsed.metric != "val_accuracy":
        raise BadInput(
            f"metric={parsed.metric!r}: the curves hold validation accuracy; simulate a spec "
            "with metric: val_accuracy"
        )
    table, described = _curves(curves_from, redis_url, prefix)
    problems = uncovered(parsed.space, table)
    if problems:
        raise BadInput(
            "the spec's space goes where the curves never went: "
            + "; ".join(problems)
            + ". Narrow the space, or simulate on curves that cover it (--curves SWEEP_ID)"
        )
    if parsed.asha.max_epochs > table.max_epochs:
        raise BadInput(
            f"asha.max_epochs={parsed.asha.max_epochs} but the curves hold "
            f"{table.max_epochs} epochs; lower it to {table.max_epochs}"
        )
    try:
        curves = Surrogate(table)
    except ValueError as exc:
        raise BadInput(f"{exc} (trained to their max epochs): use more curves") from None
    parsed = replace(parsed, asha=replace(parsed.asha, max_epochs=table.max_epochs))
    workers = workers or parsed.concurrency
    target = table.best_final() - 0.005
    method = "service" if parsed.feedback == "pruned" else "stock"
    outcomes = [
        run(method, parsed, curves, workers, seed, budget_s=parsed.time_budget_s,
            overhead_s=overhead)
        for seed in range(seeds)
    ]  # fmt: skip
    times = sorted(o.time_to(target) for o in outcomes)
    reached = [t for t in times if math.isfinite(t)]
    summary = {
        "curves": described,
        "workers": workers,
        "seeds": seeds,
        "trials": parsed.trials,
        "target_val_accuracy": round(target, 4),
        "reached_target": len(reached),
        "median_time_to_target_s": (
            round(statistics.median(times), 1) if len(reached) * 2 > len(times) else None
        ),
        "median_best": round(statistics.median(o.best or 0.0 for o in outcomes), 4),
        "median_makespan_s": round(statistics.median(o.makespan for o in outcomes), 1),
        "median_trials_finished": statistics.median(o.finished for o in outcomes),
        "median_trial_epochs": statistics.median(o.trial_epochs for o in outcomes),
        "median_stopped_early": statistics.median(o.stopped_early for o in outcomes),
    }
    if plot:
        _plot(outcomes, target, plot)
        summary["plot"] = plot
    if as_json:
        echo_json(summary)
        return
    when = summary["median_time_to_target_s"]
    click.echo(
        f"{workers} workers, {parsed.trials} trials, {seeds} seeds on {described}:\n"
        f"  good model (val accuracy >= {target:.4f}) reached in {len(reached)} of {seeds} runs"
        + (f", median after {when / 3600:.2f} h" if when is not None else "")
        + f"\n  median best {summary['median_best']:.4f}, sweep ends after "
        f"{summary['median_makespan_s'] / 3600:.2f} h, "
        f"{summary['median_trial_epochs']:g} trial-epochs "
        f"({summary['median_stopped_early']:g} trials stopped early)"
    )


def _plot(outcomes, target: float, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for outcome in outcomes:
        if outcome.timeline:
            times, values = zip(*outcome.timeline, strict=True)
            ax.step([t / 3600 for t in times], values, where="post", alpha=0.5)
    ax.axhline(target, color="grey", linestyle="--", linewidth=1, label="good model")
    ax.set_xlabel("simulated hours")
    ax.set_ylabel("best validation accuracy")
    ax.set_title(f"{len(outcomes)} simulated sweeps")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
