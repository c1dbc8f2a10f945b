"""The real IMDB archive from ../shared (read-only, never copied into the repo)."""

from __future__ import annotations

import pytest

from sweep.data import load_dataset
from tests.conftest import IMDB_ARCHIVE

pytestmark = pytest.mark.skipif(
    not IMDB_ARCHIVE.is_file(), reason=f"IMDB archive not at {IMDB_ARCHIVE} (SWEEP_TEST_IMDB)"
)


def test_full_archive_loads_25k_25k_and_caches(tmp_path):
    first = load_dataset(IMDB_ARCHIVE, cache_dir=tmp_path, progress=False)
    assert len(first.train) == 25_000 and len(first.test) == 25_000
    for split in (first.train, first.test):
        assert split["label"].sum() == 12_500
        pos = split[split["label"] == 1]["rating"]
        neg = split[split["label"] == 0]["rating"]
        assert pos.between(7, 10).all() and neg.between(1, 4).all()
    assert first.train["text"].str.contains("<br />").any()  # raw text, cleaned later
    second = load_dataset(IMDB_ARCHIVE, cache_dir=tmp_path, progress=False)
    assert second.from_cache and second.fingerprint == first.fingerprint
    assert second.train["id"].tolist() == first.train["id"].tolist()
