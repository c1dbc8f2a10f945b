"""`sweep status --watch`: a view redrawn in place on a terminal, plain lines elsewhere."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import termios
import time

import pytest
import yaml

from sweep.cluster import RedisStateStore
from tests.conftest import SWEEP
from tests.integration.conftest import TINY_SPACE

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _on_terminal(command: list[str]) -> tuple[int, str]:
    """Run ``command`` on a pseudo-terminal of 40 rows x 120 columns; its exit code and
    everything it drew."""
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    process = subprocess.Popen(command, stdin=child, stdout=child, stderr=child, env=env)
    os.close(child)
    screen = _read_all(main)
    os.close(main)
    return process.wait(60), screen


def _read_all(fd: int) -> str:
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the other side closed
            break
        if not chunk:
            break
        out += chunk
    return out.decode(errors="replace")


def _replay_spec(folder, trials: int) -> str:
    spec = {
        "name": "live",
        "trial": "replay",
        "replay": {"epoch_seconds": 1.0, "time_scale": 0.6},
        "trials": trials,
        "concurrency": 2,
        "asha": {"max_epochs": 4, "grace_period": 1, "reduction_factor": 2},
        "storage": str(folder / "runs"),
        "space": TINY_SPACE,
        "seed": 5,
    }
    (folder / "spec.yaml").write_text(yaml.safe_dump(spec))
    return str(folder / "spec.yaml")


def test_watch_redraws_in_place_on_a_terminal_and_prints_lines_to_a_pipe(redis_url, tmp_path):
    launch = [*SWEEP, "launch", _replay_spec(tmp_path, 8), "--redis-url", redis_url, "-q"]
    driver = subprocess.Popen(launch, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = RedisStateStore(redis_url)

    def running() -> bool:
        sweeps = store.list_sweeps()
        return bool(sweeps) and any(
            t["status"] == "RUNNING" for t in store.trials(sweeps[0]["id"]).values()
        )

    deadline = time.time() + 180
    while not running():
        assert time.time() < deadline and driver.poll() is None, "no trial started"
        time.sleep(0.2)
    sweep_id = store.list_sweeps()[0]["id"]
    watch = [*SWEEP, "status", sweep_id, "--watch", "--redis-url", redis_url]
    to_pipe = subprocess.Popen(watch, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    code, screen = _on_terminal(watch)
    assert code == 0, screen[-3000:]
    piped, _ = to_pipe.communicate(timeout=60)
    assert to_pipe.returncode == 0, piped[-3000:]
    assert driver.wait(60) == 0

    trials = store.trials(sweep_id)
    # on the terminal: redrawn in place (cursor up, erase line), the running trials and the
    # leaderboard with trial ids from the trial table, the time left, the final status
    assert "\x1b[1A" in screen and "\x1b[2K" in screen
    text = ANSI.sub("", screen)
    assert "running" in text and "best 5 of 8" in text and " left" in text
    assert {t for t in trials if t in text} and f"sweep {sweep_id}" in text
    assert "[succeeded]" in text and "8/8 trials" in text
    # to a pipe: plain lines, no escape codes, each progress change once
    assert "\x1b[" not in piped
    lines = piped.splitlines()
    progress = [line for line in lines if line.startswith("[")]
    assert progress and len(progress) == len(set(progress))
    assert f"sweep {sweep_id}: succeeded" in lines


def test_launch_on_a_terminal_shows_the_same_view_while_its_driver_runs_here(redis_url, tmp_path):
    code, screen = _on_terminal(
        [*SWEEP, "launch", _replay_spec(tmp_path, 6), "--redis-url", redis_url]
    )
    assert code == 0, screen[-3000:]
    (sweep,) = RedisStateStore(redis_url).list_sweeps()
    text = ANSI.sub("", screen)
    assert "\x1b[1A" in screen and "[running]" in text and "best val_accuracy" in text
    assert "6/6 trials" in text and f"sweep {sweep['id']}: succeeded" in text
