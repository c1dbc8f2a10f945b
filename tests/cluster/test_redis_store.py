"""The Redis state store against a real redis-server."""

from __future__ import annotations

import pickle
import threading

import pytest
import redis

from sweep.cluster._optuna_journal import _client as journal_client
from sweep.cluster._redis_store import RedisStateStore
from sweep.cluster._settings import redact, strip_password, with_password
from sweep.cluster._status import TransitionError
from sweep.cluster._store import StoreUnavailable, SweepExists
from tests.conftest import RedisServer


def test_sweep_lifecycle_and_keys(redis_url):
    store = RedisStateStore(redis_url)
    store.create_sweep("s1", {"metric": "val_accuracy", "mode": "max"}, "/runs")
    with pytest.raises(SweepExists):
        store.create_sweep("s1", {}, "/runs")
    for status in ("running", "retraining", "exporting", "succeeded"):
        store.move("s1", status)
    rec = store.get_sweep("s1")
    assert rec["status"] == "succeeded" and rec["spec"]["mode"] == "max"
    assert [h["status"] for h in rec["history"]] == [
        "pending",
        "running",
        "retraining",
        "exporting",
        "succeeded",
    ]
    assert rec["succeeded_at"] >= rec["running_at"] >= rec["created_at"]
    keys = set(store.client.keys("*"))
    assert keys == {"sweep:index", "sweep:s1"}
    with pytest.raises(TransitionError):
        store.move("s1", "running")


