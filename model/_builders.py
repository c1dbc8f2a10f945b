"""``build_model(config) -> keras.Model``: pure, no data and no fitting.

Inputs are right-padded token ids (0 = padding).  Every recurrent layer sees a mask, so
padding never reaches the LSTM state; layers keep default activations and no recurrent
dropout, so TensorFlow picks the cuDNN kernel on a GPU.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from ._config import ModelConfig


def _token_mask(ids, pool_size: int = 1):
    """Boolean mask of real tokens, optionally downsampled like a ``MaxPooling1D``."""
    mask = ops.cast(ops.not_equal(ids, 0), "float32")
    if pool_size > 1:
        mask = layers.MaxPooling1D(pool_size, padding="same")(mask[..., None])
        mask = ops.squeeze(mask, -1)
    return ops.greater(mask, 0.5)


def _pool(sequence, mask, mode: str):
    """Masked max or mean over time of a ``return_sequences`` output."""
    weights = ops.cast(mask, sequence.dtype)[..., None]
    if mode == "mean":
        return ops.sum(sequence * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)
    return ops.max(ops.where(weights > 0, sequence, -1e9), axis=1)


def build_model(config: ModelConfig) -> keras.Model:
    """Build (uncompiled) the classifier described by ``config``; output is P(positive)."""
    # any length up to sequence_length: training batches are cut to their longest review
    ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    conv = config.architecture == "conv_lstm"
    x = layers.Embedding(
        config.vocab_size, config.embedding_dim, mask_zero=not conv, name="embedding"
    )(ids)
    if config.dropout:
        x = layers.SpatialDropout1D(config.dropout, name="embedding_dropout")(x)
    mask = _token_mask(ids)
    if conv:
        # zeros at padding, before and after the convolution, make the result independent of
        # how much padding follows a review (batches are cut to their longest review)
        real = ops.cast(mask, x.dtype)[..., None]
        x = layers.Conv1D(
            config.conv_filters,
            config.conv_kernel_size,
            padding="same",
            activation="relu",
            name="conv",
        )(x * real)
        x = layers.MaxPooling1D(config.conv_pool_size, padding="same", name="conv_pool")(x * real)
        mask = _token_mask(ids, config.conv_pool_size)
    n_layers = max(config.layers, 2 if config.architecture == "stacked_lstm" else 1)
    for i in range(n_layers):
        last = i == n_layers - 1
        pooled = config.architecture == "bilstm" and config.pooling != "last"
        return_sequences = not last or pooled
        lstm = layers.LSTM(config.units, return_sequences=return_sequences, name=f"lstm_{i}")
        if config.architecture == "bilstm":
            lstm = layers.Bidirectional(lstm, name=f"bilstm_{i}")
        x = lstm(x, mask=mask)
        if return_sequences and not last and config.dropout:
            x = layers.Dropout(config.dropout, name=f"dropout_{i}")(x)
    if config.architecture == "bilstm" and config.pooling != "last":
        x = _pool(x, mask, config.pooling)
    if config.dropout:
        x = layers.Dropout(config.dropout, name="head_dropout")(x)
    out = layers.Dense(1, activation="sigmoid", name="positive")(x)
    return keras.Model(ids, out, name=config.architecture)
