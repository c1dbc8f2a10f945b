"""The branches' blend: the weight of the LSTM's logit against the n-gram bag's, fitted on
validation after training (stacking with one parameter).

``BranchDropout`` trains each branch to classify alone; at inference the model's logit is
``w * lstm + (1 - w) * bag``. The mean (``w = 0.5``) is rarely best: the bag generalises
better than the LSTM on IMDB, so validation usually asks for a smaller ``w``. The weight is
chosen on a grid by the sweep's own metric and saved with the model.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from scipy.special import expit, softmax
from sklearn.metrics import f1_score, log_loss, roc_auc_score

from ._layers import BranchDropout
from ._train import length_batches, token_lengths, without_autotune_model

BRANCH_LOGITS = ("lstm_logit", "ngram_logit")
WEIGHT_GRID = tuple(np.round(np.linspace(0.0, 1.0, 21), 2))
EQUAL = 0.5


def blend_layer(net: keras.Model) -> BranchDropout | None:
    """The model's ``BranchDropout`` layer, or ``None`` for an LSTM-only model."""
    return next((layer for layer in net.layers if isinstance(layer, BranchDropout)), None)


def branch_logits(net: keras.Model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Logits of the LSTM and n-gram branches for right-padded ids ``x``, in the order of
    ``x``: ``[n, 2]`` for a binary model, ``[n, K, 2]`` for K classes; batches of similar
    length, cut to their longest review (as in training)."""
    x = np.asarray(x)
    lengths = token_lengths(x)
    batches = length_batches(lengths, batch_size)
    if not batches:
        return np.zeros((0, len(BRANCH_LOGITS)), dtype="float32")
    heads = keras.Model(net.inputs, [net.get_layer(name).output for name in BRANCH_LOGITS])

    def rows():
        for index in batches:
            yield x[index, : max(1, int(lengths[index].max()))]

    spec = tf.TensorSpec(shape=(None, None), dtype=tf.as_dtype(x.dtype))
    ds = tf.data.Dataset.from_generator(rows, output_signature=spec)
    ds = ds.apply(tf.data.experimental.assert_cardinality(len(batches))).prefetch(2)
    ds = without_autotune_model(ds)
    out = np.stack([np.asarray(z) for z in heads.predict(ds, verbose=0)], axis=-1)
    if out.shape[1] == 1:
        out = out[:, 0, :]
    placed = np.empty_like(out)
    placed[np.concatenate(batches)] = out
    return placed


def blend_classes(logits: np.ndarray, w: float = EQUAL) -> np.ndarray:
    """The class each review gets from the blend ``w`` of branch ``logits`` (``[n, 2]`` or
    ``[n, K, 2]``)."""
    z = w * logits[..., 0] + (1.0 - w) * logits[..., 1]
    return (z > 0).astype(int) if z.ndim == 1 else np.argmax(z, axis=1)


def _score(metric: str, logits: np.ndarray, y: np.ndarray, w: float) -> float:
    """The metric of the blend ``w`` (higher is better: the loss comes back negated)."""
    z = w * logits[..., 0] + (1.0 - w) * logits[..., 1]
    labels = y.astype(int)
    predicted = blend_classes(logits, w)
    if z.ndim == 1:  # one sigmoid logit
        p = expit(np.clip(z, -30, 30))
        scores, classes = p, [0, 1]
        p_classes = np.stack([1.0 - p, p], axis=1)
    else:
        p_classes = softmax(z, axis=1)
        scores, classes = p_classes, list(range(z.shape[1]))
    if metric.endswith("accuracy"):
        return float(np.mean(predicted == labels))
    if metric.endswith("macro_f1"):
        return float(f1_score(labels, predicted, labels=classes, average="macro", zero_division=0))
    if metric.endswith("auc"):
        if len(np.unique(labels)) != len(classes):
            return 0.0
        return float(roc_auc_score(labels, scores, multi_class="ovr", labels=classes))
    return -float(log_loss(labels, np.clip(p_classes, 1e-7, 1.0), labels=classes))


def fit_branch_weight(logits: np.ndarray, y: np.ndarray, metric: str = "val_accuracy") -> float:
    """The LSTM branch's weight on ``WEIGHT_GRID`` that scores best on ``(logits, y)`` by
    ``metric`` (``val_accuracy``, ``val_macro_f1``, ``val_auc`` or ``val_loss``; the ``val_``
    is optional). ``logits`` is ``[n, 2]`` (binary) or ``[n, K, 2]`` (K classes).

    Ties go to the weight nearest the mean (0.5), so a flat validation curve keeps the
    untuned ensemble. Pure: no model, no I/O.
    """
    if metric.removeprefix("val_") not in ("accuracy", "macro_f1", "auc", "loss"):
        raise ValueError(
            f"metric={metric!r}: choose val_accuracy, val_macro_f1, val_auc or val_loss"
        )
    logits = np.asarray(logits, dtype="float64")
    if logits.ndim != 3:
        logits = logits.reshape(-1, len(BRANCH_LOGITS))
    y = np.asarray(y, dtype="float64").reshape(-1)
    if len(y) == 0:
        return EQUAL
    scores = {w: _score(metric, logits, y, w) for w in WEIGHT_GRID}
    best = max(scores.values())
    return float(min((w for w, s in scores.items() if s == best), key=lambda w: abs(w - EQUAL)))


def set_branch_weight(net: keras.Model, weight: float | None) -> None:
    """Make ``net`` blend its branches with the LSTM's ``weight`` (``None``: the mean) from
    its next prediction on; a no-op for an LSTM-only model."""
    layer = blend_layer(net)
    if layer is None:
        return
    if weight is not None and not 0.0 <= weight <= 1.0:
        raise ValueError(f"branch weight {weight} must be in [0, 1]")
    layer.branch_weights = None if weight is None else (float(weight), 1.0 - float(weight))
    # the traced predict/evaluate functions hold the old weights as constants
    net.predict_function = None
    net.test_function = None
