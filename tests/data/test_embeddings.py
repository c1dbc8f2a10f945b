"""Pre-trained word vectors (PPMI + SVD) and the unlabelled reviews they are trained on."""

from __future__ import annotations

import random

import numpy as np
import pytest

from sweep.data import (
    DataConfig,
    Vocabulary,
    load_unlabeled,
    ppmi_vectors,
    prepare_splits,
    vectorize_splits,
)
from tests import _synthetic


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_words_used_in_the_same_contexts_get_close_vectors():
    # ids: 2-3 share contexts 10..14, 4-5 share contexts 15..19; 2 and 4 never meet
    rng = random.Random(0)
    sequences = []
    for _ in range(600):
        group = rng.choice([(2, 3, range(10, 15)), (4, 5, range(15, 20))])
        word = rng.choice(group[:2])
        ctx = [rng.choice(list(group[2])) for _ in range(6)]
        sequences.append(np.array([*ctx[:3], word, *ctx[3:], 0, 0], dtype=np.int32))
    vectors = ppmi_vectors(sequences, vocab_size=24, dim=8, window=3)
    assert vectors.shape == (24, 8) and vectors.dtype == np.float32
    assert not vectors[0].any()  # padding
    assert not vectors[21:].any()  # never seen
    assert _cos(vectors[2], vectors[3]) > 0.8
    assert _cos(vectors[4], vectors[5]) > 0.8
    assert _cos(vectors[2], vectors[4]) < 0.3
    with pytest.raises(ValueError, match="window >= 1"):
        ppmi_vectors(sequences, vocab_size=24, dim=8, window=0)


def test_a_tiny_vocabulary_keeps_the_requested_dimension():
    vectors = ppmi_vectors([np.array([2, 3, 4, 2, 3, 4])], vocab_size=5, dim=16)
    assert vectors.shape == (5, 16) and not vectors[:, 4:].any()


def test_unlabelled_reviews_come_from_archive_and_folder_and_are_cached(tmp_path, monkeypatch):
    archive = _synthetic.write_archive(tmp_path / "a.tar.gz", 20, unlabeled=30)
    cache = tmp_path / "cache"
    frame = load_unlabeled(str(archive), cache_dir=cache, progress=False)
    assert len(frame) == 30 and list(frame.columns) == ["text", "id"]
    assert len(list((cache / "parsed").glob("*.unsup.parquet"))) == 1
    from sweep.data import _dataset

    def no_parse(*args, **kwargs):
        raise AssertionError("parsed the archive again")

    monkeypatch.setattr(_dataset, "read_unlabeled", no_parse)
    assert load_unlabeled(str(archive), cache_dir=cache, progress=False).equals(frame)
    monkeypatch.undo()
    # the labelled cache of the same source is still written and used
    data = DataConfig(source=str(archive), cache_dir=str(cache), pretrain_embeddings=True)
    assert len(prepare_splits(data, progress=False).unlabeled) == 30
    folder = _synthetic.write_folder(tmp_path / "f", 20)
    assert len(load_unlabeled(str(folder), cache_dir=cache, progress=False)) == 1
    csv = _synthetic.write_csv(tmp_path / "r.csv", 20)
    assert load_unlabeled(str(csv), cache_dir=cache, progress=False).empty


def test_pretraining_covers_unlabelled_words_and_the_largest_dimension(tmp_path):
    archive = _synthetic.write_reviews_archive(
        tmp_path / "a.tar.gz",
        {
            "train": [("a good film", 1, 8), ("a bad film", 0, 2)] * 20,
            "test": [("a fine film", 1, 8), ("a poor film", 0, 2)] * 5,
        },
        ["good and fine, fine and good", "bad and poor, poor and bad"] * 20,
    )
    plain = DataConfig(source=str(archive), cache_dir=str(tmp_path / "c"))
    splits = prepare_splits(plain, progress=False)
    assert splits.unlabeled is None
    vec = vectorize_splits(splits, 50, 10, embedding_dim=8)
    assert vec.embeddings is None and "fine" not in vec.vocabulary.tokens

    pre = DataConfig(source=str(archive), cache_dir=str(tmp_path / "c"), pretrain_embeddings=True)
    vec = vectorize_splits(prepare_splits(pre, progress=False), 50, 10, embedding_dim=8)
    tokens: Vocabulary = vec.vocabulary
    assert {"fine", "poor"} <= set(tokens.tokens)  # seen only in unlabelled reviews
    assert vec.embeddings.shape == (len(tokens), 8)
    assert vec.embeddings_from == 32 + 40  # train split (80 % of 40) + unlabelled
    e = {t: vec.embeddings[i] for i, t in enumerate(tokens.tokens)}
    assert _cos(e["good"], e["fine"]) > _cos(e["good"], e["poor"])
    with pytest.raises(ValueError, match="pretrain_window"):
        DataConfig(pretrain_window=0)
