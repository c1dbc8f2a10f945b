"""Redis restarts mid-sweep (append-only persistence on): nothing written before is lost,
the driver and the callback reconnect, reports made during the outage land afterwards.

Redis stays down until a trial has reported during the outage, seen on disk: a trial writes
its checkpoint to storage itself before its report reaches the driver, so a checkpoint folder
that appears while Redis is down is a report made during the outage."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections import Counter

import pytest

from sweep.cluster._redis_store import RedisStateStore
from tests.conftest import SWEEP, RedisServer
from tests.integration.conftest import write_spec

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_sweep_survives_a_redis_restart(sweep_archive, tmp_path_factory, tmp_path):
    server = RedisServer(tmp_path_factory.mktemp("redis-restart")).start()
    try:
        spec = write_spec(
            tmp_path,
            sweep_archive,
            trials=4,
            concurrency=2,
            asha={"max_epochs": 4, "grace_period": 4, "reduction_factor": 2},
        )
        driver = subprocess.Popen(
            [
                *SWEEP,
                "launch",
                spec,
                "--redis-url",
                server.url,
                "-q",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        store = RedisStateStore(server.url)
        deadline = time.time() + 180
        before = {}
        while time.time() < deadline and driver.poll() is None:
            sweeps = store.list_sweeps()
            if sweeps:
                before = store.trials(sweeps[0]["id"])
                if any(t.get("epochs", 0) >= 1 for t in before.values()):
                    break
            time.sleep(0.2)
        assert before and driver.poll() is None
        sweep_id = sweeps[0]["id"]
        record_before = store.get_sweep(sweep_id)
        experiment = tmp_path / "runs" / sweep_id
        server.stop()  # SIGTERM: Redis flushes its append-only file and exits
        # a checkpoint written from here on belongs to a report made while Redis was down (a
        # trial writes its checkpoint before the driver sees the report)
        seen = set(experiment.glob("*/checkpoint_*"))
        deadline = time.time() + 120
        while not (new := set(experiment.glob("*/checkpoint_*")) - seen):
            assert time.time() < deadline, "no trial reported while Redis was down"
            time.sleep(0.1)
        back_ms = int(time.time() * 1000)  # Redis is still down: nothing written lands before
        server.start()
        during = []  # (trial id, epoch) of the reports made while Redis was down
        for folder in new:  # <experiment>/lstm_trial_<trial id>_<n>_<params>/checkpoint_<i>
            trial_id = re.match(r"lstm_trial_([0-9a-f]+)_", folder.parent.name).group(1)
            during.append((trial_id, int(folder.name.split("_")[1]) + 1))
        output, _ = driver.communicate(timeout=300)
        assert driver.returncode == 0, output[-3000:]

        record = store.get_sweep(sweep_id)
        assert record["status"] == "succeeded"
        assert record["created_at"] == record_before["created_at"]
        trials = store.trials(sweep_id)
        assert set(before) <= set(trials) and len(trials) == 4
        assert all(t["status"] == "TERMINATED" and t["epochs"] == 4 for t in trials.values())
        # every per-epoch report reached the event stream exactly once
        reported = Counter(
            e["trial_id"] for e in store.events(sweep_id, 100_000) if e["event"] == "reported"
        )
        assert reported == {t: 4 for t in trials}
        # and the reports made during the outage are among them, written after it
        landed = {
            (e["trial_id"], json.loads(e["data"])["epochs"]): int(e["id"].split("-")[0])
            for e in store.events(sweep_id, 100_000)
            if e["event"] == "reported"
        }
        for report in during:
            assert landed[report] >= back_ms, (report, landed.get(report), back_ms)
    finally:
        server.stop()
