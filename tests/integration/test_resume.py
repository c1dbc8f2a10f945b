"""`sweep resume` after the driver process is killed mid-sweep."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sweep.cluster._keys import Keys
from sweep.cluster._redis_store import RedisStateStore
from tests.integration.conftest import write_spec

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _sweep(*args, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "sweep.cluster", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


def _wait(predicate, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _parent(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def _freeze_trials(driver_pid: int) -> list[int]:
    """SIGSTOP every Ray worker process (trial actors, tasks) under the driver: the trials
    then report nothing, so Ray takes no new experiment snapshot."""
    frozen = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if not (entry / "cmdline").read_bytes().startswith(b"ray::"):
                continue
            pid = int(entry.name)
            while pid > 1 and pid != driver_pid:
                pid = _parent(pid)
        except (OSError, ValueError):  # gone meanwhile
            continue
        if pid == driver_pid:
            os.kill(int(entry.name), signal.SIGSTOP)
            frozen.append(int(entry.name))
    return frozen


def test_a_trial_started_after_rays_last_snapshot_is_lost_and_another_runs_in_its_place(
    redis_url, sweep_archive, tmp_path
):
    """Deterministic: Ray snapshots the experiment only when a trial checkpoints (periodic
    snapshots off: TUNE_GLOBAL_CHECKPOINT_S), one trial runs at a time, and the driver is
    killed once the second trial has started, its worker frozen before its first report. Ray
    never recorded that trial: on resume it is LOST (Redis) / FAIL (Optuna), and Ray's
    restored run, whose searcher state predates it too, starts another in its place."""
    import optuna

    from sweep.cluster._optuna_journal import optuna_storage

    spec = write_spec(
        tmp_path,
        sweep_archive,
        trials=2,
        concurrency=1,
        asha={"max_epochs": 3, "grace_period": 3, "reduction_factor": 2},
    )
    env = {**os.environ, "TUNE_GLOBAL_CHECKPOINT_S": "3600"}
    store = RedisStateStore(redis_url)
    driver = _sweep("launch", spec, "--redis-url", redis_url, "-q", start_new_session=True, env=env)

    def second_started():
        sweeps = store.list_sweeps()
        trials = store.trials(sweeps[0]["id"]) if sweeps else {}
        done = [t for t in trials.values() if t["status"] == "TERMINATED"]
        new = [t for t in trials.values() if t["status"] == "RUNNING" and t["epochs"] == 0]
        return (sweeps[0]["id"], done[0], new[0]) if done and new else None

    sweep_id, first, second = _wait(second_started, 240, "the second trial to start")
    assert _freeze_trials(driver.pid), "no Ray worker to freeze"
    experiment = tmp_path / "runs" / sweep_id
    assert second["trial_id"] not in {t["trial_id"] for t in _snapshot_trials(experiment)}
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait(30)
    killed_at_ms = int(time.time() * 1000)
    assert store.get_sweep(sweep_id)["status"] == "running"  # nobody recorded the death
    # as if the kill had cut Ray's copy of the snapshot to storage short: the resume mends
    # it from the driver's staging copy on this node
    torn = [
        max(experiment.glob("experiment_state-*.json")),
        *experiment.glob("searcher-state-*.pkl"),
    ]
    for path in torn:
        path.write_bytes(path.read_bytes()[:100])

    resumed = _sweep("resume", sweep_id, "--redis-url", redis_url, "-q", env=env)
    output, _ = resumed.communicate(timeout=400)
    assert resumed.returncode == 0, output[-3000:]
    assert json.loads(torn[0].read_text())["trial_data"]
    assert pickle.loads(torn[1].read_bytes())
    record = store.get_sweep(sweep_id)
    assert record["status"] == "succeeded" and int(record["resumes"]) == 1
    assert any(h.get("resumed_from") == "running" for h in record["history"])
    trials = store.trials(sweep_id)
    lost = trials[second["trial_id"]]
    assert lost["status"] == "LOST" and "ran another trial in its place" in lost["error"]
    assert sorted(t["status"] for t in trials.values()) == ["LOST", "TERMINATED", "TERMINATED"]
    # the trial finished before the kill was neither rerun nor re-reported
    assert trials[first["trial_id"]]["finished_at"] == first["finished_at"]
    events = store.events(sweep_id, 100_000)
    later = [e for e in events if int(e["id"].split("-")[0]) > killed_at_ms]
    assert not [e for e in later if e["trial_id"] == first["trial_id"]]
    # the Optuna study: the lost trial FAIL, each finished one COMPLETE once, none RUNNING
    study = optuna.load_study(
        study_name=sweep_id, storage=optuna_storage(redis_url, sweep_id, Keys())
    )
    by_ray = {t.system_attrs.get("sweep:ray_trial"): t for t in study.trials}
    assert by_ray[second["trial_id"]].state == optuna.trial.TrialState.FAIL
    assert "sweep:lost" in by_ray[second["trial_id"]].system_attrs
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    finished = {k for k, t in trials.items() if t["status"] == "TERMINATED"}
    assert sorted(t.system_attrs["sweep:ray_trial"] for t in complete) == sorted(finished)
    assert not [t for t in study.trials if t.state == optuna.trial.TrialState.RUNNING]


def _snapshot_trials(experiment: Path) -> list[dict]:
    """Trials (status, last result) of Ray Tune's newest experiment snapshot, if any."""
    states = sorted(experiment.glob("experiment_state-*.json"))
    try:
        data = json.loads(states[-1].read_text()) if states else {"trial_data": []}
    except ValueError:  # being written
        return []
    out = []
    for trial_state, runtime in data["trial_data"]:
        state, meta = json.loads(trial_state), json.loads(runtime)
        out.append({"trial_id": state["trial_id"], "status": state["status"], **meta})
    return out


