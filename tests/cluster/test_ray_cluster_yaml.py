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
    assert "bind 127.0.0.1" in head and "requirepass" in head
    assert "appendonly yes" in head and "maxmemory-policy noeviction" in head
    rules = config["provider"]["security_group"]["IpPermissions"]
    assert [(r["FromPort"], r["ToPort"]) for r in rules] == [(22, 22)]
    assert all(ip["CidrIp"] != "0.0.0.0/0" for r in rules for ip in r["IpRanges"])


def test_token_authentication_on_every_node():
    config = _config()
    head = " ".join(config["head_start_ray_commands"])
    workers = " ".join(config["worker_start_ray_commands"])
    assert "RAY_AUTH_MODE=token SWEEP_REDIS_PASSWORD_FILE=" in head and "ray start --head" in head
    assert "RAY_AUTH_MODE=token ray start --address" in workers
    assert config["file_mounts"]["~/.ray/auth_token"] == "~/.ray/auth_token"
