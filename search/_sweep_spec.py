"""The sweep spec (YAML): data, objective, budget, resources, ASHA, search space."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from importlib import resources as _res
from pathlib import Path
from typing import Any

from sweep.data import DataConfig
from sweep.model import LMSettings, TrainConfig

from ._replay import ReplayConfig
from ._schema import SpecError, from_mapping
from ._space import SearchSpace, parse_space

METRICS = {"val_accuracy": "max", "val_macro_f1": "max", "val_auc": "max", "val_loss": "min"}
# model cost a trial measures; with ``cost`` set, TPE searches metric and cost together
COSTS = ("params", "latency_ms")
# what the searcher tells Optuna about a trial ASHA stopped early
FEEDBACK = ("pruned", "complete")
# what a trial runs: the Keras LSTM, or a replayed learning curve (a dry run of the control
# plane: no data is loaded, nothing is exported; see search._replay)
TRIALS = ("lstm", "replay")
DEFAULT_SPEC = "default_sweep.yaml"


@dataclass(frozen=True)
class Resources:
    """Per trial: CPUs and a (possibly fractional) share of a GPU."""

    cpus: float = 1.0
    gpus: float = 0.0

    def __post_init__(self) -> None:
        if not 0 < self.cpus <= 256:
            raise ValueError(f"resources.cpus={self.cpus} must be in (0, 256]")
        if not 0 <= self.gpus <= 8:
            raise ValueError(f"resources.gpus={self.gpus} must be in [0, 8] (0.25 shares a GPU)")


@dataclass(frozen=True)
class AshaConfig:
    """ASHA on epochs: every trial gets ``grace_period`` epochs, the best 1/``reduction_factor``
    of each rung continue, up to ``max_epochs``; ``brackets`` > 1 spreads trials over
    brackets with later first rungs (Ray Tune's ``ASHAScheduler(brackets=...)``)."""

    max_epochs: int = 4
    grace_period: int = 1
    reduction_factor: int = 2
    brackets: int = 1

    def __post_init__(self) -> None:
        if self.max_epochs < 1:
            raise ValueError(f"asha.max_epochs={self.max_epochs} must be >= 1")
        if not 1 <= self.grace_period <= self.max_epochs:
            raise ValueError(
                f"asha.grace_period={self.grace_period} must be in "
                f"[1, max_epochs={self.max_epochs}]"
            )
        if self.reduction_factor < 2:
            raise ValueError(f"asha.reduction_factor={self.reduction_factor} must be >= 2")
        if not 1 <= self.brackets <= 8:
            raise ValueError(f"asha.brackets={self.brackets} must be in [1, 8]")


@dataclass(frozen=True)
class PretrainConfig:
    """The language model a space with ``encoder: [.., lm]`` pre-trains once per sweep (its
    sizes are the space's largest ``embedding_dim`` and ``units``), and the resources of
    that stage: it runs as one Ray task, on a GPU node when ``gpus`` > 0."""

    epochs: int = 2
    window: int = 64
    batch_size: int = 64
    learning_rate: float = 2e-3
    sampled: int = 512
    max_windows: int = 0
    cpus: float = 1.0
    gpus: float = 0.0

    def __post_init__(self) -> None:
        Resources(self.cpus, self.gpus)  # the same bounds as a trial's
        self.settings(1, 1, 0)  # LMSettings checks the rest

    def settings(self, embedding_dim: int, units: int, seed: int) -> LMSettings:
        return LMSettings(
            embedding_dim=embedding_dim,
            units=units,
            window=self.window,
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            sampled=self.sampled,
            max_windows=self.max_windows,
            seed=seed,
        )


@dataclass(frozen=True)
class SweepSpec:
    """Everything a sweep needs; the CLI overrides keys, the driver only reads it."""

    name: str = "imdb-lstm"
    data: DataConfig = field(default_factory=DataConfig)
    metric: str = "val_accuracy"
    mode: str = "max"
    trials: int = 12
    concurrency: int = 2
    resources: Resources = field(default_factory=Resources)
    asha: AshaConfig = field(default_factory=AshaConfig)
    space: SearchSpace = field(default_factory=SearchSpace)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(early_stopping_patience=0, reduce_lr_patience=0)
    )
    seed: int = 0
    time_budget_s: float | None = None
    max_failures: int = 1
    storage: str = "~/sweep-runs"
    # the storage path is a folder mounted at the same place on every node (NFS, EFS): what a
    # path needs on a cluster of several nodes; the driver checks it from every node
    shared_storage: bool = False
    retrain: bool = True
    cost: str | None = None
    feedback: str = "pruned"
    startup_trials: int = 10
    # TPE's handling of trials still running (constant_liar: they count as the worst value so
    # far, so trials started together spread out) and of parameters together (multivariate)
    constant_liar: bool = False
    multivariate: bool = False
    trial: str = "lstm"
    replay: ReplayConfig = field(default_factory=ReplayConfig)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", self.name):
            raise ValueError(f"name={self.name!r} must be 1-64 letters, digits, '_', '.', '-'")
        if self.metric not in METRICS:
            raise ValueError(f"metric={self.metric!r} is unknown; choose one of {list(METRICS)}")
        if self.mode != METRICS[self.metric]:
            raise ValueError(
                f"mode={self.mode!r} does not fit metric {self.metric!r}; "
                f"use mode: {METRICS[self.metric]}"
            )
        if self.trials < 1:
            raise ValueError(f"trials={self.trials} must be >= 1")
        if not 1 <= self.concurrency <= 1024:
            raise ValueError(f"concurrency={self.concurrency} must be in [1, 1024]")
        if self.time_budget_s is not None and self.time_budget_s <= 0:
            raise ValueError(f"time_budget_s={self.time_budget_s} must be > 0 (or null)")
        if self.max_failures < 0:
            raise ValueError(f"max_failures={self.max_failures} must be >= 0")
        if self.cost is not None and self.cost not in COSTS:
            raise ValueError(
                f"cost={self.cost!r} is unknown; choose one of {list(COSTS)} or null "
                "(one objective)"
            )
        if self.feedback not in FEEDBACK:
            raise ValueError(
                f"feedback={self.feedback!r} is unknown; choose one of {list(FEEDBACK)} "
                "('complete' is stock Ray OptunaSearch behaviour)"
            )
        if self.trial not in TRIALS:
            raise ValueError(
                f"trial={self.trial!r} is unknown; choose one of {list(TRIALS)} (replay: a dry "
                "run of the control plane that trains nothing)"
            )
        if self.startup_trials < 1:
            raise ValueError(
                f"startup_trials={self.startup_trials} must be >= 1 "
                "(random trials before TPE; Optuna's default is 10)"
            )
        if not self.storage:
            raise ValueError("storage must be a folder or a URI (e.g. s3://bucket/sweeps)")
        if self.shared_storage and is_remote_uri(self.storage):
            raise ValueError(
                f"shared_storage: true is for a folder mounted on every node; storage="
                f"{self.storage!r} is a URI, which every node reaches anyway: drop shared_storage"
            )

    @property
    def objectives(self) -> tuple[list[str], list[str]] | tuple[str, str]:
        """What the searcher optimizes: ``(metric, mode)``, or both lists with a cost."""
        if self.cost is None:
            return self.metric, self.mode
        return [self.metric, self.cost], [self.mode, "min"]


