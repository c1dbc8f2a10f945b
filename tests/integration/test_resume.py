"""`sweep resume` after the driver process is killed mid-sweep."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

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
    assert resumed.returncode == 0, output

    record = store.get_sweep(sweep_id)
    assert record["status"] == "succeeded"
    assert any(h.get("resumed_from") == "running" for h in record["history"])
    assert int(record["resumes"]) == 1
    trials = store.trials(sweep_id)
    statuses = sorted(t["status"] for t in trials.values())
    # trials started after Ray Tune's last experiment checkpoint are replaced, not resumed
    assert statuses.count("TERMINATED") == 5, statuses
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
