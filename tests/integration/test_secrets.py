"""A sweep against a password-protected Redis: the password appears nowhere it should not."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from sweep.cluster import main
from tests.conftest import RedisServer
from tests.integration.conftest import write_spec

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SECRET = "Zq8-not-for-your-eyes-41"


@pytest.fixture(scope="module")
def secured_redis(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis-secret"), password=SECRET).start()
    yield server
    server.stop()


def _files_containing(root, needle: bytes) -> list[str]:
    hits = []
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            try:
                with open(path, "rb") as fh:
                    if needle in fh.read():
                        hits.append(path)
            except OSError:
                pass
    return hits


def test_password_never_reaches_output_experiment_or_model(
    ray_2_cpus, secured_redis, sweep_archive, tmp_path, monkeypatch
):
    monkeypatch.delenv("SWEEP_REDIS_URL", raising=False)
    spec = write_spec(
        tmp_path,
        sweep_archive,
        trials=2,
        concurrency=2,
        asha={"max_epochs": 1, "grace_period": 1, "reduction_factor": 2},
    )
    runner = CliRunner()
    result = runner.invoke(main, ["launch", spec, "--redis-url", secured_redis.url])
    assert result.exit_code == 0, result.output
    record_id = result.output.split("sweep ", 1)[1].split()[0]
    outputs = [result.output]
    for args in (
        ["list"],
        ["status", record_id],
        ["trials", record_id],
        ["best", record_id, "--json"],
        ["status", record_id, "--json"],
    ):
        res = runner.invoke(main, [*args, "--redis-url", secured_redis.url])
        assert res.exit_code == 0, res.output
        outputs.append(res.output)
    assert not [o for o in outputs if SECRET in o]
    # the Ray Tune experiment (tuner.pkl, searcher state, results) and the exported model
    experiment = tmp_path / "runs" / record_id
    assert (experiment / "tuner.pkl").is_file()
    assert list(experiment.glob("searcher-state-*.pkl"))
    assert _files_containing(experiment, SECRET.encode()) == []
    # and the sweep record in Redis holds no password either
    import redis

    raw = redis.Redis.from_url(secured_redis.url).hgetall(f"sweep:{record_id}")
    assert SECRET.encode() not in b"".join(raw.values())
