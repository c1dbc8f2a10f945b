"""The search space: typed parameter ranges, validated, sampled define-by-run by Optuna.

Conditional parameters only exist where they matter: ``layers`` for ``stacked_lstm``,
``pooling`` for ``bilstm`` (and ``lstm`` in a space that searches the encoder; see
:func:`param_name` for its name in the study), ``conv_*``
for ``conv_lstm``, ``ngram_dim`` with n-grams on, ``encoder_rate`` and ``unfreeze`` with a
pre-trained encoder. The language-model encoder fixes ``embedding_dim`` and ``units`` to the
language model's: the largest of the space.
The space object is picklable (Ray checkpoints the searcher) and holds no secrets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sweep.model import (
    ARCHITECTURES,
    CLASS_WEIGHTS,
    ENCODERS,
    MAX_NGRAM_BUCKETS,
    OPTIMIZERS,
    POOLINGS,
    UNFREEZE,
)

from ._schema import SpecError


@dataclass(frozen=True)
class IntRange:
    low: int
    high: int
    step: int = 1
    log: bool = False

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError(f"empty range: low={self.low} > high={self.high}")
        if self.step < 1 or (self.log and self.step != 1):
            raise ValueError(f"step={self.step} must be >= 1 (and 1 with log: true)")
        if self.log and self.low < 1:
            raise ValueError(f"log: true needs low >= 1, got low={self.low}")

    def suggest(self, trial: Any, name: str) -> int:
        if self.low == self.high:
            return self.low
        return trial.suggest_int(name, self.low, self.high, step=self.step, log=self.log)

    @property
    def largest(self) -> int:
        return self.high


@dataclass(frozen=True)
class FloatRange:
    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError(f"empty range: low={self.low} > high={self.high}")
        if self.log and self.low <= 0:
            raise ValueError(f"log: true needs low > 0, got low={self.low}")

    def suggest(self, trial: Any, name: str) -> float:
        if self.low == self.high:
            return self.low
        return trial.suggest_float(name, self.low, self.high, log=self.log)


@dataclass(frozen=True)
class Choice:
    values: tuple[Any, ...]

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError("a choice needs at least one value")

    def suggest(self, trial: Any, name: str) -> Any:
        if len(self.values) == 1:
            return self.values[0]
        return trial.suggest_categorical(name, list(self.values))

    @property
    def largest(self) -> Any:
        return max(self.values)


Param = IntRange | FloatRange | Choice
# searched for every architecture; the others are conditional (see the module docstring)
SHARED_PARAMS = (
    "vocab_size",
    "sequence_length",
    "embedding_dim",
    "units",
    "dropout",
    "optimizer",
    "learning_rate",
    "batch_size",
    "ngram_buckets",
)


def param_name(name: str, config: dict[str, Any]) -> str:
    """The Optuna parameter that draws ``name`` for a configuration that drew ``config``.

    The pooling that works depends on where the encoder starts (max from scratch, mean from
    the language model: docs/models.md), and TPE's default sampler models each parameter
    alone, so it cannot see that. A pre-trained encoder's trials draw their pooling as
    ``pooling_<encoder>``: TPE learns the pooling of each start apart. Every other name,
    and pooling from scratch, is the configuration's own."""
    encoder = config.get("encoder", "scratch")
    return f"{name}_{encoder}" if name == "pooling" and encoder != "scratch" else name


# Optuna names no configuration has: Ray Tune's OptunaSearch merges every drawn parameter,
# by that name, into the configuration the space returns (which has it as ``pooling``)
STUDY_ONLY_NAMES = frozenset(param_name("pooling", {"encoder": e}) for e in ENCODERS) - {"pooling"}


def _c(*values: Any) -> Choice:
    return Choice(tuple(values))


