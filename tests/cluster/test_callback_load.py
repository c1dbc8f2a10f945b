"""The state callback under load: 200+ short trials reporting every few milliseconds into a
real Redis; every report lands and the counts match exactly."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

from sweep.cluster._callback import RedisStateCallback
from sweep.cluster._redis_store import RedisStateStore


def _trial(i: int):
    return SimpleNamespace(trial_id=f"t{i:04d}", config={"units": i % 7}, error_file=None)


def test_every_report_of_220_trials_lands(redis_url):
    store = RedisStateStore(redis_url)
    store.create_sweep("load", {}, "/r")
    cb = RedisStateCallback(store, "load", "val_accuracy", "max", max_epochs=5)
    trials = [_trial(i) for i in range(220)]
    for t in trials:
        cb.on_trial_start(0, trials, t)
    for epoch in range(1, 6):
        for i, t in enumerate(trials):
            if epoch > 1 + i % 5:
                continue  # trials stop at different epochs, like ASHA's rungs
            cb.on_trial_result(
                0,
                trials,
                t,
                {
                    "epoch": epoch,
                    "val_accuracy": 0.5 + i / 1000 + epoch / 100,
                    "epoch_seconds": 0.001,
                },
            )
    for t in trials:
        cb.on_trial_complete(0, trials, t)
    events = store.events("load", count=100_000)
    expected_reports = sum(1 + i % 5 for i in range(220))
    counts = Counter(e["event"] for e in events)
    assert counts["started"] == 220 and counts["reported"] == expected_reports
    assert counts["completed"] + counts["stopped_early"] == 220
    assert counts["completed"] == 44  # the trials that reached max_epochs
    rows = store.trials("load")
    assert len(rows) == 220 and all(
        r["epochs"] == 1 + int(r["trial_id"][1:]) % 5 for r in rows.values()
    )
    board = store.leaderboard("load", "max")
    assert len(board) == 220 and board[0][0] == "t0219"
