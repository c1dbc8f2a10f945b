"""Optuna's journal storage on Redis, under the sweep's key prefix, pickled without the
password (Ray checkpoints the searcher, and with it this storage)."""

from __future__ import annotations

import warnings
from typing import Any

import redis
from optuna.exceptions import ExperimentalWarning
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalRedisBackend
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from ._keys import Keys
from ._settings import strip_password, with_password


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        socket_timeout=10,
        socket_connect_timeout=5,
        retry=Retry(ExponentialBackoff(cap=4.0, base=0.1), 6),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
    )


class SecretFreeJournalRedisBackend(JournalRedisBackend):
    """``JournalRedisBackend`` that pickles without the password and retries with backoff.

    Optuna's own backend keeps the full URL in its pickled state; this one keeps the URL
    without the password and reads it back from the environment when unpickled.
    """

    def __init__(self, url: str, prefix: str = "") -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            super().__init__(url, prefix=prefix)
        self._redis = _client(url)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_redis", None)
        state["_url"] = strip_password(self._url)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._url = with_password(self._url)
        self._redis = _client(self._url)

    def __repr__(self) -> str:
        return f"SecretFreeJournalRedisBackend({strip_password(self._url)!r}, {self._prefix!r})"


def optuna_storage(url: str, sweep_id: str, keys: Keys | None = None) -> JournalStorage:
    """The Optuna storage holding the study ``sweep_id`` under ``<prefix><id>:optuna``."""
    return JournalStorage(
        SecretFreeJournalRedisBackend(url, prefix=(keys or Keys()).optuna(sweep_id))
    )