@dataclass(frozen=True)
class SearchSpace:
    """Ranges of every searched hyperparameter (a one-value range fixes it)."""

    architecture: Choice = field(
        default_factory=lambda: _c("lstm", "bilstm", "conv_lstm", "stacked_lstm")
    )
    vocab_size: Choice = field(default_factory=lambda: _c(10_000, 20_000))
    sequence_length: Choice = field(default_factory=lambda: _c(200, 300, 400))
    embedding_dim: Choice = field(default_factory=lambda: _c(64, 128))
    units: Choice = field(default_factory=lambda: _c(32, 64, 128))
    layers: IntRange = field(default_factory=lambda: IntRange(2, 3))
    dropout: FloatRange = field(default_factory=lambda: FloatRange(0.1, 0.5))
    pooling: Choice = field(default_factory=lambda: _c("max", "mean", "last"))
    conv_filters: Choice = field(default_factory=lambda: _c(32, 64))
    conv_kernel_size: Choice = field(default_factory=lambda: _c(3, 5))
    optimizer: Choice = field(default_factory=lambda: _c("adam", "rmsprop", "adamw"))
    learning_rate: FloatRange = field(default_factory=lambda: FloatRange(3e-4, 3e-3, log=True))
    batch_size: Choice = field(default_factory=lambda: _c(64, 128))
    # the n-gram branch is on by default: +1.3 points for the quality sweep's winner (README)
    ngram_buckets: Choice = field(default_factory=lambda: _c(262_144))
    ngram_dim: Choice = field(default_factory=lambda: _c(16))
    # [none, balanced] searches it; drawn only when listed, so configurations of spaces
    # without it stay as they were
    class_weight: Choice = field(default_factory=lambda: _c("none"))
    # cleaning before the vocabulary (data.clean): [false, true] vectorizes the data both ways
    # once, in the driver, and each trial trains on the one it drew
    stop_words: Choice = field(default_factory=lambda: _c(False))
    lemmatize: Choice = field(default_factory=lambda: _c(False))
    # where the encoder starts: [scratch, vectors, lm] searches it (vectors: word vectors
    # pre-trained on the unlabelled reviews; lm: the language model, pre-trained once per
    # sweep and cached), with the fine-tuning of a pre-trained one
    encoder: Choice = field(default_factory=lambda: _c("scratch"))
    encoder_rate: Choice = field(default_factory=lambda: _c(1.0))
    unfreeze: Choice = field(default_factory=lambda: _c("all"))

    def __post_init__(self) -> None:
        allowed = {
            "architecture": ARCHITECTURES,
            "optimizer": OPTIMIZERS,
            "pooling": POOLINGS,
            "class_weight": CLASS_WEIGHTS,
            "encoder": ENCODERS,
            "unfreeze": UNFREEZE,
        }
        for name, options in allowed.items():
            bad = [v for v in getattr(self, name).values if v not in options]
            if bad:
                raise ValueError(f"{name}: {bad} not allowed; choose from {options}")
        for name in (
            "vocab_size",
            "sequence_length",
            "embedding_dim",
            "units",
            "batch_size",
            "conv_filters",
            "conv_kernel_size",
            "ngram_dim",
        ):
            bad = [
                v
                for v in getattr(self, name).values
                if isinstance(v, bool) or not isinstance(v, int) or v < 1
            ]
            if bad:
                raise ValueError(f"{name}: values {bad} must be positive integers")
        bad = [
            v
            for v in self.ngram_buckets.values
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_NGRAM_BUCKETS
        ]
        if bad:
            raise ValueError(
                f"ngram_buckets: values {bad} must be integers in [0, {MAX_NGRAM_BUCKETS}] "
                "(0: no n-grams)"
            )
        for name in ("stop_words", "lemmatize"):
            bad = [v for v in getattr(self, name).values if not isinstance(v, bool)]
            if bad:
                raise ValueError(f"{name}: values {bad} must be true or false")
        bad = [
            v
            for v in self.encoder_rate.values
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1
        ]
        if bad:
            raise ValueError(f"encoder_rate: values {bad} must be numbers in [0, 1]")
        if "lm" in self.encoder.values and len(self.cleanings((False, False))) > 1:
            raise ValueError(
                "encoder: lm is pre-trained on one vocabulary, and stop_words / lemmatize "
                "searched here give several; fix them in data.clean instead"
            )
        if min(self.vocab_size.values) < 3:
            raise ValueError("vocab_size: values must be >= 3")
        if not 0 <= self.dropout.low <= self.dropout.high < 1:
            raise ValueError("dropout: range must lie in [0, 1)")
        if self.learning_rate.low <= 0 or self.learning_rate.high > 1:
            raise ValueError("learning_rate: range must lie in (0, 1]")
        if self.layers.low < 2 or self.layers.high > 4:
            raise ValueError("layers (stacked_lstm only): range must lie in [2, 4]")

    def cleanings(self, own: tuple[bool, bool]) -> list[tuple[bool, bool]]:
        """Every ``(stop_words, lemmatize)`` a trial can draw; ``own`` (the data section's)
        stands for a key the space does not search."""
        words = self.stop_words.values if self.stop_words.values != (False,) else (own[0],)
        lemmas = self.lemmatize.values if self.lemmatize.values != (False,) else (own[1],)
        return [(bool(a), bool(b)) for a in words for b in lemmas]

    @property
    def max_vocab_size(self) -> int:
        return int(self.vocab_size.largest)

    @property
    def max_embedding_dim(self) -> int:
        return int(self.embedding_dim.largest)

    @property
    def max_units(self) -> int:
        return int(self.units.largest)

    def uses(self, encoder: str) -> bool:
        """Whether a trial can draw ``encoder`` (what the driver must prepare)."""
        return encoder in self.encoder.values

    @property
    def max_sequence_length(self) -> int:
        return int(self.sequence_length.largest)

    def __call__(self, trial: Any) -> dict[str, Any]:
        """Optuna define-by-run: sample one configuration (conditional params included)."""
        arch = self.architecture.suggest(trial, "architecture")
        config = {"architecture": arch}
        searches_encoder = self.encoder.values != ("scratch",)
        if searches_encoder:  # drawn only when the space lists it
            config["encoder"] = self.encoder.suggest(trial, "encoder")
        lm = config.get("encoder") == "lm"
        for name in SHARED_PARAMS:
            if lm and name in ("embedding_dim", "units"):  # the language model's sizes
                config[name] = self.max_embedding_dim if name == "embedding_dim" else self.max_units
            else:
                config[name] = getattr(self, name).suggest(trial, name)
        if config.get("encoder", "scratch") != "scratch":
            config["encoder_rate"] = self.encoder_rate.suggest(trial, "encoder_rate")
            config["unfreeze"] = self.unfreeze.suggest(trial, "unfreeze")
        if arch == "stacked_lstm":
            config["layers"] = self.layers.suggest(trial, "layers")
        if arch == "bilstm" or (arch == "lstm" and searches_encoder):
            config["pooling"] = self.pooling.suggest(trial, param_name("pooling", config))
        if arch == "conv_lstm":
            config["conv_filters"] = self.conv_filters.suggest(trial, "conv_filters")
            config["conv_kernel_size"] = self.conv_kernel_size.suggest(trial, "conv_kernel_size")
        if config["ngram_buckets"]:
            config["ngram_dim"] = self.ngram_dim.suggest(trial, "ngram_dim")
        for name, default in (
            ("class_weight", "none"),
            ("stop_words", False),
            ("lemmatize", False),
        ):
            if getattr(self, name).values != (default,):  # drawn only when the space lists it
                config[name] = getattr(self, name).suggest(trial, name)
        return config


