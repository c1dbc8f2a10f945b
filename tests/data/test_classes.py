"""K >= 2 classes from a CSV, a Parquet or a JSON Lines file, and IMDB's rating task."""

from __future__ import annotations

import json

import pytest

from sweep.data import CsvOptions, DataConfig, DataError, load_dataset, prepare_splits
from tests import _synthetic

THREE = ["neutral", "negative", "positive"]
FIVE = ["shipping", "billing", "bug", "account", "feature"]
# one of the common column pairs per format: each is found without naming it
FORMATS = [
    (".csv", ("text", "label")),
    (".parquet", ("review", "sentiment")),
    (".jsonl", ("sentence", "label")),
]


@pytest.mark.parametrize("classes", [THREE, FIVE], ids=["3 classes", "5 classes"])
@pytest.mark.parametrize("suffix,columns", FORMATS, ids=[f[0][1:] for f in FORMATS])
def test_a_table_with_k_classes_loads_with_its_classes_sorted_and_cached(
    classes, suffix, columns, tmp_path
):
    rows = _synthetic.class_corpus(classes, 20)
    path = _synthetic.write_table(tmp_path / f"data{suffix}", rows, columns)
    cache = tmp_path / "cache"
    data = load_dataset(path, cache_dir=cache, progress=False)
    assert data.classes == tuple(sorted(classes))
    assert len(data.train) + len(data.test) == len(rows)
    by_text = dict(rows)
    for frame in (data.train, data.test):
        assert [data.classes[i] for i in frame["label"]] == [by_text[t] for t in frame["text"]]
    assert set(data.test["label"]) == set(range(len(classes)))  # stratified: all in test
    again = load_dataset(path, cache_dir=cache, progress=False)
    assert again.from_cache and again.classes == data.classes
    (meta,) = cache.glob("parsed/*/meta.json")
    assert json.loads(meta.read_text())["classes"] == sorted(classes)


def test_integer_labels_are_ordered_as_numbers(tmp_path):
    path = _synthetic.write_table(
        tmp_path / "stars.jsonl", _synthetic.class_corpus([10, 2, 1, 5], 10)
    )
    data = load_dataset(path, cache_dir=tmp_path / "c", progress=False)
    assert data.classes == ("1", "2", "5", "10")


def test_named_columns_are_used_and_binary_labels_keep_their_meaning(tmp_path):
    rows = [(f"great film {i}", "pos") for i in range(10)] + [
        (f"bad film {i}", "NEG") for i in range(10)
    ]
    path = _synthetic.write_table(tmp_path / "r.csv", rows, ("body", "verdict"))
    data = load_dataset(
        path,
        csv=CsvOptions(text_column="body", label_column="verdict"),
        cache_dir=tmp_path / "c",
        progress=False,
    )
    assert data.classes == ("negative", "positive")
    frame = data.train
    assert (frame["label"] == frame["text"].str.startswith("great").astype(int)).all()


def test_imdb_rating_task_makes_the_star_ratings_the_classes(tmp_path):
    archive = _synthetic.write_archive(tmp_path / "a.tar.gz", 40)
    cache = tmp_path / "cache"
    polarity = load_dataset(archive, cache_dir=cache, progress=False)
    rating = load_dataset(archive, cache_dir=cache, progress=False, labels="rating")
    assert polarity.classes == ("negative", "positive")
    assert rating.classes == ("1", "2", "3", "4", "7", "8", "9", "10")
    assert rating.fingerprint != polarity.fingerprint  # nothing cached for one serves the other
    for frame in (rating.train, rating.test):
        assert [int(rating.classes[i]) for i in frame["label"]] == frame["rating"].tolist()
    splits = prepare_splits(
        DataConfig(source=str(archive), cache_dir=str(cache), labels="rating"), progress=False
    )
    assert splits.classes == rating.classes


def test_the_rating_task_of_a_table_is_refused_naming_the_label_column(tmp_path):
    path = _synthetic.write_table(tmp_path / "r.csv", _synthetic.class_corpus(THREE, 10))
    with pytest.raises(
        DataError, match=r"labels='rating' is a task of the IMDB archive.*--label-column"
    ):
        load_dataset(path, cache_dir=tmp_path / "c", progress=False, labels="rating")
