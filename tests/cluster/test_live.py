"""The live view's counts and time-left estimate (``cluster._live.tally``), and its render."""

from __future__ import annotations

import time

import pytest

from sweep.cluster._live import render, tally


def _trial(trial_id, status, best=None, stopped_early=False, epochs=1):
    return {
        "trial_id": trial_id,
        "status": status,
        "best": best,
        "stopped_early": stopped_early,
        "epochs": epochs,
        "history": [best] if best is not None else [],
        "started_at": time.time() - 5,
    }


def test_counts_every_run_and_estimates_the_time_left_from_the_pace_so_far():
    record = {
        "id": "s",
        "status": "running",
        "running_at": time.time() - 100,
        "spec": {"trials": 4, "mode": "max", "metric": "val_accuracy", "asha": {"max_epochs": 3}},
        "runs": [{"trials": 4}, {"trials": 6}],  # extended by 6: ten in all
    }
    trials = {
        "a": _trial("a", "TERMINATED", 0.8, epochs=3),
        "b": _trial("b", "TERMINATED", 0.6, stopped_early=True),
        "c": _trial("c", "ERROR"),
        "d": _trial("d", "LOST"),
        "e": _trial("e", "RUNNING", 0.7),
    }
    c = tally(record, trials)
    assert (c["total"], c["finished"], c["stopped_early"], c["errored"], c["running"]) == (
        10,
        4,
        1,
        2,
        1,
    )
    assert c["left"] == pytest.approx(100 / 4 * 6, rel=0.05)  # 25 s a trial, 6 to go

    from rich.console import Console

    console = Console(width=120, record=True)
    console.print(render(record, trials, top=2))
    text = console.export_text()
    assert "4/10 trials: 1 stopped early, 2 errored, 1 running" in text
    running, board = text.split("best 2 of 3")
    assert "│ e " in running and "1/3" in running  # epoch 1 of the maximum 3
    assert board.index("│ a ") < board.index("│ e ") and "│ b " not in board  # 0.8, 0.7


def test_no_estimate_before_a_trial_has_finished():
    record = {"id": "s", "status": "running", "running_at": time.time(), "spec": {"trials": 3}}
    assert tally(record, {"a": _trial("a", "RUNNING")})["left"] is None
