"""The bench scripts run in their small mode, so they do not rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.mark.slow
def test_redis_callback_load_quick():
    done = subprocess.run(
        [sys.executable, str(BENCH / "redis_callback_load.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["all_landed"] and result["reports"] == 1000
