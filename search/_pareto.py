"""Accuracy against model cost: the Pareto front and the smallest model near the best (pure)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Scored:
    """A trial's best metric (at ``epoch``) and its cost (parameters or ms per review)."""

    trial_id: str
    config: dict[str, Any]
    value: float
    epoch: int
    cost: float

    @classmethod
    def from_record(cls, record: dict[str, Any], cost: str) -> Scored | None:
        """From a trial record of the state store; ``None`` when it has no metric or cost."""
        value, measured = record.get("best"), (record.get("metrics") or {}).get(cost)
        if value is None or measured is None:
            return None
        if not (math.isfinite(float(value)) and math.isfinite(float(measured))):
            return None
        return cls(
            record["trial_id"],
            dict(record.get("config") or {}),
            float(value),
            int(record.get("best_epoch") or 1),
            float(measured),
        )


def _better(a: float, b: float, mode: str) -> bool:
    return a > b if mode == "max" else a < b


def pareto_front(rows: Iterable[Scored], mode: str) -> list[Scored]:
    """Trials no other trial beats on both metric and cost, cheapest first."""
    rows = sorted(rows, key=lambda r: (r.cost, -r.value if mode == "max" else r.value, r.trial_id))
    front: list[Scored] = []
    for row in rows:  # cheapest first: keep a row only if it beats every cheaper one kept
        if not front or _better(row.value, front[-1].value, mode):
            front.append(row)
    return front


def smallest_within(rows: Iterable[Scored], mode: str, points: float) -> Scored:
    """The cheapest trial within ``points`` percentage points (0.5 = 0.005) of the best.

    Raises ``ValueError`` when no trial has both a metric and a cost.
    """
    if points < 0:
        raise ValueError(f"points={points} must be >= 0")
    rows = list(rows)
    if not rows:
        raise ValueError(
            "no trial has both a metric and a measured cost (trials of sweeps from before "
            "cost was measured have none)"
        )
    pick = max if mode == "max" else min
    best = float(pick(r.value for r in rows))
    margin = points / 100.0
    near = [
        r for r in rows if (r.value >= best - margin if mode == "max" else r.value <= best + margin)
    ]
    return min(near, key=lambda r: (r.cost, -r.value if mode == "max" else r.value, r.trial_id))
