"""Shared fixtures: synthetic corpora, an isolated cache, seeding."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import _synthetic

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO = Path(__file__).resolve().parents[1]
IMDB_ARCHIVE = Path(
    os.environ.get("SWEEP_TEST_IMDB", REPO.parent / "shared/data/imdb/aclImdb_v1.tar.gz")
)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Each test gets its own parse cache; SWEEP_IMDB from the caller is ignored."""
    monkeypatch.setenv("SWEEP_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("SWEEP_IMDB", raising=False)


@pytest.fixture(scope="session")
def tiny_archive(tmp_path_factory) -> Path:
    return _synthetic.write_archive(tmp_path_factory.mktemp("imdb") / "aclImdb_v1.tar.gz", 60)


@pytest.fixture(scope="session")
def tiny_folder(tmp_path_factory) -> Path:
    return _synthetic.write_folder(tmp_path_factory.mktemp("extracted"), 60)


@pytest.fixture(scope="session")
def tiny_csv(tmp_path_factory) -> Path:
    return _synthetic.write_csv(tmp_path_factory.mktemp("csv") / "IMDB Dataset.csv", 60)


@pytest.fixture(scope="session")
def learnable_archive(tmp_path_factory) -> Path:
    """Enough synthetic reviews for a tiny model to learn well above chance."""
    return _synthetic.write_archive(tmp_path_factory.mktemp("learn") / "aclImdb_v1.tar.gz", 400)


@pytest.fixture
def seeded():
    import keras

    keras.utils.set_random_seed(1234)
