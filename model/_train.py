"""Training: compile, ``tf.data`` input, per-epoch results, EarlyStopping / ReduceLROnPlateau."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from ._config import GpuUnavailable, TrainConfig
from ._optimizers import FusedAdam, FusedAdamW, ScaledRMSprop


@dataclass(frozen=True)
class EpochResult:
    """Metrics after one epoch (validation metrics are the ones a sweep selects on)."""

    epoch: int
    loss: float
    accuracy: float
    val_loss: float
    val_accuracy: float
    val_auc: float  # NaN for K > 2 classes (the reports give one-vs-rest AUCs instead)
    learning_rate: float
    seconds: float
    val_macro_f1: float = float("nan")


@keras.saving.register_keras_serializable(package="sweep")
class MacroF1(keras.metrics.F1Score):
    """Keras' macro-averaged F1 for integer labels, for one sigmoid output (two classes) or a
    softmax over K: the predicted class is the most probable one, as in ``accuracy``."""

    def __init__(self, name="macro_f1", dtype=None):
        super().__init__(average="macro", threshold=None, name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = keras.ops.convert_to_tensor(y_pred)
        if y_pred.shape[-1] == 1:
            y_pred = keras.ops.concatenate([1.0 - y_pred, y_pred], axis=-1)
        labels = keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32")
        one_hot = keras.ops.one_hot(labels, y_pred.shape[-1], dtype=y_pred.dtype)
        super().update_state(one_hot, y_pred, sample_weight)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


def class_weights(y: np.ndarray) -> dict[int, float]:
    """scikit-learn's ``balanced`` weight of each class present in ``y``."""
    from sklearn.utils.class_weight import compute_class_weight

    y = np.asarray(y).astype(int)
    present = np.unique(y)
    weights = compute_class_weight("balanced", classes=present, y=y)
    return {int(c): float(w) for c, w in zip(present, weights, strict=True)}


def classes_of(model: keras.Model) -> int:
    """The number of classes a built classifier tells apart (2 for one sigmoid output)."""
    units = model.outputs[0].shape[-1]
    return 2 if units == 1 else int(units)


def configure_runtime(
    cpus: float | None = None, seed: int | None = None, gpus: float = 0.0
) -> None:
    """Size TensorFlow's thread pools to ``cpus`` and let GPUs grow memory on demand.

    ``gpus`` is the GPU share the process was given (Ray sets ``CUDA_VISIBLE_DEVICES``); when
    it is above 0 and TensorFlow sees no GPU, :class:`GpuUnavailable` is raised rather than
    training on the CPU. Call before the first TensorFlow op of the process (trial workers
    call it first).
    """
    if cpus:
        threads = max(1, int(cpus))
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
        except RuntimeError:  # already initialised in this process (e.g. a reused actor)
            pass
    visible = tf.config.list_physical_devices("GPU")
    if gpus > 0 and not visible:
        import os
        import socket

        why = (
            "it is built with CUDA, so that node lacks the NVIDIA driver or the CUDA libraries"
            if tf.test.is_built_with_cuda()
            else "it is a build without CUDA"
        )
        raise GpuUnavailable(
            f"this run was given {gpus:g} GPU on {socket.gethostname()} "
            f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')}), but "
            f"TensorFlow {tf.__version__} sees no GPU: {why}. Install pip install 'sweep[gpu]' "
            "on an image with the NVIDIA driver (ray-cluster.yaml's gpu_worker), or set "
            "resources.gpus: 0"
        )
    for gpu in visible:
        with contextlib.suppress(RuntimeError):
            tf.config.experimental.set_memory_growth(gpu, True)
    if seed is not None:
        keras.utils.set_random_seed(seed)


def make_optimizer(config: TrainConfig) -> keras.optimizers.Optimizer:
    """The configured optimizer; Adam and AdamW apply their update as one fused kernel
    (the same arithmetic as Keras', fewer passes over the embedding; see ``_optimizers``)."""
    if config.optimizer == "adamw":
        return FusedAdamW(config.learning_rate, weight_decay=config.weight_decay)
    if config.optimizer == "rmsprop":
        return ScaledRMSprop(config.learning_rate)
    return FusedAdam(config.learning_rate)


