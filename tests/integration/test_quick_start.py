"""The README's quick start, run as written in a shell: a local Redis and Ray head, a sweep
submitted to it as a Ray job, the commands that read it, the model copied and used."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests._readme import blocks
from tests.conftest import _free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def test_the_readmes_quick_start_runs_as_written(sweep_archive, tmp_path):
    """Placeholders filled: free ports instead of the default ones (a test must not take
    6380/8265 from a user), the small synthetic archive for ``aclImdb_v1.tar.gz``, and ``ID``
    as ``sweep list`` shows it right after the launch."""
    (script,) = blocks("Quick start", "bash")
    redis, ray, dashboard = _free_port(), _free_port(), _free_port()
    script = script.replace(
        "sweep local up ",
        f"sweep local up --redis-port {redis} --ray-port {ray} --dashboard-port {dashboard} "
        "--num-cpus 2 ",
    )
    script = script.replace("127.0.0.1:8265", f"127.0.0.1:{dashboard}")
    script = script.replace("examples/quick.yaml", str(ROOT / "examples" / "quick.yaml"))
    script = script.replace("aclImdb_v1.tar.gz", str(sweep_archive))
    launch_line = next(line for line in script.splitlines() if line.startswith("sweep launch"))
    newest = "import json, sys; print(json.load(sys.stdin)[0]['id'])"
    find_id = f'ID=$(sweep list --json | python3 -c "{newest}")'
    script = script.replace(launch_line, f"{launch_line}\n{find_id}").replace(" ID ", ' "$ID" ')
    env = {**os.environ, "SWEEP_STATE_DIR": str(tmp_path / "state")}
    env.pop("RAY_ADDRESS", None)
    try:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            capture_output=True, text=True, timeout=900, cwd=tmp_path, env=env,
        )  # fmt: skip
    finally:
        subprocess.run(["sweep", "local", "down"], env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "succeeded" in done.stdout and "submitted as Ray job" in done.stdout
    meta = json.loads((tmp_path / "my-model" / "metadata.json").read_text())
    assert meta["retrained_on"] == "train+validation"
    assert any(line.split()[0] in ("positive", "negative") for line in done.stdout.splitlines()
               if "What a wonderful film" in line)  # fmt: skip
    assert (tmp_path / "runs").is_dir()  # quick.yaml's storage: ./runs, here
