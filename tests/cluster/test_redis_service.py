"""deploy/redis-service.sh, the Redis ray-cluster.yaml starts on the head, run for real."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

import pytest
import redis

from tests.conftest import _free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy/redis-service.sh"


@pytest.fixture
def service(tmp_path):
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "SWEEP_REDIS_DIR": str(tmp_path / "volume" / "redis"),
        "SWEEP_REDIS_PORT": str(_free_port()),
    }

    def run(action: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", str(SCRIPT), action], env=env, capture_output=True, text=True, timeout=60
        )

    yield run, env
    run("stop")


def _client(env) -> redis.Redis:
    password = (Path(env["HOME"]) / ".sweep/redis.password").read_text().strip()
    return redis.Redis(port=int(env["SWEEP_REDIS_PORT"]), password=password)


def _wait(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except redis.ConnectionError:  # restarting
            pass
        time.sleep(0.1)
    raise TimeoutError("condition not met")


def test_redis_on_the_head_is_private_persistent_and_never_evicts(service):
    run, env = service
    started = run("start")
    assert started.returncode == 0, started.stderr
    client = _client(env)
    config = {
        key: client.config_get(key)[key]
        for key in ("bind", "appendonly", "maxmemory-policy", "dir", "protected-mode")
    }
    assert config == {
        "bind": "127.0.0.1",
        "appendonly": "yes",
        "maxmemory-policy": "noeviction",
        "dir": env["SWEEP_REDIS_DIR"],
        "protected-mode": "yes",
    }
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=int(env["SWEEP_REDIS_PORT"])).ping()
    state = Path(env["HOME"]) / ".sweep"
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE((state / "redis.password").stat().st_mode) == 0o600


def test_start_again_leaves_it_running_and_a_killed_redis_comes_back_with_its_data(service):
    run, env = service
    assert run("start").returncode == 0
    client = _client(env)
    client.set("sweep:probe", "kept")
    first = client.info("server")["process_id"]
    again = run("start")  # what re-running `ray up` does
    assert again.returncode == 0 and "already running" in again.stdout
    assert client.info("server")["process_id"] == first

    os.kill(first, 9)
    _wait(lambda: client.info("server")["process_id"] != first)
    assert client.get("sweep:probe") == b"kept"  # replayed from the append-only file
    assert run("status").returncode == 0

    assert run("stop").returncode == 0
    assert run("status").returncode == 3
    _wait(lambda: _refused(client), timeout=10)  # the supervisor took redis-server with it


def _refused(client: redis.Redis) -> bool:
    try:
        client.ping()
    except redis.ConnectionError:
        return True
    return False
