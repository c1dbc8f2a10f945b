"""Sweep status moves: a pure table and check; the store applies them atomically."""

from __future__ import annotations

from sweep.states import SweepStatus

PENDING, RUNNING, RETRAINING, EXPORTING = (
    SweepStatus.PENDING,
    SweepStatus.RUNNING,
    SweepStatus.RETRAINING,
    SweepStatus.EXPORTING,
)
SUCCEEDED, FAILED, CANCELLED = SweepStatus.SUCCEEDED, SweepStatus.FAILED, SweepStatus.CANCELLED
STATUSES = tuple(SweepStatus)
FINAL = frozenset(s for s in SweepStatus if s.final)

_MOVES: dict[str, frozenset[str]] = {
    PENDING: frozenset({RUNNING, FAILED, CANCELLED}),
    # a replayed sweep (trial: replay) has nothing to retrain or export: it ends from running
    RUNNING: frozenset({RETRAINING, SUCCEEDED, FAILED, CANCELLED}),
    RETRAINING: frozenset({EXPORTING, FAILED, CANCELLED}),
    EXPORTING: frozenset({SUCCEEDED, FAILED, CANCELLED}),
    SUCCEEDED: frozenset(),
    FAILED: frozenset(),
    CANCELLED: frozenset(),
}
# `sweep resume` may restart a sweep whose driver died (still "running"/"retraining"/
# "exporting" in Redis) or that failed or was cancelled.
RESUMABLE = frozenset({RUNNING, RETRAINING, EXPORTING, FAILED, CANCELLED})
# `sweep extend` starts another run of trials on a sweep that has ended.
EXTENDABLE = FINAL


class TransitionError(ValueError):
    """A status move that the lifecycle does not allow."""


def check_move(current: str | None, new: str, resume: bool = False, extend: bool = False) -> None:
    """Raise :class:`TransitionError` unless ``current -> new`` is allowed."""
    if current is None:
        raise TransitionError(f"cannot move to {new!r}: the sweep does not exist")
    if extend:
        if new != RUNNING or current not in EXTENDABLE:
            raise TransitionError(
                f"cannot extend a sweep that is {current!r}; only ended sweeps "
                f"({', '.join(sorted(EXTENDABLE))}) can be extended"
            )
        return
    if resume:
        if new != RUNNING or current not in RESUMABLE:
            raise TransitionError(
                f"cannot resume a sweep that is {current!r}; only "
                f"{sorted(RESUMABLE)} sweeps can be resumed"
            )
        return
    if new not in _MOVES.get(current, frozenset()):
        allowed = sorted(_MOVES.get(current, ())) or ["nothing (final)"]
        raise TransitionError(f"cannot move a {current!r} sweep to {new!r}; allowed: {allowed}")
