"""The data section of a spec: pure, so specs parse without pandas, scikit-learn or Keras."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._clean import CleanConfig

DEFAULT_SOURCE = "imdb"


@dataclass(frozen=True)
class DataConfig:
    """Where the reviews come from and how they are split and cleaned.

    ``max_reviews`` subsamples train and test (stratified, seeded) for quick runs;
    ``validation_fraction`` of train is held out for model selection.
    ``pretrain_embeddings`` pre-trains word vectors (PPMI + SVD, ``data.ppmi_vectors``) on
    the training reviews plus the source's unlabelled ones (``train/unsup`` of the IMDB
    archive; none for a CSV) and starts every model's embedding from them; never on
    validation or test text.
    """

    source: str = DEFAULT_SOURCE
    validation_fraction: float = 0.2
    seed: int = 0
    max_reviews: int | None = None
    text_column: str = "review"
    label_column: str = "sentiment"
    split_column: str | None = None
    test_fraction: float = 0.2
    cache_dir: str | None = None
    clean: CleanConfig = field(default_factory=CleanConfig)
    pretrain_embeddings: bool = False
    pretrain_window: int = 5

    def __post_init__(self) -> None:
        if not 1 <= self.pretrain_window <= 20:
            raise ValueError(f"pretrain_window={self.pretrain_window} must be in [1, 20]")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"validation_fraction={self.validation_fraction} must be in (0, 1)")
        if not 0 < self.test_fraction < 1:
            raise ValueError(f"test_fraction={self.test_fraction} must be in (0, 1)")
        if self.max_reviews is not None and self.max_reviews < 20:
            raise ValueError(f"max_reviews={self.max_reviews} must be >= 20 (or null for all)")
