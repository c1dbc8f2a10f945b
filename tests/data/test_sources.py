"""Each data source loads into the same train/test frames; the Parquet cache is reused."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading

import pandas as pd
import pytest

from sweep import data
from sweep.data import CsvOptions, DataError, load_dataset
from tests import _synthetic


def _check(ds: data.Dataset, n_train: int, n_test: int) -> None:
    assert list(ds.train.columns) == ["text", "label", "rating", "id"]
    assert len(ds.train) == n_train and len(ds.test) == n_test
    assert set(ds.train["label"]) == {0, 1}
    assert ds.train["label"].mean() == pytest.approx(0.5)


def test_archive_local_path(tiny_archive):
    ds = load_dataset(tiny_archive, progress=False)
    _check(ds, 120, 120)
    pos = ds.train[ds.train["label"] == 1]
    assert pos["rating"].between(7, 10).all()
    assert not ds.from_cache


def test_archive_file_url_and_folder_give_same_reviews(tiny_archive, tiny_folder):
    by_url = load_dataset(f"file://{tiny_archive}", progress=False)
    by_folder = load_dataset(tiny_folder.parent, progress=False)
    by_inner = load_dataset(tiny_folder, progress=False)
    _check(by_folder, 120, 120)
    pd.testing.assert_frame_equal(by_url.train, by_folder.train)
    pd.testing.assert_frame_equal(by_folder.test, by_inner.test)


def test_unsup_reviews_are_ignored(tiny_folder):
    ds = load_dataset(tiny_folder, progress=False)
    assert not ds.train["id"].str.contains("unsup").any()


def test_second_load_reads_the_parquet_cache(tiny_archive, tmp_path):
    first = load_dataset(tiny_archive, cache_dir=tmp_path, progress=False)
    second = load_dataset(tiny_archive, cache_dir=tmp_path, progress=False)
    assert second.from_cache and not first.from_cache
    assert first.fingerprint == second.fingerprint
    assert next(iter((tmp_path / "parsed").iterdir())).name == first.fingerprint
    pd.testing.assert_frame_equal(first.train, second.train)


def test_changed_source_changes_fingerprint(tmp_path):
    a = _synthetic.write_archive(tmp_path / "a.tar.gz", 10, seed=1)
    b = _synthetic.write_archive(tmp_path / "b.tar.gz", 10, seed=2)
    assert (
        load_dataset(a, progress=False).fingerprint != load_dataset(b, progress=False).fingerprint
    )


def test_kaggle_csv_works_without_options(tiny_csv):
    ds = load_dataset(tiny_csv, progress=False)
    assert len(ds.train) + len(ds.test) == 120
    assert len(ds.test) == 24  # default test_fraction 0.2, stratified
    assert ds.test["label"].mean() == pytest.approx(0.5)
    assert (ds.train["rating"] == -1).all()


def test_csv_custom_columns_split_column_and_small_chunks(tmp_path):
    path = tmp_path / "r.csv"
    rows = _synthetic.corpus(30)
    pd.DataFrame(
        {
            "body": [t for t, _, _ in rows],
            "y": [str(label) for _, label, _ in rows],
            "part": ["train" if i % 3 else "test" for i in range(60)],
        }
    ).to_csv(path, index=False)
    ds = load_dataset(path, csv=CsvOptions("body", "y", "part", chunk_size=7), progress=False)
    assert len(ds.test) == 20 and len(ds.train) == 40
    assert set(ds.train["label"]) == {0, 1}


def test_csv_empty_texts_are_dropped_and_counted(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(
        "review,sentiment\n"
        + "".join(
            f'"{t}",{"positive" if label else "negative"}\n'
            for t, label, _ in _synthetic.corpus(20)
        )
        + '"   ",positive\n,negative\n'
    )
    ds = load_dataset(path, progress=False)
    assert ds.dropped_empty == 2
    assert len(ds.train) + len(ds.test) == 40


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_server(tiny_archive):
    handler = functools.partial(_Quiet, directory=str(tiny_archive.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_download_verifies_checksum_and_caches(http_server, tiny_archive, tmp_path):
    url = f"{http_server}/{tiny_archive.name}"
    sha = hashlib.sha256(tiny_archive.read_bytes()).hexdigest()
    target = data.download(url, tmp_path / "dl" / "a.tar.gz", {"sha256": sha}, progress=False)
    assert target.read_bytes() == tiny_archive.read_bytes()
    # the cached copy is reused: stop serving and download again
    assert data.download("http://127.0.0.1:9/none", target, {"sha256": sha}) == target


def test_download_with_wrong_checksum_leaves_nothing(http_server, tiny_archive, tmp_path):
    url = f"{http_server}/{tiny_archive.name}"
    with pytest.raises(DataError, match="checksum mismatch"):
        data.download(url, tmp_path / "a.tar.gz", {"sha256": "0" * 64}, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_load_dataset_downloads_http_sources(http_server, tiny_archive):
    ds = load_dataset(f"{http_server}/{tiny_archive.name}", progress=False)
    _check(ds, 120, 120)


def test_default_source_uses_sweep_imdb(monkeypatch, tiny_archive):
    monkeypatch.setenv("SWEEP_IMDB", str(tiny_archive))
    _check(load_dataset(progress=False), 120, 120)


def test_official_url_checksum_is_tied_to_the_url():
    assert data.IMDB_URL.endswith("aclImdb_v1.tar.gz")
    assert data.IMDB_CHECKSUMS["md5"] == "7c2ac02c03563afcf9b574c7e56c153a"
    from sweep.data._download import KNOWN_CHECKSUMS

    assert KNOWN_CHECKSUMS == {data.IMDB_URL: data.IMDB_CHECKSUMS}


def test_unreachable_url_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match=r"cannot download .*--data PATH"):
        load_dataset("http://127.0.0.1:9/aclImdb_v1.tar.gz", cache_dir=tmp_path, progress=False)
