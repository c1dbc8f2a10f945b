"""Reaching a cluster: the ``sweep`` CLI, Ray connection and job submission, the Redis
state store, local start/stop of a Ray head and Redis.

The CLI and the store import without TensorFlow or Ray Tune: ``sweep --help``, ``status``,
``list``, ``trials`` and ``cancel`` start in about a second. The names that run a sweep here
(the Ray Tune callbacks, ``execute_sweep``, ``start_local_ray``) load their modules on first use.
"""

from importlib import import_module
from typing import TYPE_CHECKING

from ._cli import main
from ._keys import Keys
from ._optuna_journal import optuna_storage
from ._redis_store import RedisStateStore
from ._store import StateRegressed, StateStore, StoreUnavailable, SweepExists

if TYPE_CHECKING:
    from ._callback import CancelStopper, ProgressCallback, RedisStateCallback
    from ._runner import execute_sweep, start_local_ray

_LAZY = {
    "CancelStopper": "._callback",
    "ProgressCallback": "._callback",
    "RedisStateCallback": "._callback",
    "execute_sweep": "._runner",
    "start_local_ray": "._runner",
}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
