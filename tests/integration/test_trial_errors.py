"""A trial that raises (out of memory for a huge configuration) is recorded with its error
and the sweep goes on to a winner."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from sweep.cluster import main
from tests.integration.conftest import TINY_SPACE, write_spec

pytestmark = [pytest.mark.integration, pytest.mark.slow]
HUGE = 1_000_000_000  # embedding of 1e9 dimensions: terabytes, no machine allocates it


def test_out_of_memory_trial_is_recorded_and_the_sweep_goes_on(
    ray_2_cpus, redis_url, sweep_archive, tmp_path
):
    space = {**TINY_SPACE, "embedding_dim": [8, HUGE], "architecture": ["lstm"]}
    spec = write_spec(
        tmp_path,
        sweep_archive,
        trials=6,
        concurrency=2,
        max_failures=0,
        seed=3,
        space=space,
        asha={"max_epochs": 1, "grace_period": 1, "reduction_factor": 2},
    )
    result = CliRunner().invoke(main, ["launch", spec, "--redis-url", redis_url, "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)  # --json: stdout is the record alone
    assert record["status"] == "succeeded"
    trials = json.loads(
        CliRunner()
        .invoke(main, ["trials", record["id"], "--redis-url", redis_url, "--json"])
        .output
    )
    huge = [t for t in trials if t["config"]["embedding_dim"] == HUGE]
    small = [t for t in trials if t["config"]["embedding_dim"] == 8]
    assert huge and small, "the seed must sample both sizes"
    for t in huge:
        assert t["status"] == "ERROR"
        assert any(
            k in t["error"] for k in ("OOM", "ResourceExhausted", "MemoryError", "memory")
        ), t["error"]
    assert all(t["status"] == "TERMINATED" for t in small)
    assert record["best_trial"] in {t["trial_id"] for t in small}
    events = CliRunner().invoke(main, ["status", record["id"], "--redis-url", redis_url])
    assert f"{len(huge)} errored" in events.output
