"""Redis implementation of the state store (keys in ``_keys.py``)."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from ._keys import Keys
from ._settings import redact, strip_password, with_password
from ._status import PENDING, check_move
from ._store import MODULE_LAYOUT, StateRegressed, StoreUnavailable, SweepExists

log = logging.getLogger(__name__)

_JSON_FIELDS = (
    "spec",
    "history",
    "test_metrics",
    "pareto",
    "runs",
    "warm_start",
    "warm_start_from",
    "picks",
    "data_upload",
    "language_model",
)


class _Refused(Exception):
    """Carries an AuthenticationError past redis-py's retry loop."""

    def __init__(self, error: redis.AuthenticationError) -> None:
        self.error = error


class NoAuthRetry(Retry):
    """redis-py's ``Retry``, except that a refused or missing password fails at once.

    redis-py's ``AuthenticationError`` is a ``ConnectionError``, so a client retrying on
    connection errors retried a wrong password through every backoff step (43 s measured with
    5 retries, the connect and the command each retrying) before saying what was wrong.
    """

    def call_with_retry(self, do, fail, *args, **kwargs):
        def attempt():
            try:
                return do()
            except redis.AuthenticationError as exc:
                raise _Refused(exc) from None

        try:
            return super().call_with_retry(attempt, fail, *args, **kwargs)
        except _Refused as refused:
            raise refused.error from None


class PatientRetry(NoAuthRetry):
    """Retries a lost connection until Redis has been unreachable for ``patience_s``
    seconds, however many attempts that takes (backoff capped at 4 s), instead of a count.

    For the sweep's driver: a Redis restart or failover that takes a minute must pause the
    sweep, not end it. The outage's start is shared by the connect and the command retry
    loops (redis-py nests them and deep-copies the policy into each connection), so the
    wait is ``patience_s`` in all, not per level.
    """

    def __init__(self, patience_s: float, where: str) -> None:
        super().__init__(
            ExponentialBackoff(cap=4.0, base=0.1),
            -1,
            is_retryable=lambda error: not isinstance(error, RedisGone),
        )
        self.patience_s = patience_s
        self.where = where
        self._down_since: float | None = None

    def __deepcopy__(self, memo):  # one outage clock for the client and all its connections
        return self

    def call_with_retry(self, do, fail, *args, **kwargs):
        def attempt():
            result = do()
            if self._down_since is not None:
                waited = time.monotonic() - self._down_since
                log.warning("Redis at %s is back after %.0f s", self.where, waited)
                self._down_since = None
            return result

        def failed(error, *rest):
            if not isinstance(error, RedisGone):
                now = time.monotonic()
                if self._down_since is None:
                    self._down_since = now
                    log.warning(
                        "Redis at %s unreachable (%s); waiting up to %.0f s for it to come back",
                        self.where,
                        type(error).__name__,
                        self.patience_s,
                    )
                elif now - self._down_since > self.patience_s:
                    fail(error, *rest)
                    raise RedisGone(self.where, now - self._down_since) from error
            return fail(error, *rest)

        return super().call_with_retry(attempt, failed, *args, **kwargs)


class RedisGone(redis.ConnectionError):
    """Redis stayed unreachable longer than the driver's patience."""

    def __init__(self, where: str, waited: float) -> None:
        self.where, self.waited = where, waited
        super().__init__(
            f"Redis at {where} has been unreachable for {waited:.0f} s, longer than the "
            "driver waits (SWEEP_REDIS_PATIENCE_S); when it is back, `sweep resume` "
            "continues the sweep from its last checkpoints"
        )

    def __reduce__(self):  # pickles (Ray carries exceptions between processes)
        return type(self), (self.where, self.waited)

    def stopped(self, sweep_id: str) -> str:
        """The one line a user reads: the sweep, the wait, and the resume command in full."""
        way_out = str(self).replace("`sweep resume`", f"`sweep resume {sweep_id}`")
        return f"sweep {sweep_id} stopped: {way_out}"


def retry_policy(url: str, retries: int, patience_s: float | None) -> NoAuthRetry:
    """``retries`` attempts with exponential backoff, or with ``patience_s`` as long as
    Redis stays away up to that many seconds (``PatientRetry``)."""
    if patience_s is None:
        return NoAuthRetry(ExponentialBackoff(cap=4.0, base=0.1), retries)
    return PatientRetry(patience_s, redact(url))


