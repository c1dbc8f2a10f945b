"""Evaluation metrics, all from scikit-learn (no hand-written metric)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    log_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)

LABELS = ("negative", "positive")


@dataclass(frozen=True)
class Evaluation:
    """Binary classification metrics at threshold 0.5 (positive class = 1)."""

    n: int
    accuracy: float
    loss: float
    precision: float
    recall: float
    f1: float
    roc_auc: float
    confusion_matrix: list[list[int]]
    report: dict

    def to_dict(self) -> dict:
        return asdict(self)


def evaluate_probabilities(y_true: np.ndarray, probabilities: np.ndarray) -> Evaluation:
    """Metrics of predicted P(positive) against 0/1 labels."""
    y_true = np.asarray(y_true).astype(int)
    p = np.clip(np.asarray(probabilities, dtype="float64").reshape(-1), 1e-7, 1 - 1e-7)
    y_pred = (p >= 0.5).astype(int)
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, average="binary", zero_division=0
    )
    both = len(np.unique(y_true)) == 2
    return Evaluation(
        n=len(y_true),
        accuracy=float(accuracy_score(y_true, y_pred)),
        loss=float(log_loss(y_true, p, labels=[0, 1])),
        precision=float(precision),
        recall=float(recall),
        f1=float(f1),
        roc_auc=float(roc_auc_score(y_true, p)) if both else float("nan"),
        confusion_matrix=confusion_matrix(y_true, y_pred, labels=[0, 1]).tolist(),
        report=classification_report(
            y_true,
            y_pred,
            labels=[0, 1],
            target_names=list(LABELS),
            output_dict=True,
            zero_division=0,
        ),
    )


def evaluate(
    model, x: np.ndarray, y: np.ndarray, batch_size: int = 256
) -> tuple[Evaluation, np.ndarray]:
    """Predict on ``x``, score against ``y``; returns ``(metrics, probabilities)``."""
    p = np.asarray(model.predict(x, batch_size=batch_size, verbose=0)).reshape(-1)
    return evaluate_probabilities(y, p), p


def inference_latency_ms(net, x: np.ndarray, n: int = 256, batch_size: int = 256) -> float:
    """Milliseconds per review to predict ``n`` reviews in batches of ``batch_size``, warm.

    The warm-up predicts 12 reviews in batches of 8 and 4: two batch shapes make
    ``tf.function`` trace its shape-generic step, which the timed batches then reuse (one
    warm-up batch of the timed size would cost a full batch, and a different single size
    a retrace inside the timing). A trial pays this once, so it is kept small.
    """
    import time

    sample = np.asarray(x[:n])
    if len(sample) == 0:
        return float("nan")
    net.predict(sample[:12], batch_size=8, verbose=0)
    start = time.perf_counter()
    net.predict(sample, batch_size=batch_size, verbose=0)
    return (time.perf_counter() - start) * 1000.0 / len(sample)
