"""Helpers shared by the sweep commands: store options, opening the store, printing."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import click

from sweep.states import TrialStatus

from ._errors import BadInput


def store_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option(
        "--prefix",
        default="sweep:",
        show_default=True,
        envvar="SWEEP_PREFIX",
        help="Redis key prefix (env SWEEP_PREFIX).",
    )(fn)
    fn = click.option(
        "--redis-url",
        default=None,
        metavar="URL",
        help="Redis URL, e.g. redis://:PASSWORD@host:6380/0 or rediss:// for TLS. "
        "Default: SWEEP_REDIS_URL, else the `sweep local up` Redis, else "
        "redis://127.0.0.1:6380/0.",
    )(fn)
    return fn


def open_store(redis_url: str | None, prefix: str):
    from ._redis_store import RedisStateStore
    from ._settings import resolve_redis_url, with_password
    from ._store import StoreUnavailable

    try:
        # a URL without its password takes it from SWEEP_REDIS_PASSWORD(_FILE)
        store = RedisStateStore(with_password(resolve_redis_url(redis_url)), prefix)
        store.ping()
    except StoreUnavailable as exc:
        raise BadInput(str(exc)) from None
    except ValueError as exc:  # malformed URL
        raise BadInput(f"invalid Redis URL: {exc}") from None
    return store


def require_sweep(store, sweep_id: str) -> dict[str, Any]:
    record = store.get_sweep(sweep_id)
    if record is None:
        raise BadInput(f"no sweep {sweep_id!r} in Redis; `sweep list` shows the known sweeps")
    return record


def require_restorable(record: dict[str, Any]) -> None:
    """Refuse to restore a sweep whose checkpoints name the 0.1 module layout."""
    from ._store import MODULE_LAYOUT

    if record.get("module_layout") != MODULE_LAYOUT:
        raise BadInput(
            f"sweep {record['id']} was launched by sweep 0.1, whose Ray Tune checkpoints name "
            "the modules `search`, `model`, `data` and `cluster`; since 0.2 they are "
            "`sweep.search`, ..., so this version cannot restore them. Resume or extend it with "
            f"sweep 0.1, or launch a new sweep with `--warm-start {record['id']}` to start from "
            "its best configurations (its Redis records are kept)."
        )


def echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, sort_keys=True, default=str))


def test_metrics_line(metrics: dict[str, Any], with_n: bool = True) -> str:
    """One line of test metrics: accuracy, F1 and ROC AUC for two classes; macro-F1 and the
    macro one-vs-rest ROC AUC for K (an export's ``test`` or ``metrics.json``)."""

    def get(key: str) -> float:
        value = metrics.get(key)
        return float("nan") if value is None else float(value)

    k = len(metrics.get("classes") or ("negative", "positive"))
    n = f"n={metrics['n']}" if with_n and metrics.get("n") is not None else ""
    if k == 2:
        line = f"test accuracy {get('accuracy'):.4f}  F1 {get('f1'):.4f}  "
        line += f"ROC AUC {get('roc_auc'):.4f}"
        return f"{line}  ({n})" if n else line
    line = f"test accuracy {get('accuracy'):.4f}  macro-F1 {get('macro_f1'):.4f}  "
    line += f"ROC AUC (macro, one vs rest) {get('roc_auc'):.4f}"
    return f"{line}  ({n + ', ' if n else ''}{k} classes)"


def ago(ts: Any) -> str:
    try:
        seconds = time.time() - float(ts)
    except (TypeError, ValueError):
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit} ago"
    return f"{seconds:.0f}s ago"


def trial_counts(trials: dict[str, dict[str, Any]]) -> dict[str, int]:
    counts = {"running": 0, "done": 0, "stopped_early": 0, "errored": 0, "stopped": 0}
    for rec in trials.values():
        if rec.get("status") == TrialStatus.RUNNING:
            counts["running"] += 1
        elif rec.get("status") == TrialStatus.TERMINATED:
            counts["done"] += 1
            counts["stopped_early"] += bool(rec.get("stopped_early"))
        elif rec.get("status") == TrialStatus.ERROR:
            counts["errored"] += 1
        elif rec.get("status") == TrialStatus.STOPPED:  # cut when the sweep ended (its time budget)
            counts["stopped"] += 1
    return counts
