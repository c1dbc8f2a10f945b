"""``sweep launch | list | status | trials | best | resume | cancel``."""

from __future__ import annotations

import contextlib
import sys
import threading

import click

from ._common import (
    ago,
    echo_json,
    open_store,
    require_restorable,
    require_sweep,
    store_options,
    test_metrics_line,
    trial_counts,
)
from ._errors import BadInput, WorkFailed, cli_errors
from ._launch import follow as follow_sweep
from ._launch import is_job_api, place, record_sweep, run_here, submit
from ._options import label_options, pretrain_option, run_options
from ._settings import redis_patience_s


def _warm_start_ids(text: str | None) -> list[str]:
    ids = [part.strip() for part in (text or "").split(",") if part.strip()]
    if text is not None and not ids:
        raise BadInput("--warm-start needs sweep ids, e.g. --warm-start ID1,ID2")
    return list(dict.fromkeys(ids))


def _load_spec(path):
    import yaml

    from sweep.search import default_spec_text, load_yaml, parse_sweep_spec

    return parse_sweep_spec(load_yaml(path) if path else yaml.safe_load(default_spec_text()))


def _follow(store, sweep_id: str, quiet: bool, address=None, job_id=None) -> dict:
    """Show the sweep until it reaches a final status (see ``follow``): redrawn in place on
    a terminal, one line per change elsewhere, nothing with ``quiet``."""
    from ._live import LiveView, PlainLines

    where = {"address": address, "job_id": job_id}
    if quiet:
        return follow_sweep(store, sweep_id, **where)
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        lines = PlainLines(store, sweep_id, click.echo)
        return follow_sweep(store, sweep_id, **where, on_update=lines)
    with LiveView(store, sweep_id, console) as view:
        return follow_sweep(store, sweep_id, **where, interval=1.0, on_update=view)


def _run_here_shown(store, sweep_id, address, prefix, resume, quiet) -> dict:
    """Run the driver here; on a terminal, with the live view of ``status --watch`` drawn
    from the state store beside it, else with the driver's own progress lines."""
    from rich.console import Console

    console = Console()
    if quiet or not console.is_terminal:
        return run_here(store, sweep_id, address, prefix, resume=resume, progress=not quiet)
    from ._live import LiveView

    stop = threading.Event()

    def show(view) -> None:
        # only a view: a Redis hiccup here must not print a thread's traceback; the
        # driver's own outcome decides the exit
        with contextlib.suppress(Exception):
            follow_sweep(store, sweep_id, interval=1.0, on_update=view, stop=stop)

    with LiveView(store, sweep_id, console) as view:
        shown = threading.Thread(target=show, args=(view,), daemon=True)
        shown.start()
        try:
            return run_here(store, sweep_id, address, prefix, resume=resume, progress=False)
        finally:
            stop.set()
            shown.join(10)
            with contextlib.suppress(Exception):
                view(store.get_sweep(sweep_id) or {})  # the last state, drawn once more


def _summary(record: dict) -> str:
    test = record.get("test_metrics") or {}
    lines = [f"sweep {record['id']}: {record['status']}"]
    if record.get("best_trial"):
        lines.append(
            f"  best trial {record['best_trial']}  "
            f"{record.get('spec', {}).get('metric', 'metric')} "
            f"{float(record.get('best_metric', 'nan')):.4f}"
        )
    if test:
        lines.append(f"  {test_metrics_line(test, with_n=False)}")
    if record.get("artifact"):
        lines.append(f"  model: {record['artifact']}")
    if record.get("experiment"):
        lines.append(f"  Ray Tune experiment (TensorBoard logs): {record['experiment']}")
    if len(record.get("runs") or ()) > 1:
        runs = ", ".join(f"{r['name']} ({r['trials']} trials)" for r in record["runs"])
        lines.append(f"  runs: {runs}")
    warm = record.get("warm_start")
    if isinstance(warm, dict):
        lines.append(f"  warm start: {len(warm.get('enqueued', []))} configurations enqueued")
        lines.extend(f"    {note}" for note in warm.get("notes", []))
    if record.get("error"):
        lines.append(f"  error: {record['error']}")
    return "\n".join(lines)


