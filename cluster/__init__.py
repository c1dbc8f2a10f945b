"""Reaching a cluster: the ``sweep`` CLI, Ray connection and job submission, the Redis
state store, local start/stop of a Ray head and Redis.

The CLI and the store import without TensorFlow or Ray Tune: ``sweep --help``, ``status``,
``list``, ``trials`` and ``cancel`` start in about a second, and ``launch``/``resume`` submitting
to a Ray job API in about two. The names that run a sweep here (the Ray Tune callbacks,
``execute_sweep``, ``start_local_ray``) load their modules on first use.
"""

from typing import TYPE_CHECKING

import lazy_loader

from ._cli import main
from ._keys import Keys
from ._optuna_journal import optuna_storage
from ._redis_store import RedisStateStore
from ._store import StateRegressed, StateStore, StoreUnavailable, SweepExists

if TYPE_CHECKING:
    from ._callback import CancelStopper, ProgressCallback, RedisStateCallback
    from ._runner import execute_sweep, start_local_ray

__getattr__, _, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "_callback": ["CancelStopper", "ProgressCallback", "RedisStateCallback"],
        "_runner": ["execute_sweep", "start_local_ray"],
    },
)


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
