"""The evaluation report of a model: metrics, plots, training curves, error analysis.

Metrics and curves come from scikit-learn (``ConfusionMatrixDisplay``, ``RocCurveDisplay``,
``classification_report``); nothing here re-implements a metric.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from . import _html
from ._evaluate import (
    LABELS,
    class_names,
    class_probabilities,
    evaluate_probabilities,
    predicted_classes,
)

REPORT_DIR = "report"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def error_analysis(
    y_true: np.ndarray,
    probabilities: np.ndarray,
    texts: Sequence[str],
    ids: Sequence[str] | None = None,
    top: int = 20,
) -> pd.DataFrame:
    """The most confidently wrong reviews: false positives (highest P(positive) among
    negatives) and false negatives (lowest P(positive) among positives)."""
    y = np.asarray(y_true).astype(int)
    p = np.asarray(probabilities, dtype=float).reshape(-1)
    frame = pd.DataFrame(
        {
            "id": list(ids) if ids is not None else range(len(y)),
            "label": [LABELS[v] for v in y],
            "probability": p,
            "text": texts,
        }
    )
    fp = frame[(y == 0) & (p >= 0.5)].sort_values("probability", ascending=False).head(top)
    fn = frame[(y == 1) & (p < 0.5)].sort_values("probability", ascending=True).head(top)
    fp = fp.assign(kind="false_positive", confidence=fp["probability"])
    fn = fn.assign(kind="false_negative", confidence=1 - fn["probability"])
    cols = ["kind", "confidence", "probability", "label", "id", "text"]
    return pd.concat([fp, fn])[cols].reset_index(drop=True)


def class_errors(
    y_true: np.ndarray,
    probabilities: np.ndarray,
    texts: Sequence[str],
    classes: Sequence[str],
    ids: Sequence[str] | None = None,
    top: int = 20,
) -> pd.DataFrame:
    """The most confidently wrong examples of each true class (K classes): those the model
    gave another class with the highest probability, ``top`` per class."""
    y = np.asarray(y_true).astype(int)
    p = class_probabilities(probabilities)
    pred = predicted_classes(probabilities)
    frame = pd.DataFrame(
        {
            "kind": "wrong",
            "confidence": p[np.arange(len(y)), pred],
            "label": [classes[v] for v in y],
            "predicted": [classes[v] for v in pred],
            "probability_of_label": p[np.arange(len(y)), y],
            "id": list(ids) if ids is not None else range(len(y)),
            "text": texts,
        }
    )[y != pred]
    frame = frame.sort_values("confidence", ascending=False, kind="stable")
    return frame.groupby("label", sort=False).head(top).reset_index(drop=True)


def _plot_confusion(y, pred, path: Path, n: int, classes: Sequence[str] = LABELS) -> None:
    from sklearn.metrics import ConfusionMatrixDisplay

    plt = _pyplot()
    size = max(5.0, 0.6 * len(classes) + 2.5)
    fig, ax = plt.subplots(figsize=(size, size * 0.9))
    ConfusionMatrixDisplay.from_predictions(
        y,
        pred,
        labels=list(range(len(classes))),
        display_labels=list(classes),
        cmap="Blues",
        ax=ax,
        colorbar=False,
    )
    ax.set_title(f"Confusion matrix (n={n} reviews)")
    binary = list(classes) == list(LABELS)
    ax.set_xlabel("Predicted sentiment" if binary else "Predicted class")
    ax.set_ylabel("True sentiment" if binary else "True class")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_roc(y, p, path: Path) -> None:
    from sklearn.metrics import RocCurveDisplay

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4.5))
    RocCurveDisplay.from_predictions(y, p, ax=ax, name="model", plot_chance_level=True)
    ax.set_title("ROC curve (positive = positive review)")
    ax.set_xlabel("False positive rate")
    ax.set_ylabel("True positive rate")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_roc_one_vs_rest(y, p, classes: Sequence[str], path: Path) -> None:
    from sklearn.metrics import RocCurveDisplay

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 5))
    for c, name in enumerate(classes):
        if 0 < int(np.sum(y == c)) < len(y):
            RocCurveDisplay.from_predictions(
                y == c, p[:, c], ax=ax, name=f"{name} vs rest", plot_chance_level=c == 0
            )
    ax.set_title("ROC curves, one class against the rest")
    ax.set_xlabel("False positive rate")
    ax.set_ylabel("True positive rate")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_history(history: Sequence[dict], path: Path) -> None:
    plt = _pyplot()
    epochs = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, key, label in (
        (axes[0], "loss", "Loss (cross-entropy)"),
        (axes[1], "accuracy", "Accuracy (fraction correct)"),
    ):
        ax.plot(epochs, [h[key] for h in history], "o-", label="training")
        val = [h.get(f"val_{key}") for h in history]
        if any(v is not None and np.isfinite(v) for v in val):
            ax.plot(epochs, val, "s--", label="validation")
        ax.set_title(label.split(" (")[0] + " per epoch")
        ax.set_xlabel("Epoch")
        ax.set_ylabel(label)
        ax.legend()
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[2].plot(epochs, [h["learning_rate"] for h in history], "o-", drawstyle="steps-post")
    axes[2].set_yscale("log")
    axes[2].set_title("Learning rate per epoch")
    axes[2].set_xlabel("Epoch")
    axes[2].set_ylabel("Learning rate (log scale)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_evaluation_report(
    folder: str | Path,
    y_true: np.ndarray,
    probabilities: np.ndarray,
    texts: Sequence[str],
    ids: Sequence[str] | None = None,
    history: Sequence[dict] | None = None,
    title: str = "Sentiment model evaluation",
    context: dict | None = None,
    top_errors: int = 20,
    classes: Sequence[str] | None = None,
) -> dict:
    """Write metrics.json, classification_report.txt, errors.csv, PNG plots and one
    self-contained report.html into ``folder``; returns the metrics.

    ``probabilities`` is ``[n]`` P(class 1) for two classes or ``[n, K]``; ``classes`` names
    them (default ``negative, positive`` for two).
    """
    from sklearn.metrics import classification_report

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    y = np.asarray(y_true).astype(int)
    p_classes = class_probabilities(probabilities)
    names = class_names(p_classes.shape[1], classes)
    binary = len(names) == 2
    pred = predicted_classes(probabilities)
    metrics = evaluate_probabilities(y, probabilities, names).to_dict()
    (out / "metrics.json").write_text(
        json.dumps({**metrics, "context": context or {}}, indent=2, default=str)
    )
    report_text = classification_report(
        y, pred, labels=list(range(len(names))), target_names=names, digits=4, zero_division=0
    )
    (out / "classification_report.txt").write_text(report_text)
    if binary:
        errors = error_analysis(y, p_classes[:, 1], texts, ids, top_errors)
    else:
        errors = class_errors(y, p_classes, texts, names, ids, top_errors)
    errors.to_csv(out / "errors.csv", index=False)
    plots = [
        (out / "confusion_matrix.png", "Confusion matrix"),
        (out / "roc_curve.png", "ROC curve" if binary else "ROC curves, one vs rest"),
    ]
    _plot_confusion(y, pred, plots[0][0], len(y), names)
    if binary:
        _plot_roc(y, p_classes[:, 1], plots[1][0])
    else:
        _plot_roc_one_vs_rest(y, p_classes, names, plots[1][0])
    if history:
        plots.append((out / "training_curves.png", "Training curves and learning rate"))
        _plot_history(history, plots[-1][0])
    which = "positive" if binary else "macro"
    summary = _html.table(
        ["metric", "value"],
        [
            ("reviews", metrics["n"]),
            ("classes", len(names)),
            ("accuracy", metrics["accuracy"]),
            ("loss (log loss)", metrics["loss"]),
            (f"precision ({which})", metrics["precision"]),
            (f"recall ({which})", metrics["recall"]),
            (f"F1 ({which})", metrics["f1"]),
            ("macro F1", metrics["macro_f1"]),
            ("ROC AUC" if binary else "ROC AUC (macro, one vs rest)", metrics["roc_auc"]),
        ],
    )
    ctx = _html.table(["", ""], sorted((k, v) for k, v in (context or {}).items()))
    per_class = _html.table(
        ["class", "precision", "recall", "F1", "support", "ROC AUC (vs rest)"],
        [
            (
                c,
                float(metrics["report"][c]["precision"]),
                float(metrics["report"][c]["recall"]),
                float(metrics["report"][c]["f1-score"]),
                int(metrics["report"][c]["support"]),
                metrics["roc_auc_per_class"].get(c, float("nan")),
            )
            for c in [*names, "macro avg", "weighted avg"]
            if c in metrics["report"]
        ],
    )
    shown = errors.assign(text=errors["text"].str.slice(0, 600))
    sections = [
        ("Summary", summary + ctx),
        ("Per class (classification report)", per_class),
        ("Plots", _html.figures(plots)),
    ]
    if not binary:
        for name in names:
            rows = shown[shown["label"] == name].head(5)
            sections.append(
                (
                    f"Most confidently wrong: class {name}",
                    _html.table(
                        ["predicted", "P(predicted)", "P(" + name + ")", "id", "text"],
                        rows[
                            ["predicted", "confidence", "probability_of_label", "id", "text"]
                        ].itertuples(index=False),
                        text_col=4,
                    ),
                )
            )
    for kind, heading in (
        ()
        if not binary
        else (
            (
                "false_positive",
                "Most confidently wrong: false positives (negative reviews called positive)",
            ),
            (
                "false_negative",
                "Most confidently wrong: false negatives (positive reviews called negative)",
            ),
        )
    ):
        rows = shown[shown["kind"] == kind].head(10)
        sections.append(
            (
                heading,
                _html.table(
                    ["P(positive)", "id", "review"],
                    rows[["probability", "id", "text"]].itertuples(index=False),
                    text_col=2,
                ),
            )
        )
    (out / "report.html").write_text(_html.page(title, sections), encoding="utf-8")
    return metrics
