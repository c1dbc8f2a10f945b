"""A GPU trial on a node whose TensorFlow sees no GPU fails loudly instead of training on
the CPU. The node here declares a GPU to Ray (``num_gpus=1``) on a machine with none, which
is what a GPU worker with the CPU build of TensorFlow, or without its driver, looks like."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sweep.cluster._redis_store import RedisStateStore
from tests.integration.conftest import write_spec

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def gpu_node():
    import tensorflow as tf
    from ray.cluster_utils import Cluster

    if tf.config.list_physical_devices("GPU"):
        pytest.fail("this test needs a machine whose TensorFlow sees no GPU")
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "num_gpus": 1})
    yield cluster
    cluster.shutdown()


def test_a_gpu_trial_without_a_visible_gpu_fails_the_sweep_loudly(
    gpu_node, redis_url, sweep_archive, tmp_path
):
    spec = write_spec(
        tmp_path,
        sweep_archive,
        trials=1,
        concurrency=1,
        max_failures=0,
        resources={"cpus": 1, "gpus": 1},
    )
    done = subprocess.run(
        [sys.executable, "-m", "sweep.cluster", "launch", spec, "--redis-url", redis_url, "--json"],
        env={**os.environ, "RAY_ADDRESS": gpu_node.address},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    message = done.stderr.strip().splitlines()[-1]
    assert "GpuUnavailable" in message and "sees no GPU" in message, message
    store = RedisStateStore(redis_url)
    (record,) = store.list_sweeps()
    assert record["status"] == "failed"
    assert "GpuUnavailable" in record["error"] and "sees no GPU" in record["error"]
    (trial,) = store.trials(record["id"]).values()
    assert trial["status"] == "ERROR" and "GpuUnavailable" in trial["error"]
    assert trial["epochs"] == 0  # not one epoch trained on the CPU
