"""K classes through the commands: `sweep train` on a Parquet / JSON Lines / CSV table with
its own column names, `sweep predict` in a fresh process, `sweep evaluate`, and an export
without class names (as every export before K classes) still predicting."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sweep.cluster import main
from tests import _synthetic

SMALL = [
    "--vocab-size",
    "200",
    "--sequence-length",
    "40",
    "--embedding-dim",
    "16",
    "--units",
    "8",
    "--batch-size",
    "32",
    "--learning-rate",
    "0.01",
    "--ngram-buckets",
    "1024",
]
TOPICS = ["billing", "bug", "feature"]


def _train(data, out, *flags):
    result = CliRunner().invoke(
        main, ["train", "--data", str(data), *SMALL, *flags, "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def three_topics(tmp_path_factory):
    """A 3-class model trained on a Parquet file whose columns have names of their own."""
    folder = tmp_path_factory.mktemp("topics")
    table = _synthetic.write_table(
        folder / "tickets.parquet", _synthetic.class_corpus(TOPICS, 100), ("body", "queue")
    )
    out = folder / "model"
    output = _train(table, out, "--text-column", "body", "--label-column", "queue", "--epochs", "4")
    return out, table, output


def test_train_on_named_columns_exports_the_classes(three_topics):
    out, _, output = three_topics
    assert "macro-F1" in output and "3 classes" in output
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["classes"] == TOPICS
    assert meta["model_config"]["num_classes"] == 3
    assert meta["data"]["text_column"] == "body" and meta["data"]["label_column"] == "queue"
    assert meta["test"]["accuracy"] > 0.8  # chance: 1/3
    assert len(meta["test"]["confusion_matrix"]) == 3
    assert set(meta["test"]["roc_auc_per_class"]) == set(TOPICS)


def test_the_saved_model_serves_k_probabilities_in_the_metadatas_class_order(three_topics):
    import tensorflow as tf

    out, _, _ = three_topics
    served = tf.saved_model.load(str(out / "saved_model"))
    texts = ["refund the charged payment", "crash and error", "I suggest an idea"]
    p = np.asarray(served.serve(tf.constant(texts)[:, None]))
    assert p.shape == (3, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
    classes = json.loads((out / "metadata.json").read_text())["classes"]
    assert [classes[i] for i in p.argmax(axis=1)] == TOPICS


def test_predict_in_a_fresh_process_prints_the_class_and_its_probability(three_topics):
    out, _, _ = three_topics
    texts = [
        "my invoice shows I was charged twice, refund please",
        "the app freezes with an error and then a crash",
        "I suggest an idea, could you add this request",
    ]
    done = subprocess.run(
        [sys.executable, "-m", "sweep.cluster", "predict", str(out), "--json", *texts],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = json.loads(done.stdout)
    assert [r["label"] for r in rows] == TOPICS
    for r in rows:
        assert set(r["probabilities"]) == set(TOPICS)
        assert sum(r["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
        assert r["probability"] == max(r["probabilities"].values())
    plain = subprocess.run(
        [sys.executable, "-m", "sweep.cluster", "predict", str(out), texts[1]],
        capture_output=True,
        text=True,
        timeout=300,
    )
    label, probability, _ = plain.stdout.split(maxsplit=2)
    assert label == "bug" and float(probability) == pytest.approx(rows[1]["probability"], abs=1e-4)


def test_predict_output_has_one_probability_column_per_class(three_topics, tmp_path):
    out, _, _ = three_topics
    frame = pd.DataFrame(
        {"text": ["refund my payment", "login password locked out please", "crash error broken"]}
    )
    frame.to_csv(tmp_path / "in.csv", index=False)
    result = CliRunner().invoke(
        main,
        [
            "predict",
            str(out),
            "--input",
            str(tmp_path / "in.csv"),
            "--output",
            str(tmp_path / "out.csv"),
        ],
    )
    assert result.exit_code == 0, result.output
    got = pd.read_csv(tmp_path / "out.csv")
    columns = [f"probability_{t}" for t in TOPICS]
    assert list(got.columns) == ["text", "label", "probability", *columns]
    np.testing.assert_allclose(got[columns].sum(axis=1), 1.0, atol=1e-4)
    assert (got["label"] == [TOPICS[i] for i in got[columns].to_numpy().argmax(axis=1)]).all()
    assert got.loc[0, "label"] == "billing" and got.loc[2, "label"] == "bug"


def test_evaluate_reads_the_columns_from_the_export_and_checks_the_classes(three_topics, tmp_path):
    out, _, _ = three_topics
    result = CliRunner().invoke(main, ["evaluate", str(out), "-o", str(tmp_path / "r"), "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output[result.output.index("{") :])
    assert metrics["classes"] == TOPICS and len(metrics["confusion_matrix"]) == 3
    assert (tmp_path / "r" / "report.html").is_file()
    other = _synthetic.write_table(
        tmp_path / "five.csv",
        _synthetic.class_corpus(["billing", "bug", "feature", "account", "shipping"], 10),
        ("body", "queue"),  # the export's column names are used for other data too
    )
    bad = CliRunner().invoke(
        main, ["evaluate", str(out), "--data", str(other), "-o", str(tmp_path / "r2")]
    )
    assert bad.exit_code == 2, bad.output
    assert "are not the model's ['billing', 'bug', 'feature']" in bad.output


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_five_classes_train_from_json_lines_and_csv(suffix, tmp_path):
    names = ["account", "billing", "bug", "feature", "shipping"]
    table = _synthetic.write_table(tmp_path / f"t{suffix}", _synthetic.class_corpus(names, 60))
    _train(table, tmp_path / "m", "--epochs", "4", "-q")
    meta = json.loads((tmp_path / "m" / "metadata.json").read_text())
    assert meta["classes"] == names
    assert meta["test"]["accuracy"] > 0.6  # chance: 1/5


def test_train_refuses_too_many_classes_with_exit_2(tmp_path):
    table = _synthetic.write_table(
        tmp_path / "t.csv", _synthetic.class_corpus(["a", "b", "c", "d"], 10)
    )
    result = CliRunner().invoke(
        main, ["train", "--data", str(table), "--max-classes", "3", "-o", str(tmp_path / "m")]
    )
    assert result.exit_code == 2, result.output
    assert "4 distinct values, more than max_classes=3" in result.output
    assert not (tmp_path / "m").exists()


def test_an_export_without_class_names_predicts_negative_and_positive(trained_binary):
    """Exports written before K classes have no ``classes`` in their metadata and a
    one-unit sigmoid: they load and predict the two sentiments as before."""
    from sweep.model import load_model, write_metadata

    meta = json.loads((trained_binary / "metadata.json").read_text())
    del meta["classes"], meta["model_config"]["num_classes"]
    write_metadata(trained_binary, {k: v for k, v in meta.items() if k != "files"})
    _, loaded = load_model(trained_binary)
    assert "classes" not in loaded
    result = CliRunner().invoke(
        main,
        [
            "predict",
            str(trained_binary),
            "--json",
            "a wonderful superb brilliant film",
            "an awful boring terrible film",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["label"] for r in rows] == ["positive", "negative"]
    assert "probabilities" not in rows[0]  # P(positive) alone, as before


@pytest.fixture
def trained_binary(learnable_archive, tmp_path):
    out = tmp_path / "binary"
    _train(learnable_archive, out, "--epochs", "3", "--max-reviews", "400", "-q")
    return out


def test_train_with_stop_words_lemmas_and_class_weights(learnable_archive, tmp_path):
    out = tmp_path / "cleaned"
    _train(
        learnable_archive,
        out,
        "--epochs",
        "2",
        "--max-reviews",
        "400",
        "--stop-words",
        "--lemmatize",
        "--class-weight",
        "balanced",
        "-q",
    )
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["clean"]["stop_words"] and meta["clean"]["lemmatize"]
    assert meta["clean"]["keep_negations"]
    assert meta["train_config"]["class_weight"] == "balanced"
    assert meta["test"]["accuracy"] > 0.8
    result = CliRunner().invoke(
        main,
        [
            "predict",
            str(out),
            "--json",
            "the films were wonderful, superb and loved",
            "it was an awful boring terrible waste",
        ],
    )
    assert result.exit_code == 0, result.output
    assert [r["label"] for r in json.loads(result.output)] == ["positive", "negative"]


def test_data_describe_counts_each_class_of_a_table(tmp_path):
    names = ["account", "billing", "bug", "feature", "shipping"]
    table = _synthetic.write_table(  # each topic with its own cue words (TOPIC_CUES)
        tmp_path / "t.jsonl",
        _synthetic.class_corpus(list(_synthetic.TOPIC_CUES), 12),
        ("body", "queue"),
    )
    result = CliRunner().invoke(
        main,
        [
            "data",
            "describe",
            "--data",
            str(table),
            "--text-column",
            "body",
            "--label-column",
            "queue",
            "-o",
            str(tmp_path / "d"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output[result.output.index("{") :])
    assert summary["classes"] == names
    assert {n: summary["counts"]["train"][n] + summary["counts"]["test"][n] for n in names} == {
        n: 12 for n in names
    }
    assert set(summary["top_words"]) == set(names)
    assert "invoice" in [w for w, _ in summary["top_words"]["billing"]]  # its own cue words
    for name in ("label_counts.png", "review_lengths.png", "top_words.png"):
        assert (tmp_path / "d" / name).stat().st_size > 1000
