"""Connection settings: the Redis URL (flag > SWEEP_REDIS_URL > `sweep local up` state >
default) with credentials kept out of everything printed, logged or pickled."""

from __future__ import annotations

import json
import os
import urllib.parse
from pathlib import Path

DEFAULT_REDIS_URL = "redis://127.0.0.1:6380/0"
ENV_REDIS_URL = "SWEEP_REDIS_URL"
ENV_REDIS_PASSWORD = "SWEEP_REDIS_PASSWORD"
ENV_REDIS_PASSWORD_FILE = "SWEEP_REDIS_PASSWORD_FILE"
# on a cluster's head: the Redis URL its sweep drivers use, whatever URL the user had
ENV_DRIVER_REDIS_URL = "SWEEP_DRIVER_REDIS_URL"
# how long a sweep's driver waits for a Redis that went away before giving up (seconds)
ENV_REDIS_PATIENCE = "SWEEP_REDIS_PATIENCE_S"
DEFAULT_REDIS_PATIENCE_S = 300.0


class BadSetting(ValueError):
    """A setting from the environment that cannot be used (exit code 2 in the CLI)."""


def redis_patience_s() -> float:
    """Seconds a sweep's driver waits out a Redis outage: ``SWEEP_REDIS_PATIENCE_S``, else 300.

    Long enough for a restart or a failover; while Redis is away the driver pauses (trials
    finish the epoch they are in, their reports wait in Ray), then everything lands."""
    raw = os.environ.get(ENV_REDIS_PATIENCE)
    if raw is None or not raw.strip():
        return DEFAULT_REDIS_PATIENCE_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise BadSetting(
            f"{ENV_REDIS_PATIENCE}={raw!r} is not a number of seconds above 0; set it to how "
            f"long a sweep's driver should wait for Redis to come back (default "
            f"{DEFAULT_REDIS_PATIENCE_S:g}), or unset it"
        )
    return value


def state_dir() -> Path:
    """Where `sweep local up` keeps its servers' data and connection file."""
    return Path(os.environ.get("SWEEP_STATE_DIR") or Path.home() / ".local/state/sweep")


def local_state() -> dict | None:
    path = state_dir() / "local.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def resolve_redis_url(flag: str | None = None) -> str:
    if flag:
        return flag
    if os.environ.get(ENV_REDIS_URL):
        return os.environ[ENV_REDIS_URL]
    state = local_state()
    if state and state.get("redis_url"):
        return state["redis_url"]
    return DEFAULT_REDIS_URL


def redact(url: str) -> str:
    """The URL with any password replaced by ``***`` (safe to print)."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    netloc = f"{user}:***@{host}" if user else f":***@{host}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def strip_password(url: str) -> str:
    """The URL without its password (what may be pickled or stored)."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username}@{host}" if parts.username else host
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def with_password(url: str) -> str:
    """Put the password back from the environment into a password-less URL.

    ``SWEEP_REDIS_URL`` is used when it points at the same host, port and db; else
    ``SWEEP_REDIS_PASSWORD``, or the file named by ``SWEEP_REDIS_PASSWORD_FILE``; else the
    `sweep local up` state for that URL; else the URL is returned unchanged.
    """
    if urllib.parse.urlsplit(url).password is not None:
        return url
    env_url = os.environ.get(ENV_REDIS_URL)
    if env_url and strip_password(env_url) == url and env_url != url:
        return env_url
    password = os.environ.get(ENV_REDIS_PASSWORD)
    if not password and os.environ.get(ENV_REDIS_PASSWORD_FILE):
        try:
            password = Path(os.path.expanduser(os.environ[ENV_REDIS_PASSWORD_FILE])).read_text()
            password = password.strip()
        except OSError:
            password = None
    state = local_state()
    if not password and state and strip_password(state.get("redis_url", "")) == url:
        return state["redis_url"]
    if not password:
        return url
    parts = urllib.parse.urlsplit(url)
    user = parts.username or ""
    netloc = f"{user}:{urllib.parse.quote(password, safe='')}@{parts.netloc.split('@')[-1]}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
