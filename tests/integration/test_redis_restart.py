"""Redis restarts mid-sweep (append-only persistence on): nothing written before is lost,
the driver and the callback reconnect, reports made during the outage land afterwards."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter

import pytest

from cluster._redis_store import RedisStateStore
from tests.conftest import RedisServer
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
            [sys.executable, "-m", "cluster", "launch", spec, "--redis-url", server.url, "-q"],
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
        server.stop()  # SIGTERM: Redis flushes its append-only file and exits
        time.sleep(3.0)  # trials keep reporting while Redis is away
        server.start()
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
    finally:
        server.stop()
