"""From a data config to vectorized train / validation / test arrays (done once per sweep)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from ._clean import CleanConfig
from ._config import DataConfig
from ._csv import BINARY, CsvOptions
from ._dataset import (
    load_dataset,
    load_unlabeled,
    split_validation,
    stratified_split,
)
from ._embeddings import ppmi_vectors
from ._errors import DataError
from ._vectorize import Vocabulary, build_vocabulary, token_ids, vectorize


@dataclass(frozen=True)
class Splits:
    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame
    fingerprint: str
    dropped_empty: int = 0
    unlabeled: pd.DataFrame | None = None  # loaded only to pre-train embeddings
    pretrain_window: int = 5
    classes: tuple[str, ...] = BINARY


@dataclass(frozen=True)
class Vectorized:
    """Int32 id matrices at the largest vocabulary and length, plus labels and raw lengths."""

    vocabulary: Vocabulary
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    train_lengths: np.ndarray
    fingerprint: str
    embeddings: np.ndarray | None = None  # pre-trained, at the largest vocabulary and dim
    embeddings_from: int = 0  # reviews they were pre-trained on
    classes: tuple[str, ...] = BINARY  # label i is classes[i]
    # the same splits vectorized with other stop-word / lemma settings, for a search space
    # that searches them: (stop_words, lemmatize) -> Vectorized
    variants: dict[tuple[bool, bool], Vectorized] = field(default_factory=dict)
    # the pre-trained language model's encoder weights by layer name, and what describes it
    # (cache key, perplexity, corpus): shipped to every trial with the arrays
    language_model: dict[str, list[np.ndarray]] | None = None
    language_model_info: dict[str, Any] = field(default_factory=dict)

    @property
    def max_length(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def cleaning(self) -> tuple[bool, bool]:
        """``(stop_words, lemmatize)`` of this vectorization."""
        return (self.vocabulary.clean.stop_words, self.vocabulary.clean.lemmatize)

    def for_config(self, config: dict[str, Any]) -> Vectorized:
        """The vectorization a trial's configuration asks for (its ``stop_words`` and
        ``lemmatize``, where it has them; else this one)."""
        own = self.cleaning
        key = (bool(config.get("stop_words", own[0])), bool(config.get("lemmatize", own[1])))
        if key == own:
            return self
        if key not in self.variants:
            raise ValueError(
                f"no data vectorized with stop_words={key[0]}, lemmatize={key[1]}; "
                f"prepared: {[own, *self.variants]}"
            )
        return self.variants[key]


def _subsample(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    if n >= len(frame):
        return frame
    _rest, kept = stratified_split(frame, n / len(frame), seed)
    return kept


def prepare_splits(config: DataConfig, progress: bool = True) -> Splits:
    """Load the source and return train / validation / test frames."""
    dataset = load_dataset(
        config.source,
        csv=CsvOptions(
            config.text_column,
            config.label_column,
            config.split_column,
            max_classes=config.max_classes,
        ),
        test_fraction=config.test_fraction,
        seed=config.seed,
        cache_dir=Path(config.cache_dir) if config.cache_dir else None,
        progress=progress,
        labels=config.labels,
    )
    train, test = dataset.train, dataset.test
    if config.max_reviews:
        train = _subsample(train, config.max_reviews, config.seed)
        test = _subsample(test, config.max_reviews, config.seed)
    train, validation = split_validation(train, config.validation_fraction, config.seed)
    unlabeled = None
    if config.pretrain_embeddings:
        unlabeled = load_unlabeled(
            config.source,
            cache_dir=Path(config.cache_dir) if config.cache_dir else None,
            progress=progress,
        )
        if config.max_reviews:
            unlabeled = unlabeled.iloc[: 2 * config.max_reviews]
    return Splits(
        train,
        validation,
        test,
        dataset.fingerprint,
        dataset.dropped_empty,
        unlabeled,
        config.pretrain_window,
        dataset.classes,
    )


def pretraining_texts(splits: Splits) -> list[str]:
    """What pre-training reads: the training split and the unlabelled reviews, never the
    validation split (selection) or the test split (the final score)."""
    unlabeled = [] if splits.unlabeled is None else list(splits.unlabeled["text"])
    return [*splits.train["text"], *unlabeled]


def vectorize_splits(
    splits: Splits,
    max_vocab: int,
    max_length: int,
    clean: CleanConfig = CleanConfig(),
    progress: bool = False,
    embedding_dim: int | None = None,
) -> Vectorized:
    """Build the vocabulary on the training part (plus the unlabelled reviews, when loaded
    for pre-training; never validation or test) and vectorize all three splits.

    With ``embedding_dim`` and unlabelled reviews loaded (``DataConfig.pretrain_embeddings``)
    also pre-train ``(max_vocab, embedding_dim)`` word vectors on train + unlabelled text.
    """
    if len(splits.train) == 0:
        raise DataError("the training split is empty; use more data")
    # with unlabelled reviews (pre-training) the vocabulary also covers words only they hold
    texts = pretraining_texts(splits)
    vocab = build_vocabulary(texts, max_vocab, clean)
    x_train, lengths = vectorize(splits.train["text"].tolist(), vocab, max_length, progress)
    x_val, _ = vectorize(splits.validation["text"].tolist(), vocab, max_length, progress)
    x_test, _ = vectorize(splits.test["text"].tolist(), vocab, max_length, progress)
    embeddings, pretrained_on = None, 0
    if embedding_dim and splits.unlabeled is not None:
        pretrained_on = len(texts)
        bar = tqdm(texts, desc="pre-train embeddings", disable=not progress, leave=False)
        embeddings = ppmi_vectors(
            token_ids(bar, vocab), len(vocab), embedding_dim, window=splits.pretrain_window
        )
    return Vectorized(
        vocab,
        x_train,
        splits.train["label"].to_numpy("int32"),
        x_val,
        splits.validation["label"].to_numpy("int32"),
        x_test,
        splits.test["label"].to_numpy("int32"),
        lengths,
        splits.fingerprint,
        embeddings,
        pretrained_on,
        splits.classes,
    )
