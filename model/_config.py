"""Typed, frozen configuration of one model and one training run, validated once."""

from __future__ import annotations

from dataclasses import dataclass

ARCHITECTURES = ("lstm", "stacked_lstm", "bilstm", "conv_lstm")
POOLINGS = ("last", "max", "mean")
OPTIMIZERS = ("adam", "rmsprop", "adamw")
CLASS_WEIGHTS = ("none", "balanced")
LSTM_KERNELS = ("auto", "keras", "projected")
MAX_NGRAM_BUCKETS = 1 << 24
ENCODERS = ("scratch", "vectors", "lm")
UNFREEZE = ("all", "gradual")


class ConfigError(ValueError):
    """A configuration value breaks a rule; the message names the value, the rule and the fix."""


class ModelFileError(ValueError):
    """An export folder is missing, incomplete, or a file fails its sha256."""


class GpuUnavailable(RuntimeError):
    """A run was given a GPU, but TensorFlow in this process sees none: training here would
    silently run on the CPU."""


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


@dataclass(frozen=True)
class ModelConfig:
    """Architecture and size of one LSTM classifier.

    ``pooling`` applies to ``lstm`` and ``bilstm`` (``last`` state, or masked ``max``/``mean``
    over time);
    ``conv_*`` apply to ``conv_lstm``; ``layers`` is the number of recurrent layers
    (``stacked_lstm`` needs at least 2).

    ``ngram_buckets`` > 0 adds a bag-of-n-grams branch beside the LSTM (fastText-style: the
    mean of ``ngram_dim``-dimensional embeddings of the review's words and of its bigrams,
    hashed into ``ngram_buckets`` buckets) with its own logit; the output is the mean of the
    branches' logits (``BranchDropout`` trains each branch to classify on its own).

    ``lstm_kernel`` picks how the LSTM layers run (the same weights and function either way):
    ``keras`` (``keras.layers.LSTM``, cuDNN on a GPU), ``projected`` (``ProjectedLSTM``: the
    input projection of all steps as one bfloat16 product, faster on CPUs with native
    bfloat16), or ``auto``: projected on such a CPU when no GPU is visible, else keras.

    ``num_classes`` comes from the data, not the spec: 2 gives one sigmoid output (P of
    class 1, as every binary model before it), K > 2 a softmax over K classes.
    """

    architecture: str = "lstm"
    vocab_size: int = 20_000
    sequence_length: int = 200
    embedding_dim: int = 128
    units: int = 64
    layers: int = 1
    dropout: float = 0.2
    pooling: str = "last"
    conv_filters: int = 64
    conv_kernel_size: int = 5
    conv_pool_size: int = 2
    ngram_buckets: int = 0
    ngram_dim: int = 16
    lstm_kernel: str = "auto"
    num_classes: int = 2
    # where the encoder starts (search._pretrain supplies the weights): scratch, the
    # pre-trained word vectors (the embedding), or the language model (the embedding and the
    # first LSTM layer; a conv_lstm takes its embedding only)
    encoder: str = "scratch"

    def __post_init__(self) -> None:
        _check(self.num_classes >= 2, f"num_classes={self.num_classes} must be >= 2")
        _check(
            self.architecture in ARCHITECTURES,
            f"architecture={self.architecture!r} is unknown; choose one of {ARCHITECTURES}",
        )
        _check(self.vocab_size >= 3, f"vocab_size={self.vocab_size} must be >= 3")
        _check(self.sequence_length >= 1, f"sequence_length={self.sequence_length} must be >= 1")
        for name in (
            "embedding_dim",
            "units",
            "conv_filters",
            "conv_kernel_size",
            "conv_pool_size",
            "ngram_dim",
        ):
            value = getattr(self, name)
            _check(value >= 1, f"{name}={value} must be >= 1")
        _check(1 <= self.layers <= 4, f"layers={self.layers} must be between 1 and 4")
        _check(
            self.architecture != "stacked_lstm" or self.layers >= 2,
            f"stacked_lstm needs layers >= 2, got layers={self.layers}; use layers: 2 or lstm",
        )
        _check(
            0 <= self.ngram_buckets <= MAX_NGRAM_BUCKETS,
            f"ngram_buckets={self.ngram_buckets} must be in [0, {MAX_NGRAM_BUCKETS}] "
            "(0: no n-gram branch)",
        )
        _check(0.0 <= self.dropout < 1.0, f"dropout={self.dropout} must be in [0, 1)")
        _check(
            self.pooling in POOLINGS,
            f"pooling={self.pooling!r} is unknown; choose one of {POOLINGS}",
        )
        _check(
            self.encoder in ENCODERS,
            f"encoder={self.encoder!r} is unknown; choose one of {ENCODERS}",
        )
        _check(
            self.lstm_kernel in LSTM_KERNELS,
            f"lstm_kernel={self.lstm_kernel!r} is unknown; choose one of {LSTM_KERNELS}",
        )


