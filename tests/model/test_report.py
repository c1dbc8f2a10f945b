"""The evaluation report: sklearn metrics, plots, error analysis, one offline HTML page."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, roc_auc_score

from sweep.model import error_analysis, write_evaluation_report
from tests._browser import assert_png, images_loaded

HISTORY = [
    {
        "epoch": e,
        "loss": 0.6 / e,
        "accuracy": 0.6 + 0.1 * e,
        "val_loss": 0.5 / e,
        "val_accuracy": 0.65 + 0.08 * e,
        "learning_rate": 1e-3 / e,
    }
    for e in (1, 2, 3)
]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    rng = np.random.default_rng(0)
    y = np.array([0, 1] * 100)
    p = np.clip(0.25 + 0.5 * y + rng.normal(0, 0.25, size=200), 0.001, 0.999)
    texts = [f"review number {i} <b>with html</b> & symbols" for i in range(200)]
    folder = tmp_path_factory.mktemp("rep") / "report"
    metrics = write_evaluation_report(
        folder, y, p, texts, [f"id{i}" for i in range(200)], HISTORY, context={"model": "m"}
    )
    return folder, y, p, metrics


def test_metrics_come_from_sklearn(report):
    folder, y, p, metrics = report
    assert metrics["accuracy"] == pytest.approx(accuracy_score(y, p >= 0.5))
    assert metrics["roc_auc"] == pytest.approx(roc_auc_score(y, p))
    saved = json.loads((folder / "metrics.json").read_text())
    assert saved["confusion_matrix"] == metrics["confusion_matrix"]
    assert sum(map(sum, saved["confusion_matrix"])) == 200
    assert "negative" in (folder / "classification_report.txt").read_text()


def test_plots_are_valid_images(report):
    folder, *_ = report
    for name in ("confusion_matrix.png", "roc_curve.png", "training_curves.png"):
        assert_png(folder / name)


def test_errors_are_the_most_confidently_wrong(report):
    folder, y, p, _ = report
    errors = pd.read_csv(folder / "errors.csv")
    fp = errors[errors["kind"] == "false_positive"]
    fn = errors[errors["kind"] == "false_negative"]
    assert (fp["label"] == "negative").all() and (fp["probability"] >= 0.5).all()
    assert (fn["label"] == "positive").all() and (fn["probability"] < 0.5).all()
    assert fp["probability"].is_monotonic_decreasing and fn["probability"].is_monotonic_increasing
    worst_fp = p[(y == 0)].max()
    assert fp["probability"].iloc[0] == pytest.approx(worst_fp, abs=1e-9)


def test_error_analysis_without_errors_is_empty():
    frame = error_analysis(np.array([0, 1]), np.array([0.1, 0.9]), ["a", "b"])
    assert frame.empty and list(frame.columns)[:2] == ["kind", "confidence"]


def test_html_is_self_contained_escaped_and_renders_in_chromium(report):
    folder, *_ = report
    html = (folder / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3 and 'src="http' not in html
    assert "&lt;b&gt;with html&lt;/b&gt;" in html and "<b>with html" not in html
    assert images_loaded(folder / "report.html") == (3, 3)
