"""A whole tiny sweep: Ray Tune + OptunaSearch + ASHA, state in Redis, export, predict."""

from __future__ import annotations

import json

import optuna
import pytest
from click.testing import CliRunner

from sweep.cluster import main
from sweep.cluster._keys import Keys
from tests.integration.conftest import TINY_SPACE, write_spec

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def finished_sweep(ray_2_cpus, redis_server, sweep_archive, tmp_path_factory):
    import redis

    redis.Redis.from_url(redis_server.url).flushdb()
    folder = tmp_path_factory.mktemp("sweep")
    spec = write_spec(folder, sweep_archive)
    result = CliRunner().invoke(
        main, ["launch", spec, "--pretrain-embeddings", "--redis-url", redis_server.url, "--json"]
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)  # --json: stdout is the record alone
    return record, folder, redis_server.url


def _run(*args):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_sweep_succeeds_with_every_trial_in_redis(finished_sweep):
    record, _, url = finished_sweep
    assert record["status"] == "succeeded"
    assert [h["status"] for h in record["history"]] == [
        "pending",
        "running",
        "retraining",
        "exporting",
        "succeeded",
    ]
    trials = json.loads(_run("trials", record["id"], "--redis-url", url, "--json"))
    assert len(trials) == 6
    assert all(t["status"] == "TERMINATED" for t in trials)
    assert all(1 <= t["epochs"] <= 3 for t in trials)


def test_asha_stopped_at_least_one_trial_early(finished_sweep):
    record, _, url = finished_sweep
    trials = json.loads(_run("trials", record["id"], "--redis-url", url, "--json"))
    early = [t for t in trials if t["stopped_early"]]
    assert early and all(t["epochs"] < 3 for t in early)
    assert any(t["epochs"] == 3 for t in trials)


def test_leaderboard_matches_ray_tunes_own_results(finished_sweep):
    from ray.tune import ExperimentAnalysis

    record, folder, url = finished_sweep
    analysis = ExperimentAnalysis(str(folder / "runs" / record["id"]))
    tune_best = {}
    for frame in analysis.trial_dataframes.values():
        tune_best[frame["trial_id"].iloc[0]] = float(frame["val_accuracy"].max())
    trials = json.loads(_run("trials", record["id"], "--redis-url", url, "--json"))
    assert {t["trial_id"]: t["best"] for t in trials} == pytest.approx(tune_best)
    # leaderboard order = best first
    assert [t["best"] for t in trials] == sorted(tune_best.values(), reverse=True)
    assert record["best_metric"] == pytest.approx(max(tune_best.values()))


def test_optuna_study_in_redis_holds_the_same_trials(finished_sweep):
    from sweep.cluster._optuna_journal import optuna_storage

    record, _, url = finished_sweep
    study = optuna.load_study(
        study_name=record["id"], storage=optuna_storage(url, record["id"], Keys())
    )
    trials = json.loads(_run("trials", record["id"], "--redis-url", url, "--json"))
    assert len(study.trials) == len(trials) == 6
    # Optuna records the sampled parameters; fixed one-value choices are not sampled
    sampled = sorted(json.dumps(t.params, sort_keys=True) for t in study.trials)
    fixed = {k for k, v in TINY_SPACE.items() if isinstance(v, list) and len(v) == 1}
    ray_side = sorted(
        json.dumps({k: v for k, v in t["config"].items() if k not in fixed}, sort_keys=True)
        for t in trials
    )
    assert sampled == ray_side
    # fidelity-aware feedback: trials ASHA stopped early are PRUNED with their per-epoch
    # values as intermediate values; trials trained to max_epochs are COMPLETE
    by_params = {
        json.dumps({k: v for k, v in t["config"].items() if k not in fixed}, sort_keys=True): t
        for t in trials
    }
    for ot in study.trials:
        rec = by_params[json.dumps(ot.params, sort_keys=True)]
        expected = (
            optuna.trial.TrialState.PRUNED
            if rec["stopped_early"]
            else optuna.trial.TrialState.COMPLETE
        )
        assert ot.state == expected
        reported = [ot.intermediate_values[e] for e in sorted(ot.intermediate_values)]
        if rec["stopped_early"]:  # every epoch it trained, including the one ASHA stopped on
            assert reported == pytest.approx(rec["history"])
        else:  # Ray tells the last epoch as the COMPLETE value
            assert [*reported, ot.value] == pytest.approx(rec["history"])
    assert any(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)


def test_events_stream_records_every_trial(finished_sweep):
    from sweep.cluster._redis_store import RedisStateStore

    record, _, url = finished_sweep
    events = RedisStateStore(url).events(record["id"], count=10_000)
    kinds = {e["event"] for e in events}
    assert {"started", "reported"} <= kinds and kinds & {"completed", "stopped_early"}
    assert len({e["trial_id"] for e in events if e["event"] == "started"}) == 6


def test_best_output_and_predict(finished_sweep, tmp_path):
    record, _, url = finished_sweep
    out = tmp_path / "winner"
    _run("best", record["id"], "--redis-url", url, "--output", str(out))
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["sweep_id"] == record["id"] and meta["trial_id"] == record["best_trial"]
    assert meta["retrained_on"] == "train+validation"
    assert meta["test"]["accuracy"] > 0.7
    # trials and the retrain started from embeddings pre-trained on train + unlabelled reviews
    assert meta["spec"]["data"]["pretrain_embeddings"] is True
    assert meta["data"]["embeddings_pretrained_on"] == 240 + 100
    got = json.loads(
        _run(
            "predict",
            str(out),
            "--json",
            "superb wonderful brilliant loved",
            "awful boring terrible waste",
        )
    )
    assert [g["label"] for g in got] == ["positive", "negative"]