def test_trials_whose_checkpoint_is_gone_are_replaced_by_a_run_that_resumes_itself(
    redis_url, sweep_archive, tmp_path
):
    """Ray's snapshot can name a checkpoint that ``num_to_keep`` deleted just before the
    driver died; Ray then fails that trial on restore. Here every unfinished trial's
    checkpoints are deleted after the kill: those trials are LOST and a replacement run makes
    up the count. That run's driver is killed too, after it checkpointed, and resumed.
    Replayed trials (what is tested is the driver's: Ray's restore and the replacement run)."""
    spec = write_spec(
        tmp_path,
        sweep_archive,
        trial="replay",
        replay={"epoch_seconds": 1.0, "checkpoint_bytes": 1024},
        trials=3,
        concurrency=2,
        asha={"max_epochs": 8, "grace_period": 8, "reduction_factor": 2},
    )
    store = RedisStateStore(redis_url)
    driver = _sweep("launch", spec, "--redis-url", redis_url, "-q", start_new_session=True)

    def checkpointed_victims():
        sweeps = store.list_sweeps()
        snapshot = _snapshot_trials(tmp_path / "runs" / sweeps[0]["id"]) if sweeps else []
        return [
            t["trial_id"]
            for t in snapshot
            if t["status"] == "RUNNING"
            and (t.get("last_result") or {}).get("training_iteration", 0) >= 2
        ]

    victims = _wait(checkpointed_victims, 240, "a running trial checkpointed in Ray's snapshot")
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait(30)
    sweep_id = store.list_sweeps()[0]["id"]
    for victim in victims:  # what num_to_keep does to a snapshot's checkpoint in the race
        for folder in (tmp_path / "runs" / sweep_id).glob(f"*{victim}*/checkpoint_*"):
            shutil.rmtree(folder)

    resumed = _sweep("resume", sweep_id, "--redis-url", redis_url, "-q", start_new_session=True)

    def replacement_checkpointed():
        runs = [r["name"] for r in store.get_sweep(sweep_id).get("runs") or []]
        snapshot = _snapshot_trials(tmp_path / "runs" / runs[1]) if len(runs) > 1 else []
        rows = store.trials(sweep_id)
        return {
            t["trial_id"]: t["last_result"]["training_iteration"]
            for t in snapshot
            if t["status"] == "RUNNING"
            and (t.get("last_result") or {}).get("training_iteration", 0) >= 1
            and rows.get(t["trial_id"], {}).get("epochs", 8) < 7  # far from its end
        }

    replacements = _wait(replacement_checkpointed, 300, "the replacement run to checkpoint")
    os.killpg(resumed.pid, signal.SIGKILL)
    resumed.wait(30)
    killed_at_ms = int(time.time() * 1000)
    again = subprocess.run(
        [sys.executable, "-m", "sweep.cluster", "resume", sweep_id, "--redis-url", redis_url,
         "--json"],
        capture_output=True, text=True, timeout=500,
    )  # fmt: skip
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]

    record = store.get_sweep(sweep_id)
    printed = json.loads(again.stdout)  # --json: the final record, and nothing else
    assert (printed["id"], printed["status"], printed["resumes"]) == (
        sweep_id,
        "succeeded",
        record["resumes"],
    )
    assert record["status"] == "succeeded" and int(record["resumes"]) == 2
    trials = store.trials(sweep_id)
    for victim in victims:
        assert trials[victim]["status"] == "LOST", trials[victim]
        assert "checkpoint this trial was resumed from was gone" in trials[victim]["error"]
    statuses = [t["status"] for t in trials.values()]
    assert statuses.count("TERMINATED") == 3, statuses
    # the replacement run was resumed from its own snapshot, not replaced again
    names = [r["name"] for r in record["runs"]]
    assert names == [sweep_id, f"{sweep_id}.replace1"], names
    # one replacement per trial lost on restore: the victims, and any other running trial
    # whose snapshot named a checkpoint num_to_keep had already replaced (the same race)
    lost = {k: t for k, t in trials.items() if t["status"] == "LOST"}
    assert all(
        "checkpoint this trial was resumed from was gone" in t["error"] for t in lost.values()
    )
    assert record["runs"][1]["trials"] == len(lost), (len(lost), statuses)
    events = store.events(sweep_id, 100_000)
    for trial_id, checkpointed in replacements.items():
        assert trials[trial_id]["status"] == "TERMINATED" and trials[trial_id]["epochs"] == 8
        # it went on from its checkpoint: the first epoch reported after the kill follows it
        after = [
            json.loads(e["data"])["epochs"]
            for e in events
            if e["trial_id"] == trial_id
            and e["event"] in ("reported", "completed")
            and int(e["id"].split("-")[0]) > killed_at_ms
        ]
        assert after and after[0] > checkpointed >= 1, (checkpointed, after)
