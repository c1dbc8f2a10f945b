"""``scripts/quickstart.sh`` (the README's main job) picks the IMDB archive without naming a
path of our build machines in the README: ``SWEEP_IMDB``, a local copy, else ``imdb``."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "quickstart.sh"


def _run(tmp_path, env_extra, script=SCRIPT):
    """Run the script with ``sweep`` on PATH replaced by a recorder of its arguments (the
    commands themselves are tested in tests/integration/test_quick_start.py)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "sweep").write_text('#!/bin/sh\necho "$@" >> "$CALLS"\n')
    (bin_dir / "sweep").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CALLS": str(tmp_path / "c")}
    env.pop("SWEEP_IMDB", None)
    env.update(env_extra)
    done = subprocess.run(["bash", str(script)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return (tmp_path / "c").read_text().splitlines()


@pytest.mark.parametrize("where", ["SWEEP_IMDB", "here"])
def test_a_copy_the_user_has_is_used(tmp_path, where):
    copy = tmp_path / "aclImdb_v1.tar.gz"
    copy.write_bytes(b"x")
    env = {"SWEEP_IMDB": "/data/mine.tar.gz"} if where == "SWEEP_IMDB" else {}
    up, launch = _run(tmp_path, env)
    assert up == "local up"
    expected = "/data/mine.tar.gz" if where == "SWEEP_IMDB" else "aclImdb_v1.tar.gz"
    assert launch.split("--data ")[1].split()[0] == expected
    assert launch.startswith("launch ") and launch.endswith("--address http://127.0.0.1:8265")


def test_without_a_copy_the_official_archive_is_downloaded(tmp_path):
    checkout = tmp_path / "elsewhere" / "sweep"  # no ../shared beside this checkout
    (checkout / "scripts").mkdir(parents=True)
    (checkout / "scripts" / "quickstart.sh").write_text(SCRIPT.read_text())
    work = tmp_path / "work"
    work.mkdir()
    _, launch = _run(work, {}, checkout / "scripts" / "quickstart.sh")
    assert launch.split("--data ")[1].split()[0] == "imdb"
    assert str(checkout / "examples" / "quick.yaml") in launch