def parse_space(mapping: Any, where: str = "spec.space") -> SearchSpace:
    """Each key is a list (a choice), ``{low, high[, log, step]}`` (a range) or a scalar."""
    if mapping is None:
        return SearchSpace()
    if not isinstance(mapping, dict):
        raise SpecError(f"{where}: expected a mapping of parameter -> range, got {mapping!r}")
    defaults = SearchSpace()
    kinds = {name: type(getattr(defaults, name)) for name in defaults.__dataclass_fields__}
    values: dict[str, Param] = {}
    for name, raw in mapping.items():
        if name not in kinds:
            raise SpecError(f"{where}.{name}: unknown parameter; searchable: {', '.join(kinds)}")
        values[name] = _parse_param(name, raw, kinds[name], f"{where}.{name}")
    try:
        return SearchSpace(**values)
    except ValueError as exc:
        raise SpecError(f"{where}: {exc}") from exc


def _parse_param(name: str, raw: Any, kind: type, where: str) -> Param:
    from ._schema import from_mapping

    if kind is Choice:
        items = raw if isinstance(raw, list) else [raw]
        if not items:
            raise SpecError(f"{where}: empty list; give at least one value")
        if isinstance(raw, dict):
            raise SpecError(f"{where}: {name} takes a list of values, e.g. [64, 128]")
        return Choice(tuple(items))
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        raw = {"low": raw, "high": raw}
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: expected {{low: .., high: ..}} or a number, got {raw!r}")
    return from_mapping(kind, raw, where)
