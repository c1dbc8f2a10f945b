"""Start / stop a local Ray head and Redis on 127.0.0.1 (``sweep local up|down|status``).

Redis runs with append-only persistence, ``maxmemory-policy noeviction`` and a generated
password kept in a user-only file; the connection details go to ``local.json`` (0600).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ._settings import local_state, redact, state_dir


class LocalError(RuntimeError):
    """A local server could not be started or stopped."""


@dataclass(frozen=True)
class LocalPorts:
    redis: int = 6380
    ray: int = 6379
    dashboard: int = 8265


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


def redis_config(folder: Path, port: int, password: str) -> str:
    return "\n".join(
        [
            "bind 127.0.0.1",
            f"port {port}",
            "protected-mode yes",
            f"dir {folder}",
            "appendonly yes",
            "appendfsync everysec",
            "maxmemory-policy noeviction",
            f"requirepass {password}",
            "daemonize yes",
            f"pidfile {folder}/redis.pid",
            f"logfile {folder}/redis.log",
            "",
        ]
    )


def _redis_ping(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:
        return False


def _dashboard_ok(url: str) -> bool:
    """The dashboard answers (401 counts: it is up and enforces token authentication)."""
    try:
        with urllib.request.urlopen(f"{url}/api/version", timeout=2) as resp:
            return resp.status == 200
    except urllib.error.HTTPError as exc:
        return exc.code == 401
    except Exception:
        return False


def _ray_env() -> dict[str, str]:
    """Ray with token authentication (token in ~/.ray/auth_token, generated once)."""
    env = {**os.environ, "RAY_AUTH_MODE": "token"}
    subprocess.run(["ray", "get-auth-token", "--generate"], env=env, capture_output=True)
    return env


def up(
    ports: LocalPorts = LocalPorts(), num_cpus: int | None = None, num_gpus: int | None = None
) -> dict:
    """Start Redis and a Ray head bound to 127.0.0.1 (idempotent)."""
    if shutil.which("redis-server") is None:
        raise LocalError(
            "redis-server is not installed; run scripts/install.sh (apt-get install redis-server)"
        )
    folder = state_dir()
    redis_dir = folder / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    pw_file = folder / "redis.password"
    if not pw_file.exists():
        _write_private(pw_file, secrets.token_urlsafe(24))
    password = pw_file.read_text().strip()
    url = f"redis://:{password}@127.0.0.1:{ports.redis}/0"
    if not _redis_ping(url):
        conf = folder / "redis.conf"
        _write_private(conf, redis_config(redis_dir, ports.redis, password))
        done = subprocess.run(["redis-server", str(conf)], capture_output=True, text=True)
        deadline = time.time() + 10
        while not _redis_ping(url) and time.time() < deadline:
            time.sleep(0.1)
        if not _redis_ping(url):
            raise LocalError(
                f"redis-server did not start on 127.0.0.1:{ports.redis}: "
                f"{done.stderr.strip() or (redis_dir / 'redis.log')}"
            )
    dashboard = f"http://127.0.0.1:{ports.dashboard}"
    if not _dashboard_ok(dashboard):
        cmd = [
            "ray",
            "start",
            "--head",
            "--node-ip-address=127.0.0.1",
            f"--port={ports.ray}",
            "--dashboard-host=127.0.0.1",
            f"--dashboard-port={ports.dashboard}",
            "--disable-usage-stats",
        ]
        if num_cpus is not None:
            cmd.append(f"--num-cpus={num_cpus}")
        if num_gpus is not None:
            cmd.append(f"--num-gpus={num_gpus}")
        done = subprocess.run(cmd, capture_output=True, text=True, env=_ray_env())
        if done.returncode != 0:
            raise LocalError(f"`ray start --head` failed: {done.stderr.strip()[-800:]}")
        deadline = time.time() + 60
        while not _dashboard_ok(dashboard) and time.time() < deadline:
            time.sleep(0.5)
    state = {
        "redis_url": url,
        "ray_address": dashboard,
        "ray_gcs": f"127.0.0.1:{ports.ray}",
        "redis_port": ports.redis,
        "started_at": time.time(),
    }
    _write_private(folder / "local.json", json.dumps(state, indent=2))
    return state


def down() -> list[str]:
    """Stop the local Ray head and Redis (Redis writes its append-only file first)."""
    stopped = []
    state = local_state()
    if state and _redis_ping(state["redis_url"]):
        import redis

        with contextlib.suppress(redis.ConnectionError):  # the server hangs up as it exits
            redis.Redis.from_url(state["redis_url"]).shutdown(save=True)
        stopped.append("redis")
    done = subprocess.run(["ray", "stop"], capture_output=True, text=True, env=_ray_env())
    if done.returncode == 0:
        stopped.append("ray")
    return stopped


def status() -> dict:
    state = local_state()
    if not state:
        return {"redis": "not started", "ray": "not started"}
    return {
        "redis": ("up " if _redis_ping(state["redis_url"]) else "down ")
        + redact(state["redis_url"]),
        "ray": ("up " if _dashboard_ok(state["ray_address"]) else "down ") + state["ray_address"],
        "state_file": str(state_dir() / "local.json"),
    }
