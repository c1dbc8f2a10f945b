"""Every bad input is refused with a DataError that names the file and the problem."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest

from sweep.data import CsvOptions, DataError, load_dataset
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


def test_csv_without_common_columns_names_the_header_and_the_flags(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("body,stars\nnice,5\n")
    with pytest.raises(DataError, match=r"none of the columns .*'body', 'stars'.*--text-column"):
        _load(path)


def test_a_named_column_that_is_missing_names_it_and_the_header(tmp_path):
    path = _synthetic.write_csv(tmp_path / "r.csv", 5)
    with pytest.raises(DataError, match=r"no column 'stars' \(--label-column\).*'sentiment'"):
        load_dataset(path, csv=CsvOptions(label_column="stars"), progress=False)


def test_missing_labels_give_their_count_and_first_line(tmp_path):
    path = _synthetic.write_csv(tmp_path / "r.csv", 5)
    with open(path, "a") as fh:
        fh.write('"meh film",\n"so so",\n')
    with pytest.raises(DataError, match=r"2 rows have no label \(the first at line 12\)"):
        _load(path)


def test_csv_single_class(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("review,sentiment\n" + "good film,positive\n" * 30)
    with pytest.raises(DataError, match="every row has label 'positive'; at least two classes"):
        _load(path)


def test_more_classes_than_the_limit_is_refused_and_the_limit_can_be_raised(tmp_path):
    path = tmp_path / "r.csv"
    rows = [f"review number {i},topic{i % 6}" for i in range(60)]
    path.write_text("text,label\n" + "\n".join(rows) + "\n")
    with pytest.raises(
        DataError, match=r"6 distinct values, more than max_classes=5.*--max-classes"
    ):
        load_dataset(path, csv=CsvOptions(max_classes=5), progress=False)
    data = load_dataset(path, csv=CsvOptions(max_classes=6), progress=False)
    assert data.classes == tuple(f"topic{i}" for i in range(6))


def test_a_class_too_rare_to_split_is_named(tmp_path):
    path = tmp_path / "r.csv"
    rows = [f"review {i},{'a' if i % 2 else 'b'}" for i in range(40)] + ["lonely review,c"]
    path.write_text("text,label\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"class 'c' has fewer than 2 examples.*merge it"):
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