@dataclass(frozen=True)
class TrainConfig:
    """Optimizer and schedule of one training run.

    ``early_stopping_patience`` / ``reduce_lr_patience`` of 0 turn those callbacks off
    (sweep trials turn them off: ASHA decides when a trial stops). ``class_weight:
    balanced`` weighs each training example by ``n / (K * n_class)`` (scikit-learn's
    ``compute_class_weight``), so every class counts the same in the loss on imbalanced data.
    """

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 128
    epochs: int = 3
    early_stopping_patience: int = 2
    reduce_lr_patience: int = 1
    reduce_lr_factor: float = 0.5
    seed: int = 0
    length_buckets: bool = True  # batches of similar length, cut to their longest review
    class_weight: str = "none"
    # fine-tuning a pre-trained encoder (ULMFiT): its layers step at learning_rate *
    # encoder_rate; "gradual" freezes them for the first epoch (the head learns first), then
    # frees the LSTM, then the embedding one epoch later
    encoder_rate: float = 1.0
    unfreeze: str = "all"

    def __post_init__(self) -> None:
        _check(
            self.optimizer in OPTIMIZERS,
            f"optimizer={self.optimizer!r} is unknown; choose one of {OPTIMIZERS}",
        )
        _check(
            self.class_weight in CLASS_WEIGHTS,
            f"class_weight={self.class_weight!r} is unknown; choose one of {CLASS_WEIGHTS}",
        )
        _check(0 < self.learning_rate <= 1, f"learning_rate={self.learning_rate} must be in (0, 1]")
        _check(0 <= self.encoder_rate <= 1, f"encoder_rate={self.encoder_rate} must be in [0, 1]")
        _check(
            self.unfreeze in UNFREEZE,
            f"unfreeze={self.unfreeze!r} is unknown; choose one of {UNFREEZE}",
        )
        _check(self.weight_decay >= 0, f"weight_decay={self.weight_decay} must be >= 0")
        _check(self.batch_size >= 1, f"batch_size={self.batch_size} must be >= 1")
        _check(self.epochs >= 1, f"epochs={self.epochs} must be >= 1")
        _check(self.early_stopping_patience >= 0, "early_stopping_patience must be >= 0")
        _check(self.reduce_lr_patience >= 0, "reduce_lr_patience must be >= 0")
        _check(
            0 < self.reduce_lr_factor < 1,
            f"reduce_lr_factor={self.reduce_lr_factor} must be in (0, 1)",
        )


@dataclass(frozen=True)
class LMSettings:
    """A language model's size and training: ``window`` words per training row (a review is
    cut into windows), ``sampled`` candidate words per step of the sampled softmax,
    ``holdout`` the share of windows kept aside to measure perplexity."""

    embedding_dim: int = 128
    units: int = 128
    window: int = 64
    epochs: int = 2
    batch_size: int = 64
    learning_rate: float = 2e-3
    sampled: int = 512
    holdout: float = 0.02
    max_windows: int = 0  # 0: every window of the corpus; else at most this many per epoch
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("embedding_dim", "units", "epochs", "batch_size", "sampled"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be >= 1")
        if self.window < 2:
            raise ValueError(f"window={self.window} must be >= 2 words")
        if not 0 < self.learning_rate <= 1:
            raise ValueError(f"learning_rate={self.learning_rate} must be in (0, 1]")
        if not 0 < self.holdout < 0.5:
            raise ValueError(f"holdout={self.holdout} must be in (0, 0.5)")
        if self.max_windows < 0:
            raise ValueError(f"max_windows={self.max_windows} must be >= 0 (0: all)")


@dataclass(frozen=True)
class LMEpoch:
    epoch: int
    loss: float  # sampled-softmax cross-entropy on training windows, both directions
    val_loss: float  # full-softmax cross-entropy on the held-out windows, both directions
    perplexity: float  # exp(val_loss)
    seconds: float
    windows: int