def compile_model(
    model: keras.Model,
    config: TrainConfig,
    optimizer: keras.optimizers.Optimizer | None = None,
) -> keras.Model:
    """Compile with the sweep's loss and metrics; ``optimizer`` (default: the configured one,
    ``make_optimizer``) is for ablations such as Keras' own Adam in the benchmarks."""
    binary = classes_of(model) == 2
    metrics = ["accuracy", MacroF1()]
    if binary:  # Keras' AUC takes one probability per example; K classes get OvR AUCs in reports
        metrics.append(keras.metrics.AUC(name="auc"))
    model.compile(
        optimizer=optimizer or make_optimizer(config),
        loss="binary_crossentropy" if binary else "sparse_categorical_crossentropy",
        metrics=metrics,
    )
    _build_training_state(model)
    return model


def _build_training_state(model: keras.Model) -> None:
    """Create the optimizer's and the metrics' variables now, outside ``tf.function``.

    Without a distribution strategy Keras defers this to the first trace of the train step,
    and a ``tf.function`` that creates variables on its first call is traced twice (once
    creating them, once without): a second trace of the whole step, about 0.8 s for a
    bidirectional LSTM on this CPU, in every trial. ``_symbolic_build`` is what Keras itself
    runs first under a strategy; a model without symbolic inputs keeps Keras' default.
    """
    inputs = getattr(model, "inputs", None)
    build = getattr(model, "_symbolic_build", None)
    if not inputs or build is None:
        return
    x = inputs[0] if len(inputs) == 1 else list(inputs)
    build(data_batch=(x, keras.KerasTensor((None,), "float32")))


def token_lengths(x: np.ndarray) -> np.ndarray:
    """Real tokens per row of a right-padded id array (0 = padding)."""
    return np.count_nonzero(np.asarray(x), axis=1)


def length_batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator | None = None, pool: int = 64
) -> list[np.ndarray]:
    """Row indices in batches of similar length (pure).

    Rows are shuffled (with ``rng``), cut into pools of ``pool`` batches, sorted by length
    inside each pool and batched; the batch order is shuffled again. Each batch then needs
    padding only to its own longest review, and batches still mix the whole data.
    """
    n = len(lengths)
    order = rng.permutation(n) if rng is not None else np.arange(n)
    span = batch_size * pool
    batches: list[np.ndarray] = []
    for start in range(0, n, span):
        chunk = order[start : start + span]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    if rng is not None:
        rng.shuffle(batches)
    return batches


