"""``sweep extend ID --trials N``: another run of trials on the same Optuna study."""

from __future__ import annotations

from dataclasses import asdict

import click

from ._common import open_store, require_restorable, require_sweep
from ._errors import BadInput, cli_errors
from ._options import run_options


@click.command()
@click.argument("sweep_id")
@click.option(
    "--trials",
    type=click.IntRange(min=1),
    required=True,
    help="How many more trials to run (TPE starts from every trial already in the study).",
)
@run_options
@cli_errors
def extend(sweep_id, trials, address, follow, redis_url, prefix, quiet, as_json):
    """Run N more trials on an ended sweep (succeeded, failed or cancelled).

    The new trials are a new Ray Tune run (<ID>.ext<K>) on the sweep's Optuna study, so TPE
    learns from every earlier trial; finished trials are never re-run. The trial table and
    leaderboard grow, and the best trial of all runs is retrained and exported again.

    \b
    Example:
      sweep extend imdb-lstm-20261124-101500-ab12 --trials 8
    """
    from sweep.search import Run

    from ._runner import sweep_runs
    from ._settings import redis_patience_s
    from ._status import RUNNING, TransitionError
    from ._sweep_cmds import _drive

    redis_patience_s()  # a bad SWEEP_REDIS_PATIENCE_S: refused before the run is recorded
    store = open_store(redis_url, prefix)
    record = require_sweep(store, sweep_id)
    require_restorable(record)
    runs = sweep_runs(record)
    new = Run.of(sweep_id, len(runs), trials)
    try:
        store.move(
            sweep_id,
            RUNNING,
            extend=True,
            reason=f"extend: {trials} more trials as run {new.name}",
            runs=[asdict(r) for r in [*runs, new]],
        )
    except TransitionError as exc:
        raise BadInput(str(exc)) from None
    if not quiet and not as_json:
        click.echo(f"sweep {sweep_id}: {trials} more trials as Ray Tune run {new.name}")
    _drive(store, sweep_id, address, prefix, follow=follow, quiet=quiet, as_json=as_json)
