"""How a followed sweep is shown: a live view redrawn in place on a terminal (rich), or one
plain line per change elsewhere (CI logs, pipes). Both only read the state store."""

from __future__ import annotations

import time
from typing import Any

from sweep.states import TrialStatus

from ._store import StateStore

TOP = 5
CLOSED = frozenset(s for s in TrialStatus if s.closed)


def _clock(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _metric(value: Any) -> str:
    return "-" if value is None else f"{float(value):.4f}"


def tally(record: dict[str, Any], trials: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Counts of the sweep's trials, the total it asked for (every run's), and a
    straight-line estimate of the time left from the pace of trials finished so far."""
    statuses = [t.get("status") for t in trials.values()]
    finished = [t for t in trials.values() if t.get("status") in CLOSED]
    runs = record.get("runs") or [{"trials": (record.get("spec") or {}).get("trials", 0)}]
    total = max(sum(int(r.get("trials", 0)) for r in runs), len(finished))
    started = record.get("running_at")
    now = time.time()
    left = None
    if finished and started and len(finished) < total:
        left = (now - float(started)) / len(finished) * (total - len(finished))
    return {
        "total": total,
        "finished": len(finished),
        "stopped_early": sum(bool(t.get("stopped_early")) for t in finished),
        "errored": statuses.count(TrialStatus.ERROR) + statuses.count(TrialStatus.LOST),
        "running": statuses.count(TrialStatus.RUNNING),
        "elapsed": now - float(started) if started else None,
        "left": left,
    }


def render(record: dict[str, Any], trials: dict[str, dict[str, Any]], top: int = TOP) -> Any:
    """The live view of one moment: a progress bar with the counts and the time left, the
    running trials (epoch of max, latest and best metric, node, elapsed), the leaderboard."""
    from rich.console import Group
    from rich.progress_bar import ProgressBar
    from rich.table import Table
    from rich.text import Text

    spec = record.get("spec") or {}
    metric, mode = spec.get("metric", "metric"), spec.get("mode", "max")
    max_epochs = (spec.get("asha") or {}).get("max_epochs", "?")
    c = tally(record, trials)
    title = Text.assemble(
        (f"sweep {record.get('id')}", "bold"),
        f"  [{record.get('status')}]  elapsed {_clock(c['elapsed'])}",
        f"  about {_clock(c['left'])} left" if c["left"] is not None else "",
    )
    bar = Table.grid(padding=(0, 1))
    bar.add_row(
        ProgressBar(total=max(c["total"], 1), completed=c["finished"], width=40),
        f"{c['finished']}/{c['total']} trials: {c['stopped_early']} stopped early, "
        f"{c['errored']} errored, {c['running']} running",
    )
    now = time.time()
    running = Table(title="running", title_justify="left", expand=False)
    for column in ("trial", "epoch", f"latest {metric}", f"best {metric}", "node", "elapsed"):
        running.add_column(column)
    for t in sorted(trials.values(), key=lambda t: t.get("started_at") or 0):
        if t.get("status") != TrialStatus.RUNNING:
            continue
        history = t.get("history") or []
        running.add_row(
            t["trial_id"],
            f"{t.get('epochs', 0)}/{max_epochs}",
            _metric(history[-1] if history else None),
            _metric(t.get("best")),
            str(t.get("node_ip") or "-"),
            _clock(now - t["started_at"] if t.get("started_at") else None),
        )
    scored = [t for t in trials.values() if t.get("best") is not None]
    scored.sort(key=lambda t: float(t["best"]), reverse=mode == "max")
    board = Table(title=f"best {min(top, len(scored))} of {len(scored)}", title_justify="left")
    for column in ("trial", metric, "epochs", "status"):
        board.add_column(column)
    for t in scored[:top]:
        status = "stopped early" if t.get("stopped_early") else str(t.get("status"))
        board.add_row(t["trial_id"], _metric(t["best"]), str(t.get("epochs", 0)), status)
    return Group(title, bar, running, board)


class LiveView:
    """``follow``'s ``on_update`` for a terminal: the view redrawn in place."""

    def __init__(self, store: StateStore, sweep_id: str, console: Any) -> None:
        from rich.live import Live

        self.store, self.sweep_id = store, sweep_id
        self.live = Live(console=console, auto_refresh=False, transient=False)

    def __enter__(self) -> LiveView:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.live.__exit__(*exc)

    def __call__(self, record: dict[str, Any]) -> None:
        self.live.update(render(record, self.store.trials(self.sweep_id)), refresh=True)


class PlainLines:
    """``follow``'s ``on_update`` elsewhere: one line each time the progress changes."""

    def __init__(self, store: StateStore, sweep_id: str, echo: Any) -> None:
        self.store, self.sweep_id, self.echo, self.last = store, sweep_id, echo, ""

    def __call__(self, record: dict[str, Any]) -> None:
        from ._launch import progress_line

        line = progress_line(self.store, self.sweep_id, record)
        if line != self.last:
            self.echo(line)
            self.last = line
