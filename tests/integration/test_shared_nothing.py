"""Sweeps on a cluster of machines that share nothing but the network (tests/_netcluster.py),
started with ray-cluster.yaml's own commands: a head (Ray head, Redis; no trials) and three
one-CPU workers, each with its own disk, /tmp and process table, an S3-compatible store and a
web mirror of the IMDB archive on a machine of their own, and the user on this machine."""

from __future__ import annotations

import json
import subprocess
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from sweep.cluster._redis_store import RedisStateStore
from tests import _netcluster, _synthetic
from tests.integration._shared_nothing import AWS_ENV, SharedNothingCluster
from tests.integration.conftest import TINY_SPACE

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(_netcluster.available() is not None, reason=str(_netcluster.available())),
]

FINAL = ("succeeded", "failed", "cancelled")


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    # named as the official file: the name the project's .gitignore lists (an upload must
    # still reach the cluster)
    path = tmp_path_factory.mktemp("upload") / "aclImdb_v1.tar.gz"
    return _synthetic.write_archive(path, 150)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, archive):
    c = SharedNothingCluster(tmp_path_factory.mktemp("cluster"), archive, workers=3)
    yield c
    c.close()


@pytest.fixture
def store(cluster):
    return RedisStateStore(cluster.redis_url)


def spec_file(folder: Path, **overrides) -> str:
    """A tiny sweep without storage or data: the tests pass those as a user would."""
    spec = {
        "name": "nodes",
        "trials": 3,
        "concurrency": 3,
        "resources": {"cpus": 1, "gpus": 0},
        "asha": {"max_epochs": 2, "grace_period": 2, "reduction_factor": 2},
        "seed": 7,
        "train": {"early_stopping_patience": 0, "reduce_lr_patience": 0},
        "space": TINY_SPACE,
        **overrides,
    }
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return str(path)


def sweep_id_of(output: str) -> str:
    for word in output.split():
        if word.startswith("nodes-"):
            return word
    raise AssertionError(f"no sweep id in: {output[-2000:]}")


def wait_final(store, sweep_id: str, timeout: float = 420) -> dict:
    return _netcluster.wait_for(
        lambda: (r := store.get_sweep(sweep_id)) and r["status"] in FINAL and r,
        timeout,
        f"sweep {sweep_id} to end",
        interval=1,
    )


def reported(store, sweep_id: str, trial_id: str) -> list[dict]:
    """The trial's per-epoch reports in order, with the node each came from."""
    out = []
    for event in store.events(sweep_id, 100_000):
        if event["trial_id"] == trial_id and event["event"] in ("reported", "recovered"):
            data = json.loads(event["data"])
            node = data.get("node_id")
            out.append({"event": event["event"], "epoch": data["epochs"], "node": node})
    return out


def running_trial_on_a_worker(cluster, store, sweep_id: str, min_epoch: int):
    """(trial id, its worker node) once a trial on a worker has reported ``min_epoch``."""
    by_id = {}

    def find():
        nodes = {n.node_id: n.node_ip for n in cluster.alive_nodes()}
        workers = {w.ip: w for w in cluster.workers}
        for trial in store.trials(sweep_id).values():
            ip = nodes.get(trial.get("node_id"))
            if trial["status"] == "RUNNING" and ip in workers and trial["epochs"] >= min_epoch:
                by_id["hit"] = (trial["trial_id"], workers[ip], trial["node_id"])
                return True
        return False

    _netcluster.wait_for(find, 240, f"a trial on a worker at epoch {min_epoch}", interval=0.2)
    return by_id["hit"]


def assert_resumed_from_checkpoint(store, sweep_id, trial_id, lost_node_id):
    trial = store.trials(sweep_id)[trial_id]
    assert trial["status"] == "TERMINATED" and trial["recovered"] >= 1, trial
    history = reported(store, sweep_id, trial_id)
    first_recovery = next(i for i, r in enumerate(history) if r["event"] == "recovered")
    before = [r for r in history[:first_recovery] if r["event"] == "reported"]
    after = [r for r in history[first_recovery:] if r["event"] == "reported"]
    assert before and after, history
    # restored from the checkpoint of its last report, not from epoch 1
    assert before[-1]["epoch"] >= 2
    assert after[0]["epoch"] == before[-1]["epoch"] + 1, history
    assert {r["node"] for r in after} and lost_node_id not in {r["node"] for r in after}
    assert trial["epochs"] == 12


# -- what the cluster is -------------------------------------------------------------------


