"""Shared fixtures: synthetic corpora, an isolated cache, seeding."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests import _synthetic

# the `sweep` command, run as a module of this interpreter: `[*SWEEP, "launch", ...]`
SWEEP = (sys.executable, "-m", "sweep.cluster")

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO = Path(__file__).resolve().parents[1]
IMDB_ARCHIVE = Path(
    os.environ.get("SWEEP_TEST_IMDB", REPO.parent / "shared/data/imdb/aclImdb_v1.tar.gz")
)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Each test gets its own parse cache; SWEEP_IMDB from the caller is ignored."""
    monkeypatch.setenv("SWEEP_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("SWEEP_IMDB", raising=False)


@pytest.fixture(scope="session")
def tiny_archive(tmp_path_factory) -> Path:
    return _synthetic.write_archive(tmp_path_factory.mktemp("imdb") / "aclImdb_v1.tar.gz", 60)


@pytest.fixture(scope="session")
def tiny_folder(tmp_path_factory) -> Path:
    return _synthetic.write_folder(tmp_path_factory.mktemp("extracted"), 60)


@pytest.fixture(scope="session")
def tiny_csv(tmp_path_factory) -> Path:
    return _synthetic.write_csv(tmp_path_factory.mktemp("csv") / "IMDB Dataset.csv", 60)


@pytest.fixture(scope="session")
def learnable_archive(tmp_path_factory) -> Path:
    """Enough synthetic reviews for a tiny model to learn well above chance."""
    return _synthetic.write_archive(tmp_path_factory.mktemp("learn") / "aclImdb_v1.tar.gz", 400)


@pytest.fixture
def seeded():
    import keras

    keras.utils.set_random_seed(1234)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A real redis-server on a free loopback port with its own data dir."""

    def __init__(self, folder: Path, password: str | None = None) -> None:
        self.folder, self.password, self.port = folder, password, _free_port()
        self.proc = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        import subprocess
        import time

        import redis

        args = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.folder),
            "--appendonly",
            "yes",
            "--save",
            "",
            "--maxmemory-policy",
            "noeviction",
        ]
        if self.password:
            args += ["--requirepass", self.password]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                redis.Redis.from_url(self.url).ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server):
    """URL of the session's Redis, flushed before each test (as rq's tests do)."""
    import redis

    redis.Redis.from_url(redis_server.url).flushdb()
    return redis_server.url
