"""The README's code blocks, run as a user would: in a fresh process, in their own folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def blocks(section: str, language: str = "python") -> list[str]:
    """The ```<language> blocks of the README section headed ``## <section>``."""
    text = README.read_text().split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


def python_blocks(section: str) -> list[str]:
    return blocks(section, "python")


def run_python(code: str, cwd: Path, redis_url: str, timeout: float = 300):
    """Run ``code`` in a fresh interpreter from ``cwd``, finding Redis as the CLI does
    (``SWEEP_REDIS_URL``)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, "SWEEP_REDIS_URL": redis_url},
    )
