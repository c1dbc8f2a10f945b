"""Language-model pre-training of the classifier's encoder (embedding + first LSTM layer).

Dai & Le (2015) and ULMFiT (Howard & Ruder, 2018) start an LSTM classifier from a language
model trained on unlabelled text. :class:`LanguageModel` trains two of them at once on one
shared embedding: a forward LSTM predicting each next word (``lstm_0``) and a backward LSTM
predicting each previous word (``lstm_0_backward``), the layer names ``build_model`` gives
the first layer of an ``lstm`` / ``bilstm`` / ``stacked_lstm`` classifier. Training scores a
sampled softmax (TensorFlow's ``tf.nn.sampled_softmax_loss``, log-uniform candidates, which
fit the frequency-ordered vocabulary): 20,000 output words would make the full softmax most
of a step's cost. Validation scores the full softmax, so its perplexity is exact.

:func:`pretrain_language_model` is resumable: after each epoch it saves the weights, the
optimizer's state and the history to a checkpoint folder, and a later call with the same
folder continues at the next epoch. Keras and numpy only: caching and storage are
``search._pretrain``'s.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from sweep.data import DataError

from ._builders import load_embeddings
from ._config import LMEpoch, LMSettings
from ._lstm import lstm_layer

ENCODER_LAYERS = ("embedding", "lstm_0", "lstm_0_backward")
CHECKPOINT_WEIGHTS = "lm.weights.npz"
CHECKPOINT_OPTIMIZER = "lm.optimizer.npz"
CHECKPOINT_STATE = "lm.state.json"


def lm_windows(token_lists: Sequence[Sequence[int]], window: int) -> np.ndarray:
    """Each review cut into rows of ``window + 1`` ids (inputs and next-word targets overlap
    by one), right-padded with 0; reviews of under two words give no row."""
    rows: list[np.ndarray] = []
    for ids in token_lists:
        ids = np.asarray(ids, dtype=np.int32)
        for start in range(0, max(len(ids) - 1, 0), window):
            piece = ids[start : start + window + 1]
            if len(piece) >= 2:
                rows.append(piece)
    out = np.zeros((len(rows), window + 1), dtype=np.int32)
    for i, piece in enumerate(rows):
        out[i, : len(piece)] = piece
    return out


def reverse_rows(rows: np.ndarray) -> np.ndarray:
    """Each row's real (non-zero) ids in reverse order, padding kept at the end."""
    out = np.zeros_like(rows)
    lengths = (rows != 0).sum(axis=1)
    for i, n in enumerate(lengths):
        out[i, :n] = rows[i, :n][::-1]
    return out


class LanguageModel(keras.Model):
    """Forward and backward LSTM language models over one shared embedding."""

    def __init__(self, vocab_size: int, settings: LMSettings, lstm_kernel: str = "auto"):
        super().__init__(name="language_model")
        self.vocab_size = vocab_size
        self.sampled = min(settings.sampled, vocab_size - 1)
        self.embedding = keras.layers.Embedding(
            vocab_size, settings.embedding_dim, name="embedding"
        )
        self.forward_lstm = lstm_layer(settings.units, "lstm_0", lstm_kernel)
        self.backward_lstm = lstm_layer(settings.units, "lstm_0_backward", lstm_kernel)
        self.softmax_weights = self.add_weight(
            shape=(vocab_size, settings.units), initializer="glorot_uniform", name="softmax_w"
        )
        self.softmax_bias = self.add_weight(
            shape=(vocab_size,), initializer="zeros", name="softmax_b"
        )
        self.loss_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self):
        return [self.loss_tracker]

    def call(self, rows):
        """Hidden states ``(forward, backward)`` of ``[forward rows, backward rows]``."""
        forward, backward = rows
        return (
            self.forward_lstm(self.embedding(forward[:, :-1])),
            self.backward_lstm(self.embedding(backward[:, :-1])),
        )

    def _direction_loss(self, hidden, rows, sampled: bool):
        targets = rows[:, 1:]
        real = tf.not_equal(targets, 0)
        h = tf.boolean_mask(hidden, real)
        y = tf.cast(tf.boolean_mask(targets, real), "int64")
        if sampled:
            losses = tf.nn.sampled_softmax_loss(
                weights=self.softmax_weights,
                biases=self.softmax_bias,
                labels=y[:, None],
                inputs=h,
                num_sampled=self.sampled,
                num_classes=self.vocab_size,
            )
        else:
            logits = tf.matmul(h, self.softmax_weights, transpose_b=True) + self.softmax_bias
            losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        return tf.reduce_sum(losses), tf.cast(tf.size(y), "float32")

    def _loss(self, rows, sampled: bool):
        forward, backward = self(rows, training=sampled)
        f_sum, f_n = self._direction_loss(forward, rows[0], sampled)
        b_sum, b_n = self._direction_loss(backward, rows[1], sampled)
        return (f_sum + b_sum) / tf.maximum(f_n + b_n, 1.0), f_n + b_n

    def train_step(self, data):
        with tf.GradientTape() as tape:
            loss, n = self._loss(data, sampled=True)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables, strict=True))
        self.loss_tracker.update_state(loss, sample_weight=n)
        return {"loss": self.loss_tracker.result()}

    def test_step(self, data):
        loss, n = self._loss(data, sampled=False)
        self.loss_tracker.update_state(loss, sample_weight=n)
        return {"loss": self.loss_tracker.result()}

    def encoder_weights(self) -> dict[str, list[np.ndarray]]:
        """The weights a classifier takes, by its layer names (:data:`ENCODER_LAYERS`)."""
        return {
            "embedding": [np.asarray(w) for w in self.embedding.get_weights()],
            "lstm_0": [np.asarray(w) for w in self.forward_lstm.get_weights()],
            "lstm_0_backward": [np.asarray(w) for w in self.backward_lstm.get_weights()],
        }