def parse_sweep_spec(mapping: Any) -> SweepSpec:
    """Validate a parsed YAML mapping into a :class:`SweepSpec`."""
    if mapping is None:
        mapping = {}
    if not isinstance(mapping, dict):
        raise SpecError(f"spec: expected a mapping of keys to values, got {mapping!r}")
    rest = {k: v for k, v in mapping.items() if k != "space"}
    spec = from_mapping(SweepSpec, rest, "spec")
    return replace(spec, space=parse_space(mapping.get("space"), "spec.space"))


# space keys added after sweeps were first recorded, with what a recorded sweep without the
# key ran: a resumed or extended sweep keeps searching the space it started with
_ADDED_SPACE_KEYS = {"ngram_buckets": [0]}


def parse_recorded_spec(mapping: dict[str, Any]) -> SweepSpec:
    """Read back a spec recorded by :func:`spec_to_dict`, possibly by an older version."""
    space = {**_ADDED_SPACE_KEYS, **(mapping.get("space") or {})}
    return parse_sweep_spec({**mapping, "space": space})


def default_spec_text() -> str:
    """The documented default spec shipped with the package."""
    return _res.files("sweep.search").joinpath(DEFAULT_SPEC).read_text()


def spec_to_dict(spec: SweepSpec) -> dict[str, Any]:
    """A YAML/JSON-ready mapping that :func:`parse_sweep_spec` reads back to ``spec``."""
    from dataclasses import asdict

    out = asdict(spec)
    out["space"] = {
        name: (list(p["values"]) if "values" in p else p) for name, p in out["space"].items()
    }
    return out


def is_remote_uri(location: str) -> bool:
    """A URI of storage reached over the network (``s3://``, ``gs://``, ``abfs://``, ...),
    as opposed to a path or ``file://`` URI on this machine's filesystem."""
    scheme, sep, _ = location.partition("://")
    return bool(sep) and scheme.lower() != "file" and scheme.isidentifier()


def join_storage(root: str, *parts: str) -> str:
    """``root/part/...`` for a path or a URI; a URI's query (``s3://b/p?endpoint_override=
    host:9000&scheme=http``, how pyarrow takes an S3-compatible endpoint) stays at the end."""
    base, sep, query = root.partition("?")
    path = "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])
    return f"{path}{sep}{query}"


def storage_root(spec: SweepSpec) -> str:
    """Absolute local path or URI of the storage root, as the machine running this sees it."""
    if "://" in spec.storage:
        return spec.storage
    return str(Path(os.path.expanduser(spec.storage)).resolve())


def experiment_path(spec: SweepSpec, sweep_id: str) -> str:
    return join_storage(storage_root(spec), sweep_id)
