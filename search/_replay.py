"""A trial that trains nothing: it replays a learning curve on the real control plane.

``trial: replay`` in a spec runs every trial as ``replay_trial``: it sleeps each epoch's time
(scaled by ``replay.time_scale``), reports the epoch's metrics as a real trial does, and
saves a small checkpoint, so the driver, the searcher, ASHA, the Redis callback, Ray Tune's
checkpoints and the CLI run exactly as in a sweep, at any scale, without TensorFlow (this
module never imports it). Curves are ``seeded`` (a saturating curve per configuration, from a
hash of it) or drawn from the bundled ``table`` (the surrogate of ``search._surrogate``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import time
from dataclasses import dataclass
from typing import Any

CURVES = ("seeded", "table")
STATE = "state.json"
PAYLOAD = "weights.bin"  # a checkpoint's stand-in for model weights


@dataclass(frozen=True)
class ReplayConfig:
    """``replay:`` in a spec: how replayed trials pace themselves."""

    curves: str = "seeded"
    epoch_seconds: float = 10.0  # seeded curves: the time of one epoch
    time_scale: float = 1.0  # sleep this fraction of each epoch's time
    checkpoint_bytes: int = 4096

    def __post_init__(self) -> None:
        if self.curves not in CURVES:
            raise ValueError(f"replay.curves={self.curves!r} is unknown; choose one of {CURVES}")
        if not self.epoch_seconds > 0:
            raise ValueError(f"replay.epoch_seconds={self.epoch_seconds} must be > 0")
        if not 0 <= self.time_scale <= 1000:
            raise ValueError(f"replay.time_scale={self.time_scale} must be in [0, 1000]")
        if not 0 <= self.checkpoint_bytes <= 2**30:
            raise ValueError(f"replay.checkpoint_bytes={self.checkpoint_bytes} out of range")


def _unit(config: dict, salt: str) -> float:
    digest = hashlib.sha256((salt + json.dumps(config, sort_keys=True, default=str)).encode())
    return int(digest.hexdigest()[:12], 16) / 16**12


def seeded_curve(config: dict, epochs: int, epoch_seconds: float) -> list[tuple[float, float]]:
    """(validation accuracy, seconds) per epoch: rising from 0.5 to a ceiling set by the
    configuration, at a rate set by it too; the same configuration always gives the same."""
    ceiling = 0.75 + 0.15 * _unit(config, "ceiling")
    rate = 0.5 + 1.5 * _unit(config, "rate")
    seconds = epoch_seconds * (0.5 + _unit(config, "seconds"))
    return [
        (0.5 + (ceiling - 0.5) * (1 - math.exp(-rate * epoch)), seconds)
        for epoch in range(1, epochs + 1)
    ]


_TABLE: Any = None


def _table_curve(config: dict, epochs: int) -> list[tuple[float, float]]:
    import numpy as np

    from ._surrogate import CurveTable, Surrogate

    global _TABLE
    if _TABLE is None:  # once per worker process (Ray reuses trial actors)
        _TABLE = Surrogate(CurveTable.load())
    rng = np.random.default_rng(int(_unit(config, "seed") * 2**32))
    curve = _TABLE.curve(config, rng)
    pairs = list(zip(curve.val_accuracy, curve.epoch_seconds, strict=True))
    return (pairs + pairs[-1:] * epochs)[:epochs]


@dataclass(frozen=True)
class ReplayContext:
    replay: ReplayConfig
    max_epochs: int
    metric: str = "val_accuracy"

    def curve(self, config: dict) -> list[tuple[float, float]]:
        if self.replay.curves == "table":
            return _table_curve(config, self.max_epochs)
        return seeded_curve(config, self.max_epochs, self.replay.epoch_seconds)


def replay_trial(config: dict[str, Any], data: Any, context: ReplayContext) -> None:
    """Report a replayed curve epoch by epoch, with a checkpoint each epoch, as
    ``lstm_trial`` does (``data`` is unused: a replayed sweep loads none)."""
    import ray
    from ray import tune

    entered_at = time.time()
    start = 0
    checkpoint = tune.get_checkpoint()
    if checkpoint:
        with checkpoint.as_directory() as folder, open(os.path.join(folder, STATE)) as fh:
            start = json.load(fh)["epoch"]
    node = {
        "node_ip": ray.util.get_node_ip_address(),
        "node_id": ray.get_runtime_context().get_node_id(),
    }
    curve = context.curve(config)
    payload = os.urandom(context.replay.checkpoint_bytes)
    for epoch in range(start, context.max_epochs):
        accuracy, seconds = curve[epoch]
        began = time.time()
        time.sleep(seconds * context.replay.time_scale)
        with tempfile.TemporaryDirectory() as folder:
            with open(os.path.join(folder, STATE), "w") as fh:
                json.dump({"epoch": epoch + 1}, fh)
            with open(os.path.join(folder, PAYLOAD), "wb") as fh:
                fh.write(payload)
            tune.report(
                {
                    "epoch": epoch + 1,
                    "val_accuracy": accuracy,
                    "val_loss": 1.0 - accuracy,
                    "epoch_seconds": time.time() - began,
                    "replayed_epoch_seconds": seconds,
                    "params": 0,
                    "trial_entered_at": entered_at,
                    "first_batch_at": began if epoch == start else None,
                    **node,
                },
                checkpoint=tune.Checkpoint.from_directory(folder),
            )
