"""Redis restarts mid-sweep (append-only persistence on) and stays down 35 s: the driver
waits for it (``SWEEP_REDIS_PATIENCE_S``) instead of ending the sweep, nothing written before
is lost, the driver and the callback reconnect, reports made during the outage land afterwards.

Redis stays down until a trial has reported during the outage, seen on disk: a trial writes
its checkpoint to storage itself before its report reaches the driver, so a checkpoint folder
that appears while Redis is down is a report made during the outage."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections import Counter

import pytest

from sweep.cluster._redis_store import RedisStateStore
from tests.conftest import SWEEP, RedisServer
from tests.integration.conftest import write_spec

pytestmark = [pytest.mark.integration, pytest.mark.slow]

OUTAGE_S = 35


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
        down = time.time()
        # down for OUTAGE_S at least, longer than counted retries would wait (the driver's
        # Redis clients used to give up after about 25 s and end the sweep)
        while not (new := set(experiment.glob("*/checkpoint_*")) - seen) or (
            time.time() - down < OUTAGE_S
        ):
            assert time.time() < down + 180, "no trial reported while Redis was down"
            assert driver.poll() is None, driver.communicate()[0][-3000:]
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


def test_redis_away_longer_than_the_patience_stops_the_driver_with_the_way_out(
    sweep_archive, tmp_path_factory, tmp_path
):
    """SWEEP_REDIS_PATIENCE_S=4 and Redis stays down: the driver ends with one line naming
    the wait, the setting and `sweep resume ID` (exit 1, no traceback); once Redis is back,
    that resume finishes the sweep with every trial run to its last epoch. Replayed trials:
    what is tested is the driver's."""
    server = RedisServer(tmp_path_factory.mktemp("redis-gone")).start()
    try:
        spec = write_spec(
            tmp_path,
            sweep_archive,
            trial="replay",
            replay={"epoch_seconds": 3.0, "checkpoint_bytes": 1024},
            trials=2,
            concurrency=2,
            asha={"max_epochs": 3, "grace_period": 3, "reduction_factor": 2},
        )
        env = {**os.environ, "SWEEP_REDIS_PATIENCE_S": "4"}
        launch = [*SWEEP, "launch", spec, "--redis-url", server.url, "-q"]
        driver = subprocess.Popen(
            launch, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        store = RedisStateStore(server.url)
        deadline = time.time() + 180
        sweeps = []
        while time.time() < deadline and driver.poll() is None:
            sweeps = store.list_sweeps()
            trials = store.trials(sweeps[0]["id"]) if sweeps else {}
            if any(t.get("epochs", 0) >= 1 for t in trials.values()):
                break
            time.sleep(0.2)
        assert sweeps and driver.poll() is None
        sweep_id = sweeps[0]["id"]
        server.stop()
        out, err = driver.communicate(timeout=120)
        assert driver.returncode == 1, (out + err)[-3000:]
        assert "Traceback" not in err, err[-3000:]
        last = err.strip().splitlines()[-1]
        assert re.fullmatch(
            rf"Error: sweep {sweep_id} stopped: Redis at redis://127\.0\.0\.1:{server.port}/0 has "
            rf"been unreachable for \d+ s, .*SWEEP_REDIS_PATIENCE_S.*`sweep resume {sweep_id}` .*",
            last,
        ), last

        server.start()
        assert store.get_sweep(sweep_id)["status"] == "running"  # nothing could record the end
        resumed = subprocess.run(
            [*SWEEP, "resume", sweep_id, "--redis-url", server.url, "-q"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert resumed.returncode == 0, (resumed.stdout + resumed.stderr)[-3000:]
        assert store.get_sweep(sweep_id)["status"] == "succeeded"
        trials = store.trials(sweep_id)
        assert len(trials) == 2
        assert all(t["status"] == "TERMINATED" and t["epochs"] == 3 for t in trials.values())
    finally:
        server.stop()