def test_best_and_resume_refuse_unknown_or_unfinished(finished_sweep):
    _, _, url = finished_sweep
    runner = CliRunner()
    result = runner.invoke(main, ["best", "nope", "--redis-url", url])
    assert result.exit_code == 2 and "no sweep 'nope'" in result.output
    from sweep.cluster._redis_store import RedisStateStore

    RedisStateStore(url).create_sweep("unfinished", {"mode": "max"}, "/x")
    result = runner.invoke(main, ["best", "unfinished", "--redis-url", url])
    assert result.exit_code == 2 and "no exported model yet" in result.output
    result = runner.invoke(main, ["resume", "unfinished", "--redis-url", url])
    assert result.exit_code == 2 and "pending" in result.output


def test_status_and_list_show_the_sweep(finished_sweep):
    record, _, url = finished_sweep
    assert record["id"] in _run("list", "--redis-url", url)
    status = _run("status", record["id"], "--redis-url", url)
    assert "succeeded" in status and "6 done" in status and "TensorBoard" in status


def test_sweep_report_shows_the_search_and_the_compute_saved(finished_sweep, tmp_path):
    from tests._browser import assert_png, images_loaded

    record, _, url = finished_sweep
    result = CliRunner().invoke(
        main, ["report", record["id"], "--redis-url", url, "-o", str(tmp_path / "r"), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output[result.output.index("{") :])
    compute = summary["compute"]
    assert compute["trials"] == 6 and compute["stopped_early"] >= 1
    assert compute["trial_epochs"] < compute["trial_epochs_without_asha"] == 18
    assert 0 < compute["train_seconds"] < compute["train_seconds_without_asha"]
    for name in ("optimization_history.png", "parallel_coordinate.png", "asha_epochs.png"):
        assert_png(tmp_path / "r" / name)
    # every trial counts: the history holds all 6, stopped ones included; compared at the
    # first rung (epoch 1), 6 trials are too few for importances, which are withheld
    figures = summary["figures"]
    assert figures["optimization_history"]["trials"] == 6
    assert figures["parallel_coordinate"] == {"trials": 6, "epoch": 1}
    assert "withheld: 6 trials reached epoch 1" in figures["param_importances"]["withheld"]
    assert not (tmp_path / "r" / "param_importances.png").exists()
    assert "withheld: 6 trials reached epoch 1" in (tmp_path / "r" / "report.html").read_text()
    loaded, total = images_loaded(tmp_path / "r" / "report.html")
    assert loaded == total == 3


def test_winner_export_has_its_evaluation_report(finished_sweep):
    from tests._browser import images_loaded

    record, _, _ = finished_sweep
    report = __import__("pathlib").Path(record["artifact"]) / "report"
    meta = json.loads((report.parent / "metadata.json").read_text())
    assert "report/errors.csv" in meta["files"]
    assert images_loaded(report / "report.html") == (3, 3)


def test_trials_write_tensorboard_logs(finished_sweep):
    record, folder, _ = finished_sweep
    events = list((folder / "runs" / record["id"]).glob("*/events.out.tfevents.*"))
    assert len(events) == 6


def test_optuna_dashboard_serves_the_study(finished_sweep):
    import subprocess
    import time
    import urllib.request

    record, _, url = finished_sweep
    from tests.conftest import SWEEP, _free_port

    port = _free_port()
    proc = subprocess.Popen(
        [
            *SWEEP,
            "dashboard",
            record["id"],
            "--redis-url",
            url,
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        body = None
        for _ in range(120):
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/studies", timeout=2
                ) as resp:
                    body = json.loads(resp.read())
                    break
            except OSError:
                time.sleep(0.5)
        assert body is not None, "optuna-dashboard did not answer"
        names = [s["study_name"] for s in body["study_summaries"]]
        assert names == [record["id"]]
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize(
    ("extra", "spec_yaml", "message"),
    [
        ([], "trials: 2\nspace: {units: []}\n", "spec.space.units: empty list"),
        ([], "trails: 2\n", "did you mean 'trials'"),
        ([], "trials: two\n", "spec.trials: expected an integer"),
        (["--gpus", "1"], "trials: 2\n", "resources.gpus=1.0 but the cluster has 0 GPUs"),
        (["--cpus", "64"], "trials: 2\n", "resources.cpus=64.0 but the cluster has 2 CPUs"),
    ],
)
def test_bad_specs_exit_2_and_record_nothing(finished_sweep, tmp_path, extra, spec_yaml, message):
    _, _, url = finished_sweep
    from sweep.cluster._redis_store import RedisStateStore

    before = len(RedisStateStore(url).list_sweeps())
    spec = tmp_path / "bad.yaml"
    spec.write_text(spec_yaml + f"storage: {tmp_path / 'runs'}\n")
    result = CliRunner().invoke(main, ["launch", str(spec), "--redis-url", url, *extra])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len(RedisStateStore(url).list_sweeps()) == before
    assert not (tmp_path / "runs").exists()