def test_concurrent_moves_are_written_once(redis_url):
    store = RedisStateStore(redis_url)
    store.create_sweep("s2", {}, "/runs")
    store.move("s2", "running")
    outcomes = []

    def cancel():
        try:
            RedisStateStore(redis_url).move("s2", "cancelled")
            outcomes.append("ok")
        except TransitionError:
            outcomes.append("refused")

    threads = [threading.Thread(target=cancel) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok"] + ["refused"] * 7
    history = store.get_sweep("s2")["history"]
    assert [h["status"] for h in history].count("cancelled") == 1


def test_trials_leaderboard_and_events(redis_url):
    store = RedisStateStore(redis_url)
    store.create_sweep("s3", {}, "/runs")
    for tid, score in [("a", 0.7), ("b", 0.9), ("c", None), ("d", 0.8)]:
        store.write_trial("s3", tid, {"trial_id": tid, "best": score}, score, "reported")
    assert set(store.trials("s3")) == {"a", "b", "c", "d"}
    assert [t for t, _ in store.leaderboard("s3", "max")] == ["b", "d", "a"]
    assert [t for t, _ in store.leaderboard("s3", "min", top=1)] == ["a"]
    assert [e["trial_id"] for e in store.events("s3")] == ["a", "b", "c", "d"]


def test_ranked_trials_reads_only_the_rows_asked_for_and_keeps_the_full_order(redis_url):
    store = RedisStateStore(redis_url)
    store.create_sweep("r", {}, "/runs")
    scores = {"a": 0.7, "b": 0.9, "c": None, "d": 0.8, "e": None, "f": 0.6}
    for tid, score in scores.items():
        store.write_trial("r", tid, {"trial_id": tid, "best": score}, score, "reported")
    whole = [r["trial_id"] for r in store.ranked_trials("r", "max")]
    assert whole == ["b", "d", "a", "f", "c", "e"]
    for top in range(1, 8):  # within the scored trials, into the unscored, past the end
        assert [r["trial_id"] for r in store.ranked_trials("r", "max", top)] == whole[:top]
    assert [r["trial_id"] for r in store.ranked_trials("r", "min", 5)] == ["f", "a", "d", "b", "c"]
    assert store.ranked_trials("r", "max", 0) == []

    # the top rows come from the leaderboard alone: the table is never read whole
    reads = []
    client = store._client
    original = client.hgetall
    client.hgetall = lambda *a, **k: reads.append(a) or original(*a, **k)
    assert [r["trial_id"] for r in store.ranked_trials("r", "max", 2)] == ["b", "d"]
    assert reads == []
    # a scored trial whose row is missing: the whole table is read and the order still holds
    client.hdel(store.keys.trials("r"), "d")
    assert [r["trial_id"] for r in store.ranked_trials("r", "max", 2)] == ["b", "a"]
    assert reads


def test_two_prefixes_never_mix(redis_url):
    a, b = RedisStateStore(redis_url, "teamA:"), RedisStateStore(redis_url, "teamB:")
    a.create_sweep("x", {}, "/a")
    b.create_sweep("x", {}, "/b")
    a.move("x", "running")
    assert b.get_sweep("x")["status"] == "pending"
    assert [r["storage"] for r in a.list_sweeps()] == ["/a"]


def test_unreachable_redis_is_a_clear_error():
    store = RedisStateStore("redis://127.0.0.1:9/0", retries=1)
    with pytest.raises(StoreUnavailable, match=r"cannot reach Redis at redis://127\.0\.0\.1:9/0"):
        store.ping()


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis-pw"), password="s3cret-Pw").start()
    yield server
    server.stop()


def test_wrong_or_missing_password_is_a_clear_error_without_the_secret(secured):
    wrong = secured.url.replace("s3cret-Pw", "nope")
    with pytest.raises(StoreUnavailable, match="refused the credentials") as info:
        RedisStateStore(wrong, retries=1).ping()
    assert "nope" not in str(info.value)
    with pytest.raises(StoreUnavailable, match="needs a password"):
        RedisStateStore(strip_password(secured.url), retries=1).ping()


def _connections_received(server) -> int:
    return int(redis.Redis.from_url(server.url).info("stats")["total_connections_received"])


@pytest.mark.parametrize("password", ["nope", None])
def test_a_refused_password_is_not_retried(secured, password):
    """redis-py's AuthenticationError is a ConnectionError: retried with the default retries,
    it cost every backoff step (43 s) before the error. The store's and the Optuna journal's
    clients try once."""
    url = strip_password(secured.url)
    if password:
        url = url.replace("redis://", f"redis://:{password}@")
    before = _connections_received(secured)
    with pytest.raises(StoreUnavailable, match="password"):
        RedisStateStore(url).ping()  # the default retries
    with pytest.raises(redis.AuthenticationError):
        journal_client(url).ping()
    # one connection each, and the counting client's own
    assert _connections_received(secured) - before <= 3


def test_store_pickles_without_password_and_reconnects_from_env(secured, monkeypatch):
    store = RedisStateStore(secured.url)
    store.ping()
    blob = pickle.dumps(store)
    assert b"s3cret-Pw" not in blob
    assert "s3cret-Pw" not in repr(store)
    monkeypatch.setenv("SWEEP_REDIS_URL", secured.url)
    clone = pickle.loads(blob)
    clone.ping()
    clone.create_sweep("p", {}, "/r")
    assert store.get_sweep("p")["status"] == "pending"


def test_url_helpers(monkeypatch):
    url = "rediss://user:p%40ss@host:6380/2"
    assert redact(url) == "rediss://user:***@host:6380/2"
    assert strip_password(url) == "rediss://user@host:6380/2"
    monkeypatch.setenv("SWEEP_REDIS_PASSWORD", "pw")
    monkeypatch.delenv("SWEEP_REDIS_URL", raising=False)
    assert with_password("redis://host:1/0") == "redis://:pw@host:1/0"


def test_a_write_during_an_outage_retries_with_backoff_and_lands_once(tmp_path):
    """Redis goes away and comes back 1.5 s later: a write made meanwhile waits (retrying
    with exponential backoff) and lands once; an outage longer than the retries is a clear
    error after the backoff, not at the first refusal."""
    import time

    server = RedisServer(tmp_path).start()
    try:
        store = RedisStateStore(server.url)
        store.create_sweep("s", {}, "/runs")
        server.stop()
        threading.Timer(1.5, server.start).start()
        began = time.monotonic()
        store.write_trial("s", "a", {"trial_id": "a", "epochs": 1}, 0.5, "reported")
        assert time.monotonic() - began >= 1.5  # it waited for Redis instead of failing
        assert store.trials("s") == {"a": {"trial_id": "a", "epochs": 1}}
        assert [e["trial_id"] for e in store.events("s")] == ["a"]

        server.stop()
        short = RedisStateStore(server.url, retries=3)
        began = time.monotonic()
        with pytest.raises(StoreUnavailable, match="cannot reach Redis"):
            short.ping()
        assert time.monotonic() - began >= 0.2 + 0.4 + 0.8  # base 0.1 s, doubling
    finally:
        server.stop()


def test_a_patient_store_and_study_wait_out_an_outage_longer_than_the_retries(tmp_path):
    """The driver's clients (``patience_s``): Redis goes away for 6 s, twice the backoff of
    the counted retries (5: 0.2 + 0.4 + 0.8 + 1.6 s), then comes back. A write and a study
    read made during the outage wait and land; the pickled store keeps its patience."""
    import time

    import optuna

    from sweep.cluster._keys import Keys
    from sweep.cluster._optuna_journal import optuna_storage

    server = RedisServer(tmp_path).start()
    try:
        store = RedisStateStore(server.url, patience_s=60)
        store.create_sweep("s", {}, "/runs")
        study = optuna.create_study(
            study_name="s", storage=optuna_storage(server.url, "s", Keys(), patience_s=60)
        )
        study.tell(study.ask(), 0.5)
        assert pickle.loads(pickle.dumps(store)).patience_s == 60

        server.stop()
        threading.Timer(6, server.start).start()
        began = time.monotonic()
        store.write_trial("s", "a", {"trial_id": "a", "epochs": 1}, 0.5, "reported")
        assert time.monotonic() - began >= 6
        assert store.trials("s") == {"a": {"trial_id": "a", "epochs": 1}}

        server.stop()
        threading.Timer(6, server.start).start()
        began = time.monotonic()
        reread = optuna.load_study(
            study_name="s", storage=optuna_storage(server.url, "s", Keys(), patience_s=60)
        )
        assert time.monotonic() - began >= 6
        assert [t.value for t in reread.get_trials()] == [0.5]
    finally:
        server.stop()


def test_a_patient_store_gives_up_after_its_patience_with_the_way_out(tmp_path):
    """Past ``patience_s`` a call fails with ``RedisGone`` (a ConnectionError naming the
    wait, the setting and `sweep resume`), and later calls fail at once instead of waiting
    again; once Redis answers, the same store works again."""
    import time

    from sweep.cluster._redis_store import RedisGone

    server = RedisServer(tmp_path).start()
    try:
        store = RedisStateStore(server.url, patience_s=2)
        store.create_sweep("s", {}, "/runs")
        server.stop()
        began = time.monotonic()
        with pytest.raises(RedisGone, match=r"unreachable for \d+ s.*SWEEP_REDIS_PATIENCE_S"):
            store.get_sweep("s")
        assert 2 <= time.monotonic() - began < 2 + 10
        began = time.monotonic()
        with pytest.raises(RedisGone, match="sweep resume") as gone:
            store.trials("s")
        assert time.monotonic() - began < 1
        # the line a user reads names the sweep's resume command; it survives pickling (Ray)
        line = gone.value.stopped("s")
        assert line.startswith("sweep s stopped: Redis at ") and "`sweep resume s`" in line
        assert pickle.loads(pickle.dumps(gone.value)).stopped("s") == line
        server.start()
        assert store.get_sweep("s")["status"] == "pending"
    finally:
        server.stop()


def test_redis_patience_setting_is_checked(monkeypatch):
    from sweep.cluster._settings import BadSetting, redis_patience_s

    monkeypatch.delenv("SWEEP_REDIS_PATIENCE_S", raising=False)
    assert redis_patience_s() == 300
    monkeypatch.setenv("SWEEP_REDIS_PATIENCE_S", "45")
    assert redis_patience_s() == 45
    for bad in ("0", "-3", "soon", "inf", "nan"):
        monkeypatch.setenv("SWEEP_REDIS_PATIENCE_S", bad)
        with pytest.raises(BadSetting, match=f"SWEEP_REDIS_PATIENCE_S='{bad}'.*above 0"):
            redis_patience_s()


@pytest.mark.parametrize(
    "args", [["launch", "--trials", "1"], ["resume", "s"], ["extend", "s", "--trials", "1"]]
)
def test_a_bad_redis_patience_is_refused_before_anything_is_recorded(args, redis_url):
    from click.testing import CliRunner

    from sweep.cluster import main

    store = RedisStateStore(redis_url)
    store.create_sweep("s", {}, "/runs")
    store.move("s", "running")
    store.move("s", "failed")
    before = store.get_sweep("s")
    result = CliRunner().invoke(
        main, [*args, "--redis-url", redis_url], env={"SWEEP_REDIS_PATIENCE_S": "soon"}
    )
    assert result.exit_code == 2, result.output
    assert "SWEEP_REDIS_PATIENCE_S='soon' is not a number of seconds above 0" in result.output
    assert "Traceback" not in result.output
    assert [s["id"] for s in store.list_sweeps()] == ["s"] and store.get_sweep("s") == before


def test_trials_top_below_one_is_refused_with_exit_2(redis_url):
    from click.testing import CliRunner

    from sweep.cluster import main

    store = RedisStateStore(redis_url)
    store.create_sweep("t", {"mode": "max", "metric": "val_accuracy"}, "/runs")
    result = CliRunner().invoke(main, ["trials", "t", "--top", "0", "--redis-url", redis_url])
    assert result.exit_code == 2 and "--top" in result.output and "x>=1" in result.output
