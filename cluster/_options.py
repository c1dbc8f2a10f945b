"""Options shared by several commands."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click


def data_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--data",
        "data_source",
        envvar="SWEEP_IMDB",
        default=None,
        metavar="SOURCE",
        help="Reviews: 'imdb' (download the official archive), a path or file:// URL to "
        "aclImdb_v1.tar.gz, an extracted aclImdb/ folder, or a labelled CSV, Parquet or JSON "
        "Lines file (any K >= 2 classes). Env: SWEEP_IMDB. "
        "Overrides the spec's data.source.",
    )(fn)


def pretrain_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--pretrain-embeddings/--no-pretrain-embeddings",
        "pretrain_embeddings",
        default=None,
        help="Start the embedding from word vectors pre-trained (PPMI + SVD, ~30 s on the full "
        "archive) on the training and unlabelled reviews (train/unsup). Overrides "
        "data.pretrain_embeddings.",
    )(fn)


def output_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")(fn)
    fn = click.option("-q", "--quiet", is_flag=True, help="No progress output.")(fn)
    return fn


def run_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Where a sweep's driver runs (--address / --follow) and how much it prints."""
    from ._common import store_options

    fn = click.option("--json", "as_json", is_flag=True, help="Print the final record as JSON.")(fn)
    fn = click.option("-q", "--quiet", is_flag=True, help="No progress output.")(fn)
    fn = store_options(fn)
    fn = click.option(
        "--follow/--no-follow",
        default=True,
        show_default=True,
        help="With --address: print progress until the sweep ends.",
    )(fn)
    return click.option(
        "--address",
        envvar="RAY_ADDRESS",
        default=None,
        help="Ray dashboard URL to run the sweep on as a Ray job (env RAY_ADDRESS), e.g. "
        "http://127.0.0.1:8265. Without it the driver runs here on a local Ray.",
    )(fn)


def label_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--text-column, --label-column, --labels and --max-classes, handed to the command as
    one ``data_labels`` mapping of spec keys (``None`` values leave the spec as it is)."""

    @functools.wraps(fn)
    def wrapper(*args, text_column, label_column, labels, max_classes, **kwargs):
        data_labels = {
            "data.text_column": text_column,
            "data.label_column": label_column,
            "data.labels": labels,
            "data.max_classes": max_classes,
        }
        return fn(*args, data_labels=data_labels, **kwargs)

    for option in reversed(
        (
            click.option(
                "--text-column",
                metavar="NAME",
                help="Column of a CSV / Parquet / JSON Lines file holding the text (default: "
                "the first of text, review, sentence). Overrides data.text_column.",
            ),
            click.option(
                "--label-column",
                metavar="NAME",
                help="Column holding the label: any K >= 2 distinct values, strings or "
                "integers (default: label or sentiment). Overrides data.label_column.",
            ),
            click.option(
                "--labels",
                type=click.Choice(["polarity", "rating"]),
                help="The IMDB archive's task: polarity (negative/positive) or rating (the "
                "star rating of each review, 8 classes). Overrides data.labels.",
            ),
            click.option(
                "--max-classes",
                type=click.IntRange(min=2),
                metavar="N",
                help="Refuse a label column with more than N distinct values (default 50). "
                "Overrides data.max_classes.",
            ),
        )
    ):
        wrapper = option(wrapper)
    return wrapper