def test_nodes_share_nothing_but_the_network(cluster, archive):
    head, worker = cluster.head, cluster.workers[0]
    head.run("echo head-only > /tmp/marker")
    assert worker.run("cat /tmp/marker", check=False).returncode != 0
    assert worker.run(f"test -e {archive}", check=False).returncode != 0  # not this machine's
    assert head.run("hostname").stdout.strip() == "head"
    assert worker.run("ip -4 -o addr show eth0").stdout.split()[3].startswith(worker.ip + "/")
    # each machine has its own processes: the worker runs a raylet but no GCS
    assert worker.run("pgrep -x raylet", check=False).returncode == 0
    assert worker.run("pgrep -x gcs_server", check=False).returncode != 0
    nodes = cluster.alive_nodes()
    assert sorted(n.node_ip for n in nodes) == sorted([head.ip] + [w.ip for w in cluster.workers])
    assert [n.resources_total.get("CPU", 0) for n in nodes if n.is_head_node] == [0]


def test_a_node_local_storage_path_fails_here_as_on_a_real_cluster(cluster, tmp_path):
    """Plain Ray Tune, no sweep code: a storage path on the head fails at the first
    checkpoint a worker writes, with Ray's own message (the failure sweep now refuses)."""
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    (job_dir / "plain_tune.py").write_text(
        textwrap.dedent(
            """
            import os, sys, tempfile
            from ray import tune

            def trainable(config):
                with tempfile.TemporaryDirectory() as folder:
                    open(os.path.join(folder, "w"), "w").write("1")
                    tune.report({"score": 1}, checkpoint=tune.Checkpoint.from_directory(folder))

            grid = tune.Tuner(
                trainable, run_config=tune.RunConfig(storage_path="/tmp/results", name="plain")
            ).fit()
            errors = [str(r.error) for r in grid if r.error]
            print("TRIAL ERRORS:", errors)
            sys.exit(1 if errors else 0)
            """
        )
    )
    client, _ = cluster.jobs()
    job = client.submit_job(
        entrypoint="python plain_tune.py", runtime_env={"working_dir": str(job_dir)}
    )
    _netcluster.wait_for(lambda: client.get_job_status(job).is_terminal(), 180, "the Tune job")
    logs = client.get_job_logs(job)
    assert str(client.get_job_status(job)) in ("FAILED", "JobStatus.FAILED"), logs[-2000:]
    assert "A local path on the head node is not accessible by worker nodes" in logs


# -- refusals: exit 2, nothing recorded, nothing submitted ---------------------------------


def test_launch_refuses_node_local_storage_and_missing_data_before_submitting(
    cluster, store, archive, tmp_path
):
    spec = spec_file(tmp_path)
    _, jobs_before = cluster.jobs()
    default = cluster.sweep("launch", spec, "--address", cluster.address, "--data", str(archive))
    local = cluster.sweep(
        "launch", spec, "--address", cluster.address, "--data", str(archive),
        "--storage", "/srv/runs",
    )  # fmt: skip
    missing = cluster.sweep(
        "launch", spec, "--address", cluster.address, "--storage", cluster.s3_uri("runs"),
        "--data", str(tmp_path / "nowhere.tar.gz"),
    )  # fmt: skip
    for done, value in ((default, "~/sweep-runs"), (local, "/srv/runs")):
        assert done.returncode == 2, done.stdout + done.stderr
        message = done.stderr.strip().splitlines()[-1]
        assert f"storage '{value}'" in message and "4 node(s)" in message
        assert "--storage s3://" in message and "--shared-storage" in message
        assert "Traceback" not in done.stderr
    assert missing.returncode == 2 and "nowhere.tar.gz" in missing.stderr
    assert "does not exist on this machine" in missing.stderr
    assert store.list_sweeps() == []
    _, jobs_after = cluster.jobs()
    assert len(jobs_after) == len(jobs_before)


# -- sweeps on shared storage -------------------------------------------------------------


def test_a_sweep_on_object_storage_from_upload_to_exported_model(cluster, store, archive, tmp_path):
    spec = spec_file(tmp_path, trials=4)
    gcs_before = cluster.head.run("pgrep -x gcs_server").stdout.strip()
    launched = cluster.sweep(
        "launch", spec, "--address", cluster.address, "--no-follow",
        "--storage", cluster.s3_uri("runs"), "--data", str(archive),
    )  # fmt: skip
    assert launched.returncode == 0, launched.stdout + launched.stderr
    sweep_id = sweep_id_of(launched.stdout)
    # `ray up` again while the sweep runs: Ray and Redis are left alone
    _netcluster.wait_for(
        lambda: any(t["status"] == "RUNNING" for t in store.trials(sweep_id).values()),
        240,
        "a running trial",
    )
    cluster.run_head_start_commands()
    assert cluster.head.run("pgrep -x gcs_server").stdout.strip() == gcs_before
    record = wait_final(store, sweep_id)
    assert record["status"] == "succeeded", record.get("error")

    trials = store.trials(sweep_id).values()
    head_id = next(n.node_id for n in cluster.alive_nodes() if n.is_head_node)
    nodes = {t["node_id"] for t in trials}
    assert len(list(trials)) == 4 and len(nodes) >= 2 and head_id not in nodes
    keys = cluster.s3_keys(f"runs/{sweep_id}/")
    assert any("/checkpoint_" in k and k.endswith("model.weights.npz") for k in keys)
    assert f"runs/{sweep_id}/best/model.keras" in keys
    assert f"runs/{sweep_id}/inputs/aclImdb_v1.tar.gz" in keys  # kept for resumes
    assert record["artifact"].startswith(f"s3://sweeps/runs/{sweep_id}/best?")
    assert record["data_upload"]["stored"].startswith(f"s3://sweeps/runs/{sweep_id}/inputs/")

    out = tmp_path / "model"
    best = cluster.sweep("best", sweep_id, "--output", str(out))
    assert best.returncode == 0, best.stderr
    assert (out / "model.keras").is_file() and "copied and verified" in best.stdout
    predicted = cluster.sweep("predict", str(out), "great wonderful superb", "--json")
    assert predicted.returncode == 0, predicted.stderr
    assert json.loads(predicted.stdout)[0]["label"] == "positive"


