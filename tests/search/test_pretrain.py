"""Pre-trained embeddings carry what unlabelled reviews teach to one training run: words the
labelled reviews never use are understood through the words they share contexts with."""

from __future__ import annotations

import json
import random

from sweep.search import parse_train_spec, run_training
from tests import _synthetic

SEEN = {1: ["great", "wonderful", "loved"], 0: ["awful", "boring", "hated"]}
UNSEEN = {1: ["superb", "brilliant", "fantastic"], 0: ["terrible", "dull", "horrible"]}
CONTEXT = {1: ["recommend", "enjoyed", "fun"], 0: ["avoid", "waste", "bad"]}


def _text(rng: random.Random, words: list[str], n: int = 3) -> str:
    tokens = [rng.choice(_synthetic.FILLER) for _ in range(rng.randint(6, 14))]
    for _ in range(n):
        tokens.insert(rng.randint(0, len(tokens)), rng.choice(words))
    return " ".join(tokens)


def _archive(path):
    rng = random.Random(0)
    train = [(_text(rng, SEEN[i % 2]), i % 2, 8 if i % 2 else 2) for i in range(240)]
    test = [(_text(rng, UNSEEN[i % 2]), i % 2, 8 if i % 2 else 2) for i in range(120)]
    unlabeled = [_text(rng, SEEN[i % 2] + UNSEEN[i % 2] + CONTEXT[i % 2], n=6) for i in range(1200)]
    return _synthetic.write_reviews_archive(path, {"train": train, "test": test}, unlabeled)


def _train(tmp_path, archive, pretrain: bool):
    spec = parse_train_spec(
        {
            "data": {
                "source": str(archive),
                "cache_dir": str(tmp_path / "cache"),
                "pretrain_embeddings": pretrain,
            },
            "model": {
                "architecture": "bilstm",
                "pooling": "max",
                "vocab_size": 200,
                "sequence_length": 40,
                "embedding_dim": 16,
                "units": 8,
                "dropout": 0.0,
            },
            "train": {"epochs": 4, "batch_size": 32, "learning_rate": 0.01},
        }
    )
    out = tmp_path / ("pre" if pretrain else "plain")
    return run_training(spec, out, progress=False), out


def test_words_seen_only_in_unlabelled_reviews_are_understood_after_pretraining(tmp_path):
    archive = _archive(tmp_path / "a.tar.gz")
    plain, _ = _train(tmp_path, archive, pretrain=False)
    pre, out = _train(tmp_path, archive, pretrain=True)
    # the labelled train reviews and the test reviews share no sentiment word
    assert plain.test.accuracy < 0.65, plain.test  # measured 0.50
    assert pre.test.accuracy > 0.75, pre.test  # measured 0.83
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["data"]["pretrain_embeddings"] is True
    assert meta["data"]["embeddings_pretrained_on"] == 192 + 1200
