"""The states of a sweep and of its trials, one definition for every part of the package.

Both are ``StrEnum``: a member is its string (``SweepStatus.RUNNING == "running"``), so the
records in Redis, JSON output and Ray Tune's own trial states compare with them directly.
"""

from __future__ import annotations

from enum import StrEnum


class SweepStatus(StrEnum):
    """Where a sweep is in its lifecycle (the moves are checked by the state store)."""

    PENDING = "pending"
    RUNNING = "running"
    RETRAINING = "retraining"
    EXPORTING = "exporting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in (SweepStatus.SUCCEEDED, SweepStatus.FAILED, SweepStatus.CANCELLED)


class TrialStatus(StrEnum):
    """A trial's status in the sweep's trial table: Ray Tune's (``PENDING``, ``RUNNING``,
    ``TERMINATED``, ``ERROR``) and the sweep's own for trials Ray Tune does not end itself."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    TERMINATED = "TERMINATED"  # finished: trained to max_epochs or stopped early by ASHA
    ERROR = "ERROR"  # raised, or its node was lost more often than max_failures
    LOST = "LOST"  # its driver died and nothing could resume it (see `sweep resume`)
    CANCELLED = "CANCELLED"  # running when the sweep was cancelled
    STOPPED = "STOPPED"  # running when the sweep's time budget ran out

    @property
    def closed(self) -> bool:
        """Whether the sweep is done with the trial."""
        return self not in (TrialStatus.PENDING, TrialStatus.RUNNING)
