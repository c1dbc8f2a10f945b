"""A Ray cluster of machines that share nothing but the network, started as `ray up` starts
ray-cluster.yaml: the head and worker start commands of that file, run in nodes of
:mod:`tests._netcluster`.

What `ray up` does around those commands is done here the way the file asks for it: the
project is at ``~/sweep`` (file_mounts), the token at ``~/.ray/auth_token`` (file_mounts), the
node type's ``resources`` in ``RAY_OVERRIDE_RESOURCES`` and the head's address in
``RAY_HEAD_IP`` (the launcher's environment), the EFS mount at ``/mnt/sweep`` (the
initialization command's NFS mount). Not run: the setup commands (``pip install`` of the
package, which this machine's image already has) and the autoscaler (``ray up`` writes the
``~/ray_bootstrap_config.yaml`` the head's monitor reads; here there is none, so the monitor
exits and the cluster keeps the nodes it is given).

Around it, as on AWS: an S3-compatible object store (moto's server) and a web server with the
IMDB archive (the "internet" `--data imdb` downloads from) on a node of their own; the user's
machine is this process, reaching the dashboard and Redis through tunnels (``ray dashboard``,
``ssh -L``).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import yaml

from tests._netcluster import NetCluster, Node, wait_for

REPO = Path(__file__).resolve().parents[2]
S3_PORT = 9000
MIRROR_PORT = 8000
BUCKET = "sweeps"
# the test cluster's GCS declares a node dead after ~3 s without a heartbeat (Ray's default
# is ~30 s): the fault tests wait for that
FAST_HEALTH_CHECKS = {
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_timeout_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
}
AWS_ENV = {  # what an instance profile gives a node; moto accepts any key
    "AWS_ACCESS_KEY_ID": "sweep-test",
    "AWS_SECRET_ACCESS_KEY": "sweep-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def cluster_config() -> dict:
    return yaml.safe_load((REPO / "ray-cluster.yaml").read_text())


class SharedNothingCluster:
    def __init__(self, root: Path, archive: Path, workers: int = 3) -> None:
        self.config = cluster_config()
        self.token = secrets.token_hex(16)
        self.net = NetCluster(root, REPO, env=AWS_ENV)
        self.archive = archive
        self.workers: list[Node] = []
        self._worker_count = 0
        self._s3 = self._www = None
        try:
            self.services = self.net.add_node("services", shared=False)
            self._start_services()
            self.head = self.start_head()
            for _ in range(workers):
                self.add_worker()
            self.wait_for_nodes(1 + workers)
        except BaseException:
            self.close()
            raise

    # -- the services around the cluster ------------------------------------------------
    def _start_services(self) -> None:
        import shutil

        (self.services.disk / "www").mkdir()  # the node's disk, seen from here
        shutil.copyfile(self.archive, self.services.disk / "www" / "aclImdb_v1.tar.gz")
        www = "/mnt/node/www"
        self._s3 = self.services.popen(
            f"exec moto_server -H 0.0.0.0 -p {S3_PORT}",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._www = self.services.popen(
            f"cd {www} && exec {sys.executable} -m http.server {MIRROR_PORT}",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import boto3

        client = boto3.client("s3", endpoint_url=self.s3_endpoint, **_boto_args())
        wait_for(lambda: _try(client.list_buckets), 60, "the S3 server")
        client.create_bucket(Bucket=BUCKET)

    @property
    def s3_endpoint(self) -> str:
        return f"http://{self.services.ip}:{S3_PORT}"

    def s3_uri(self, key: str) -> str:
        """An s3:// URI of the test store as pyarrow (and so Ray Tune and sweep) take it."""
        query = f"endpoint_override={self.services.ip}:{S3_PORT}&scheme=http&region=us-east-1"
        return f"s3://{BUCKET}/{key.strip('/')}?{query}"

    def s3_keys(self, prefix: str) -> list[str]:
        import boto3

        client = boto3.client("s3", endpoint_url=self.s3_endpoint, **_boto_args())
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    @property
    def imdb_mirror(self) -> str:
        return f"http://{self.services.ip}:{MIRROR_PORT}/aclImdb_v1.tar.gz"

    # -- nodes started with the file's commands -------------------------------------------
    def _prepare(self, node: Node, resources: dict) -> None:
        node.run(f"mkdir -p ~/.ray && umask 077 && echo {self.token} > ~/.ray/auth_token")
        node.env["RAY_OVERRIDE_RESOURCES"] = json.dumps(resources)

    def start_head(self, name: str = "head") -> Node:
        head = self.net.add_node(name)
        self._prepare(head, self.config["available_node_types"]["head"]["resources"])
        head.env.update(FAST_HEALTH_CHECKS)
        head.env["SWEEP_IMDB"] = self.imdb_mirror  # `--data imdb` downloads from the mirror
        for command in self.config["head_setup_commands"]:
            head.run(command)
        self.run_head_start_commands(head)
        self.dashboard_port = head.tunnel(8265)
        self.redis_port = head.tunnel(6380)
        self.redis_password = head.read("~/.sweep/redis.password").strip()
        self.head = head
        return head

    def run_head_start_commands(self, head: Node | None = None) -> None:
        for command in self.config["head_start_ray_commands"]:
            (head or self.head).run(command, timeout=180)

    def add_worker(self, cpus: int = 1) -> Node:
        self._worker_count += 1
        worker = self.net.add_node(f"worker{self._worker_count}")
        self._prepare(worker, {"CPU": cpus})
        worker.env["RAY_HEAD_IP"] = self.head.ip
        for command in self.config["worker_start_ray_commands"]:
            worker.run(command, timeout=180)
        self.workers.append(worker)
        return worker

    def remove(self, node: Node) -> None:
        node.kill()
        if node in self.workers:
            self.workers.remove(node)

    # -- the user's machine -----------------------------------------------------------------
    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    @property
    def redis_url(self) -> str:
        return f"redis://:{self.redis_password}@127.0.0.1:{self.redis_port}/0"

    def client_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SWEEP_", "RAY_"))}
        return {
            **env,
            **AWS_ENV,
            "SWEEP_REDIS_URL": self.redis_url,
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN": self.token,
            "SWEEP_STATE_DIR": str(self.net.root / "client-state"),
        }

    def sweep(self, *args: str, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
        """``sweep ARGS`` on the user's machine."""
        return subprocess.run(
            [sys.executable, "-m", "sweep.cluster", *args],
            env=self.client_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            **kwargs,
        )

    def sweep_popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "sweep.cluster", *args],
            env=self.client_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def jobs(self):
        from ray.job_submission import JobSubmissionClient

        client = JobSubmissionClient(
            self.address, headers={"Authorization": f"Bearer {self.token}"}
        )
        return client, client.list_jobs()

    def alive_nodes(self) -> list:
        from ray.util.state import StateApiClient
        from ray.util.state.common import ListApiOptions, StateResource

        client = StateApiClient(self.address, headers={"Authorization": f"Bearer {self.token}"})
        options = ListApiOptions(filters=[("state", "=", "ALIVE")], detail=True)
        return client.list(StateResource.NODES, options=options, raise_on_missing_output=False)

    def wait_for_nodes(self, count: int, timeout: float = 120) -> None:
        wait_for(lambda: len(self.alive_nodes()) == count, timeout, f"{count} alive Ray nodes")

    def close(self) -> None:
        for proc in (self._s3, self._www):
            if proc is not None:
                proc.kill()
        self.net.close()


def _boto_args() -> dict:
    return {
        "aws_access_key_id": AWS_ENV["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        "region_name": AWS_ENV["AWS_DEFAULT_REGION"],
    }


def _try(fn) -> bool:
    try:
        fn()
        return True
    except Exception:
        return False
