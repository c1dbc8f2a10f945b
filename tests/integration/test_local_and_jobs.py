"""`sweep local up|down|status` and a sweep submitted as a Ray job to that head."""

from __future__ import annotations

import json
import os
import stat
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from sweep.cluster import main
from sweep.model import WEIGHT_GRID
from tests.conftest import SWEEP, _free_port
from tests.integration.conftest import TINY_SPACE, write_spec

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def local_head(tmp_path_factory):
    state = tmp_path_factory.mktemp("state")
    os.environ["SWEEP_STATE_DIR"] = str(state)
    ports = {"redis": _free_port(), "ray": _free_port(), "dashboard": _free_port()}
    result = CliRunner().invoke(
        main,
        [
            "local",
            "up",
            "--redis-port",
            str(ports["redis"]),
            "--ray-port",
            str(ports["ray"]),
            "--dashboard-port",
            str(ports["dashboard"]),
            "--num-cpus",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    yield state, ports, result.output
    CliRunner().invoke(main, ["local", "down"])
    os.environ.pop("SWEEP_STATE_DIR", None)
    os.environ.pop("RAY_AUTH_MODE", None)


def test_local_up_binds_loopback_with_a_private_password(local_head):
    state, ports, output = local_head
    info = json.loads((state / "local.json").read_text())
    password = (state / "redis.password").read_text().strip()
    assert password not in output and "***" in output
    for name in ("local.json", "redis.password", "redis.conf"):
        assert stat.S_IMODE((state / name).stat().st_mode) == 0o600
    client = redis.Redis.from_url(info["redis_url"], decode_responses=True)
    assert client.config_get("bind")["bind"] == "127.0.0.1"
    assert client.config_get("appendonly")["appendonly"] == "yes"
    assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=ports["redis"]).ping()
    status = CliRunner().invoke(main, ["local", "status", "--json"])
    assert json.loads(status.output)["redis"].startswith("up")
    assert json.loads(status.output)["ray"].startswith("up")


def _listeners() -> set[tuple[str, int]]:
    """(address, port) of every listening TCP socket, read from /proc/net/tcp{,6}."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state != "0A":  # LISTEN
                continue
            addr_hex, port_hex = local.split(":")
            if len(addr_hex) == 8:
                addr = ".".join(str(int(addr_hex[i : i + 2], 16)) for i in (6, 4, 2, 0))
            else:
                addr = "::" if set(addr_hex) == {"0"} else addr_hex
            found.add((addr, int(port_hex, 16)))
    return found


def test_redis_and_dashboard_listen_on_loopback_only(local_head):
    _, ports, _ = local_head
    listening = _listeners()
    for port in (ports["redis"], ports["dashboard"]):
        addresses = {a for a, p in listening if p == port}
        assert addresses == {"127.0.0.1"}, (port, addresses)


def test_unauthenticated_job_submission_is_refused(local_head):
    _, ports, _ = local_head
    request = urllib.request.Request(
        f"http://127.0.0.1:{ports['dashboard']}/api/jobs/",
        method="POST",
        data=json.dumps({"entrypoint": "echo pwned"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    assert info.value.code == 401


def test_sweep_submitted_as_a_ray_job_succeeds(local_head, sweep_archive, tmp_path):
    _, ports, _ = local_head
    spec = write_spec(
        tmp_path,
        sweep_archive,
        trials=3,
        concurrency=2,
        asha={"max_epochs": 2, "grace_period": 1, "reduction_factor": 2},
        space={**TINY_SPACE, "ngram_buckets": [64], "ngram_dim": [4]},  # the n-gram branch
    )
    address = f"http://127.0.0.1:{ports['dashboard']}"
    result = CliRunner().invoke(main, ["launch", spec, "--address", address, "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)  # --json: stdout is the record alone
    assert record["status"] == "succeeded" and record["ray_job_id"].startswith("raysubmit_")
    out = tmp_path / "model"
    best = CliRunner().invoke(main, ["best", record["id"], "--output", str(out)])
    assert best.exit_code == 0, best.output
    assert (out / "model.keras").is_file()
    meta = json.loads((out / "metadata.json").read_text())
    exported = meta["model_config"]
    assert exported["ngram_buckets"] == 64 and exported["ngram_dim"] == 4
    # each trial fitted its branch weight on validation; the winner's best epoch's is exported
    blend = meta["branch_weight"]
    assert blend["lstm"] in WEIGHT_GRID and blend["fitted_by"] == "val_accuracy"
    assert blend["fitted_with"] == f"trial {meta['trial_id']}, epoch {meta['epochs']}"
    # Ray logs runtime environments: the Redis password must not be in the job's
    password = (local_head[0] / "redis.password").read_text().strip()
    leaks = [
        str(p)
        for p in Path("/tmp/ray").glob("session_*/logs/*")
        if p.is_file() and password.encode() in p.read_bytes()
    ]
    assert leaks == []


def test_unreachable_ray_is_refused_before_anything_is_recorded(
    local_head, sweep_archive, tmp_path
):
    spec = write_spec(tmp_path, sweep_archive)
    before = json.loads(CliRunner().invoke(main, ["list", "--json"]).output)
    address = f"http://127.0.0.1:{_free_port()}"
    result = CliRunner().invoke(main, ["launch", spec, "--address", address])
    assert result.exit_code == 2
    assert f"cannot list the nodes of the Ray cluster at {address}" in result.output
    assert "Traceback" not in result.output
    assert json.loads(CliRunner().invoke(main, ["list", "--json"]).output) == before


def _jobs(local_head) -> list:
    from ray.job_submission import JobSubmissionClient

    from sweep.cluster._ray import _auth_headers

    address = f"http://127.0.0.1:{local_head[1]['dashboard']}"
    return JobSubmissionClient(address, headers=_auth_headers(address)).list_jobs()


def test_wrong_password_or_unreachable_redis_is_one_line_exit_2_and_submits_nothing(
    local_head, sweep_archive, tmp_path
):
    """Run as users run it (the installed command, a live job API): nothing reaches Ray."""
    import subprocess

    state = json.loads((local_head[0] / "local.json").read_text())
    password = (local_head[0] / "redis.password").read_text().strip()
    spec = write_spec(tmp_path, sweep_archive)
    jobs_before = len(_jobs(local_head))
    sweeps_before = redis.Redis.from_url(state["redis_url"]).zcard("sweep:index")
    address = f"http://127.0.0.1:{local_head[1]['dashboard']}"
    for url, message in (
        (state["redis_url"].replace(password, "guess"), "refused the credentials"),
        ("redis://127.0.0.1:9/0", "cannot reach Redis at redis://127.0.0.1:9/0"),
    ):
        done = subprocess.run(
            [
                *SWEEP,
                "launch",
                spec,
                *("--redis-url", url, "--address", address),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2, done.stderr
        assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert done.stderr.startswith("Error: ") and message in done.stderr, done.stderr
        assert "guess" not in done.stderr and password not in done.stderr
    assert len(_jobs(local_head)) == jobs_before
    assert redis.Redis.from_url(state["redis_url"]).zcard("sweep:index") == sweeps_before


@pytest.mark.parametrize("follower", ["launch", "status --watch"])
def test_a_job_that_dies_early_marks_the_sweep_failed(
    local_head, sweep_archive, tmp_path, monkeypatch, follower
):
    """The job's driver cannot find the Redis password: whoever follows the sweep (launch, or
    status --watch after launch --no-follow) notices the job ended, records why, exits 1."""
    _, ports, _ = local_head
    state = json.loads((local_head[0] / "local.json").read_text())
    monkeypatch.setenv("SWEEP_STATE_DIR", str(tmp_path / "elsewhere"))  # job looks elsewhere
    spec = write_spec(tmp_path, sweep_archive, trials=2)
    address = f"http://127.0.0.1:{ports['dashboard']}"
    store_args = ["--redis-url", state["redis_url"]]
    launch = ["launch", spec, *store_args, "--address", address]
    if follower == "launch":
        result = CliRunner().invoke(main, launch)
        sweep_id = json.loads(CliRunner().invoke(main, ["list", "--json", *store_args]).output)[0][
            "id"
        ]
    else:
        submitted = CliRunner().invoke(main, [*launch, "--no-follow", "--json"])
        assert submitted.exit_code == 0, submitted.output
        sweep_id = json.loads(submitted.output[submitted.output.index("{") :])["id"]
        result = CliRunner().invoke(main, ["status", sweep_id, "--watch", *store_args])
    assert result.exit_code == 1, result.output
    assert "ended failed" in result.output or "sweep ended failed" in result.output
    record = json.loads(
        CliRunner().invoke(main, ["status", sweep_id, *store_args, "--json"]).output
    )
    assert record["status"] == "failed"
    assert "ended FAILED before the sweep finished" in record["error"]
    assert "needs a password" in record["error"]
