"""Cleaning, the frequency-ordered vocabulary and cheap per-trial views."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sweep.data import (
    OOV_ID,
    CleanConfig,
    build_vocabulary,
    clean_text,
    sequence_view,
    split_validation,
    tokenize,
    vectorize,
)
from tests import _synthetic


def test_clean_removes_html_lowercases_and_strips_punctuation():
    assert tokenize("Great film!<br /><br />I DIDN'T expect it...") == [
        "great",
        "film",
        "i",
        "didnt",
        "expect",
        "it",
    ]
    assert clean_text("A<br/>B", CleanConfig(lowercase=False)) == "A B"
    assert tokenize("Hello, World", CleanConfig(strip_punctuation=False)) == ["hello,", "world"]


def test_vocabulary_is_frequency_ordered_with_pad_and_oov():
    vocab = build_vocabulary(["b a a", "c a b"], max_size=10)
    assert vocab.tokens == ("", "[UNK]", "a", "b", "c")
    assert vocab.words(4) == ["a", "b"]


def test_vectorize_right_pads_truncates_and_maps_oov():
    vocab = build_vocabulary(["a a b"], max_size=4)  # "", [UNK], a, b
    ids, lengths = vectorize(["a zzz b a", "b"], vocab, max_length=3)
    assert ids.tolist() == [[OOV_ID, 3, 2], [3, 0, 0]]  # the last 3 tokens are kept
    assert lengths.tolist() == [4, 1]
    assert ids.dtype == np.int32


@settings(max_examples=40, deadline=None)
@given(vocab_size=st.integers(3, 60), length=st.integers(1, 30), seed=st.integers(0, 5))
def test_view_equals_vectorizing_again_at_the_smaller_size(vocab_size, length, seed):
    texts = [t for t, _, _ in _synthetic.corpus(15, seed)]
    big = build_vocabulary(texts, max_size=80)
    ids, _ = vectorize(texts, big, max_length=30)
    small = build_vocabulary(texts, max_size=vocab_size)
    again, _ = vectorize(texts, small, max_length=length)
    np.testing.assert_array_equal(sequence_view(ids, vocab_size, length), again)


def test_view_longer_than_vectorized_is_refused():
    with pytest.raises(ValueError, match="largest length"):
        sequence_view(np.zeros((2, 5), dtype=np.int32), 10, 6)


def test_validation_split_is_stratified_and_seeded(tiny_archive):
    from sweep.data import load_dataset

    train = load_dataset(tiny_archive, progress=False).train
    a_train, a_val = split_validation(train, 0.25, seed=3)
    _b_train, b_val = split_validation(train, 0.25, seed=3)
    assert len(a_val) == 30 and a_val["label"].mean() == 0.5
    assert a_val["id"].tolist() == b_val["id"].tolist()
    assert not set(a_val["id"]) & set(a_train["id"])
