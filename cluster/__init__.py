"""Reaching a cluster: the ``sweep`` CLI, Ray connection and job submission, the Redis
state store, local start/stop of a Ray head and Redis."""

from ._callback import CancelStopper, ProgressCallback, RedisStateCallback
from ._cli import main
from ._keys import Keys
from ._optuna_journal import optuna_storage
from ._redis_store import RedisStateStore
from ._runner import execute_sweep, start_local_ray
from ._store import StateRegressed, StateStore, StoreUnavailable, SweepExists

__all__ = [
    "CancelStopper",
    "Keys",
    "ProgressCallback",
    "RedisStateCallback",
    "RedisStateStore",
    "StateRegressed",
    "StateStore",
    "StoreUnavailable",
    "SweepExists",
    "execute_sweep",
    "main",
    "optuna_storage",
    "start_local_ray",
]
