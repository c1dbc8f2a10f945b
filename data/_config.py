"""The data section of a spec: pure, so specs parse without pandas, scikit-learn or Keras."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._clean import CleanConfig

DEFAULT_SOURCE = "imdb"
LABEL_TASKS = ("polarity", "rating")  # the IMDB archive's tasks (data.labels)


@dataclass(frozen=True)
class DataConfig:
    """Where the reviews come from and how they are split and cleaned.

    ``max_reviews`` subsamples train and test (stratified, seeded) for quick runs;
    ``validation_fraction`` of train is held out for model selection.
    ``pretrain_embeddings`` pre-trains word vectors (PPMI + SVD, ``data.ppmi_vectors``) on
    the training reviews plus the source's unlabelled ones (``train/unsup`` of the IMDB
    archive; none for a CSV) and starts every model's embedding from them; never on
    validation or test text.
    A table (CSV, Parquet, JSON Lines) may have any K >= 2 classes in its label column, at
    most ``max_classes``; ``labels: rating`` makes the IMDB archive's star ratings the classes.
    """

    source: str = DEFAULT_SOURCE
    validation_fraction: float = 0.2
    seed: int = 0
    max_reviews: int | None = None
    text_column: str | None = None  # None: text, review or sentence
    label_column: str | None = None  # None: label or sentiment
    split_column: str | None = None
    labels: str = "polarity"  # the IMDB archive's task: polarity, or rating (8 classes)
    max_classes: int = 50
    test_fraction: float = 0.2
    cache_dir: str | None = None
    clean: CleanConfig = field(default_factory=CleanConfig)
    pretrain_embeddings: bool = False
    pretrain_window: int = 5

    def __post_init__(self) -> None:
        if self.labels not in LABEL_TASKS:
            raise ValueError(f"labels={self.labels!r} must be one of {LABEL_TASKS}")
        if self.max_classes < 2:
            raise ValueError(f"max_classes={self.max_classes} must be >= 2")
        if not 1 <= self.pretrain_window <= 20:
            raise ValueError(f"pretrain_window={self.pretrain_window} must be in [1, 20]")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"validation_fraction={self.validation_fraction} must be in (0, 1)")
        if not 0 < self.test_fraction < 1:
            raise ValueError(f"test_fraction={self.test_fraction} must be in (0, 1)")
        if self.max_reviews is not None and self.max_reviews < 20:
            raise ValueError(f"max_reviews={self.max_reviews} must be >= 20 (or null for all)")
