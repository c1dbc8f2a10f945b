"""``sweep.launch`` and ``sweep.train``: the Python API's way to run work, as the README shows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import sweep
from sweep.cluster import RedisStateStore
from sweep.cluster._launch import LaunchRefused
from tests._readme import python_blocks, run_python

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def test_the_readmes_launch_and_train_snippet_runs_as_written(sweep_archive, redis_url, tmp_path):
    """The README's second "Python API" block in a fresh process, the archive's name
    pointing at a small synthetic one: a whole sweep runs here and ends exported, then one
    training run exports its model."""
    snippet = python_blocks("Python API")[1]
    code = snippet.replace('"examples/quick.yaml"', repr(str(ROOT / "examples" / "quick.yaml")))
    code = code.replace('"aclImdb_v1.tar.gz"', repr(str(sweep_archive)))
    done = run_python(code, tmp_path, redis_url, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    store = RedisStateStore(redis_url)
    (record,) = [store.get_sweep(s["id"]) for s in store.list_sweeps()]
    # (Ray Tune prints its own experiment box to stdout too)
    assert any(line.startswith("succeeded {") for line in done.stdout.splitlines())
    assert record["status"] == "succeeded" and record["spec"]["trials"] == 4
    assert len(store.trials(record["id"])) == 4
    assert Path(record["artifact"]).is_relative_to(tmp_path / "runs")  # quick.yaml: ./runs
    meta = json.loads((tmp_path / "m" / "metadata.json").read_text())
    assert meta["train_config"]["epochs"] == 1 and "accuracy" in meta["test"]


def test_launch_refuses_data_it_cannot_find_and_records_nothing(redis_url, tmp_path):
    missing = tmp_path / "nowhere.tar.gz"
    with pytest.raises(LaunchRefused, match=re.escape(str(missing))):
        sweep.launch(
            overrides={"data.source": str(missing), "storage": str(tmp_path / "runs")},
            redis_url=redis_url,
        )
    assert RedisStateStore(redis_url).list_sweeps() == []
    assert not (tmp_path / "runs").exists()
