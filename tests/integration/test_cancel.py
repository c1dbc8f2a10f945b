"""`sweep cancel` stops a running sweep: status cancelled once, trials stopped, no export."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from sweep.cluster import RedisStateStore, main
from tests.integration.conftest import write_spec

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_cancel_stops_a_running_sweep(redis_url, sweep_archive, tmp_path):
    spec = write_spec(
        tmp_path,
        sweep_archive,
        trials=8,
        concurrency=2,
        asha={"max_epochs": 12, "grace_period": 12, "reduction_factor": 2},
    )
    driver = subprocess.Popen(
        [sys.executable, "-m", "sweep.cluster", "launch", spec, "--redis-url", redis_url, "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    store = RedisStateStore(redis_url)
    deadline, sweep_id = time.time() + 180, None
    while time.time() < deadline and driver.poll() is None and sweep_id is None:
        for sweep in store.list_sweeps():
            if any(t.get("epochs", 0) >= 1 for t in store.trials(sweep["id"]).values()):
                sweep_id = sweep["id"]
        time.sleep(0.2)
    assert sweep_id, driver.communicate()[0][-2000:]
    result = CliRunner().invoke(main, ["cancel", sweep_id, "--redis-url", redis_url])
    assert result.exit_code == 0 and "cancelled" in result.output
    output, _ = driver.communicate(timeout=120)
    assert driver.returncode == 0 and "was cancelled" in output, output[-2000:]
    record = store.get_sweep(sweep_id)
    assert record["status"] == "cancelled" and "artifact" not in record
    assert [h["status"] for h in record["history"]].count("cancelled") == 1
    trials = store.trials(sweep_id)
    assert 1 <= len(trials) < 8  # the remaining trials were never started
    # the trials running at the cancel are closed as cancelled, in Redis and in the study;
    # one that finished its 12 epochs before the cancel landed stays finished
    cancelled = {k for k, t in trials.items() if t["status"] == "CANCELLED"}
    assert cancelled, trials
    for trial_id, trial in trials.items():
        if trial_id in cancelled:
            assert trial["error"] == "stopped by `sweep cancel`" and trial["epochs"] < 12
        else:
            assert (trial["status"], trial["epochs"]) == ("TERMINATED", 12), trial
    import optuna

    from sweep.cluster import optuna_storage
    from sweep.cluster._keys import Keys

    study = optuna.load_study(
        study_name=sweep_id, storage=optuna_storage(redis_url, sweep_id, Keys())
    )
    closed = {
        t.system_attrs["sweep:ray_trial"]: t.state
        for t in study.trials
        if "sweep:cancelled" in t.system_attrs
    }
    assert closed == {t: optuna.trial.TrialState.FAIL for t in cancelled}
    # nothing was retrained or exported
    assert not (tmp_path / "runs" / sweep_id / "best").exists()
    assert record.get("best_trial") is None
    again = CliRunner().invoke(main, ["cancel", sweep_id, "--redis-url", redis_url])
    assert again.exit_code == 2 and "cannot move a 'cancelled' sweep" in again.output