def test_a_sweep_on_the_shared_folder_with_imdb_downloaded_on_the_head(cluster, store, tmp_path):
    spec = spec_file(tmp_path, trials=2, concurrency=2)
    done = cluster.sweep(
        "launch", spec, "--address", cluster.address, "--data", "imdb",
        "--storage", "/mnt/sweep/runs", "--shared-storage",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    sweep_id = sweep_id_of(done.stdout)
    on_share = cluster.net.shared / "runs" / sweep_id
    assert (on_share / "best" / "metadata.json").is_file()
    assert list(on_share.glob("*/checkpoint_*/model.weights.npz"))
    # downloaded once, on the head (where the driver runs), into the head's cache
    head_cache = cluster.head.disk / "home/.cache/sweep/downloads/aclImdb_v1.tar.gz"
    assert head_cache.is_file()
    # the user's machine does not mount the share: a clear refusal...
    refused = cluster.sweep("best", sweep_id, "--output", str(tmp_path / "m1"))
    assert refused.returncode == 2 and "mount that folder here" in refused.stderr
    # ...and with the share mounted at the same path, the copy is verified
    mounted = subprocess.run(
        [
            *("unshare", "--mount", "--propagation", "private", "--", "bash", "-c"),
            "mount -t tmpfs t /mnt && mkdir /mnt/sweep && "
            f"mount --bind {cluster.net.shared} /mnt/sweep && "
            f"exec python -m sweep.cluster best {sweep_id} --output {tmp_path / 'm2'}",
        ],
        env=cluster.client_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert mounted.returncode == 0, mounted.stderr
    assert (tmp_path / "m2" / "model.keras").is_file()


def test_a_folder_declared_shared_that_the_workers_lack_fails_before_any_trial(
    cluster, store, archive, tmp_path
):
    done = cluster.sweep(
        "launch", spec_file(tmp_path), "--address", cluster.address, "--data", str(archive),
        "--storage", "/tmp/runs", "--shared-storage",
    )  # fmt: skip
    assert done.returncode == 1, done.stdout[-2000:]
    sweep_id = sweep_id_of(done.stdout)
    record = store.get_sweep(sweep_id)
    assert record["status"] == "failed"
    assert "'/tmp/runs' is not reachable from every node" in record["error"]
    for worker in cluster.workers:
        assert f"worker {worker.ip}: does not see the file the driver wrote" in record["error"]
    assert store.trials(sweep_id) == {}


# -- faults a real cluster has ------------------------------------------------------------


def _start_sweep(cluster, tmp_path, archive, prefix: str, trials: int, epochs: int) -> str:
    """Submit a sweep of ``trials`` trials of ``epochs`` epochs (no early stopping) on S3,
    two at a time, and return at once."""
    spec = spec_file(
        tmp_path,
        trials=trials,
        concurrency=2,
        max_failures=2,
        asha={"max_epochs": epochs, "grace_period": epochs, "reduction_factor": 2},
    )
    launched = cluster.sweep(
        "launch", spec, "--address", cluster.address, "--no-follow",
        "--storage", cluster.s3_uri(prefix), "--data", str(archive),
    )  # fmt: skip
    assert launched.returncode == 0, launched.stdout + launched.stderr
    return sweep_id_of(launched.stdout)


def _fault_sweep(cluster, tmp_path, archive) -> str:
    return _start_sweep(cluster, tmp_path, archive, "faults", trials=2, epochs=12)


def test_a_worker_removed_mid_trial_resumes_its_trial_from_storage_on_another_node(
    cluster, store, archive, tmp_path, monkeypatch
):
    sweep_id = _fault_sweep(cluster, tmp_path, archive)
    trial_id, worker, node_id = running_trial_on_a_worker(cluster, store, sweep_id, 2)
    cluster.remove(worker)  # the machine is gone, its disk and /tmp with it
    record = wait_final(store, sweep_id)
    assert record["status"] == "succeeded", record.get("error")
    assert_resumed_from_checkpoint(store, sweep_id, trial_id, node_id)
    # Redis agrees with Ray Tune's own results, read from the bucket, on every trial
    from ray.tune import ExperimentAnalysis

    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    analysis = ExperimentAnalysis(record["experiment"])
    tune_epochs = {
        frame["trial_id"].iloc[0]: int(frame["training_iteration"].max())
        for frame in analysis.trial_dataframes.values()
        if len(frame)
    }
    trials = store.trials(sweep_id)
    assert len(tune_epochs) == 2 and {t: trials[t]["epochs"] for t in tune_epochs} == tune_epochs
    cluster.add_worker()  # as the autoscaler would, for the next tests
    cluster.wait_for_nodes(4)


def test_a_worker_cut_off_the_network_mid_trial_resumes_its_trial_on_another_node(
    cluster, store, archive, tmp_path
):
    sweep_id = _fault_sweep(cluster, tmp_path, archive)
    trial_id, worker, node_id = running_trial_on_a_worker(cluster, store, sweep_id, 2)
    worker.cut_link()
    # long enough for the head to declare the node dead (3 missed 1 s health checks)
    _netcluster.wait_for(
        lambda: worker.ip not in {n.node_ip for n in cluster.alive_nodes()},
        60,
        "the head to declare the cut-off worker dead",
    )
    worker.restore_link()
    record = wait_final(store, sweep_id)
    assert record["status"] == "succeeded", record.get("error")
    assert_resumed_from_checkpoint(store, sweep_id, trial_id, node_id)
    # the node came back to a head that had buried it: it is not counted again
    time.sleep(3)
    assert worker.ip not in {n.node_ip for n in cluster.alive_nodes()}
    cluster.remove(worker)
    cluster.add_worker()
    cluster.wait_for_nodes(4)


def test_a_killed_driver_is_resumed_on_the_cluster_without_repeating_finished_trials(
    cluster, store, archive, tmp_path
):
    sweep_id = _start_sweep(cluster, tmp_path, archive, "resume", trials=4, epochs=6)

    def one_done_one_running():
        trials = store.trials(sweep_id).values()
        statuses = [t["status"] for t in trials]
        return "TERMINATED" in statuses and "RUNNING" in statuses and list(trials)

    finished_before = {
        t["trial_id"]: t["finished_at"]
        for t in _netcluster.wait_for(one_done_one_running, 300, "one trial done, one running")
        if t["status"] == "TERMINATED"
    }
    cluster.head.run(f"pkill -9 -f 'cluster.job run {sweep_id}'")
    client, _ = cluster.jobs()
    job = store.get_sweep(sweep_id)["ray_job_id"]
    _netcluster.wait_for(lambda: client.get_job_status(job).is_terminal(), 60, "the job to end")
    assert store.get_sweep(sweep_id)["status"] == "running"  # the driver died mid-sweep

    resumed = cluster.sweep("resume", sweep_id, "--address", cluster.address, "-q")
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    record = store.get_sweep(sweep_id)
    assert record["status"] == "succeeded" and int(record["resumes"]) == 1
    trials = store.trials(sweep_id)
    assert sum(t["status"] == "TERMINATED" for t in trials.values()) == 4, trials
    for trial_id, finished_at in finished_before.items():
        assert trials[trial_id]["finished_at"] == finished_at  # not run again
    # the resumed driver read the data from the sweep's storage, not from an upload
    assert record["data_upload"]["stored"].startswith("s3://")


# -- Redis on the head, as a service ------------------------------------------------------


def test_redis_restarts_when_killed_and_its_data_outlives_the_head(cluster, store):
    sweeps = {s["id"] for s in store.list_sweeps()}
    assert sweeps
    before = cluster.head.run("pgrep -x redis-server").stdout.strip()
    cluster.head.run("pkill -9 -x redis-server")
    _netcluster.wait_for(
        lambda: (
            cluster.head.run("pgrep -x redis-server", check=False).stdout.strip()
            not in ("", before)
        ),
        30,
        "the supervisor to restart redis-server",
    )
    listed = cluster.sweep("list", "--json")
    assert listed.returncode == 0 and {s["id"] for s in json.loads(listed.stdout)} == sweeps
    # `ray down` then `ray up`: every machine goes, a new head with a new disk mounts the
    # same shared volume and its Redis reads the append-only file left there
    for node in [cluster.head, *cluster.workers]:
        cluster.remove(node)
    cluster.start_head("head2")
    listed = cluster.sweep("list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert {s["id"] for s in json.loads(listed.stdout)} == sweeps