def _dataset(forward: np.ndarray, backward: np.ndarray, batch: int, shuffle_seed: int | None):
    ds = tf.data.Dataset.from_tensor_slices((forward, backward))
    if shuffle_seed is not None:
        ds = ds.shuffle(len(forward), seed=shuffle_seed, reshuffle_each_iteration=True)
    return ds.batch(batch).prefetch(tf.data.AUTOTUNE)


def _split_windows(rows: np.ndarray, settings: LMSettings) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train / held-out split of the windows (at least one held out)."""
    order = np.random.default_rng(settings.seed).permutation(len(rows))
    n_out = max(1, round(settings.holdout * len(rows)))
    return rows[order[n_out:]], rows[order[:n_out]]


class _Checkpoint(keras.callbacks.Callback):
    """After each epoch: the history entry, then weights, optimizer state and history saved
    to ``folder`` (state last, so a folder with a state file is a whole checkpoint)."""

    def __init__(self, folder: Path, history: list[LMEpoch], windows: int, on_epoch):
        super().__init__()
        self.folder, self.history, self.windows, self.on_epoch = folder, history, windows, on_epoch
        self.started = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        val_loss = float(logs["val_loss"])
        entry = LMEpoch(
            epoch + 1,
            float(logs["loss"]),
            val_loss,
            math.exp(min(val_loss, 50.0)),
            time.perf_counter() - self.started,
            self.windows,
        )
        self.history.append(entry)
        save_checkpoint(self.model, self.folder, self.history)
        if self.on_epoch is not None:
            self.on_epoch(entry, self.model.encoder_weights(), list(self.history))


def save_checkpoint(model: LanguageModel, folder: Path, history: Sequence[LMEpoch]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / CHECKPOINT_WEIGHTS, *model.get_weights())
    np.savez(folder / CHECKPOINT_OPTIMIZER, *[np.asarray(v) for v in model.optimizer.variables])
    tmp = folder / f".{CHECKPOINT_STATE}.tmp"
    tmp.write_text(json.dumps({"history": [asdict(h) for h in history]}))
    os.replace(tmp, folder / CHECKPOINT_STATE)


def _restore_checkpoint(model: LanguageModel, folder: Path) -> list[LMEpoch]:
    """Load a whole checkpoint from ``folder`` into the built model; its history."""
    state = folder / CHECKPOINT_STATE
    if not state.exists():
        return []
    with np.load(folder / CHECKPOINT_WEIGHTS) as saved:
        model.set_weights([saved[f"arr_{i}"] for i in range(len(saved.files))])
    with np.load(folder / CHECKPOINT_OPTIMIZER) as saved:
        values = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    for variable, value in zip(model.optimizer.variables, values, strict=True):
        variable.assign(value)
    return [LMEpoch(**h) for h in json.loads(state.read_text())["history"]]


def pretrain_language_model(
    token_lists: Sequence[Sequence[int]],
    vocab_size: int,
    settings: LMSettings,
    checkpoint: str | os.PathLike,
    *,
    progress: bool = True,
    on_epoch: Callable[[LMEpoch, dict[str, list[np.ndarray]], list[LMEpoch]], None] | None = None,
    lstm_kernel: str = "auto",
) -> tuple[dict[str, list[np.ndarray]], list[LMEpoch]]:
    """Train the forward and backward language models on ``token_lists`` (ids below
    ``vocab_size``, frequency-ordered) for ``settings.epochs`` epochs, resuming from the
    checkpoint in ``checkpoint`` when one is there. Returns the encoder weights by layer
    name and the per-epoch history (perplexity on the held-out windows)."""
    folder = Path(checkpoint)
    rows = lm_windows(token_lists, settings.window)
    if len(rows) < 2:
        raise DataError(
            f"the pre-training corpus gives {len(rows)} row(s) of {settings.window} words; it "
            "needs at least 2: use more training or unlabelled text, or a smaller "
            "pretrain.window"
        )
    train_rows, val_rows = _split_windows(rows, settings)
    if settings.max_windows and len(train_rows) > settings.max_windows:
        train_rows = train_rows[: settings.max_windows]
    keras.utils.set_random_seed(settings.seed)
    model = LanguageModel(vocab_size, settings, lstm_kernel)
    model.compile(optimizer=keras.optimizers.Adam(settings.learning_rate, clipnorm=1.0))
    model([train_rows[:1], train_rows[:1]])  # build the layers
    model.optimizer.build(model.trainable_variables)
    history = _restore_checkpoint(model, folder)
    if len(history) > settings.epochs:
        raise ValueError(
            f"the checkpoint in {folder} is at epoch {len(history)}, past the "
            f"{settings.epochs} asked for; its epoch-{settings.epochs} snapshot is the one to use"
        )
    if len(history) < settings.epochs:
        model.fit(
            _dataset(train_rows, reverse_rows(train_rows), settings.batch_size, settings.seed),
            validation_data=_dataset(
                val_rows, reverse_rows(val_rows), 4 * settings.batch_size, None
            ),
            initial_epoch=len(history),
            epochs=settings.epochs,
            verbose="auto" if progress else 0,
            shuffle=False,  # the dataset shuffles, seeded
            callbacks=[_Checkpoint(folder, history, len(train_rows), on_epoch)],
        )
    return model.encoder_weights(), history


def load_encoder(model: keras.Model, weights: dict[str, list[np.ndarray]], parts: str) -> list[str]:
    """Start ``model`` from pre-trained encoder ``weights`` (:meth:`LanguageModel.encoder_weights`
    or word vectors as ``{"embedding": [matrix]}``); ``parts``: ``embedding`` (that layer only)
    or ``encoder`` (the embedding and the first LSTM layer, each direction the model has).
    The embedding takes the first rows (the classifier's vocabulary is a prefix of the
    frequency-ordered one pre-trained on). Returns the layers it set."""
    names = {layer.name for layer in model.layers}
    wanted = ("embedding",) if parts == "embedding" else ENCODER_LAYERS
    done = []
    for name in wanted:
        if name not in names or name not in weights:
            continue
        layer = model.get_layer(name)
        values = weights[name]
        current = layer.get_weights()
        if name == "embedding":
            if values[0].shape[1] != current[0].shape[1]:
                raise ValueError(
                    f"pre-trained embedding of dimension {values[0].shape[1]} does not fit the "
                    f"model's {current[0].shape[1]}"
                )
            load_embeddings(model, values[0])  # the first rows: a vocabulary prefix
        else:
            if [w.shape for w in values] != [w.shape for w in current]:
                raise ValueError(
                    f"pre-trained {name} has weights {[w.shape for w in values]}, the model's "
                    f"are {[w.shape for w in current]}: the language model's units and "
                    "embedding_dim must be the trial's"
                )
            layer.set_weights(values)
        done.append(name)
    return done


class Unfreeze(keras.callbacks.Callback):
    """Sets each pre-trained group's learning-rate scale at the start of every epoch:
    ``rate`` from the group's first epoch on, 0 (frozen) before it. Epochs count from the
    start of training, so a trial resumed at epoch ``e`` (``fit(initial_epoch=e)``) gets the
    scales of epoch ``e``."""

    def __init__(self, groups: Sequence[tuple[keras.Variable, int]], rate: float):
        super().__init__()
        self.groups, self.rate = list(groups), rate

    def on_epoch_begin(self, epoch, logs=None):
        for scale, first in self.groups:
            scale.assign(self.rate if epoch >= first else 0.0)


def fine_tuning(model: keras.Model, pretrained: Sequence[str], rate: float, unfreeze: str):
    """Discriminative rates and gradual unfreezing for a compiled ``model`` whose layers
    ``pretrained`` were loaded (:func:`load_encoder`): a callback for ``fit``, or None when
    nothing was pre-trained. With ``unfreeze="gradual"`` the pre-trained layers are frozen
    in the first epoch, the LSTM layers step from the second and the embedding from the one
    after (ULMFiT: the layers nearest the head thaw first). Call before the first ``fit``:
    the optimizer reads the scales when its training step is traced."""
    if not pretrained:
        return None
    lstms = [name for name in pretrained if name != "embedding"]
    gradual = unfreeze == "gradual"
    groups = []
    for names, first in ((lstms, 1), (["embedding"], 1 + bool(lstms))):
        names = [n for n in names if n in pretrained]
        if not names:
            continue
        scale = keras.Variable(rate, trainable=False, dtype="float32", name=f"rate_{names[0]}")
        variables = [v for n in names for v in model.get_layer(n).trainable_variables]
        model.optimizer.scale_rates(variables, scale)
        groups.append((scale, first if gradual else 0))
    return Unfreeze(groups, rate)
