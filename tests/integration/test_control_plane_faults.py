"""Faults at scale on the control plane: 120 replayed trials, 16 at once, on Ray nodes of
logical CPUs. While the sweep runs a worker node is removed (and another added, as an
autoscaler would), Redis is restarted, and the driver is killed; `sweep resume` finishes it.
Then the sweep has every trial it asked for, Redis (trial table, leaderboard) and the Optuna
study agree with Ray Tune's own results, and no finished trial ran again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
import yaml

from sweep.cluster import RedisStateStore
from sweep.cluster._keys import Keys
from sweep.cluster._optuna_journal import optuna_storage
from tests.conftest import SWEEP, RedisServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]
TRIALS = 120


def _finished(store, sweep_id) -> int:
    return sum(t["status"] == "TERMINATED" for t in store.trials(sweep_id).values())


def _wait(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_node_lost_redis_restarted_and_the_driver_killed_during_one_sweep(
    tmp_path_factory, tmp_path
):
    from ray.cluster_utils import Cluster

    server = RedisServer(tmp_path_factory.mktemp("redis-faults")).start()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    workers = [cluster.add_node(num_cpus=8) for _ in range(2)]
    cluster.wait_for_nodes()
    try:
        spec = {
            "name": "faults",
            "trial": "replay",
            "replay": {"epoch_seconds": 0.25, "checkpoint_bytes": 1024},
            "trials": TRIALS,
            "concurrency": 16,
            "max_failures": 2,
            "asha": {"max_epochs": 4, "grace_period": 1, "reduction_factor": 2},
            "storage": str(tmp_path / "runs"),
            "shared_storage": True,  # one machine: every node sees the folder
        }
        path = tmp_path / "spec.yaml"
        path.write_text(yaml.safe_dump(spec))
        env = {**os.environ, "RAY_ADDRESS": cluster.address}
        launch = [
            *SWEEP,
            "launch",
            str(path),
            "--redis-url",
            server.url,
        ]
        driver = subprocess.Popen(
            [*launch, "-q"], env=env, start_new_session=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        store = RedisStateStore(server.url)
        _wait(lambda: store.list_sweeps(), 120, "the sweep record")
        sweep_id = store.list_sweeps()[0]["id"]

        _wait(lambda: _finished(store, sweep_id) >= 20, 300, "20 finished trials")
        cluster.remove_node(workers[0], allow_graceful=False)  # a worker node is lost
        cluster.add_node(num_cpus=8)

        _wait(lambda: _finished(store, sweep_id) >= 50, 300, "50 finished trials")
        server.stop()  # Redis restarts (append-only on)
        time.sleep(2.0)
        server.start()

        _wait(lambda: _finished(store, sweep_id) >= 80, 300, "80 finished trials")
        assert driver.poll() is None, driver.stdout.read()[-3000:]
        os.killpg(driver.pid, signal.SIGKILL)  # the driver dies mid-sweep
        driver.wait(30)
        killed_at_ms = int(time.time() * 1000)
        at_kill = store.trials(sweep_id)
        done_before = {
            k: t["finished_at"] for k, t in at_kill.items() if t["status"] == "TERMINATED"
        }
        running_at_kill = {k for k, t in at_kill.items() if t["status"] != "TERMINATED"}

        resumed = subprocess.run(
            [sys.executable, "-m", "sweep.cluster", "resume", sweep_id,
             "--redis-url", server.url, "-q"],
            env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]

        record = store.get_sweep(sweep_id)
        assert record["status"] == "succeeded"
        trials = store.trials(sweep_id)
        finished = {k for k, t in trials.items() if t["status"] == "TERMINATED"}
        others = {k: (t["status"], t.get("error")) for k, t in trials.items() if k not in finished}
        assert len(finished) == TRIALS, (len(finished), record.get("runs"), others)
        assert not {k: v for k, v in others.items() if v[0] != "LOST"}
        # no finished trial ran again: nothing reported for it after the kill
        events = store.events(sweep_id, 1_000_000)
        later = [e for e in events if int(e["id"].split("-")[0]) > killed_at_ms]
        assert not [e for e in later if e["trial_id"] in done_before]
        assert all(trials[k]["finished_at"] == at for k, at in done_before.items())
        # each report landed once: a trial's reported epochs run 1, 2, ... and repeat only
        # where Ray went back to its last registered checkpoint: a trial retried after the node
        # loss, or one running when the driver died (at-least-once, as Ray Tune restores)
        reported: dict[str, list[int]] = {}
        recovered = {e["trial_id"] for e in events if e["event"] == "recovered"}
        for event in events:
            if event["event"] == "reported":
                epoch = json.loads(event["data"])["epochs"]
                reported.setdefault(event["trial_id"], []).append(epoch)
        for trial_id in finished:
            epochs = reported[trial_id]
            assert sorted(set(epochs)) == list(range(1, trials[trial_id]["epochs"] + 1))
            redone = trial_id in recovered or trial_id in running_at_kill
            assert epochs == sorted(set(epochs)) or redone, (trial_id, epochs)

        # Ray Tune's own results agree with Redis on every trial it finished
        from ray.tune import ExperimentAnalysis

        tune_epochs = {}
        for run in record.get("runs") or [{"name": sweep_id}]:
            analysis = ExperimentAnalysis(str(tmp_path / "runs" / run["name"]))
            for frame in analysis.trial_dataframes.values():
                if len(frame):
                    tune_epochs[frame["trial_id"].iloc[0]] = int(frame["training_iteration"].max())
        assert {t: trials[t]["epochs"] for t in finished} == {t: tune_epochs[t] for t in finished}
        # the leaderboard holds every finished trial at its best
        board = dict(store.leaderboard(sweep_id, "max"))
        assert {t: round(board[t], 6) for t in finished} == {
            t: round(trials[t]["best"], 6) for t in finished
        }
        # and the Optuna study: one closed trial per finished Ray trial, none left running
        study = optuna.load_study(
            study_name=sweep_id, storage=optuna_storage(server.url, sweep_id, Keys())
        )
        closed = {
            t.system_attrs.get("sweep:ray_trial")
            for t in study.trials
            if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        }
        by_ray = {t.system_attrs.get("sweep:ray_trial"): t for t in study.trials}
        missing = {
            k: (by_ray[k].state.name, by_ray[k].system_attrs) if k in by_ray else None
            for k in finished - closed
        }
        assert not missing, [
            (
                k,
                missing[k],
                {f: (at_kill.get(k) or {}).get(f) for f in ("status", "error", "epochs")},
                [e["event"] for e in events if e["trial_id"] == k],
                trials[k].get("error"),
            )
            for k in missing
        ]
        assert not [t for t in study.trials if t.state == optuna.trial.TrialState.RUNNING]
    finally:
        cluster.shutdown()
        server.stop()
