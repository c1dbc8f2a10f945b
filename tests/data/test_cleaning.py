"""Stop words and lemmas, applied through the vocabulary."""

from __future__ import annotations

import pytest

from sweep.data import (
    CleanConfig,
    DataConfig,
    build_vocabulary,
    prepare_splits,
    vectorize,
    vectorize_splits,
)
from sweep.data._clean import normalized_tokens, tokenize
from tests import _synthetic

TEXT = "The movies weren't good, I didn't love them and I don't think the children loved them!"


def _words(clean):
    return normalized_tokens(tokenize(TEXT, clean), clean)


def test_stop_words_go_and_negations_stay_unless_told():
    assert _words(CleanConfig(stop_words=True)) == [
        "movies",
        "werent",
        "good",
        "didnt",
        "love",
        "dont",
        "think",
        "children",
        "loved",
    ]
    without = _words(CleanConfig(stop_words=True, keep_negations=False))
    assert "didnt" in without  # not in scikit-learn's list: only the list's own words go
    assert "not" not in normalized_tokens(
        ["not", "good"], CleanConfig(stop_words=True, keep_negations=False)
    )
    assert normalized_tokens(["not", "good"], CleanConfig(stop_words=True)) == ["not", "good"]


def test_lemmas_merge_forms_but_leave_negations():
    words = _words(CleanConfig(lemmatize=True))
    assert "movie" in words and "child" in words and words.count("love") == 2
    assert "dont" in words and "didnt" in words  # not lemmatized to "do"


def test_the_vocabulary_counts_each_lemma_once_and_maps_every_form():
    texts = ["movies movie film", "films movie loved", "the the the loves"]
    vocab = build_vocabulary(texts, 10, CleanConfig(stop_words=True, lemmatize=True))
    assert vocab.tokens[2:4] == ("movie", "film")  # 3 and 2 occurrences, forms merged
    index = dict(zip(vocab.surface, vocab.surface_ids, strict=True))
    assert index["movies"] == index["movie"] == 2 and index["films"] == index["film"] == 3
    assert index["the"] == 0 and index["whereas"] == 0  # every stop word, seen or not
    ids, lengths = vectorize(["the movies about films", "unseen movies"], vocab, 4)
    assert ids.tolist() == [[2, 3, 0, 0], [1, 2, 0, 0]]  # stop words leave no id
    assert lengths.tolist() == [2, 2]


def test_a_space_that_searches_cleaning_gets_every_variant(tmp_path):
    from sweep.search import parse_sweep_spec
    from sweep.search._driver import prepare_data

    archive = _synthetic.write_archive(tmp_path / "a.tar.gz", 40)
    spec = parse_sweep_spec(
        {
            "data": {"source": str(archive), "cache_dir": str(tmp_path / "c")},
            "space": {
                "vocab_size": [50],
                "sequence_length": [20],
                "stop_words": [False, True],
                "lemmatize": [True],
            },
        }
    )
    _, data = prepare_data(spec, progress=False)
    assert data.cleaning == (False, False)  # the data section's own
    assert set(data.variants) == {(False, True), (True, True)}
    chosen = data.for_config({"stop_words": True, "lemmatize": True})
    assert chosen.vocabulary.clean.stop_words and chosen.vocabulary.clean.lemmatize
    assert "the" not in chosen.vocabulary.tokens and "the" in data.vocabulary.tokens
    assert data.for_config({}) is data
    with pytest.raises(
        ValueError, match="no data vectorized with stop_words=True, lemmatize=False"
    ):
        data.for_config({"stop_words": True})


def test_prepared_splits_vectorize_with_the_cleaning_of_the_data_section(tmp_path):
    archive = _synthetic.write_archive(tmp_path / "a.tar.gz", 20)
    clean = CleanConfig(stop_words=True)
    splits = prepare_splits(
        DataConfig(str(archive), cache_dir=str(tmp_path / "c"), clean=clean), progress=False
    )
    vec = vectorize_splits(splits, 100, 30, clean)
    assert vec.cleaning == (True, False) and "the" not in vec.vocabulary.tokens