def connect(
    url: str, retries: int = 5, timeout: float = 5.0, patience_s: float | None = None
) -> redis.Redis:
    """A client that retries with exponential backoff on connection errors and timeouts
    (not on a refused password): ``retries`` times, or with ``patience_s`` for as long as
    Redis stays unreachable up to that many seconds (see ``PatientRetry``)."""
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=retry_policy(url, retries, patience_s),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        health_check_interval=15,
    )


class RedisStateStore:
    """Sweep records, trial table, leaderboard and events in Redis.

    Pickles without the client or the password (the password is read back from the
    environment, see ``_settings.with_password``), so it can travel inside Ray Tune state.
    """

    def __init__(
        self,
        url: str,
        prefix: str = "sweep:",
        retries: int = 5,
        patience_s: float | None = None,
    ) -> None:
        self.url = url
        self.keys = Keys(prefix)
        self._retries = retries
        self.patience_s = patience_s  # the driver's: wait out an outage (``PatientRetry``)
        self._client = connect(url, retries, patience_s=patience_s)
        self._writes_seen: dict[str, int] = {}

    # -- pickling without secrets -------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        return {
            "url": strip_password(self.url),
            "prefix": self.keys.prefix,
            "retries": self._retries,
            "patience_s": self.patience_s,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(
            with_password(state["url"]),
            state["prefix"],
            state["retries"],
            state.get("patience_s"),  # absent from the pickles of older versions
        )

    def __repr__(self) -> str:
        return f"RedisStateStore({redact(self.url)!r}, prefix={self.keys.prefix!r})"

    @property
    def client(self) -> redis.Redis:
        return self._client

    def ping(self) -> None:
        try:
            self._client.ping()
        except redis.AuthenticationError as exc:
            raise StoreUnavailable(
                f"Redis at {redact(self.url)} refused the credentials or needs a password "
                f"({exc}); put the right password in the URL (redis://:PASSWORD@host:port/0), "
                "via --redis-url or SWEEP_REDIS_URL"
            ) from None
        except redis.ResponseError as exc:
            if "NOAUTH" in str(exc) or "WRONGPASS" in str(exc):
                raise StoreUnavailable(
                    f"Redis at {redact(self.url)} needs a password ({exc}); put it in the URL: "
                    "redis://:PASSWORD@host:port/0"
                ) from None
            raise
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            raise StoreUnavailable(
                f"cannot reach Redis at {redact(self.url)} ({type(exc).__name__}: {exc}); start "
                "it (`sweep local up`) or pass --redis-url / SWEEP_REDIS_URL"
            ) from None

    # -- sweeps -----------------------------------------------------------------------------
    def create_sweep(self, sweep_id: str, spec: dict[str, Any], storage: str) -> None:
        now = time.time()
        record = {
            "id": sweep_id,
            "status": PENDING,
            "created_at": now,
            "pending_at": now,
            "spec": json.dumps(spec),
            "storage": storage,
            "history": json.dumps([{"status": PENDING, "at": now}]),
            "module_layout": MODULE_LAYOUT,  # what its checkpoints' pickles name
        }
        key = self.keys.sweep(sweep_id)
        with self._client.pipeline() as pipe:
            pipe.watch(key)
            if pipe.exists(key):
                raise SweepExists(f"sweep {sweep_id!r} already exists; choose another --name")
            pipe.multi()
            pipe.hset(key, mapping={k: str(v) for k, v in record.items()})
            pipe.zadd(self.keys.index, {sweep_id: now})
            pipe.execute()

    def get_sweep(self, sweep_id: str) -> dict[str, Any] | None:
        raw = self._client.hgetall(self.keys.sweep(sweep_id))
        return _decode(raw) if raw else None

    def list_sweeps(self, limit: int = 50) -> list[dict[str, Any]]:
        ids = self._client.zrevrange(self.keys.index, 0, limit - 1)
        with self._client.pipeline(transaction=False) as pipe:
            for sweep_id in ids:
                pipe.hgetall(self.keys.sweep(sweep_id))
            rows = pipe.execute()
        return [_decode(r) for r in rows if r]

    def move(
        self,
        sweep_id: str,
        status: str,
        *,
        resume: bool = False,
        extend: bool = False,
        reason: str | None = None,
        **fields: Any,
    ) -> None:
        """Move the status atomically (WATCH/MULTI): the check and the write are one step."""
        key = self.keys.sweep(sweep_id)

        def apply(pipe: redis.client.Pipeline) -> None:
            current = pipe.hget(key, "status")
            check_move(current, status, resume, extend)
            history = json.loads(pipe.hget(key, "history") or "[]")
            now = time.time()
            entry = {"status": status, "at": now}
            if reason:
                entry["reason"] = reason
            if resume or extend:
                entry["resumed_from" if resume else "extended_from"] = current
            history.append(entry)
            values = {
                "status": status,
                f"{status}_at": now,
                "history": json.dumps(history),
                **{k: _encode(v) for k, v in fields.items()},
            }
            pipe.multi()
            pipe.hset(key, mapping=values)
            if resume:
                pipe.hincrby(key, "resumes", 1)

        self._client.transaction(apply, key)

    def set_fields(self, sweep_id: str, **fields: Any) -> None:
        self._client.hset(
            self.keys.sweep(sweep_id), mapping={k: _encode(v) for k, v in fields.items()}
        )

    # -- trials -----------------------------------------------------------------------------
    def write_trial(
        self, sweep_id: str, trial_id: str, record: dict[str, Any], score: float | None, event: str
    ) -> None:
        """Trial row, leaderboard score and one event, in one MULTI/EXEC."""
        payload = json.dumps(record, default=str)
        with self._client.pipeline(transaction=True) as pipe:
            pipe.hincrby(self.keys.sweep(sweep_id), "writes", 1)
            pipe.hset(self.keys.trials(sweep_id), trial_id, payload)
            if score is not None:
                pipe.zadd(self.keys.leaderboard(sweep_id), {trial_id: score})
            pipe.xadd(
                self.keys.events(sweep_id),
                {"event": event, "trial_id": trial_id, "data": payload},
                maxlen=100_000,
                approximate=True,
            )
            writes = int(pipe.execute()[0])
        seen = self._writes_seen.get(sweep_id, 0)
        if writes <= seen:
            raise StateRegressed(
                f"Redis went backwards: sweep {sweep_id} has {writes - 1} trial writes, this "
                f"process already made {seen}. Redis was restored from an older snapshot or "
                "lost keys; stopping instead of going on with a stale view. Check its "
                "persistence (appendonly yes, noeviction), then `sweep resume ID`."
            )
        self._writes_seen[sweep_id] = writes

    def trials(self, sweep_id: str) -> dict[str, dict[str, Any]]:
        raw = self._client.hgetall(self.keys.trials(sweep_id))
        return {k: json.loads(v) for k, v in raw.items()}

    def trial(self, sweep_id: str, trial_id: str) -> dict[str, Any] | None:
        raw = self._client.hget(self.keys.trials(sweep_id), trial_id)
        return json.loads(raw) if raw is not None else None

    def leaderboard(
        self, sweep_id: str, mode: str, top: int | None = None
    ) -> list[tuple[str, float]]:
        end = -1 if top is None else top - 1
        fetch = self._client.zrevrange if mode == "max" else self._client.zrange
        return [
            (t, float(s))
            for t, s in fetch(self.keys.leaderboard(sweep_id), 0, end, withscores=True)
        ]

    def ranked_trials(
        self, sweep_id: str, mode: str, top: int | None = None
    ) -> list[dict[str, Any]]:
        """Trial records best first (leaderboard order), then those without a result.

        With ``top``, only those rows are read (the leaderboard's first ``top``, then unscored
        ids): `sweep trials --top 10` stays quick on a sweep of thousands of trials."""
        if top is not None:
            if top < 1:
                return []
            ids = [t for t, _ in self.leaderboard(sweep_id, mode, top)]
            if len(ids) < top:  # the leaderboard is all in ``ids``: add unscored trials
                scored = set(ids)
                every = self._client.hkeys(self.keys.trials(sweep_id))
                ids += sorted(t for t in every if t not in scored)[: top - len(ids)]
            raw = self._client.hmget(self.keys.trials(sweep_id), ids) if ids else []
            if all(r is not None for r in raw):
                return [json.loads(r) for r in raw]
            # a scored id without its row (a damaged table): read it all, as below
        table = self.trials(sweep_id)
        order = [t for t, _ in self.leaderboard(sweep_id, mode)]
        order += sorted(t for t in table if t not in order)
        return [table[t] for t in order if t in table][:top]

    def events(self, sweep_id: str, count: int = 100) -> list[dict[str, Any]]:
        rows = self._client.xrange(self.keys.events(sweep_id), count=count)
        return [{"id": i, **f} for i, f in rows]


def _encode(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


def _decode(raw: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = dict(raw)
    for name in _JSON_FIELDS:
        if name in out:
            with contextlib.suppress(ValueError):
                out[name] = json.loads(out[name])
    for name, value in raw.items():
        if name.endswith("_at") or name in ("best_metric",):
            with contextlib.suppress(ValueError):
                out[name] = float(value)
    return out
