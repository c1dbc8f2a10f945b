"""The state-store interface the rest of the service talks to (one Redis implementation)."""

from __future__ import annotations

from typing import Any, Protocol

# Ray Tune's checkpoints pickle classes by module path: a sweep launched before the package
# became ``sweep`` (0.1: top-level ``search``, ``model``, ...) names modules 0.2 lacks.
MODULE_LAYOUT = "sweep"


class StoreUnavailable(RuntimeError):
    """The state store cannot be reached or refused our credentials."""


class StateRegressed(RuntimeError):
    """Redis holds less than this process already saw: restored from an older snapshot,
    or keys were lost. Going on would act on a stale view, so the sweep stops."""


class SweepExists(ValueError):
    """A sweep with this id is already recorded."""


class StateStore(Protocol):
    def ping(self) -> None: ...
    def create_sweep(self, sweep_id: str, spec: dict[str, Any], storage: str) -> None: ...
    def get_sweep(self, sweep_id: str) -> dict[str, Any] | None: ...
    def list_sweeps(self, limit: int = 50) -> list[dict[str, Any]]: ...
    def move(
        self,
        sweep_id: str,
        status: str,
        *,
        resume: bool = False,
        extend: bool = False,
        reason: str | None = None,
        **fields: Any,
    ) -> None: ...
    def set_fields(self, sweep_id: str, **fields: Any) -> None: ...
    def write_trial(
        self, sweep_id: str, trial_id: str, record: dict[str, Any], score: float | None, event: str
    ) -> None: ...
    def trials(self, sweep_id: str) -> dict[str, dict[str, Any]]: ...
    def trial(self, sweep_id: str, trial_id: str) -> dict[str, Any] | None: ...
    def leaderboard(
        self, sweep_id: str, mode: str, top: int | None = None
    ) -> list[tuple[str, float]]: ...
    def events(self, sweep_id: str, count: int = 100) -> list[dict[str, Any]]: ...
