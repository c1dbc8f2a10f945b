"""One import name, ``sweep``, and its Python API."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

import sweep
from sweep.cluster import RedisStateStore, main
from sweep.search import parse_sweep_spec, spec_to_dict

BARE = ("data", "model", "search", "cluster")


def test_a_users_data_folder_and_model_py_break_nothing(tmp_path):
    """From a working directory holding a ``data/`` folder and a ``model.py`` (that would
    fail if imported), every part of the package imports and no bare top-level name
    (``data``, ``model``, ...) is loaded; ``import sweep`` alone loads no TensorFlow."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "reviews.csv").write_text("review,sentiment\n")
    (tmp_path / "model.py").write_text("raise ImportError('the user model.py was imported')\n")
    (tmp_path / "search.py").write_text("raise ImportError('the user search.py was imported')\n")
    code = (
        "import sys, json\nimport sweep\n"
        "light = [m for m in ('tensorflow', 'keras', 'ray') if m in sys.modules]\n"
        "import sweep.layers, sweep.search._driver, sweep.cluster._runner, sweep.cluster.job\n"
        "from sweep.data import DataConfig\nfrom sweep.model import ModelConfig\n"
        f"bare = [m for m in {BARE!r} if m in sys.modules]\n"
        "print(json.dumps({'light': light, 'bare': bare}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"light": [], "bare": []}


def test_the_sweep_command_is_the_packages_cli(tmp_path):
    done = subprocess.run(["sweep", "--help"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0 and "launch" in done.stdout, done.stderr


def _record(store, sweep_id="api-1"):
    spec = spec_to_dict(parse_sweep_spec({"trials": 3}))
    store.create_sweep(sweep_id, spec, "/tmp/runs")
    for trial, best in (("b", 0.81), ("a", 0.86), ("c", None)):
        row = {"trial_id": trial, "status": "TERMINATED", "best": best, "epochs": 1}
        store.write_trial(sweep_id, trial, row, best, "completed")
    return sweep_id


def test_a_sweep_reads_its_status_trials_and_best_from_redis(redis_url):
    sweep_id = _record(RedisStateStore(redis_url))
    s = sweep.Sweep(sweep_id, redis_url)
    assert s.status()["status"] == "pending" and s.status()["module_layout"] == "sweep"
    assert [t["trial_id"] for t in s.trials()] == ["a", "b", "c"]
    assert [t["trial_id"] for t in s.trials(top=2)] == ["a", "b"]
    assert s.best()["trial_id"] == "a" and s.best()["best"] == 0.86
    with pytest.raises(KeyError, match="nope"):
        sweep.Sweep("nope", redis_url)


@pytest.mark.parametrize("command", ["resume", "extend"])
def test_a_sweep_launched_by_0_1_is_refused_on_restore_with_the_way_out(redis_url, command):
    """Its Ray Tune checkpoints pickle 0.1's module names: resume/extend refuse (exit 2)
    and say what to do; nothing about the sweep changes."""
    store = RedisStateStore(redis_url)
    sweep_id = _record(store, "old-1")
    store.move(sweep_id, "running")
    store.client.hdel(store.keys.sweep(sweep_id), "module_layout")  # as 0.1 recorded it
    before = store.get_sweep(sweep_id)
    extra = ["--trials", "2"] if command == "extend" else []
    result = CliRunner().invoke(main, [command, sweep_id, *extra, "--redis-url", redis_url])
    assert result.exit_code == 2, result.output
    assert "launched by sweep 0.1" in result.output and f"--warm-start {sweep_id}" in result.output
    assert "Traceback" not in result.output
    assert store.get_sweep(sweep_id) == before
