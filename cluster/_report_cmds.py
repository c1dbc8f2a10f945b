"""``sweep evaluate``, ``sweep data describe`` and ``sweep report``."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import echo_json, open_store, require_sweep, store_options, test_metrics_line
from ._errors import cli_errors
from ._options import label_options


@click.command()
@click.argument("model_dir", metavar="MODEL", type=click.Path())
@click.option(
    "--data",
    "data_source",
    default=None,
    metavar="SOURCE",
    help="Labelled data whose test split is scored (default: what the model was "
    "trained on, from its metadata.json).",
)
@label_options
@click.option("--max-reviews", type=int, help="Score a stratified sample of N test reviews.")
@click.option(
    "--output",
    "-o",
    default="evaluation-report",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for report.html, plots and CSVs.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@cli_errors
def evaluate(model_dir, data_source, data_labels, max_reviews, output, quiet, as_json):
    """Evaluation report of an exported MODEL on a test split.

    Writes report.html (self-contained), metrics.json, classification_report.txt, errors.csv
    (the most confidently wrong reviews) and the plots.

    \b
    Example:
      sweep evaluate my-model/ --data ../shared/data/imdb/aclImdb_v1.tar.gz -o report/
    """
    from sweep.search import evaluate_export

    metrics = evaluate_export(
        model_dir,
        output,
        data_source,
        max_reviews,
        progress=not (quiet or as_json),
        data={k.removeprefix("data."): v for k, v in data_labels.items() if v is not None},
    )
    if as_json:
        echo_json({k: v for k, v in metrics.items() if k != "report"})
        return
    click.echo(test_metrics_line(metrics))
    click.echo(f"report: {output}/report.html")


@click.group()
def data() -> None:
    """Dataset tools."""


@data.command()
@click.option(
    "--data",
    "data_source",
    envvar="SWEEP_IMDB",
    default="imdb",
    show_default=True,
    metavar="SOURCE",
    help="Archive, aclImdb/ folder, a CSV / Parquet / JSON Lines table or 'imdb' (env SWEEP_IMDB).",
)
@label_options
@click.option(
    "--output",
    "-o",
    default="data-report",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the plots and summary.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@cli_errors
def describe(data_source, data_labels, output, quiet, as_json):
    """Dataset statistics: counts per split and label, review lengths (words and tokens) with
    the share each candidate sequence length cuts, most frequent words per class.

    \b
    Example:
      sweep data describe --data ../shared/data/imdb/aclImdb_v1.tar.gz -o data-report/
    """
    from sweep.data import CsvOptions, describe_dataset, load_dataset

    given = {k.removeprefix("data."): v for k, v in data_labels.items() if v is not None}
    labels = given.pop("labels", "polarity")
    dataset = load_dataset(
        data_source, csv=CsvOptions(**given), labels=labels, progress=not (quiet or as_json)
    )
    summary = describe_dataset(dataset, output, progress=not (quiet or as_json))
    if as_json:
        echo_json(summary)
    else:
        click.echo((__import__("pathlib").Path(output) / "summary.txt").read_text().rstrip())
        click.echo(f"plots and summary.json in {output}/")


@click.command()
@click.argument("sweep_ids", metavar="SWEEP_ID...", nargs=-1, required=True)
@click.option(
    "--output",
    "-o",
    default=None,
    type=click.Path(file_okay=False),
    help="Folder for the report (default: sweep-report-ID; with several sweeps, "
    "sweep-comparison, one subfolder per sweep).",
)
@store_options
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@cli_errors
def report(sweep_ids, output, redis_url, prefix, as_json):
    """Search insight for a sweep: optimization history, parameter importances, parallel
    coordinates, ASHA's stopping picture, compute spent against no early stopping. With
    several sweeps, also their best-so-far curves overlaid (against wall time and against
    trial-epochs), to see what a change of space or ASHA settings did.

    \b
    Examples:
      sweep report imdb-lstm-20261124-101500-ab12 -o sweep-report/
      sweep report ID1 ID2 -o compared/
    """
    from sweep.search import write_comparison

    store = open_store(redis_url, prefix)
    records = {sweep_id: require_sweep(store, sweep_id) for sweep_id in dict.fromkeys(sweep_ids)}
    if len(records) == 1:
        (sweep_id,) = records
        summary = _one_report(store, sweep_id, records[sweep_id], output)
        if as_json:
            echo_json(summary)
            return
        _echo_compute(summary["compute"])
        click.echo(f"report: {summary['folder']}/report.html")
        return
    folder = Path(output or "sweep-comparison")
    reports = {
        sweep_id: _one_report(store, sweep_id, record, folder / sweep_id)
        for sweep_id, record in records.items()
    }
    compared = write_comparison(
        folder, [(sweep_id, r, store.trials(sweep_id)) for sweep_id, r in records.items()]
    )
    if as_json:
        echo_json({**compared, "reports": reports})
        return
    for sweep_id, row in compared["sweeps"].items():
        click.echo(
            f"{sweep_id}: best {row['best']:.4f} after {row['trials']} trials, "
            f"{row['trial_epochs']} trial-epochs, {row['minutes']} min"
        )
    click.echo(f"comparison: {folder}/comparison.html (one report per sweep beside it)")


def _one_report(store, sweep_id: str, record: dict, output) -> dict:
    import optuna

    from sweep.search import parse_recorded_spec, write_search_report

    from ._optuna_journal import optuna_storage

    study = optuna.load_study(
        study_name=sweep_id, storage=optuna_storage(store.url, sweep_id, store.keys)
    )
    return write_search_report(
        output or f"sweep-report-{sweep_id}",
        study,
        store.trials(sweep_id),
        parse_recorded_spec(record["spec"]),
        sweep_id,
    )


def _echo_compute(c: dict) -> None:
    click.echo(
        f"trial-epochs spent {c['trial_epochs']} of {c['trial_epochs_without_asha']} "
        f"without early stopping ({c['saved_fraction']:.0%} saved); "
        f"train CPU-seconds {c['cpu_seconds']:.0f}"
    )


@click.command()
@click.argument("sweep_id")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8080, show_default=True)
@store_options
@cli_errors
def dashboard(sweep_id, host, port, redis_url, prefix):
    """Open the sweep's Optuna study (in Redis) in optuna-dashboard.

    Needs the optional package: pip install 'sweep[dashboard]' (optuna-dashboard).

    \b
    Example:
      sweep dashboard imdb-lstm-20261124-101500-ab12 --port 8080   # then open http://127.0.0.1:8080
    """
    from ._errors import BadInput
    from ._optuna_journal import optuna_storage

    try:
        from optuna_dashboard import run_server
    except ImportError:
        raise BadInput("optuna-dashboard is not installed: pip install optuna-dashboard") from None
    store = open_store(redis_url, prefix)
    require_sweep(store, sweep_id)
    click.echo(f"optuna-dashboard for study {sweep_id} on http://{host}:{port} (Ctrl-C stops)")
    run_server(optuna_storage(store.url, sweep_id, store.keys), host=host, port=port)


COMMANDS = [evaluate, data, report, dashboard]
