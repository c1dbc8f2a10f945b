"""Winner selection: a pure function over trial histories."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sweep.states import TrialStatus


@dataclass(frozen=True)
class TrialSummary:
    """A finished (or stopped) trial: its configuration and the metric after each epoch;
    ``branch_weights``: the LSTM branch's fitted weight after each epoch (``None`` entries, or
    empty, for an LSTM-only model or a sweep recorded before the weights were fitted)."""

    trial_id: str
    config: dict[str, Any]
    history: Sequence[float] = field(default_factory=tuple)
    status: str = TrialStatus.TERMINATED
    branch_weights: Sequence[float | None] = field(default_factory=tuple)
    error: str | None = None  # the last line of the trial's error, when it failed

    def branch_weight(self, epoch: int) -> float | None:
        """The fitted branch weight after ``epoch`` (counted from 1), if there is one."""
        if not 1 <= epoch <= len(self.branch_weights):
            return None
        weight = self.branch_weights[epoch - 1]
        return float(weight) if weight is not None and math.isfinite(weight) else None

    def best(self, mode: str) -> tuple[int, float] | None:
        """``(epoch, value)`` of the best finite value; epochs count from 1."""
        values = [
            (i + 1, v) for i, v in enumerate(self.history) if v is not None and math.isfinite(v)
        ]
        if not values:
            return None
        pick = max if mode == "max" else min
        return pick(values, key=lambda ev: (ev[1], -ev[0]) if mode == "max" else (ev[1], ev[0]))


@dataclass(frozen=True)
class Winner:
    trial_id: str
    config: dict[str, Any]
    epoch: int
    value: float
    branch_weight: float | None = None


def select_winner(trials: Iterable[TrialSummary], mode: str) -> Winner:
    """The trial with the best metric at any epoch.

    Ties go to the earlier epoch (the same score for less training), then to the trial
    created first: ``trials`` come in creation order (the driver passes each run's trials in
    Ray Tune's order, runs oldest first); Ray's trial ids are random and say nothing of it.
    Raises ``ValueError`` when no trial reported a finite metric.
    """
    trials = list(trials)
    sign = 1.0 if mode == "max" else -1.0
    scored = [
        (sign * found[1], -found[0], -position, trial, found)
        for position, trial in enumerate(trials)
        if (found := trial.best(mode)) is not None
    ]
    if not scored:
        errors = [f"{t.trial_id}: {t.error}" for t in trials if t.error]
        first = f"; the first error: {errors[0]}" if errors else ""
        raise ValueError(
            f"no trial reported a finite metric; every trial failed ({len(errors)} with an "
            f"error{first}; all of them: `sweep trials ID`)"
        )
    *_, trial, (epoch, value) = max(scored, key=lambda row: row[:3])
    return Winner(trial.trial_id, dict(trial.config), epoch, value, trial.branch_weight(epoch))
