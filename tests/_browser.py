"""Headless Chromium: render a page and read the DOM after its scripts ran."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise RuntimeError(
        "Chromium is not installed; run scripts/install.sh (apt-get install chromium)"
    )


def rendered_dom(page: Path) -> str:
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=5000",
                "--dump-dom",
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def images_loaded(page: Path) -> tuple[int, int]:
    """``(decoded, total)`` images, as counted by the page's own load check."""
    match = re.search(r'data-images="(\d+)/(\d+)"', rendered_dom(page))
    assert match, "the page did not run its image check"
    return int(match.group(1)), int(match.group(2))


def assert_png(path: Path) -> None:
    from PIL import Image

    with Image.open(path) as im:
        im.verify()
        assert im.format == "PNG" and im.size[0] > 200 and im.size[1] > 150
