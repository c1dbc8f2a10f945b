"""`sweep resume` after the driver process is killed mid-sweep."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from cluster._keys import Keys
from cluster._redis_store import RedisStateStore
from tests.integration.conftest import write_spec

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _sweep(*args, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "cluster", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


def test_killed_driver_is_resumed_without_repeating_finished_trials(
    redis_url, sweep_archive, tmp_path
):
    spec = write_spec(
        tmp_path,
        sweep_archive,
        trials=5,
        concurrency=2,
        asha={"max_epochs": 4, "grace_period": 4, "reduction_factor": 2},
    )
    store = RedisStateStore(redis_url)
    driver = _sweep("launch", spec, "--redis-url", redis_url, "-q", start_new_session=True)
    deadline = time.time() + 240
    sweep_id, finished = None, {}
    while time.time() < deadline and driver.poll() is None:
        sweeps = store.list_sweeps()
        if sweeps:
            sweep_id = sweeps[0]["id"]
            trials = store.trials(sweep_id)
            finished = {k: v for k, v in trials.items() if v["status"] == "TERMINATED"}
            if finished and any(v["status"] == "RUNNING" for v in trials.values()):
                break
        time.sleep(0.3)
    assert driver.poll() is None, driver.stdout.read()
    assert finished, "no trial finished before the deadline"
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait(30)
    killed_at_ms = int(time.time() * 1000)
    assert store.get_sweep(sweep_id)["status"] == "running"  # nobody recorded the death

    resumed = _sweep("resume", sweep_id, "--redis-url", redis_url, "-q")
    output, _ = resumed.communicate(timeout=400)
    print(output)
    assert resumed.returncode == 0, output

    record = store.get_sweep(sweep_id)
    assert record["status"] == "succeeded"
    assert any(h.get("resumed_from") == "running" for h in record["history"])
    assert int(record["resumes"]) == 1
    trials = store.trials(sweep_id)
    statuses = sorted(t["status"] for t in trials.values())
    # trials started after Ray Tune's last experiment checkpoint are replaced, not resumed
    errors = {k: t.get("error") for k, t in trials.items() if t["status"] == "ERROR"}
    assert statuses.count("TERMINATED") == 5, (statuses, errors, output[-3000:])
    assert set(statuses) <= {"TERMINATED", "LOST"} and statuses.count("LOST") <= 2
    # finished trials were neither restarted nor re-reported after the kill
    later = [
        e for e in store.events(sweep_id, 100_000) if int(e["id"].split("-")[0]) > killed_at_ms
    ]
    assert not [e for e in later if e["trial_id"] in finished]
    for trial_id, before in finished.items():
        assert trials[trial_id]["finished_at"] == before["finished_at"]
    # the Optuna study holds each finished trial once
    import optuna

    from cluster._optuna_journal import optuna_storage

    study = optuna.load_study(
        study_name=sweep_id, storage=optuna_storage(redis_url, sweep_id, Keys())
    )
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    params = [json.dumps(t.params, sort_keys=True) for t in complete]
    assert len(complete) == 5 and len(set(params)) == len(params)
    assert not [t for t in study.trials if t.state == optuna.trial.TrialState.RUNNING]
    assert redis.Redis.from_url(redis_url).exists(f"sweep:{sweep_id}:optuna:log_number")


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


def test_resumed_trials_whose_checkpoint_is_gone_are_replaced(redis_url, sweep_archive, tmp_path):
    """Ray's snapshot can name a checkpoint that ``num_to_keep`` deleted just before the
    driver died; Ray then fails that trial on restore. Here every unfinished trial's
    checkpoints are deleted after the kill: those trials are LOST and replaced."""
    spec = write_spec(
        tmp_path,
        sweep_archive,
        trials=4,
        concurrency=2,
        asha={"max_epochs": 12, "grace_period": 12, "reduction_factor": 2},
    )
    store = RedisStateStore(redis_url)
    driver = _sweep("launch", spec, "--redis-url", redis_url, "-q", start_new_session=True)
    deadline = time.time() + 240
    victims: list[str] = []
    while time.time() < deadline and driver.poll() is None and not victims:
        sweeps = store.list_sweeps()
        if sweeps:
            experiment = tmp_path / "runs" / sweeps[0]["id"]
            victims = [
                t["trial_id"]
                for t in _snapshot_trials(experiment)
                if t["status"] == "RUNNING"
                and (t.get("last_result") or {}).get("training_iteration", 0) >= 2
            ]
        time.sleep(0.2)
    assert driver.poll() is None, driver.stdout.read()
    assert victims, "no running trial with a checkpoint in Ray's snapshot before the deadline"
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait(30)
    sweep_id = store.list_sweeps()[0]["id"]
    for victim in victims:  # what num_to_keep does to a snapshot's checkpoint in the race
        for folder in (tmp_path / "runs" / sweep_id).glob(f"*{victim}*/checkpoint_*"):
            shutil.rmtree(folder)

    resumed = _sweep("resume", sweep_id, "--redis-url", redis_url, "-q")
    output, _ = resumed.communicate(timeout=500)
    print(output)
    assert resumed.returncode == 0, output

    record = store.get_sweep(sweep_id)
    assert record["status"] == "succeeded"
    trials = store.trials(sweep_id)
    for victim in victims:
        assert trials[victim]["status"] == "LOST", trials[victim]
        assert "checkpoint this trial was resumed from was gone" in trials[victim]["error"]
    statuses = [t["status"] for t in trials.values()]
    assert statuses.count("TERMINATED") == 4, statuses
    names = [r["name"] for r in record["runs"]]
    assert names[0] == sweep_id and names[1].startswith(f"{sweep_id}.replace"), names
    assert sum(r["trials"] for r in record["runs"][1:]) >= len(victims)
