"""``build_model(config) -> keras.Model``: pure, no data and no fitting.

Inputs are right-padded token ids (0 = padding), of any length. Padding never reaches what
the classifier reads: LSTMs run unmasked and are read at each review's last real step (the
backward direction of a ``bilstm`` reads each review's real steps reversed), pooling is
masked, and a ``conv_lstm`` zeroes padding around its convolution. The result equals a
masked LSTM's and does not depend on how much padding follows a review. Layers keep default
activations and no recurrent dropout, so TensorFlow picks the cuDNN kernel on a GPU.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from ._config import ModelConfig
from ._layers import BranchDropout
from ._lstm import lstm_layer


def _token_mask(ids, pool_size: int = 1):
    """Boolean mask of real tokens, optionally downsampled like a ``MaxPooling1D``."""
    mask = ops.cast(ops.not_equal(ids, 0), "float32")
    if pool_size > 1:
        mask = layers.MaxPooling1D(pool_size, padding="same")(mask[..., None])
        mask = ops.squeeze(mask, -1)
    return ops.greater(mask, 0.5)


def _lengths(mask):
    """Real steps per row of a right-padded batch."""
    return ops.sum(ops.cast(mask, "int32"), axis=1)


def _at_last_step(sequence, lengths):
    """Each row's output at its last real step (zeros for a row with none), as a masked sum
    (cheaper to differentiate on CPU than a gather).

    On right-padded input an LSTM's output at step ``len - 1`` is exactly the final state
    a masked LSTM returns: padding only comes after it. Reading it there lets the LSTM run
    without a mask, which is about a third faster on CPU and cuDNN's fastest path on GPU.
    """
    ones = ops.ones_like(ops.cast(ops.sum(sequence, axis=-1), "int32"))  # [batch, steps]
    at_last = ops.cast(ops.equal(ops.cumsum(ones, axis=1), lengths[:, None]), sequence.dtype)
    return ops.sum(sequence * at_last[..., None], axis=1)


def _reverse_real_steps(sequence, lengths):
    """Reverse the real steps of each row in place, padding stays at the end (an
    involution: applying it twice gives the input back)."""
    ones = ops.ones_like(ops.cast(ops.sum(sequence, axis=-1), "int32"))  # [batch, steps]
    steps = ops.cumsum(ones, axis=1) - 1
    real = lengths[:, None]
    index = ops.where(steps < real, real - 1 - steps, steps)
    return ops.take_along_axis(sequence, index[..., None], axis=1)


def _recurrent(x, lengths, config: ModelConfig, i: int, sequences: bool):
    """One (bi)directional LSTM layer over right-padded ``x``, run unmasked.

    Returns the per-step outputs (aligned with the input) when ``sequences``, else the
    state at each row's last real step (for the backward direction: after reading the
    whole review backwards).
    """
    forward = lstm_layer(config.units, f"lstm_{i}", config.lstm_kernel)(x)
    if config.architecture != "bilstm":
        return forward if sequences else _at_last_step(forward, lengths)
    backward = lstm_layer(config.units, f"lstm_{i}_backward", config.lstm_kernel)(
        _reverse_real_steps(x, lengths)
    )
    if sequences:
        backward = _reverse_real_steps(backward, lengths)
        return ops.concatenate([forward, backward], axis=-1)
    return ops.concatenate(
        [_at_last_step(forward, lengths), _at_last_step(backward, lengths)], axis=-1
    )


def _pool(sequence, mask, mode: str):
    """Masked max or mean over time of a ``return_sequences`` output."""
    weights = ops.cast(mask, sequence.dtype)[..., None]
    if mode == "mean":
        return ops.sum(sequence * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)
    return ops.max(ops.where(weights > 0, sequence, -1e9), axis=1)


NGRAM_SCALE = 10.0


def ngram_ids(ids, vocab_size: int, buckets: int):
    """Rows of a review's words and hashed bigrams in the n-gram table, 0 for padding.

    Word ``w`` keeps row ``w``; bigram ``(a, b)`` gets row ``vocab_size + (a * vocab_size +
    b) mod buckets``; pairs that touch padding get row 0. Order matters: ``(a, b)`` and
    ``(b, a)`` are different bigrams.
    """
    first, second = ids[:, :-1], ids[:, 1:]
    pair = ops.cast(first, "int64") * vocab_size + ops.cast(second, "int64")
    bigram = ops.cast(ops.mod(pair, buckets), "int32") + vocab_size
    bigram = ops.where(ops.logical_and(first > 0, second > 0), bigram, 0)
    return ops.concatenate([ids, bigram], axis=1)


def _ngram_bag(ids, config: ModelConfig):
    """Masked mean embedding of a review's words and hashed bigrams (fastText-style).

    The embedding is scaled up by ``NGRAM_SCALE`` (and initialised that much smaller): Adam
    moves each weight by about the learning rate, so the bag learns ``NGRAM_SCALE`` times
    faster than the LSTM (it needs about 5e-3 where the LSTM needs 1e-3), which one shared
    learning rate would not allow.
    """
    grams = ngram_ids(ids, config.vocab_size, config.ngram_buckets)
    init = keras.initializers.RandomUniform(-0.05 / NGRAM_SCALE, 0.05 / NGRAM_SCALE)
    vectors = layers.Embedding(
        config.vocab_size + config.ngram_buckets,
        config.ngram_dim,
        embeddings_initializer=init,
        name="ngram_embedding",
    )(grams)
    weights = ops.cast(ops.greater(grams, 0), vectors.dtype)[..., None]
    mean = ops.sum(vectors * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)
    return mean * NGRAM_SCALE


def output_units(config: ModelConfig) -> int:
    """Logits per review: 1 for two classes (a sigmoid), else one per class (a softmax)."""
    return 1 if config.num_classes == 2 else config.num_classes


def build_model(config: ModelConfig) -> keras.Model:
    """Build (uncompiled) the classifier described by ``config``: ``[batch, 1]`` P(class 1)
    for two classes, ``[batch, K]`` class probabilities for K > 2."""
    # any length up to sequence_length: training batches are cut to their longest review
    ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    conv = config.architecture == "conv_lstm"
    x = layers.Embedding(config.vocab_size, config.embedding_dim, name="embedding")(ids)
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
    lengths = _lengths(mask)
    n_layers = max(config.layers, 2 if config.architecture == "stacked_lstm" else 1)
    pooled = config.architecture in ("lstm", "bilstm") and config.pooling != "last"
    for i in range(n_layers):
        last = i == n_layers - 1
        x = _recurrent(x, lengths, config, i, sequences=not last or pooled)
        if not last and config.dropout:
            x = layers.Dropout(config.dropout, name=f"dropout_{i}")(x)
    if pooled:
        x = _pool(x, mask, config.pooling)
    if config.dropout:
        x = layers.Dropout(config.dropout, name="head_dropout")(x)
    units = output_units(config)
    activation = "sigmoid" if units == 1 else "softmax"
    if not config.ngram_buckets:
        # the binary layer keeps its old name: exports made before K classes load unchanged
        name = "positive" if units == 1 else "classes"
        out = layers.Dense(units, activation=activation, name=name)(x)
        return keras.Model(ids, out, name=config.architecture)
    lstm_logit = layers.Dense(units, name="lstm_logit")(x)
    ngram_logit = layers.Dense(units, name="ngram_logit")(_ngram_bag(ids, config))
    blended = BranchDropout(name="branches")([lstm_logit, ngram_logit])
    out = ops.sigmoid(blended) if units == 1 else ops.softmax(blended, axis=-1)
    return keras.Model(ids, out, name=config.architecture)


def load_embeddings(model: keras.Model, vectors) -> None:
    """Start ``model``'s embedding from pre-trained ``vectors`` (``None``: leave it as
    initialised): the top-left block of a matrix with at least the embedding's dimension.
    Rows beyond a smaller vocabulary (ids that never occur) keep their initial values."""
    if vectors is None:
        return
    layer = model.get_layer("embedding")
    rows, cols = layer.input_dim, layer.output_dim
    if vectors.shape[1] < cols:
        raise ValueError(
            f"pre-trained vectors of dimension {vectors.shape[1]} are smaller than the "
            f"embedding's {cols}; pre-train at the largest dimension of the search space"
        )
    weights = np.array(layer.get_weights()[0])
    n = min(rows, vectors.shape[0])
    weights[:n] = vectors[:n, :cols]
    layer.set_weights([weights])
