from __future__ import annotations

import pytest

from sweep.data import DataConfig, prepare_splits, vectorize_splits


@pytest.fixture(scope="session")
def tiny_vectors(tmp_path_factory):
    """Vectorized synthetic splits (vocab 200, length 48) shared by the model tests."""
    from tests import _synthetic

    archive = _synthetic.write_archive(tmp_path_factory.mktemp("mv") / "a.tar.gz", 400)
    cache = tmp_path_factory.mktemp("mcache")
    splits = prepare_splits(DataConfig(str(archive), cache_dir=str(cache)), progress=False)
    return vectorize_splits(splits, 200, 48)