@click.command()
@click.argument("spec", required=False, type=click.Path(dir_okay=False))
@click.option(
    "--data",
    "data_source",
    default=None,
    metavar="SOURCE",
    help="Overrides data.source (env SWEEP_IMDB is read by the loader for 'imdb').",
)
@click.option("--name", help="Overrides name (the sweep id is NAME-<time>-<random>).")
@click.option("--trials", type=int, help="Overrides trials.")
@click.option("--concurrency", type=int, help="Overrides concurrency.")
@click.option("--max-epochs", type=int, help="Overrides asha.max_epochs.")
@click.option("--grace-period", type=int, help="Overrides asha.grace_period.")
@click.option("--cpus", type=float, help="Overrides resources.cpus (per trial).")
@click.option("--gpus", type=float, help="Overrides resources.gpus (per trial, 0.25 = quarter).")
@click.option("--max-reviews", type=int, help="Overrides data.max_reviews.")
@label_options
@pretrain_option
@click.option(
    "--storage",
    help="Overrides storage: the storage root, a folder or a URI (s3://BUCKET/PREFIX). On a "
    "cluster of several nodes: object storage, or a folder every node mounts (with "
    "--shared-storage).",
)
@click.option(
    "--shared-storage/--no-shared-storage",
    default=None,
    help="Overrides shared_storage: the storage folder is mounted at the same path on every "
    "node (NFS, EFS); the driver checks it from every node before the first trial.",
)
@click.option("--seed", type=int, help="Overrides seed (TPE).")
@click.option("--time-budget", "time_budget_s", type=float, help="Overrides time_budget_s.")
@click.option("--cost", type=click.Choice(["params", "latency_ms"]), help="Overrides cost.")
@click.option(
    "--metric",
    type=click.Choice(["val_accuracy", "val_macro_f1", "val_auc", "val_loss"]),
    help="Overrides metric (and mode: min for val_loss, else max). val_macro_f1 weighs every "
    "class the same, for imbalanced or K-class data; val_auc is for two classes.",
)
@click.option(
    "--warm-start",
    metavar="ID[,ID...]",
    help="Evaluate the best configurations of these earlier sweeps first (same data only; "
    "parameters the space no longer has are dropped, and the sweep record says so).",
)
@run_options
@cli_errors
def launch(
    spec,
    data_source,
    name,
    trials,
    concurrency,
    max_epochs,
    grace_period,
    cpus,
    gpus,
    max_reviews,
    data_labels,
    pretrain_embeddings,
    storage,
    shared_storage,
    seed,
    time_budget_s,
    cost,
    metric,
    warm_start,
    address,
    follow,
    redis_url,
    prefix,
    quiet,
    as_json,
):
    """Create a sweep in Redis and run it (OptunaSearch + ASHA on Ray Tune).

    SPEC is a sweep YAML (default: the built-in spec, see search/default_sweep.yaml);
    flags override its keys. Submitted to a Ray job API (--address http://HEAD:8265), a data
    file named here is uploaded with the job; `--data imdb` downloads on the head.

    \b
    Examples:
      sweep launch examples/quick.yaml --data ../shared/data/imdb/aclImdb_v1.tar.gz
      sweep launch --address http://127.0.0.1:8265 --trials 48 --concurrency 8
      sweep launch examples/quick.yaml --warm-start imdb-lstm-20261124-101500-ab12
    """
    from sweep.search import join_storage, override

    redis_patience_s()  # a bad SWEEP_REDIS_PATIENCE_S: refused before anything is recorded
    warm_start = _warm_start_ids(warm_start)
    parsed = override(
        _load_spec(spec),
        {
            "name": name,
            "trials": trials,
            "concurrency": concurrency,
            "storage": storage,
            "shared_storage": shared_storage,
            "seed": seed,
            "time_budget_s": time_budget_s,
            "cost": cost,
            "metric": metric,
            "mode": None if metric is None else ("min" if metric == "val_loss" else "max"),
            "data.source": data_source,
            "data.max_reviews": max_reviews,
            "data.pretrain_embeddings": pretrain_embeddings,
            **data_labels,
            "asha.max_epochs": max_epochs,
            "asha.grace_period": grace_period,
            "resources.cpus": cpus,
            "resources.gpus": gpus,
        },
    )
    store = open_store(redis_url, prefix)
    for source in warm_start:
        require_sweep(store, source)
    placement = place(parsed, address)
    sweep_id = record_sweep(store, placement, warm_start)
    if not quiet and not as_json:
        click.echo(
            f"sweep {sweep_id} created; Ray Tune results and TensorBoard logs under "
            f"{join_storage(placement.spec.storage, sweep_id)}"
        )
    _drive(
        store,
        sweep_id,
        address,
        prefix,
        follow=follow,
        quiet=quiet,
        as_json=as_json,
        uploads=placement.uploads,
    )


