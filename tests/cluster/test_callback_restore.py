"""The state callback when Ray restores trials on `sweep resume`, against a real Redis."""

from __future__ import annotations

from types import SimpleNamespace

from sweep.cluster._callback import RedisStateCallback
from sweep.cluster._redis_store import RedisStateStore


def _trial(trial_id: str, tmp_path, error: str | None = None, checkpoint=None):
    error_file = None
    if error:
        error_file = tmp_path / f"{trial_id}.txt"
        error_file.write_text(f"Traceback (most recent call last):\n  ...\n{error}\n")
    return SimpleNamespace(
        trial_id=trial_id,
        config={"units": 4},
        error_file=str(error_file) if error_file else None,
        latest_checkpoint_result=checkpoint,
    )


GONE = "ValueError: Could not recover from checkpoint as it does not exist on storage anymore."


def test_a_trial_whose_checkpoint_is_gone_is_lost_and_a_finished_one_is_left_alone(
    redis_url, tmp_path
):
    store = RedisStateStore(redis_url)
    store.create_sweep("r", {}, "/r")
    before = RedisStateCallback(store, "r", "val_accuracy", "max", max_epochs=2)
    done, running, broken = (_trial(t, tmp_path) for t in ("done", "running", "broken"))
    for t in (done, running, broken):
        before.on_trial_start(0, [], t)
        before.on_trial_result(0, [], t, {"epoch": 1, "val_accuracy": 0.7})
    before.on_trial_result(0, [], done, {"epoch": 2, "val_accuracy": 0.8})
    before.on_trial_complete(0, [], done)
    finished = store.trials("r")["done"]
    events_before = len(store.events("r", 10_000))

    # the driver died; Ray's last snapshot still had all three RUNNING at epoch 1
    after = RedisStateCallback(store, "r", "val_accuracy", "max", max_epochs=2)
    ckpt = object()
    done_again = _trial("done", tmp_path, GONE, ckpt)
    running_again = _trial("running", tmp_path, GONE, ckpt)
    broken_again = _trial("broken", tmp_path, "RuntimeError: out of memory", ckpt)
    for t in (done_again, running_again, broken_again):
        after.on_trial_start(0, [], t)
        after.on_trial_error(0, [], t)

    rows = store.trials("r")
    assert rows["done"] == finished  # untouched: no rerun, no error
    assert rows["running"]["status"] == "LOST"
    assert "ran another trial in its place" in rows["running"]["error"]
    assert rows["broken"]["status"] == "ERROR" and "out of memory" in rows["broken"]["error"]
    later = store.events("r", 10_000)[events_before:]  # oldest first
    assert not [e for e in later if e["trial_id"] == "done"]
    assert {e["event"] for e in later} >= {"lost", "errored"}


def test_a_trial_the_study_saw_finish_is_recorded_finished_and_others_keep_their_history(
    redis_url, tmp_path
):
    """The searcher (Optuna) is told a trial ended before the callbacks are, so a driver
    killed in between leaves a finished trial RUNNING in Redis; Ray's snapshot also says
    RUNNING and its checkpoint is gone. On resume the study's word settles it."""
    store = RedisStateStore(redis_url)
    store.create_sweep("q", {}, "/q")
    before = RedisStateCallback(store, "q", "val_accuracy", "max", max_epochs=2)
    raced, running = _trial("raced", tmp_path), _trial("running", tmp_path)
    for t in (raced, running):
        before.on_trial_start(0, [], t)
        before.on_trial_result(0, [], t, {"epoch": 1, "val_accuracy": 0.7})
    before.on_trial_result(0, [], raced, {"epoch": 2, "val_accuracy": 0.8})
    started = store.trials("q")["running"]["started_at"]
    events_before = len(store.events("q", 10_000))

    after = RedisStateCallback(
        store, "q", "val_accuracy", "max", max_epochs=2, finished_in_study=lambda: {"raced"}
    )
    ckpt = object()
    raced_again, running_again = (_trial(t, tmp_path, GONE, ckpt) for t in ("raced", "running"))
    for t in (raced_again, running_again):
        after.on_trial_start(0, [], t)
    assert store.trials("q")["running"]["history"] == [0.7]  # not wiped by the restart
    for t in (raced_again, running_again):
        after.on_trial_error(0, [], t)

    rows = store.trials("q")
    assert rows["raced"]["status"] == "TERMINATED" and not rows["raced"].get("error")
    assert rows["raced"]["history"] == [0.7, 0.8] and rows["raced"]["best_epoch"] == 2
    assert rows["raced"]["stopped_early"] is False and rows["raced"]["closed_on_resume"]
    assert rows["running"]["status"] == "LOST" and rows["running"]["history"] == [0.7]
    assert rows["running"]["started_at"] == started
    later = store.events("q", 10_000)[events_before:]
    assert [e["event"] for e in later if e["trial_id"] == "raced"] == ["completed"]


def test_a_finished_trial_ray_reruns_without_a_checkpoint_is_left_alone(redis_url, tmp_path):
    """Ray's snapshot predates the trial's first checkpoint, the dead driver had finished
    it: Ray starts it from scratch, and nothing of the rerun reaches Redis."""
    store = RedisStateStore(redis_url)
    store.create_sweep("r", {}, "/r")
    before = RedisStateCallback(store, "r", "val_accuracy", "max", max_epochs=2)
    done = _trial("done", tmp_path)
    before.on_trial_start(0, [], done)
    for epoch, value in ((1, 0.7), (2, 0.8)):
        before.on_trial_result(0, [], done, {"epoch": epoch, "val_accuracy": value})
    before.on_trial_complete(0, [], done)
    finished, events = store.trials("r")["done"], len(store.events("r", 10_000))

    after = RedisStateCallback(store, "r", "val_accuracy", "max", max_epochs=2)
    rerun = _trial("done", tmp_path)  # no latest_checkpoint_result
    after.on_trial_start(0, [], rerun)
    after.on_trial_result(0, [], rerun, {"epoch": 1, "val_accuracy": 0.5})
    after.on_trial_complete(0, [], rerun)
    assert store.trials("r")["done"] == finished
    assert len(store.events("r", 10_000)) == events