def without_autotune_model(ds: tf.data.Dataset) -> tf.data.Dataset:
    """``ds`` without tf.data's autotuning model thread (``prefetch(AUTOTUNE)`` still sizes
    its buffer, by the older per-op autotuner).

    Deleting an iterator whose model thread is waiting out its optimization period can
    block until the period ends, and the period doubles from 10 ms to at most 60 s while
    the iterator lives. Keras drops the exhausted iterator at the end of every epoch: after
    a 3 s epoch that cost up to 2 s (``bench/iterator_teardown.py``), in a sweep's trials
    up to 9.5 s after a 13 s epoch. These pipelines (a generator over in-memory arrays)
    have nothing for that thread to tune.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.with_options(options)


def make_dataset(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    bucket: bool = True,
) -> tf.data.Dataset:
    """Batched, prefetched ``tf.data`` pipeline over in-memory right-padded arrays.

    With ``bucket`` each batch holds reviews of similar length and is cut to its longest
    one, so the LSTM runs only as many steps as that batch needs (the mask covers the rest).
    """
    y = np.asarray(y).astype("float32")
    if not bucket:
        ds = tf.data.Dataset.from_tensor_slices((x, y))
        if shuffle:
            ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        return without_autotune_model(ds.batch(batch_size).prefetch(tf.data.AUTOTUNE))
    x = np.asarray(x)
    lengths = token_lengths(x)
    rng = np.random.default_rng(seed) if shuffle else None

    def batches():
        for rows in length_batches(lengths, batch_size, rng):
            width = max(1, int(lengths[rows].max()))
            yield x[rows, :width], y[rows]

    signature = (
        tf.TensorSpec(shape=(None, None), dtype=tf.as_dtype(x.dtype)),
        tf.TensorSpec(shape=(None,), dtype=tf.float32),
    )
    ds = tf.data.Dataset.from_generator(batches, output_signature=signature)
    n_batches = -(-len(x) // batch_size)  # pools are whole batches: only the last is short
    ds = ds.apply(tf.data.experimental.assert_cardinality(n_batches))
    return without_autotune_model(ds.prefetch(tf.data.AUTOTUNE))


class FirstBatchClock(keras.callbacks.Callback):
    """Notes the wall-clock time the first training batch finished (per-trial overhead)."""

    at: float | None = None

    def on_train_batch_end(self, batch, logs=None):
        if self.at is None:
            self.at = time.time()


class _EpochRecorder(keras.callbacks.Callback):
    """Collects :class:`EpochResult` and hands each to ``on_epoch`` as soon as it exists."""

    def __init__(self, on_epoch: Callable[[EpochResult], None] | None) -> None:
        super().__init__()
        self.results: list[EpochResult] = []
        self._on_epoch = on_epoch
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        result = EpochResult(
            epoch=epoch + 1,
            loss=float(logs.get("loss", np.nan)),
            accuracy=float(logs.get("accuracy", np.nan)),
            val_loss=float(logs.get("val_loss", np.nan)),
            val_accuracy=float(logs.get("val_accuracy", np.nan)),
            val_auc=float(logs.get("val_auc", np.nan)),
            learning_rate=lr,
            seconds=time.perf_counter() - self._start,
            val_macro_f1=float(logs.get("val_macro_f1", np.nan)),
        )
        self.results.append(result)
        if self._on_epoch:
            self._on_epoch(result)


def fit(
    model: keras.Model,
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray] | None,
    config: TrainConfig,
    on_epoch: Callable[[EpochResult], None] | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    initial_epoch: int = 0,
    epochs: int | None = None,
    verbose: int = 0,
) -> list[EpochResult]:
    """Train ``model`` (compiling it if needed) and return one result per epoch.

    Without ``validation`` (retraining on train + validation) the early-stopping callbacks
    are off and ``val_*`` metrics are NaN.
    """
    if getattr(model, "optimizer", None) is None:
        compile_model(model, config)
    recorder = _EpochRecorder(on_epoch)
    cbs: list[keras.callbacks.Callback] = [recorder, *callbacks]
    if validation is not None and config.early_stopping_patience:
        cbs.append(
            keras.callbacks.EarlyStopping(
                monitor="val_accuracy",
                mode="max",
                patience=config.early_stopping_patience,
                restore_best_weights=True,
            )
        )
    if validation is not None and config.reduce_lr_patience:
        cbs.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss",
                factor=config.reduce_lr_factor,
                patience=config.reduce_lr_patience,
                min_lr=1e-6,
            )
        )
    bucket = config.length_buckets
    val_ds = (
        make_dataset(*validation, config.batch_size, bucket=bucket)
        if validation is not None
        else None
    )
    model.fit(
        make_dataset(
            *train, config.batch_size, shuffle=True, seed=config.seed + initial_epoch, bucket=bucket
        ),  # a new order each epoch, also when trials fit one epoch at a time
        class_weight=class_weights(train[1]) if config.class_weight == "balanced" else None,
        validation_data=val_ds,
        epochs=epochs or config.epochs,
        initial_epoch=initial_epoch,
        shuffle=False,  # the tf.data pipeline shuffles
        callbacks=cbs,
        verbose=verbose,
    )
    return recorder.results
