"""Evaluation metrics, all from scikit-learn (no hand-written metric)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)

LABELS = ("negative", "positive")


@dataclass(frozen=True)
class Evaluation:
    """Classification metrics, all from scikit-learn.

    Two classes: ``precision``/``recall``/``f1`` are those of class 1 (``positive``) at
    threshold 0.5 and ``roc_auc`` is its AUC, as before K classes existed. K > 2 classes:
    they are macro averages (each class counts the same) and ``roc_auc`` is the macro mean
    of the one-vs-rest AUCs. ``report`` is ``classification_report``'s dict: per class plus
    macro and weighted averages.
    """

    n: int
    accuracy: float
    loss: float
    precision: float
    recall: float
    f1: float
    roc_auc: float
    confusion_matrix: list[list[int]]
    report: dict
    classes: list[str] = field(default_factory=lambda: list(LABELS))
    macro_f1: float = float("nan")
    roc_auc_per_class: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def class_probabilities(probabilities: np.ndarray) -> np.ndarray:
    """``[n, K]`` class probabilities from a model's output (one sigmoid column: P(class 1))."""
    p = np.asarray(probabilities, dtype="float64")
    if p.ndim == 1 or p.shape[1] == 1:
        p = p.reshape(-1)
        return np.stack([1.0 - p, p], axis=1)
    return p


def predicted_classes(probabilities: np.ndarray) -> np.ndarray:
    """The class of each row: P(class 1) >= 0.5 for one sigmoid column, else the most probable."""
    p = np.asarray(probabilities, dtype="float64")
    if p.ndim == 1 or p.shape[1] == 1:
        return (p.reshape(-1) >= 0.5).astype(int)
    return np.argmax(p, axis=1)


def class_names(k: int, classes=None) -> list[str]:
    """``classes`` as strings, else ``negative, positive`` for two and ``0..K-1`` for more."""
    if classes is not None:
        if len(classes) != k:
            raise ValueError(f"{len(classes)} class names for a model with {k} classes")
        return [str(c) for c in classes]
    return list(LABELS) if k == 2 else [str(i) for i in range(k)]


def evaluate_probabilities(
    y_true: np.ndarray, probabilities: np.ndarray, classes=None
) -> Evaluation:
    """Metrics of predicted probabilities (``[n]`` P(class 1), or ``[n, K]``) against class
    indices."""
    y_true = np.asarray(y_true).astype(int)
    p = np.clip(class_probabilities(probabilities), 1e-7, 1.0)
    k = p.shape[1]
    names = class_names(k, classes)
    labels = list(range(k))
    y_pred = predicted_classes(probabilities)
    binary = k == 2
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true,
        y_pred,
        labels=labels if not binary else None,
        average="binary" if binary else "macro",
        zero_division=0,
    )
    present = set(np.unique(y_true).tolist())
    per_class = {
        names[c]: float(roc_auc_score(y_true == c, p[:, c]))
        for c in labels
        if c in present and len(present) > 1
    }
    if binary:
        auc = float(roc_auc_score(y_true, p[:, 1])) if len(present) == 2 else float("nan")
    else:
        auc = float(np.mean(list(per_class.values()))) if len(per_class) == k else float("nan")
    return Evaluation(
        n=len(y_true),
        accuracy=float(accuracy_score(y_true, y_pred)),
        loss=float(log_loss(y_true, p / p.sum(axis=1, keepdims=True), labels=labels)),
        precision=float(precision),
        recall=float(recall),
        f1=float(f1),
        roc_auc=auc,
        confusion_matrix=confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        report=classification_report(
            y_true, y_pred, labels=labels, target_names=names, output_dict=True, zero_division=0
        ),
        classes=names,
        macro_f1=float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        roc_auc_per_class=per_class,
    )


def evaluate(
    model, x: np.ndarray, y: np.ndarray, batch_size: int = 256, classes=None
) -> tuple[Evaluation, np.ndarray]:
    """Predict on ``x``, score against ``y``; returns ``(metrics, probabilities)``
    (probabilities: ``[n]`` P(class 1) for a binary model, ``[n, K]`` for K classes)."""
    p = np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
    if p.shape[-1] == 1:
        p = p.reshape(-1)
    return evaluate_probabilities(y, p, classes), p


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
