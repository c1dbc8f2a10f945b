"""`sweep train` and `sweep predict` through Click's runner, and once through the installed
console script."""

from __future__ import annotations

import json
import subprocess

import pandas as pd
import pytest
from click.testing import CliRunner

from sweep.cluster import main
from sweep.model import WEIGHT_GRID

SMALL = [
    "--vocab-size",
    "300",
    "--sequence-length",
    "40",
    "--embedding-dim",
    "16",
    "--units",
    "8",
    "--batch-size",
    "32",
    "--learning-rate",
    "0.005",
]


@pytest.fixture(scope="module")
def trained(learnable_archive, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "model"
    result = CliRunner().invoke(
        main,
        ["train", "--data", str(learnable_archive), *SMALL, "--epochs", "4", "--output", str(out)],
    )
    assert result.exit_code == 0, result.output
    return out, result.output


def test_train_prints_epochs_and_test_accuracy(trained):
    out, output = trained
    assert "epoch 1/4" in output and "val_acc" in output
    assert "test accuracy" in output and f"model exported to {out}" in output
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["test"]["accuracy"] > 0.8
    assert meta["data"]["n_test"] == 800 and meta["source"] == "sweep train"


def test_export_carries_a_checksummed_evaluation_report(trained):
    out, _ = trained
    meta = json.loads((out / "metadata.json").read_text())
    for name in (
        "report/report.html",
        "report/errors.csv",
        "report/confusion_matrix.png",
        "report/roc_curve.png",
        "report/training_curves.png",
        "report/metrics.json",
    ):
        assert name in meta["files"]
    report = json.loads((out / "report" / "metrics.json").read_text())
    assert report["accuracy"] == pytest.approx(meta["test"]["accuracy"])


def test_evaluate_command_writes_the_report(trained, learnable_archive, tmp_path):
    out, _ = trained
    result = CliRunner().invoke(
        main,
        [
            "evaluate",
            str(out),
            "--data",
            str(learnable_archive),
            "--max-reviews",
            "200",
            "-o",
            str(tmp_path / "r"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output[result.output.index("{") :])
    assert metrics["n"] == 200 and metrics["accuracy"] > 0.8
    assert (tmp_path / "r" / "report.html").is_file()
    bad = CliRunner().invoke(main, ["evaluate", str(tmp_path / "missing")])
    assert bad.exit_code == 2 and "does not exist" in bad.output


def test_data_describe_command(tiny_archive, tmp_path):
    result = CliRunner().invoke(
        main, ["data", "describe", "--data", str(tiny_archive), "-o", str(tmp_path / "d"), "-q"]
    )
    assert result.exit_code == 0, result.output
    assert "train: 120 reviews (negative 60, positive 60)" in result.output
    assert (tmp_path / "d" / "top_words.png").is_file()


def test_predict_texts_gives_the_right_polarity(trained):
    out, _ = trained
    result = CliRunner().invoke(
        main,
        [
            "predict",
            str(out),
            "--json",
            "a wonderful superb brilliant film",
            "an awful boring terrible film",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["label"] for r in rows] == ["positive", "negative"]
    assert rows[0]["probability"] > 0.5 > rows[1]["probability"]


def test_predict_csv_keeps_columns_and_adds_label_probability(trained, tmp_path):
    out, _ = trained
    src = tmp_path / "reviews.csv"
    pd.DataFrame(
        {"id": [1, 2, 3], "review": ["loved it, a masterpiece", "worst waste ever", "x " * 100_000]}
    ).to_csv(src, index=False)
    result = CliRunner().invoke(
        main, ["predict", str(out), "--input", str(src), "--output", str(tmp_path / "p.csv")]
    )
    assert result.exit_code == 0, result.output
    got = pd.read_csv(tmp_path / "p.csv")
    assert list(got.columns) == ["id", "review", "label", "probability"]
    assert got["label"].tolist()[:2] == ["positive", "negative"]
    assert got["probability"].between(0, 1).all()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["predict", "/nonexistent/model", "hi"], "does not exist"),
        (["predict", "{model}"], "either TEXT arguments or --input"),
        (["predict", "{model}", "  "], "empty text at 1"),
        (["predict", "{model}", "--input", "{csv_nocol}"], "no column 'review/text/sentence'"),
        (["train", "--data", "/nonexistent.tar.gz"], "does not exist"),
        (["train", "--units", "0", "--data", "{archive}"], "units=0 must be >= 1"),
        (["train", "{badspec}"], "unknown key"),
        (["train", "--ngram-buckets", "-5", "--data", "{archive}"], "ngram_buckets=-5 must be in"),
    ],
)
def test_bad_input_exits_2_with_a_message(args, message, trained, tmp_path, learnable_archive):
    out, _ = trained
    nocol = tmp_path / "n.csv"
    nocol.write_text("body\nhello\n")
    badspec = tmp_path / "s.yaml"
    badspec.write_text("model: {unitz: 3}\n")
    args = [
        a.format(model=out, csv_nocol=nocol, archive=learnable_archive, badspec=badspec)
        for a in args
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "predictions.csv").exists()


def test_installed_console_script_runs():
    done = subprocess.run(["sweep", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert "train" in done.stdout and "predict" in done.stdout


def test_installed_console_script_predicts(trained):
    out, _ = trained
    done = subprocess.run(
        ["sweep", "predict", str(out), "superb brilliant loved"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("positive")


def test_predict_refuses_a_model_whose_file_fails_its_sha256(trained, tmp_path):
    import shutil

    out, _ = trained
    copy = tmp_path / "tampered"
    shutil.copytree(out, copy)
    with open(copy / "model.keras", "ab") as fh:
        fh.write(b"tampered")
    result = CliRunner().invoke(main, ["predict", str(copy), "great film"])
    assert result.exit_code == 2 and "fails its sha256 check" in result.output
    assert "Traceback" not in result.output


def test_train_pretrains_embeddings_from_the_flag_and_from_a_csv(tmp_path):
    from tests import _synthetic

    archive = _synthetic.write_archive(tmp_path / "a.tar.gz", 60, unlabeled=50)
    csv = _synthetic.write_csv(tmp_path / "r.csv", 60)
    for source, pretrained_on in ((archive, 96 + 50), (csv, 76)):
        out = tmp_path / source.stem
        args = ["train", "--data", str(source), "--pretrain-embeddings", *SMALL]
        result = CliRunner().invoke(main, [*args, "--epochs", "1", "--output", str(out)])
        assert result.exit_code == 0, result.output
        meta = json.loads((out / "metadata.json").read_text())
        assert meta["data"]["pretrain_embeddings"] is True
        # train split only (80 %) plus the archive's unlabelled reviews; a CSV has none
        assert meta["data"]["embeddings_pretrained_on"] == pretrained_on


def test_train_with_an_ngram_branch_learns_exports_and_predicts(learnable_archive, tmp_path):
    out = tmp_path / "ngrams"
    args = ["train", "--data", str(learnable_archive), *SMALL, "--architecture", "bilstm"]
    args += ["--pooling", "max", "--ngram-buckets", "512", "--ngram-dim", "4", "--epochs", "3"]
    result = CliRunner().invoke(main, [*args, "--output", str(out)])
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["model_config"]["ngram_buckets"] == 512 and meta["model_config"]["ngram_dim"] == 4
    assert meta["test"]["accuracy"] > 0.8
    blend = meta["branch_weight"]  # fitted on validation after training
    assert blend["fitted_on"] == "validation" and blend["lstm"] in WEIGHT_GRID
    assert blend["lstm"] + blend["ngram"] == pytest.approx(1.0)
    assert 0.5 <= blend["test_accuracy_of_mean"] <= 1.0
    result = CliRunner().invoke(main, ["predict", str(out), "superb brilliant loved"])
    assert result.exit_code == 0 and result.output.startswith("positive"), result.output


@pytest.mark.parametrize(("kernel", "layer"), [("keras", "LSTM"), ("projected", "ProjectedLSTM")])
def test_train_lstm_kernel_flag_picks_the_layer_and_metadata_says_which(
    kernel, layer, learnable_archive, tmp_path
):
    out = tmp_path / kernel
    args = ["train", "--data", str(learnable_archive), *SMALL, "--lstm-kernel", kernel]
    result = CliRunner().invoke(main, [*args, "--epochs", "1", "--output", str(out)])
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["model_config"]["lstm_kernel"] == kernel and meta["lstm_layer"] == layer
    result = CliRunner().invoke(main, ["predict", str(out), "superb brilliant loved"])
    assert result.exit_code == 0, result.output


def test_train_refuses_an_unknown_lstm_kernel(learnable_archive):
    args = ["train", "--data", str(learnable_archive), "--lstm-kernel", "cudnn"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "'cudnn' is not one of" in result.output


def test_the_readmes_python_api_snippet_runs_as_written(trained, redis_url, tmp_path):
    """The README's "Python API" block, run in a fresh process with its placeholders filled:
    ``runs/ID/best`` is a real export, ``ID`` a sweep recorded in Redis (found, as the
    snippet says, the way the CLI finds Redis: here ``SWEEP_REDIS_URL``)."""
    from sweep.cluster import RedisStateStore
    from sweep.search import parse_sweep_spec, spec_to_dict
    from tests._readme import python_blocks, run_python

    snippet = python_blocks("Python API")[0]
    out, _ = trained
    store = RedisStateStore(redis_url)
    store.create_sweep("readme-1", spec_to_dict(parse_sweep_spec({"trials": 2})), "/tmp")
    row = {"trial_id": "t1", "status": "TERMINATED", "best": 0.9, "epochs": 2}
    store.write_trial("readme-1", "t1", row, 0.9, "completed")
    code = snippet.replace("runs/ID/best", str(out)).replace('"ID"', '"readme-1"')
    code = code.replace("\ns.status()", "\nprint(repr((s.status()") + ")))\n"
    done = run_python(code, tmp_path, redis_url)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "'pending'" in done.stdout and "'t1'" in done.stdout
