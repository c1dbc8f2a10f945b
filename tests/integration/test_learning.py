"""A search that learns from everything it ran: two objectives with a Pareto front and a
pick, extending an ended sweep, warm-starting a new one (real Redis, real Ray)."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from click.testing import CliRunner

from sweep.cluster import main
from sweep.cluster._keys import Keys
from sweep.cluster._optuna_journal import optuna_storage
from sweep.cluster._redis_store import RedisStateStore
from sweep.search._searcher import DUPLICATE_ATTR
from tests.integration.conftest import TINY_SPACE, write_spec

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _json(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout[result.stdout.index("{") :])


def _study(url, sweep_id):
    return optuna.load_study(study_name=sweep_id, storage=optuna_storage(url, sweep_id, Keys()))


def _real_trials(study):
    return [t for t in study.trials if DUPLICATE_ATTR not in t.system_attrs]


@pytest.fixture(scope="module")
def sweep(ray_2_cpus, redis_server, sweep_archive, tmp_path_factory):
    """A tiny sweep with two objectives: validation accuracy and parameter count."""
    folder = tmp_path_factory.mktemp("learning")
    spec = write_spec(folder, sweep_archive, name="two-obj", trials=4, cost="params")
    record = _json("launch", spec, "--redis-url", redis_server.url, "--json")
    assert record["status"] == "succeeded"
    return record, folder, redis_server.url


def test_two_objectives_study_and_its_pareto_front(sweep):
    record, _, url = sweep
    store = RedisStateStore(url)
    trials = store.trials(record["id"])
    assert len(trials) == 4
    assert all(
        t["metrics"]["params"] > 0 and t["metrics"]["latency_ms"] > 0 for t in trials.values()
    )
    study = _study(url, record["id"])
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    by_params = {t["metrics"]["params"]: t for t in trials.values()}
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert complete, "at least one trial trained to max_epochs"
    for ot in complete:  # Optuna holds (last accuracy, parameter count) of each
        assert ot.values[1] == pytest.approx(float(int(ot.values[1])))
        assert int(ot.values[1]) in by_params
    stopped = sum(t["stopped_early"] for t in trials.values())
    assert stopped == sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
    # the front: nothing in the sweep beats a front member on both accuracy and size
    front = record["pareto"]
    assert front and [r["params"] for r in front] == sorted(r["params"] for r in front)
    for member in front:
        for t in trials.values():
            assert not (
                t["best"] > member["val_accuracy"] and t["metrics"]["params"] < member["params"]
            )
    shown = _json("best", record["id"], "--redis-url", url, "--json", "--pareto")
    assert shown["pareto"] == front


def test_pick_smallest_within_exports_that_trial(sweep, tmp_path):
    record, _, url = sweep
    trials = RedisStateStore(url).trials(record["id"])
    best = max(t["best"] for t in trials.values())
    for points in (0.5, 100):
        near = [t for t in trials.values() if t["best"] >= best - points / 100]
        expected = min(near, key=lambda t: (t["metrics"]["params"], -t["best"], t["trial_id"]))
        out = tmp_path / f"pick-{points}"
        got = _json(
            "best", record["id"], "--redis-url", url, "--json",
            "--pick", "smallest-within", points, "--output", out,
        )  # fmt: skip
        assert got["pick"]["trial_id"] == expected["trial_id"]
        meta = json.loads((out / "metadata.json").read_text())
        assert meta["trial_id"] == expected["trial_id"]
        assert meta["epochs"] == expected["best_epoch"]
        if expected["trial_id"] != record["best_trial"]:
            # exported once per trial: a later pick of the same trial reuses that export
            assert meta["pick"] in {f"smallest-within {p:g} by params" for p in (0.5, points)}
            assert "/picks/" in got["pick"]["artifact"]
    picks = RedisStateStore(url).get_sweep(record["id"])["picks"]
    assert expected["trial_id"] in picks or expected["trial_id"] == record["best_trial"]


def test_extend_runs_more_trials_on_the_same_study(sweep):
    record, folder, url = sweep
    store = RedisStateStore(url)
    before = store.trials(record["id"])
    n_study = len(_real_trials(_study(url, record["id"])))
    extended = _json("extend", record["id"], "--trials", 2, "--redis-url", url, "--json", "-q")
    assert extended["status"] == "succeeded"
    after = store.trials(record["id"])
    assert len(after) == 6 and set(before) < set(after)
    assert {k: after[k] for k in before} == before  # finished trials were not re-run
    assert [r["name"] for r in extended["runs"]] == [record["id"], f"{record['id']}.ext1"]
    new_run = folder / "runs" / f"{record['id']}.ext1"
    assert len([p for p in new_run.iterdir() if p.is_dir() and "lstm_trial" in p.name]) == 2
    study = _study(url, record["id"])
    assert len(_real_trials(study)) == n_study + 2 == 6
    top = max(after.values(), key=lambda t: t["best"])
    assert extended["best_metric"] == pytest.approx(top["best"])
    meta = json.loads((Path(extended["artifact"]) / "metadata.json").read_text())
    assert meta["trial_id"] == extended["best_trial"]
    assert any(h.get("extended_from") == "succeeded" for h in extended["history"])


def test_extend_refuses_unknown_or_unended_sweeps(sweep):
    _, _, url = sweep
    RedisStateStore(url).create_sweep("still-pending", {"mode": "max", "trials": 1}, "/x")
    runner = CliRunner()
    result = runner.invoke(main, ["extend", "still-pending", "--trials", "2", "--redis-url", url])
    assert result.exit_code == 2 and "only ended sweeps" in result.output
    result = runner.invoke(main, ["extend", "nope", "--trials", "2", "--redis-url", url])
    assert result.exit_code == 2 and "no sweep 'nope'" in result.output
    result = runner.invoke(main, ["extend", "nope", "--trials", "0", "--redis-url", url])
    assert result.exit_code == 2


def test_warm_start_enqueues_the_best_configs_that_still_fit(sweep, sweep_archive, tmp_path):
    source, _, url = sweep
    store = RedisStateStore(url)
    # a sweep on other data: its configurations must not be used
    store.create_sweep("other-data", {"mode": "max"}, "/x")
    store.set_fields("other-data", data_fingerprint="0" * 64)
    store.write_trial("other-data", "t0", {"trial_id": "t0", "config": {"units": 4}}, 0.9, "x")
    space = {**TINY_SPACE, "units": [8, 16], "architecture": ["lstm", "conv_lstm", "bilstm"]}
    spec = write_spec(tmp_path, sweep_archive, name="warm", trials=3, space=space, cost="params")
    record = _json(
        "launch", spec, "--redis-url", url, "--json", "--warm-start", f"{source['id']},other-data"
    )
    assert record["status"] == "succeeded"
    report = record["warm_start"]
    top = [t for t, _ in store.leaderboard(source["id"], "max", 3)]
    source_trials = store.trials(source["id"])
    assert report["enqueued"] == [f"{source['id']}/{t}" for t in top][: len(report["enqueued"])]
    assert any("skipped 1 configuration(s) tuned on other data" in n for n in report["notes"])
    dropped_units = [t for t in top if source_trials[t]["config"]["units"] == 4]
    for t in dropped_units:
        assert any(
            f"{source['id']}/{t}: dropped units (units 4 is not among" in n for n in report["notes"]
        )
    study = _study(url, record["id"])
    warm = sorted(
        (t for t in study.trials if "warm_start_from" in t.user_attrs), key=lambda t: t.number
    )
    assert [t.user_attrs["warm_start_from"] for t in warm] == report["enqueued"][: len(warm)]
    assert len(warm) == min(3, len(report["enqueued"]))
    for ot in warm:
        cfg = source_trials[ot.user_attrs["warm_start_from"].split("/")[1]]["config"]
        for name, value in ot.params.items():
            if name != "units" or cfg["units"] != 4:
                assert value == cfg[name] or name not in cfg
        assert ot.params["units"] in (8, 16)


def test_warm_start_from_an_unknown_sweep_records_nothing(sweep, sweep_archive, tmp_path):
    _, _, url = sweep
    before = len(RedisStateStore(url).list_sweeps(1000))
    spec = write_spec(tmp_path, sweep_archive, trials=1)
    result = CliRunner().invoke(
        main, ["launch", spec, "--redis-url", url, "--warm-start", "does-not-exist"]
    )
    assert result.exit_code == 2 and "no sweep 'does-not-exist'" in result.output
    assert len(RedisStateStore(url).list_sweeps(1000)) == before


def test_two_objective_report_draws_the_pareto_front(sweep, tmp_path):
    from tests._browser import assert_png

    record, _, url = sweep
    result = CliRunner().invoke(
        main, ["report", record["id"], "--redis-url", url, "-o", str(tmp_path / "r"), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert_png(tmp_path / "r" / "pareto_front.png")
    assert_png(tmp_path / "r" / "optimization_history.png")
    status = CliRunner().invoke(main, ["status", record["id"], "--redis-url", url])
    assert f"{record['id']}.ext1 (2 trials)" in status.output  # after the extension above