def _drive(
    store,
    sweep_id,
    address,
    prefix,
    *,
    resume=False,
    follow=True,
    quiet=False,
    as_json=False,
    uploads=None,
):
    """Run a recorded sweep (``resume``: continue it), submitted as a Ray job to a dashboard
    address, else here: the one path of ``launch``, ``resume`` and ``extend``."""
    from ._status import CANCELLED, SUCCEEDED

    what = f"resume of {sweep_id}" if resume else f"sweep {sweep_id}"
    if is_job_api(address):
        job_id = submit(store, sweep_id, address, prefix, resume=resume, uploads=uploads)
        if not quiet and not as_json:
            click.echo(f"{what} submitted as Ray job {job_id} to {address}")
        if not follow:
            if as_json:
                echo_json(store.get_sweep(sweep_id))
            return
        record = _follow(store, sweep_id, quiet or as_json, address=address, job_id=job_id)
    else:
        # with --json, stdout is the record alone: what Ray Tune prints goes to stderr
        sink = contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()
        try:
            with sink:
                record = _run_here_shown(store, sweep_id, address, prefix, resume, quiet or as_json)
        except Exception as exc:
            from ._redis_store import RedisGone

            if isinstance(exc, RedisGone):  # its status cannot be read, nor written
                raise WorkFailed(exc.stopped(sweep_id)) from None
            if (store.get_sweep(sweep_id) or {}).get("status") == CANCELLED:
                click.echo(f"sweep {sweep_id} was cancelled")
                return
            from sweep.data import DataError
            from sweep.search import SpecError

            if isinstance(exc, (SpecError, DataError)):  # bad input: exit 2 (cli_errors)
                raise
            raise WorkFailed(f"{what} failed: {type(exc).__name__}: {exc}") from exc
    if as_json:
        echo_json(record)
    else:
        click.echo(_summary(record))
    if record.get("status") != SUCCEEDED:
        raise WorkFailed(f"sweep {sweep_id} ended {record.get('status')}")


@click.command(name="list")
@click.option("--limit", default=50, show_default=True, help="How many sweeps, newest first.")
@store_options
@click.option("--json", "as_json", is_flag=True)
@cli_errors
def list_sweeps(limit, redis_url, prefix, as_json):
    """List sweeps, newest first.

    \b
    Example:
      sweep list --limit 10
    """
    rows = open_store(redis_url, prefix).list_sweeps(limit)
    if as_json:
        echo_json(
            [
                {
                    k: r.get(k)
                    for k in ("id", "status", "created_at", "best_metric", "best_trial", "artifact")
                }
                for r in rows
            ]
        )
        return
    if not rows:
        click.echo("no sweeps yet; start one with `sweep launch`")
    for r in rows:
        best = r.get("best_metric")
        click.echo(
            f"{r['id']:<40} {r['status']:<11} {ago(r.get('created_at')):>9}  best {best:.4f}"
            if isinstance(best, float)
            else f"{r['id']:<40} {r['status']:<11} {ago(r.get('created_at')):>9}"
        )


