"""`trial: replay`: the whole control plane (driver, searcher, ASHA, Redis callback, Ray Tune
checkpoints, CLI) with trials that replay a learning curve instead of training."""

from __future__ import annotations

import json
import subprocess
import sys

import optuna
import pytest
import yaml

from sweep.cluster import RedisStateStore
from sweep.cluster._keys import Keys
from sweep.cluster._optuna_journal import optuna_storage
from sweep.search._replay import ReplayConfig, seeded_curve
from tests.conftest import SWEEP
from tests.integration.conftest import TINY_SPACE

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_a_replayed_sweep_runs_every_trial_through_the_control_plane(redis_url, tmp_path):
    spec = {
        "name": "replay",
        "trial": "replay",
        "replay": {"epoch_seconds": 1.0, "time_scale": 0.2},
        "trials": 12,
        "concurrency": 2,
        "asha": {"max_epochs": 4, "grace_period": 1, "reduction_factor": 2},
        "storage": str(tmp_path / "runs"),
        "space": TINY_SPACE,
        "seed": 3,
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    done = subprocess.run(
        [
            *SWEEP,
            "launch",
            str(path),
            "--redis-url",
            redis_url,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    record = json.loads(done.stdout[done.stdout.index("{") :])
    assert record["status"] == "succeeded" and not record.get("artifact")
    assert [h["status"] for h in record["history"]] == ["pending", "running", "succeeded"]
    trials = RedisStateStore(redis_url).trials(record["id"])
    assert len(trials) == 12 and all(t["status"] == "TERMINATED" for t in trials.values())
    assert any(t["stopped_early"] for t in trials.values())
    for trial in trials.values():  # each reported its configuration's curve, epoch by epoch
        curve = seeded_curve(trial["config"], 4, 1.0)
        assert trial["history"] == pytest.approx([a for a, _ in curve[: trial["epochs"]]])
    best = max(trials.values(), key=lambda t: t["best"])
    assert record["best_trial"] == best["trial_id"]
    study = optuna.load_study(
        study_name=record["id"], storage=optuna_storage(redis_url, record["id"], Keys())
    )
    assert len(study.trials) == 12
    assert list((tmp_path / "runs" / record["id"]).glob("*/checkpoint_*/state.json"))


def test_trials_running_when_the_time_budget_ends_are_closed_with_their_epochs(redis_url, tmp_path):
    """Ray Tune ends a run at time_budget_s without telling the callbacks or the searcher
    about the trials still running: they used to stay RUNNING in Redis and in the study."""
    spec = {
        "name": "budget",
        "trial": "replay",
        "replay": {"epoch_seconds": 4.0, "time_scale": 1.0},  # 2 to 6 s per epoch
        "trials": 50,
        "concurrency": 2,
        "time_budget_s": 30,
        "asha": {"max_epochs": 4, "grace_period": 1, "reduction_factor": 2},
        "storage": str(tmp_path / "runs"),
        "space": TINY_SPACE,
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    args = [sys.executable, "-m", "sweep.cluster"]
    done = subprocess.run(
        [*args, "launch", str(path), "--redis-url", redis_url, "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    record = json.loads(done.stdout[done.stdout.index("{") :])
    assert record["status"] == "succeeded"
    trials = RedisStateStore(redis_url).trials(record["id"])
    statuses = {t["status"] for t in trials.values()}
    assert statuses <= {"TERMINATED", "STOPPED"} and "STOPPED" in statuses, statuses
    for trial in trials.values():
        if trial["status"] == "STOPPED":  # what it trained before the budget ended stays
            assert "time_budget_s=30" in trial["error"] and len(trial["history"]) == trial["epochs"]
    study = optuna.load_study(
        study_name=record["id"], storage=optuna_storage(redis_url, record["id"], Keys())
    )
    assert not [t for t in study.trials if t.state == optuna.trial.TrialState.RUNNING]
    status = subprocess.run(
        [*args, "status", record["id"], "--redis-url", redis_url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    stopped = sum(t["status"] == "STOPPED" for t in trials.values())
    assert f"0 running, 0 errored, {stopped} cut by the time budget" in status.stdout


def test_a_replay_trial_loads_neither_tensorflow_nor_keras():
    code = (
        "import pickle, sys\n"
        "from sweep.search._replay import ReplayContext, ReplayConfig, replay_trial\n"
        "pickle.loads(pickle.dumps((replay_trial, ReplayContext(ReplayConfig(), 4))))\n"
        "print(' '.join(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "", done.stderr[-2000:]


def test_replay_settings_are_checked():
    for bad, message in (
        ({"curves": "magic"}, "replay.curves='magic'"),
        ({"epoch_seconds": 0}, "epoch_seconds=0"),
        ({"time_scale": -1}, "time_scale=-1"),
    ):
        with pytest.raises(ValueError, match=message):
            ReplayConfig(**bad)
    # one configuration always gives the same curve; another gives another
    config = {"units": 4, "architecture": "lstm"}
    assert seeded_curve(config, 4, 10) == seeded_curve(dict(config), 4, 10)
    assert seeded_curve(config, 4, 10) != seeded_curve({**config, "units": 8}, 4, 10)
    values = [a for a, _ in seeded_curve(config, 4, 10)]
    assert values == sorted(values) and 0.5 < values[0] < values[-1] <= 0.9
