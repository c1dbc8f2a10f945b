"""deploy/kubernetes: the KubeRay manifests against the operator's own CRD schemas
(../shared/schemas/kuberay), the pieces that must agree with each other, and Redis' start
command run for real."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from pathlib import Path

import jsonschema
import pytest
import redis
import yaml

from tests.conftest import _free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "kubernetes"
SCHEMAS = Path(
    os.environ.get("SWEEP_KUBERAY_SCHEMAS", ROOT.parent / "shared" / "schemas" / "kuberay")
)


def _docs(name: str) -> dict[str, dict]:
    return {d["kind"]: d for d in yaml.safe_load_all((DEPLOY / name).read_text()) if d}


def _schema(crd_file: str, version: str = "v1") -> dict:
    crd = yaml.safe_load((SCHEMAS / crd_file).read_text())
    (found,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
    return found["schema"]["openAPIV3Schema"]


def _env(container: dict) -> dict:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


@pytest.mark.parametrize(
    ("manifest", "kind", "crd", "wrong"),
    [
        ("raycluster.yaml", "RayCluster", "ray.io_rayclusters.yaml", {"authOptions": "token"}),
        ("rayjob.yaml", "RayJob", "ray.io_rayjobs.yaml", {"shutdownAfterJobFinishes": "yes"}),
    ],
)
def test_manifests_validate_against_the_kuberay_crds(manifest, kind, crd, wrong):
    doc = _docs(manifest)[kind]
    assert doc["apiVersion"] == "ray.io/v1"
    jsonschema.validate(doc, _schema(crd))
    # and the schema is strict enough to catch a value of the wrong type
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**doc, "spec": {**doc["spec"], **wrong}}, _schema(crd))


def test_the_cluster_the_job_and_redis_agree():
    ray_cluster = _docs("raycluster.yaml")["RayCluster"]
    job = _docs("rayjob.yaml")["RayJob"]
    redis_docs = _docs("redis.yaml")
    secret, service = redis_docs["Secret"], redis_docs["Service"]
    statefulset = redis_docs["StatefulSet"]

    assert job["spec"]["clusterSelector"] == {"ray.io/cluster": ray_cluster["metadata"]["name"]}
    head_spec = ray_cluster["spec"]["headGroupSpec"]
    assert head_spec["rayStartParams"]["num-cpus"] == "0"
    (head,) = head_spec["template"]["spec"]["containers"]
    env = _env(head)
    ref = env["SWEEP_REDIS_PASSWORD"]["secretKeyRef"]
    assert ref["name"] == secret["metadata"]["name"] and ref["key"] in secret["stringData"]
    redis_url = f"redis://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}/0"
    assert env["SWEEP_DRIVER_REDIS_URL"] == redis_url
    assert yaml.safe_load(job["spec"]["runtimeEnvYAML"])["env_vars"]["SWEEP_REDIS_URL"] == redis_url
    assert statefulset["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"

    pins = dict(
        line.split("==")
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert ray_cluster["spec"]["rayVersion"] == pins["ray"]
    assert f"rayproject/ray:{pins['ray']}-py311-cpu" in (ROOT / "deploy/Dockerfile").read_text()
    groups = {g["groupName"]: g for g in ray_cluster["spec"]["workerGroupSpecs"]}
    (gpu,) = groups["gpu"]["template"]["spec"]["containers"]
    assert gpu["image"].endswith("-gpu") and gpu["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert ray_cluster["spec"]["authOptions"] == {"mode": "token"}


def test_the_jobs_entrypoint_is_a_valid_sweep_launch():
    from sweep.cluster._sweep_cmds import launch

    words = shlex.split(_docs("rayjob.yaml")["RayJob"]["spec"]["entrypoint"])
    assert words[:2] == ["sweep", "launch"]
    context = launch.make_context("launch", words[2:])  # unknown flags raise here
    assert context.params["data_source"] == "imdb"
    assert context.params["storage"].startswith("s3://")


def test_redis_starts_persistent_with_its_password_and_refuses_the_placeholder(tmp_path):
    (container,) = _docs("redis.yaml")["StatefulSet"]["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["sh", "-c"]
    port = _free_port()
    # the container's own script, with this machine's port and folder for the volume
    script = container["args"][0].replace("/data", str(tmp_path))
    script += f" --port {port} --bind 127.0.0.1"
    placeholder = subprocess.run(
        ["sh", "-c", script], env={**os.environ, "REDIS_PASSWORD": "REPLACE-ME"},
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert placeholder.returncode == 1 and "set the sweep-redis Secret" in placeholder.stderr
    server = subprocess.Popen(
        ["sh", "-c", script], env={**os.environ, "REDIS_PASSWORD": "s3cret"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        client = redis.Redis(port=port, password="s3cret")
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        assert client.config_get("dir") == {"dir": str(tmp_path)}
    finally:
        server.terminate()
        server.wait(10)
