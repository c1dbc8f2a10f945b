"""Every bad input is refused with a DataError that names the file and the problem."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest

from sweep.data import DataError, load_dataset
from tests import _synthetic


def _load(path):
    return load_dataset(path, progress=False)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"does not exist.*--data PATH"):
        _load(tmp_path / "nope.tar.gz")


def test_corrupt_archive(tmp_path):
    bad = tmp_path / "aclImdb_v1.tar.gz"
    bad.write_bytes(b"this is not a gzip archive at all" * 100)
    with pytest.raises(DataError, match=f"{bad.name}.*(corrupt|gzip)"):
        _load(bad)


def test_truncated_tarball(tiny_archive, tmp_path):
    from sweep.data._dataset import default_cache_dir

    cut = tmp_path / "aclImdb_v1.tar.gz"
    cut.write_bytes(tiny_archive.read_bytes()[: tiny_archive.stat().st_size // 2])
    with pytest.raises(DataError, match="corrupt or truncated"):
        _load(cut)
    # nothing half-parsed is cached (the cache is where load_dataset writes: SWEEP_CACHE_DIR)
    parsed = default_cache_dir() / "parsed"
    assert not parsed.exists() or list(parsed.iterdir()) == []


def test_empty_archive_file(tmp_path):
    empty = tmp_path / "aclImdb_v1.tar.gz"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match="is empty"):
        _load(empty)


def test_archive_without_reviews(tmp_path):
    path = tmp_path / "other.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("something/else.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    with pytest.raises(DataError, match=r"no reviews found.*aclImdb layout"):
        _load(path)


def test_review_with_undecodable_bytes(tmp_path):
    path = tmp_path / "a.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in [("aclImdb/train/pos/1_9.txt", b"good \xff\xfe movie")]:
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    with pytest.raises(DataError, match=r"train/pos/1_9.txt: byte 5 is not valid UTF-8"):
        _load(path)


def test_csv_without_named_columns(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("text,label\nnice,positive\n")
    with pytest.raises(DataError, match=r"no column 'review', 'sentiment'.*--text-column"):
        _load(path)


def test_csv_non_binary_label_names_the_line(tmp_path):
    path = _synthetic.write_csv(tmp_path / "r.csv", 5)
    with open(path, "a") as fh:
        fh.write('"meh film",neutral\n')
    with pytest.raises(DataError, match=r"line 12: label 'neutral' is not binary"):
        _load(path)


def test_csv_single_class(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("review,sentiment\n" + "good film,positive\n" * 30)
    with pytest.raises(DataError, match="both classes"):
        _load(path)


def test_empty_csv(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("")
    with pytest.raises(DataError, match="is empty"):
        _load(path)


def test_header_only_csv(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("review,sentiment\n")
    with pytest.raises(DataError, match="no rows with text"):
        _load(path)


def test_csv_with_non_utf8_bytes_names_the_line(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes(b"review,sentiment\ngood,positive\ncaf\xe9 ok,negative\n")
    with pytest.raises(DataError, match=r"line 3: byte 3 \(0xe9\) is not valid UTF-8"):
        _load(path)


def test_gzip_that_is_not_a_tar(tmp_path):
    path = tmp_path / "x.tar.gz"
    path.write_bytes(gzip.compress(b"plain text, no tar inside" * 50))
    with pytest.raises(DataError, match="corrupt or truncated"):
        _load(path)
