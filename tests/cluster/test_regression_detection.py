"""Redis going backwards (older snapshot, lost keys) is noticed, never silently used."""

from __future__ import annotations

import time
from types import SimpleNamespace

import optuna
import pytest

from sweep.cluster._callback import RedisStateCallback
from sweep.cluster._keys import Keys
from sweep.cluster._optuna_journal import JournalRegressed, optuna_storage
from sweep.cluster._redis_store import RedisStateStore
from sweep.cluster._store import StateRegressed


def test_trial_writes_notice_a_restored_older_snapshot(redis_url):
    store = RedisStateStore(redis_url)
    store.create_sweep("s", {}, "/r")
    cb = RedisStateCallback(store, "s", "val_accuracy", "max", 3)
    trial = SimpleNamespace(trial_id="t1", config={}, error_file=None)
    cb.on_trial_start(0, [trial], trial)
    cb.on_trial_result(0, [trial], trial, {"epoch": 1, "val_accuracy": 0.7})
    # what a restore from an older snapshot looks like: the sweep's write counter drops
    store.client.hset("sweep:s", "writes", 0)
    with pytest.raises(StateRegressed, match="Redis went backwards"):
        cb.on_trial_result(0, [trial], trial, {"epoch": 2, "val_accuracy": 0.8})


def test_a_second_process_writing_is_not_mistaken_for_a_regression(redis_url):
    a, b = RedisStateStore(redis_url), RedisStateStore(redis_url)
    a.create_sweep("s", {}, "/r")
    for i in range(3):
        a.write_trial("s", f"a{i}", {}, None, "reported")
        b.write_trial("s", f"b{i}", {}, None, "reported")
    assert len(a.trials("s")) == 6


def _study(redis_url, n=3):
    storage = optuna_storage(redis_url, "j", Keys())
    study = optuna.create_study(study_name="j", storage=storage)
    for i in range(n):
        study.enqueue_trial({"x": float(i)})
        study.optimize(lambda t: t.suggest_float("x", 0, 10), n_trials=1)
    return storage


def test_missing_journal_key_fails_fast_instead_of_hanging(redis_url, monkeypatch):
    import redis

    from sweep.cluster._optuna_journal import SecretFreeJournalRedisBackend

    _study(redis_url)
    client = redis.Redis.from_url(redis_url)
    client.delete("sweep:j:optuna:log:2")
    monkeypatch.setattr(SecretFreeJournalRedisBackend, "missing_timeout_s", 0.5)
    start = time.monotonic()
    with pytest.raises(JournalRegressed, match="entry 2 of the journal sweep:j:optuna is missing"):
        optuna.load_study(study_name="j", storage=optuna_storage(redis_url, "j", Keys()))
    assert time.monotonic() - start < 5


def test_journal_that_got_shorter_is_refused(redis_url):
    import redis

    storage = _study(redis_url)
    assert len(optuna.load_study(study_name="j", storage=storage).trials) == 3  # all read
    client = redis.Redis.from_url(redis_url)
    client.set("sweep:j:optuna:log_number", 1)
    with pytest.raises(JournalRegressed, match="went backwards"):
        optuna.load_study(study_name="j", storage=storage).get_trials()
