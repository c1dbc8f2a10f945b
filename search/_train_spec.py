"""The spec of one training run (``sweep train``): data, model and training sections."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sweep.data import DataConfig
from sweep.model import ModelConfig, TrainConfig

from ._schema import from_mapping


@dataclass(frozen=True)
class TrainSpec:
    """``data``, ``model`` and ``train`` sections, each validated by its own dataclass."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


def parse_train_spec(mapping: Any) -> TrainSpec:
    """Validate a parsed YAML mapping into a :class:`TrainSpec`."""
    return from_mapping(TrainSpec, mapping, "spec")


def override(spec: TrainSpec, section: str, **values: Any) -> TrainSpec:
    """Return ``spec`` with the non-None ``values`` replacing keys of ``section``."""
    given = {k: v for k, v in values.items() if v is not None}
    if not given:
        return spec
    from ._schema import SpecError

    try:
        return replace(spec, **{section: replace(getattr(spec, section), **given)})
    except ValueError as exc:
        raise SpecError(f"{section}: {exc}") from exc
