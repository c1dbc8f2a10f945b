"""A worker node dies while its trial runs: the trial is retried (FailureConfig) or recorded
as errored, the sweep finishes, and Redis agrees with Ray Tune on every trial."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from cluster._redis_store import RedisStateStore
from tests.integration.conftest import write_spec

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def cluster():
    from ray.cluster_utils import Cluster

    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    workers = [c.add_node(num_cpus=1) for _ in range(2)]
    c.wait_for_nodes()
    yield c, workers
    c.shutdown()


def test_trial_on_a_dead_node_is_retried_and_the_sweep_finishes(
    cluster, redis_url, sweep_archive, tmp_path
):
    c, workers = cluster
    spec = write_spec(
        tmp_path,
        sweep_archive,
        trials=3,
        concurrency=2,
        max_failures=2,
        # many short epochs: the victim is caught early, with most of its work still ahead
        asha={"max_epochs": 12, "grace_period": 12, "reduction_factor": 2},
    )
    env = {**os.environ, "RAY_ADDRESS": c.address}
    driver = subprocess.Popen(
        [sys.executable, "-m", "cluster", "launch", spec, "--redis-url", redis_url, "-q"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    store = RedisStateStore(redis_url)
    by_id = {w.node_id: w for w in workers}
    victim = None
    deadline = time.time() + 180
    while victim is None and time.time() < deadline and driver.poll() is None:
        for sweep in store.list_sweeps():
            for trial in store.trials(sweep["id"]).values():
                if (
                    trial.get("node_id") in by_id
                    and 1 <= trial.get("epochs", 0) <= 3
                    and trial["status"] == "RUNNING"
                ):
                    victim = (sweep["id"], trial["trial_id"], by_id[trial["node_id"]])
        time.sleep(0.2)
    assert victim, f"no trial reported from a worker node in time: {driver.poll()} " + (
        driver.communicate()[0][-3000:] if driver.poll() is not None else ""
    )
    sweep_id, trial_id, node = victim
    c.remove_node(node, allow_graceful=False)
    c.add_node(num_cpus=1)  # capacity comes back, as an autoscaler would add a node
    output, _ = driver.communicate(timeout=400)
    assert driver.returncode == 0, output[-3000:]

    record = store.get_sweep(sweep_id)
    assert record["status"] == "succeeded"
    trials = store.trials(sweep_id)
    assert len(trials) == 3
    hit = trials[trial_id]
    assert hit["status"] in ("TERMINATED", "ERROR")
    if hit["status"] == "TERMINATED":
        assert hit["epochs"] == 12 and hit.get("recovered", 0) >= 1
        events = [e["event"] for e in store.events(sweep_id, 10_000) if e["trial_id"] == trial_id]
        assert "recovered" in events
    # Redis agrees with Ray Tune's own results on every trial
    from ray.tune import ExperimentAnalysis

    analysis = ExperimentAnalysis(str(tmp_path / "runs" / sweep_id))
    tune_epochs = {
        f["trial_id"].iloc[0]: int(f["training_iteration"].max())
        for f in analysis.trial_dataframes.values()
        if len(f)
    }
    assert {t: trials[t]["epochs"] for t in tune_epochs} == tune_epochs
