"""Several Ray nodes on this machine (head + 2 workers): trials spread over nodes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from cluster import main
from tests.integration.conftest import write_spec

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def three_nodes():
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    workers = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    yield cluster, workers
    ray.shutdown()
    cluster.shutdown()


def test_trials_are_placed_on_more_than_one_node(three_nodes, redis_url, sweep_archive, tmp_path):
    import ray

    assert len([n for n in ray.nodes() if n["Alive"]]) == 3
    spec = write_spec(
        tmp_path,
        sweep_archive,
        trials=4,
        concurrency=3,
        asha={"max_epochs": 2, "grace_period": 2, "reduction_factor": 2},
    )
    # the driver is its own process connecting to the cluster, as on a real cluster (and
    # free of the Ray state earlier test modules left in this process)
    done = subprocess.run(
        [sys.executable, "-m", "cluster", "launch", spec, "--redis-url", redis_url, "--json"],
        env={**os.environ, "RAY_ADDRESS": three_nodes[0].address},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    record = json.loads(done.stdout[done.stdout.index("{") :])
    trials = json.loads(
        CliRunner()
        .invoke(main, ["trials", record["id"], "--redis-url", redis_url, "--json"])
        .output
    )
    nodes = {t["node_id"] for t in trials}
    assert len(trials) == 4 and len(nodes) >= 2
    assert nodes <= {n["NodeID"] for n in ray.nodes()}
