"""Options shared by several commands."""

from __future__ import annotations

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
        "aclImdb_v1.tar.gz, an extracted aclImdb/ folder, or a CSV. Env: SWEEP_IMDB. "
        "Overrides the spec's data.source.",
    )(fn)


def output_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")(fn)
    fn = click.option("-q", "--quiet", is_flag=True, help="No progress output.")(fn)
    return fn
