"""Optuna's journal storage on Redis, under the sweep's key prefix, pickled without the
password (Ray checkpoints the searcher, and with it this storage)."""

from __future__ import annotations

import json
import time
import warnings
from typing import Any

import redis
from optuna.exceptions import ExperimentalWarning
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalRedisBackend

from ._keys import Keys
from ._redis_store import retry_policy
from ._settings import strip_password, with_password


def _client(url: str, patience_s: float | None = None) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        socket_timeout=10,
        socket_connect_timeout=5,
        retry=retry_policy(url, 6, patience_s),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
    )


class JournalRegressed(RuntimeError):
    """The Optuna journal in Redis lost entries (older snapshot, deleted keys)."""

    def __init__(self, prefix: str, seen: int, now: int, missing: bool = False) -> None:
        what = (
            f"entry {now} of the journal {prefix} is missing (its log counter says {seen})"
            if missing
            else f"the journal {prefix} went backwards: it ends at entry {now}, "
            f"entry {seen} was already read"
        )
        super().__init__(
            f"Optuna study in Redis is inconsistent: {what}. Redis was restored "
            "from an older snapshot or lost keys; stopping instead of going on "
            "with a stale study."
        )


class SecretFreeJournalRedisBackend(JournalRedisBackend):
    """``JournalRedisBackend`` that pickles without the password and retries with backoff.

    Optuna's own backend keeps the full URL in its pickled state; this one keeps the URL
    without the password and reads it back from the environment when unpickled.
    """

    missing_timeout_s = 10.0

    def __init__(self, url: str, prefix: str = "", patience_s: float | None = None) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            super().__init__(url, prefix=prefix)
        self.patience_s = patience_s
        self._redis = _client(url, patience_s)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_redis", None)
        state["_url"] = strip_password(self._url)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._url = with_password(self._url)
        self.__dict__.setdefault("patience_s", None)  # pickles of older versions
        self._redis = _client(self._url, self.patience_s)

    read_batch = 512  # log entries fetched per MGET

    def read_logs(self, log_number_from: int):
        """Optuna's loop waits forever for a missing log key; this one gives up after
        ``missing_timeout_s`` and refuses a journal that got shorter than already read.
        New entries come in one MGET per ``read_batch`` (Optuna's loop: one GET each, and
        the searcher syncs after every parameter it writes)."""
        raw = self._redis.get(f"{self._prefix}:log_number")
        if raw is None:
            if log_number_from > 0:
                raise JournalRegressed(self._prefix, log_number_from - 1, -1)
            return
        last = int(raw)
        if last < log_number_from - 1:
            raise JournalRegressed(self._prefix, log_number_from - 1, last)
        for start in range(log_number_from, last + 1, self.read_batch):
            numbers = range(start, min(start + self.read_batch, last + 1))
            found = self._redis.mget([self._key_log_id(n) for n in numbers])
            for number, log in zip(numbers, found, strict=True):
                if log is None:  # written after log_number was read: wait for it
                    log = self._wait_for(number, last)
                try:
                    yield json.loads(log)
                except json.JSONDecodeError:
                    if number != last:
                        raise

    def _wait_for(self, number: int, last: int) -> bytes:
        deadline = time.monotonic() + self.missing_timeout_s
        delay = 0.05
        while (log := self._redis.get(self._key_log_id(number))) is None:
            if time.monotonic() > deadline:
                raise JournalRegressed(self._prefix, last, number, missing=True)
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
        return log

    # one round trip per append (Optuna's: a SETNX, then an EVAL per entry)
    _APPEND = (
        "redis.call('setnx', ARGV[1] .. ':log_number', -1) "
        "for i = 2, #ARGV do "
        "local n = redis.call('incr', ARGV[1] .. ':log_number') "
        "redis.call('set', ARGV[1] .. ':log:' .. n, ARGV[i]) end"
    )

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        if logs:
            self._redis.eval(self._APPEND, 0, self._prefix, *(json.dumps(log) for log in logs))

    def __repr__(self) -> str:
        return f"SecretFreeJournalRedisBackend({strip_password(self._url)!r}, {self._prefix!r})"


def optuna_storage(
    url: str, sweep_id: str, keys: Keys | None = None, patience_s: float | None = None
) -> JournalStorage:
    """The Optuna storage holding the study ``sweep_id`` under ``<prefix><id>:optuna``;
    ``patience_s``: wait out a Redis outage that long (the driver's searcher)."""
    return JournalStorage(
        SecretFreeJournalRedisBackend(
            url, prefix=(keys or Keys()).optuna(sweep_id), patience_s=patience_s
        )
    )
