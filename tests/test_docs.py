"""The documentation site builds in strict mode, its generated pages are complete, a broken
link fails the build, and the built site renders in a real browser."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import _browser

ROOT = Path(__file__).resolve().parents[1]


def _build(config: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config),
         "-d", str(site)],
        capture_output=True, text=True, timeout=600, cwd=config.parent,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    done = _build(ROOT / "mkdocs.yml", out)
    assert done.returncode == 0, done.stderr[-4000:]
    return out


def _text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def test_the_spec_reference_lists_every_key_the_parser_takes(site):
    from sweep.search import SweepSpec

    page = _text(site / "spec" / "index.html")

    def keys(cls, prefix=""):
        for f in dataclasses.fields(cls):
            if f.init and f.name != "space":
                yield f"{prefix}{f.name}"
                value = f.default_factory() if callable(f.default_factory) else f.default
                if dataclasses.is_dataclass(value):
                    yield from keys(type(value), f"{prefix}{f.name}.")

    found = list(keys(SweepSpec))
    assert {"asha.max_epochs", "data.source", "train.learning_rate", "time_budget_s"} <= set(found)
    assert [k for k in found if f"<code>{k}</code>" not in page] == []
    assert "Optuna TPE suggestions" in page  # the meaning, from the default spec's comments


def test_the_cli_reference_documents_every_command(site):
    from sweep.cluster import main

    page = _text(site / "cli" / "index.html")
    assert [c for c in main.commands if f"sweep {c}" not in page] == []
    assert "--concurrency" in page and "--redis-url" in page


def test_the_api_page_and_the_home_page_come_from_the_code_and_the_readme(site):
    api = _text(site / "api" / "index.html")
    assert "sweep.load_model" in api and "checksums" in api  # load_model's docstring
    home = _text(site / "index.html")
    assert "Quick start" in home and 'href="benchmarks/' in home  # README links rewritten


def test_a_broken_link_fails_the_strict_build(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "docs", repo / "docs")
    shutil.copy(ROOT / "mkdocs.yml", repo)
    shutil.copy(ROOT / "README.md", repo)
    page = repo / "docs" / "data.md"
    page.write_text(page.read_text() + "\nSee [the missing page](no-such-page.md).\n")
    done = _build(repo / "mkdocs.yml", tmp_path / "site")
    assert done.returncode != 0
    assert "no-such-page.md" in done.stderr


def test_the_built_site_renders_in_a_browser(site, tmp_path):
    dom = _browser.rendered_dom(site / "cli" / "index.html")
    assert "CLI reference" in dom and "sweep launch" in dom
    shot = tmp_path / "home.png"
    with __import__("tempfile").TemporaryDirectory() as profile:
        subprocess.run(
            [_browser.chromium(), "--headless", "--no-sandbox", "--disable-gpu",
             f"--user-data-dir={profile}", "--window-size=1280,900",
             f"--screenshot={shot}", (site / "index.html").resolve().as_uri()],
            capture_output=True, timeout=120, check=True,
        )  # fmt: skip
    _browser.assert_png(shot)
    from PIL import Image

    with Image.open(shot) as im:
        colours = im.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 50  # text and theme, not a blank page
