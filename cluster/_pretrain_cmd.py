"""``sweep pretrain``: the language-model encoder a sweep's space can draw, alone, no Ray."""

from __future__ import annotations

import click

from ._common import echo_json
from ._errors import cli_errors
from ._options import data_option, output_options


@click.command()
@click.argument("spec", required=False, type=click.Path(dir_okay=False))
@data_option
@click.option("--max-reviews", type=int, help="Overrides data.max_reviews.")
@click.option(
    "--storage",
    help="Overrides storage: the cache is <storage>/pretrained/<key>/, a folder or a URI.",
)
@click.option("--epochs", type=int, help="Overrides pretrain.epochs (default 2).")
@click.option("--window", type=int, help="Overrides pretrain.window: words per row (64).")
@click.option("--batch-size", type=int, help="Overrides pretrain.batch_size (default 64).")
@click.option(
    "--max-windows",
    type=int,
    help="Overrides pretrain.max_windows: at most N training rows per epoch (0: all).",
)
@click.option(
    "--cpus",
    type=float,
    help="TensorFlow threads (default: every core of this machine; the spec's pretrain.cpus "
    "is for the sweep's Ray task). Not part of the cache key.",
)
@output_options
@cli_errors
def pretrain(
    spec,
    data_source,
    max_reviews,
    storage,
    epochs,
    window,
    batch_size,
    max_windows,
    cpus,
    quiet,
    as_json,
):
    """Pre-train the language model SPEC's sweep would start its encoder from.

    It reads the training and unlabelled reviews (never validation or test), at the space's
    largest vocabulary, embedding_dim and units, and caches the result in the storage by
    the data and the settings: a sweep of the same spec then reuses it instead of training
    one. An interrupted run resumes at its last finished epoch when started again.

    \b
    Example:
      sweep pretrain examples/pretrained.yaml --data ../shared/data/imdb/aclImdb_v1.tar.gz
    """
    import os

    from sweep.search import override, run_pretraining

    from ._sweep_cmds import _load_spec

    parsed = override(
        _load_spec(spec),
        {
            "data.source": data_source,
            "data.max_reviews": max_reviews,
            "storage": storage,
            "pretrain.epochs": epochs,
            "pretrain.window": window,
            "pretrain.batch_size": batch_size,
            "pretrain.max_windows": max_windows,
            "pretrain.cpus": cpus or min(float(os.cpu_count() or 1), 256.0),
        },
    )
    log = (lambda line: None) if quiet or as_json else click.echo
    info = run_pretraining(parsed, progress=not quiet and not as_json, log=log)
    if as_json:
        echo_json(info)
        return
    click.echo(
        f"language model {info['key']}: held-out perplexity {info['perplexity']:.1f} after "
        f"{info['settings']['epochs']} epochs on {info['reviews']} reviews "
        f"({info['seconds'] / 3600:.2f} {info['device']} hours"
        f"{', reused from the cache' if info['reused'] else ''})"
    )
