"""ray-cluster.yaml against Ray's own autoscaler schema, plus the exposure rules."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _config() -> dict:
    return yaml.safe_load((ROOT / "ray-cluster.yaml").read_text())


def test_validates_against_rays_autoscaler_schema():
    import ray

    schema_path = Path(os.path.dirname(ray.__file__)) / "autoscaler" / "ray-schema.json"
    schema = json.loads(schema_path.read_text())
    jsonschema.validate(_config(), schema)
    # and Ray's own validator (schema + node type checks) accepts it
    from ray.autoscaler._private.util import prepare_config, validate_config

    validate_config(prepare_config(_config()))


def test_head_cpu_and_gpu_worker_types_with_bounds():
    config = _config()
    types = config["available_node_types"]
    assert config["head_node_type"] == "head" and {"cpu_worker", "gpu_worker"} <= set(types)
    for name in ("cpu_worker", "gpu_worker"):
        assert 0 <= types[name]["min_workers"] <= types[name]["max_workers"]
    assert sum(t.get("max_workers", 0) for t in types.values()) <= config["max_workers"]


def test_nothing_is_exposed_beyond_ssh():
    config = _config()
    head = " ".join(config["head_start_ray_commands"])
    assert "--dashboard-host=127.0.0.1" in head
    # Redis binds to loopback only: tests/cluster/test_redis_service.py runs the script
    assert "deploy/redis-service.sh start" in head
    rules = config["provider"]["security_group"]["IpPermissions"]
    assert [(r["FromPort"], r["ToPort"]) for r in rules] == [(22, 22)]
    assert all(ip["CidrIp"] != "0.0.0.0/0" for r in rules for ip in r["IpRanges"])


def _pins() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    return dict(line.split("==") for line in lines if line and not line.startswith("#"))


def test_every_node_runs_the_pinned_image_and_the_pinned_packages():
    config = _config()
    ray_version = _pins()["ray"]
    images = [config["docker"]["image"]] + [
        t["docker"]["worker_image"]
        for t in config["available_node_types"].values()
        if "docker" in t
    ]
    assert images == [
        f"rayproject/ray:{ray_version}-py311-cpu",
        f"rayproject/ray:{ray_version}-py311-gpu",
    ]
    installs = (
        config["setup_commands"]
        + config["available_node_types"]["gpu_worker"]["worker_setup_commands"]
    )
    pip = [c for c in installs if "pip install" in c]
    assert len(pip) == 2 and all('-c "$HOME/sweep/constraints.txt"' in c for c in pip)
    # no quoted tilde (it is not expanded), no fallback that hides a failed install
    assert not [c for c in installs if '"~' in c or "||" in c]
    assert '-e "$HOME/sweep[gpu]"' in pip[1]


def test_gpu_workers_fail_their_setup_when_tensorflow_sees_no_gpu():
    gpu = _config()["available_node_types"]["gpu_worker"]
    check = gpu["worker_setup_commands"][-1]
    assert 'list_physical_devices("GPU")' in check and "sys.exit" in check
    import subprocess
    import sys

    # the same command, run here (no GPU), exits non-zero with its message
    done = subprocess.run(
        ["bash", "-c", check.replace("python ", f"{sys.executable} ", 1)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and "TensorFlow sees no GPU on this GPU worker" in done.stderr


def test_workers_get_an_instance_profile_and_every_node_the_shared_volume():
    config = _config()
    types = config["available_node_types"]
    for name in ("cpu_worker", "gpu_worker"):
        assert types[name]["node_config"]["IamInstanceProfile"]["Name"]
    assert "-v /mnt/sweep:/mnt/sweep" in config["docker"]["run_options"]
    assert any("mount -t nfs4" in c for c in config["initialization_commands"])
    policy = json.loads((ROOT / "deploy/aws/worker-storage-policy.json").read_text())
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert {"s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject"} <= actions


def test_start_commands_leave_a_running_ray_alone():
    """`ray up` re-runs them: they must not stop the sweeps a running head serves (run for
    real in tests/integration/test_shared_nothing.py)."""
    config = _config()
    head, worker = config["head_start_ray_commands"][-1], config["worker_start_ray_commands"][0]
    assert head.startswith("pgrep -x gcs_server >/dev/null || (ray stop;")
    assert worker.startswith("pgrep -x raylet >/dev/null || (ray stop;")


def test_the_constraints_pin_every_dependency_as_installed():
    """constraints.txt covers sweep's dependencies (the dev and dashboard extras too) at the
    versions installed from it; a dependency added without re-locking fails here."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("lock", ROOT / "scripts/lock.py")
    lock = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lock)
    pins = _pins()
    wanted = lock._closure("sweep", lock.EXTRAS)
    missing = sorted(set(wanted) - set(pins))
    assert not missing, f"not in constraints.txt: {missing}; run python scripts/lock.py"
    assert {k: pins[k] for k in wanted} == wanted


def test_token_authentication_on_every_node():
    config = _config()
    head = " ".join(config["head_start_ray_commands"])
    workers = " ".join(config["worker_start_ray_commands"])
    assert "RAY_AUTH_MODE=token SWEEP_REDIS_PASSWORD_FILE=" in head and "ray start --head" in head
    assert "RAY_AUTH_MODE=token ray start --address" in workers
    assert config["file_mounts"]["~/.ray/auth_token"] == "~/.ray/auth_token"
