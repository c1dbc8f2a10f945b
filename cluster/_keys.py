"""Sweep ids and every Redis key of the service, built from one prefix (default ``sweep:``)."""

from __future__ import annotations

import datetime as _dt
import secrets
from dataclasses import dataclass

DEFAULT_PREFIX = "sweep:"


def new_sweep_id(name: str) -> str:
    """``<name>-<UTC yyyymmdd-hhmmss>-<4 hex>``: sortable by creation, unique per launch."""
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%d-%H%M%S")
    return f"{name}-{stamp}-{secrets.token_hex(2)}"


@dataclass(frozen=True)
class Keys:
    prefix: str = DEFAULT_PREFIX

    @property
    def index(self) -> str:
        """Sorted set of sweep ids by creation time."""
        return f"{self.prefix}index"

    def sweep(self, sweep_id: str) -> str:
        """Hash: spec, status, timestamps, job id, storage, best trial/metric, artifact, error."""
        return f"{self.prefix}{sweep_id}"

    def trials(self, sweep_id: str) -> str:
        """Hash: trial id -> JSON (config, status, epochs, metrics, node)."""
        return f"{self.prefix}{sweep_id}:trials"

    def leaderboard(self, sweep_id: str) -> str:
        """Sorted set: trial id -> best metric."""
        return f"{self.prefix}{sweep_id}:leaderboard"

    def events(self, sweep_id: str) -> str:
        """Stream of trial started / reported / stopped / errored events."""
        return f"{self.prefix}{sweep_id}:events"

    def optuna(self, sweep_id: str) -> str:
        """Prefix of the Optuna journal keys (``<this>:log_number``, ``<this>:log:<n>``)."""
        return f"{self.prefix}{sweep_id}:optuna"