@click.command()
@click.argument("sweep_id")
@store_options
@click.option("--watch", is_flag=True, help="Keep printing progress until the sweep ends.")
@click.option("--json", "as_json", is_flag=True)
@cli_errors
def status(sweep_id, redis_url, prefix, watch, as_json):
    """Show a sweep's status, progress, best trial and artifact.

    With --watch, follow it until it ends; the exit code is then 0 if it succeeded, else 1.

    \b
    Example:
      sweep status imdb-lstm-20261124-101500-ab12 --watch
    """
    store = open_store(redis_url, prefix)
    record = require_sweep(store, sweep_id)
    if watch:
        record = _follow(
            store,
            sweep_id,
            as_json,
            address=record.get("ray_address"),
            job_id=record.get("ray_job_id"),
        )
    counts = trial_counts(store.trials(sweep_id))
    if as_json:
        echo_json({**record, "trial_counts": counts})
    else:
        click.echo(_summary(record))
        click.echo(
            f"  trials: {counts['done']} done ({counts['stopped_early']} stopped early), "
            f"{counts['running']} running, {counts['errored']} errored"
            + (f", {counts['stopped']} cut by the time budget" if counts["stopped"] else "")
        )
        for move in record.get("history", []):
            extra = f" ({move['reason']})" if move.get("reason") else ""
            click.echo(f"  {move['status']:<11} {ago(move['at'])}{extra}")
    if watch and record.get("status") != "succeeded":
        raise WorkFailed(f"sweep {sweep_id} ended {record.get('status')}")


@click.command()
@click.argument("sweep_id")
@click.option("--top", type=click.IntRange(min=1), default=None, help="Only the N best trials.")
@store_options
@click.option("--json", "as_json", is_flag=True)
@cli_errors
def trials(sweep_id, top, redis_url, prefix, as_json):
    """The trial table, best first (leaderboard order), then unscored trials.

    \b
    Example:
      sweep trials imdb-lstm-20261124-101500-ab12 --top 5
    """
    store = open_store(redis_url, prefix)
    record = require_sweep(store, sweep_id)
    rows = store.ranked_trials(sweep_id, record["spec"]["mode"], top)
    if as_json:
        echo_json(rows)
        return
    metric = record["spec"]["metric"]
    click.echo(f"{'trial':<16} {'status':<11} {'epochs':>6} {metric:>12}  {'node':<15} config")
    for r in rows:
        best = f"{r['best']:.4f}" if r.get("best") is not None else "-"
        status_ = r["status"] + ("*" if r.get("stopped_early") else "")
        cfg = ", ".join(
            f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in sorted(r.get("config", {}).items())
        )
        click.echo(
            f"{r['trial_id']:<16} {status_:<11} {r.get('epochs', 0):>6} {best:>12}  "
            f"{r.get('node_ip') or '-':<15} {cfg}"
        )
        if r.get("error"):
            click.echo(f"{'':<16} error: {r['error']}")
    click.echo("(* stopped early by ASHA)")


