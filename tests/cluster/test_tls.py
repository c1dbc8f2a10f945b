"""The state store and the Optuna journal over TLS (rediss://) with a password."""

from __future__ import annotations

import pickle
import shutil
import subprocess
import time

import optuna
import pytest
import redis

from sweep.cluster._keys import Keys
from sweep.cluster._optuna_journal import optuna_storage
from sweep.cluster._redis_store import RedisStateStore
from sweep.cluster._settings import redact
from tests.conftest import _free_port

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


@pytest.fixture(scope="module")
def tls_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    port = _free_port()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            "0",
            "--tls-port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--tls-cert-file",
            str(cert),
            "--tls-key-file",
            str(key),
            "--tls-ca-cert-file",
            str(cert),
            "--tls-auth-clients",
            "no",
            "--requirepass",
            "tls-Secret",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"rediss://:tls-Secret@127.0.0.1:{port}/0?ssl_ca_certs={cert}&ssl_cert_reqs=required"
    for _ in range(100):
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(10)


def test_store_and_journal_work_over_tls(tls_url):
    store = RedisStateStore(tls_url)
    store.ping()
    store.create_sweep("t", {"mode": "max"}, "/r")
    store.move("t", "running")
    store.write_trial("t", "a", {"trial_id": "a"}, 0.5, "reported")
    assert store.get_sweep("t")["status"] == "running" and store.trials("t")["a"]
    study = optuna.create_study(study_name="t", storage=optuna_storage(tls_url, "t", Keys()))
    study.optimize(lambda tr: tr.suggest_float("x", 0, 1), n_trials=2)
    again = optuna.load_study(study_name="t", storage=optuna_storage(tls_url, "t", Keys()))
    assert len(again.trials) == 2
    assert "tls-Secret" not in redact(tls_url) and redact(tls_url).startswith("rediss://:***@")
    assert b"tls-Secret" not in pickle.dumps(store)
    assert b"tls-Secret" not in pickle.dumps(optuna_storage(tls_url, "t", Keys())._backend)


def test_plain_connection_to_a_tls_port_is_a_clear_error(tls_url):
    from sweep.cluster._store import StoreUnavailable

    plain = tls_url.replace("rediss://", "redis://").split("?")[0]
    with pytest.raises(StoreUnavailable, match="cannot reach Redis at redis://:\\*\\*\\*@"):
        RedisStateStore(plain, retries=1).ping()
