"""A K-class sweep end to end: a 3-class JSON Lines table, Ray Tune + OptunaSearch + ASHA on
macro-F1 over a space that also searches stop words and lemmas, state in real Redis, the
winner retrained, exported, evaluated and predicting."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from sweep.cluster import main
from tests import _synthetic
from tests.integration.conftest import TINY_SPACE, write_spec

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOPICS = ["billing", "bug", "feature"]


@pytest.fixture(scope="module")
def three_class_sweep(ray_2_cpus, redis_server, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ksweep")
    table = _synthetic.write_table(
        folder / "tickets.jsonl", _synthetic.class_corpus(TOPICS, 80), ("body", "queue")
    )
    space = {**TINY_SPACE, "stop_words": [False, True], "lemmatize": [False, True]}
    # the spec says val_accuracy; --metric wins
    spec = write_spec(folder, table, trials=4, space=space)
    result = CliRunner().invoke(
        main,
        [
            "launch",
            spec,
            "--metric",
            "val_macro_f1",
            "--text-column",
            "body",
            "--label-column",
            "queue",
            "--redis-url",
            redis_server.url,
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), redis_server.url, folder


def test_trials_report_macro_f1_and_the_winner_is_chosen_by_it(three_class_sweep):
    record, url, _ = three_class_sweep
    assert record["status"] == "succeeded"
    done = CliRunner().invoke(main, ["trials", record["id"], "--redis-url", url, "--json"])
    trials = json.loads(done.output)
    assert len(trials) == 4
    best = {t["trial_id"]: t["best"] for t in trials}
    assert record["best_trial"] == max(best, key=best.get)
    assert record["best_metric"] == pytest.approx(max(best.values()))
    assert all(0 <= v <= 1 for v in best.values())
    assert all({"stop_words", "lemmatize"} <= set(t["config"]) for t in trials)
    status = CliRunner().invoke(main, ["status", record["id"], "--redis-url", url]).output
    assert "macro-F1" in status and "(3 classes)" in status


def test_the_exported_winner_knows_its_classes_and_predicts_them(three_class_sweep, tmp_path):
    record, url, _ = three_class_sweep
    out = tmp_path / "winner"
    done = CliRunner().invoke(
        main, ["best", record["id"], "--redis-url", url, "--output", str(out)]
    )
    assert done.exit_code == 0, done.output
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["classes"] == TOPICS and meta["model_config"]["num_classes"] == 3
    assert list(meta["validation"]) == ["val_macro_f1"]
    # the winner was retrained and exported on the cleaning it drew
    winner = meta["trial_config"]
    assert meta["clean"]["stop_words"] == winner["stop_words"]
    assert meta["clean"]["lemmatize"] == winner["lemmatize"]
    assert meta["test"]["accuracy"] > 0.6 and len(meta["test"]["confusion_matrix"]) == 3
    report = json.loads((out / "report" / "metrics.json").read_text())
    assert report["classes"] == TOPICS
    predicted = CliRunner().invoke(
        main,
        [
            "predict",
            str(out),
            "--json",
            "refund the payment on my invoice",
            "crash error broken exception",
        ],
    )
    assert predicted.exit_code == 0, predicted.output
    assert [r["label"] for r in json.loads(predicted.output)] == ["billing", "bug"]


def test_the_sweep_report_of_a_k_class_sweep(three_class_sweep, tmp_path):
    record, url, _ = three_class_sweep
    result = CliRunner().invoke(
        main, ["report", record["id"], "--redis-url", url, "-o", str(tmp_path / "r"), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output[result.output.index("{") :])
    assert summary["compute"]["trials"] == 4
    assert (tmp_path / "r" / "optimization_history.png").stat().st_size > 1000


def test_val_auc_is_refused_for_three_classes(three_class_sweep, redis_server):
    _, url, folder = three_class_sweep
    table = folder / "tickets.jsonl"
    spec = write_spec(folder, table, trials=1, metric="val_auc")
    result = CliRunner().invoke(
        main,
        [
            "launch",
            spec,
            "--text-column",
            "body",
            "--label-column",
            "queue",
            "--redis-url",
            url,
            "-q",
        ],
    )
    assert result.exit_code == 2, result.output
    assert "metric=val_auc is for two classes" in result.output
    assert "val_macro_f1" in result.output