@click.command()
@click.argument("sweep_id")
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False),
    help="Copy the exported model here (every sha256 is verified).",
)
@click.option(
    "--pick",
    nargs=2,
    type=(click.Choice(["smallest-within"]), click.FloatRange(min=0)),
    default=None,
    metavar="smallest-within POINTS",
    help="Instead of the winner, the cheapest trial within POINTS percentage points of the "
    "best metric (0.5 = 0.005 accuracy); it is retrained and exported here, once.",
)
@click.option(
    "--cost",
    type=click.Choice(["params", "latency_ms"]),
    default=None,
    help="The cost for --pick and --pareto (default: the spec's cost, else params).",
)
@click.option("--pareto", is_flag=True, help="Also print the Pareto front (metric vs cost).")
@store_options
@click.option("--json", "as_json", is_flag=True)
@cli_errors
def best(sweep_id, output, pick, cost, pareto, redis_url, prefix, as_json):
    """The winner's metrics and, with --output, its exported model.

    \b
    Examples:
      sweep best imdb-lstm-20261124-101500-ab12 --output my-model/
      sweep predict my-model/ "What a film!"
      sweep best imdb-lstm-20261124-101500-ab12 --pareto
      sweep best imdb-lstm-20261124-101500-ab12 --pick smallest-within 0.5 -o small/
    """
    from sweep.search import parse_recorded_spec

    from ._artifacts import fetch_artifact
    from ._runner import pareto_records
    from ._status import FINAL

    store = open_store(redis_url, prefix)
    record = require_sweep(store, sweep_id)
    chosen = None
    if pick:
        from ._pick import export_pick

        if record["status"] not in FINAL:
            raise BadInput(
                f"sweep {sweep_id} is {record['status']}; pick a trial once it has ended"
            )
        chosen = export_pick(store, record, pick[1], cost)
        artifact, sha = chosen["artifact"], chosen["sha256"]
    else:
        if record["status"] != "succeeded" or not record.get("artifact"):
            raise BadInput(
                f"sweep {sweep_id} is {record['status']}, it has no exported model yet; "
                "wait for it (`sweep status ID --watch`) or resume it (`sweep resume ID`)"
            )
        artifact, sha = record["artifact"], record.get("artifact_sha256")
    copied = fetch_artifact(artifact, output, sha) if output else None
    spec = parse_recorded_spec(record["spec"])
    front = pareto_records(store, sweep_id, spec, cost) if (pareto or spec.cost) else None
    if as_json:
        keys = ("id", "best_trial", "best_metric", "artifact", "artifact_sha256", "test_metrics")
        echo_json(
            {
                **{k: record.get(k) for k in keys},
                "pick": chosen,
                "pareto": front,
                "output": str(copied) if copied else None,
            }
        )
        return
    click.echo(_summary(record))
    if chosen:
        shown = cost or spec.cost or "params"
        click.echo(
            f"  pick ({chosen['pick']}): trial {chosen['trial_id']}  {spec.metric} "
            f"{chosen[spec.metric]:.4f}  {shown} {chosen[shown]:g}\n  model: {artifact}"
        )
    if front:
        shown = cost or spec.cost or "params"
        click.echo(f"  Pareto front ({spec.metric} vs {shown}), cheapest first:")
        for row in front:
            click.echo(f"    {row['trial_id']:<16} {row[spec.metric]:.4f}  {row[shown]:g}")
    if copied:
        click.echo(f"  copied and verified: {copied}")


@click.command()
@click.argument("sweep_id")
@run_options
@cli_errors
def resume(sweep_id, address, follow, redis_url, prefix, quiet, as_json):
    """Continue an interrupted sweep: unfinished trials restart from their last checkpoint,
    finished trials are not repeated, the same Optuna study is used.

    \b
    Example:
      sweep resume imdb-lstm-20261124-101500-ab12
    """
    from ._status import RESUMABLE

    redis_patience_s()
    store = open_store(redis_url, prefix)
    record = require_sweep(store, sweep_id)
    require_restorable(record)
    if record["status"] not in RESUMABLE:
        raise BadInput(
            f"sweep {sweep_id} is {record['status']}; only "
            f"{', '.join(sorted(RESUMABLE))} sweeps can be resumed"
        )
    _drive(
        store, sweep_id, address, prefix, resume=True, follow=follow, quiet=quiet, as_json=as_json
    )


@click.command()
@click.argument("sweep_id")
@store_options
@cli_errors
def cancel(sweep_id, redis_url, prefix):
    """Cancel a sweep: its status becomes cancelled, its trials stop, its Ray job is stopped.

    \b
    Example:
      sweep cancel imdb-lstm-20261124-101500-ab12
    """
    from ._ray import stop_job
    from ._status import CANCELLED, TransitionError

    store = open_store(redis_url, prefix)
    record = require_sweep(store, sweep_id)
    try:
        store.move(sweep_id, CANCELLED, reason="sweep cancel")
    except TransitionError as exc:
        raise BadInput(str(exc)) from None
    if record.get("ray_job_id") and record.get("ray_address"):
        stop_job(record["ray_address"], record["ray_job_id"])
    click.echo(f"sweep {sweep_id} cancelled")


COMMANDS = [launch, list_sweeps, status, trials, best, resume, cancel]
