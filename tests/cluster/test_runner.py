"""ensure_ray: with no address, a private local Ray, whatever an earlier Ray left behind."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile

import pytest

pytestmark = pytest.mark.integration

_PROBE = """
import ray
from sweep.cluster._runner import ensure_ray
ensure_ray()
print("GCS", ray.get_runtime_context().gcs_address)
ray.shutdown()
"""


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_address_starts_a_local_ray_despite_a_stale_current_cluster_file():
    # `ray start` and ray.cluster_utils.Cluster write <tmp>/ray/ray_current_cluster; a head
    # that was killed leaves it behind, and Ray's default for ray.init() is to connect there
    temp = tempfile.mkdtemp(prefix="rt", dir="/tmp")  # short: Ray's socket paths live here
    try:
        os.makedirs(os.path.join(temp, "ray"))
        stale = f"127.0.0.1:{_closed_port()}"
        with open(os.path.join(temp, "ray", "ray_current_cluster"), "w") as f:
            f.write(stale)
        env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
        done = subprocess.run(
            [sys.executable, "-c", _PROBE],
            env={**env, "RAY_TMPDIR": temp},
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        gcs = next(line for line in done.stdout.splitlines() if line.startswith("GCS "))
        assert gcs.split()[1] != stale
        # the new instance's session is under this temp dir: it was started, not joined
        assert any(n.startswith("session_") for n in os.listdir(os.path.join(temp, "ray")))
    finally:
        shutil.rmtree(temp, ignore_errors=True)
