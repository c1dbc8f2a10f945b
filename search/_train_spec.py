"""The spec of one training run (``sweep train``): data, model and training sections."""

from __future__ import annotations

from dataclasses import dataclass, field
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
