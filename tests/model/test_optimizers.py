"""The fused Adam/AdamW updates are Adam's arithmetic: the weights Keras' own Adam/AdamW give
on the same (dense) gradients, step by step.

Keras 3 applies an embedding's sparse gradient (``tf.IndexedSlices``) without summing repeated
ids first, so its second moment holds the sum of the squared per-occurrence gradients rather
than the square of the row's gradient; the fused kernel sums them first, as Adam is defined
(and as Keras does on a dense gradient). The comparison is therefore made on dense gradients,
and the difference on sparse ones is asserted where it shows."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from sweep.model import (
    FusedAdam,
    FusedAdamW,
    ModelConfig,
    ScaledRMSprop,
    TrainConfig,
    build_model,
    compile_model,
)
from sweep.model._train import make_optimizer

# Keras' float32 LSTM: the bfloat16 rounding of the projected kernel would turn float32
# round-off between the two optimizers into visible differences
CONFIG = ModelConfig(
    vocab_size=200, sequence_length=48, embedding_dim=8, units=4, dropout=0.0, lstm_kernel="keras"
)


def _train(optimizer, x, y, steps=6, dense=True):
    """Weights after ``steps`` batches from the same start; ``dense``: the embedding's sparse
    gradient is summed per row before the optimizer sees it."""
    keras.utils.set_random_seed(0)
    net = build_model(CONFIG)
    loss = keras.losses.BinaryCrossentropy()
    for step in range(steps):
        rows = slice(step * 32, (step + 1) * 32)
        with tf.GradientTape() as tape:
            value = loss(y[rows], net(x[rows], training=True))
        grads = tape.gradient(value, net.trainable_variables)
        if dense:
            grads = [tf.convert_to_tensor(g) for g in grads]
        optimizer.apply_gradients(zip(grads, net.trainable_variables, strict=True))
    return [np.asarray(w) for w in net.get_weights()]


@pytest.mark.parametrize(
    ("fused", "stock"),
    [
        (lambda: FusedAdam(3e-2), lambda: keras.optimizers.Adam(3e-2)),
        (
            lambda: FusedAdamW(3e-2, weight_decay=0.1),
            lambda: keras.optimizers.AdamW(3e-2, weight_decay=0.1),
        ),
    ],
    ids=["adam", "adamw"],
)
def test_fused_update_equals_keras_on_dense_gradients(tiny_vectors, fused, stock):
    x, y = tiny_vectors.x_train, tiny_vectors.y_train.astype("float32")
    start = _train(stock(), x, y, steps=0)
    theirs = _train(stock(), x, y)
    assert all(not np.allclose(a, b) for a, b in zip(start, theirs, strict=True))  # all moved
    for sparse in (False, True):  # the fused kernel sums an IndexedSlices gradient itself
        ours = _train(fused(), x, y, dense=not sparse)
        for a, b in zip(ours, theirs, strict=True):  # float32 rounding apart (a step is 3e-2)
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_keras_sparse_adam_differs_where_ids_repeat():
    """What the fused optimizer changes: on a repeated id, Keras' sparse path squares each
    occurrence's gradient (one step of Adam on row 1, seen twice, against row 2, seen once)."""
    ids = tf.constant([[1, 1, 2]])

    def step(optimizer, dense):
        keras.utils.set_random_seed(0)
        emb = keras.layers.Embedding(4, 2)
        emb.build((None, 3))
        before = emb.embeddings.numpy().copy()
        for _ in range(2):
            with tf.GradientTape() as tape:
                value = tf.reduce_sum(emb(ids) * tf.constant([[[1.0], [3.0], [1.0]]]))
            (grad,) = tape.gradient(value, emb.trainable_variables)
            optimizer.apply_gradients(
                [(tf.convert_to_tensor(grad) if dense else grad, emb.embeddings)]
            )
        return emb.embeddings.numpy() - before

    sparse, dense, fused = (
        step(keras.optimizers.Adam(0.1), False),
        step(keras.optimizers.Adam(0.1), True),
        step(FusedAdam(0.1), False),
    )
    np.testing.assert_allclose(fused, dense, atol=1e-5)  # float32 rounding apart (steps of 0.1)
    np.testing.assert_allclose(sparse[[0, 2, 3]], dense[[0, 2, 3]], atol=1e-5)  # single ids agree
    assert not np.allclose(sparse[1], dense[1], atol=1e-2)  # the repeated id does not


def test_amsgrad_keeps_keras_own_update(tiny_vectors):
    x, y = tiny_vectors.x_train, tiny_vectors.y_train.astype("float32")
    ours = _train(FusedAdam(3e-2, amsgrad=True), x, y, dense=False)
    theirs = _train(keras.optimizers.Adam(3e-2, amsgrad=True), x, y, dense=False)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_the_training_config_picks_the_fused_optimizers():
    assert type(make_optimizer(TrainConfig(optimizer="adam"))) is FusedAdam
    adamw = make_optimizer(TrainConfig(optimizer="adamw", weight_decay=0.01))
    assert type(adamw) is FusedAdamW and adamw.weight_decay == pytest.approx(0.01)
    rmsprop = make_optimizer(TrainConfig(optimizer="rmsprop"))
    assert type(rmsprop) is ScaledRMSprop and isinstance(rmsprop, keras.optimizers.RMSprop)
    # an ablation's own optimizer replaces the configured one, with the same loss and metrics
    net = compile_model(build_model(CONFIG), TrainConfig(), keras.optimizers.Adam(1e-3))
    assert type(net.optimizer) is keras.optimizers.Adam and net.loss == "binary_crossentropy"


def test_a_compiled_model_with_a_fused_optimizer_saves_and_loads(tmp_path):
    net = compile_model(build_model(CONFIG), TrainConfig())
    net.train_on_batch(np.ones((4, 48), "int32"), np.ones(4, "float32"))
    net.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert type(loaded.optimizer) is FusedAdam
    assert loaded.optimizer.learning_rate.numpy() == pytest.approx(1e-3)
