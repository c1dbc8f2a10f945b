"""The trial function Ray Tune runs: a trial's data view, its model, one report per epoch.

The vectorized arrays arrive through the Ray object store (``tune.with_parameters``), so no
trial tokenizes text; each derives its vocabulary/length view with ``data.sequence_view``.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, replace
from typing import Any

from sweep.data import Vectorized, sequence_view
from sweep.model import (
    FirstBatchClock,
    ModelConfig,
    TrainConfig,
    blend_layer,
    branch_logits,
    build_model,
    compile_model,
    configure_runtime,
    fine_tuning,
    fit,
    fit_branch_weight,
    inference_latency_ms,
    load_embeddings,
    load_encoder,
    load_portable_weights,
    save_portable_weights,
)

_MODEL_KEYS = {f.name for f in fields(ModelConfig)}
# data settings a space may search: they pick the trial's vectorization (Vectorized.for_config)
CLEANING_KEYS = {"stop_words", "lemmatize"}
_TRAIN_KEYS = {f.name for f in fields(TrainConfig)}
WEIGHTS = "model.weights.npz"
LEGACY_WEIGHTS = "model.weights.h5"  # checkpoints written before the npz file
STATE = "state.json"


def save_trial_weights(net, folder: str) -> None:
    """The checkpoint's weights, loadable under either LSTM kernel (a trial restored on a
    node that picks the other one, e.g. a GPU node)."""
    save_portable_weights(net, os.path.join(folder, WEIGHTS))


def load_trial_weights(net, folder: str, model_cfg: ModelConfig) -> None:
    """Restore a checkpoint's weights, also the Keras ``.h5`` file of older checkpoints."""
    path = os.path.join(folder, WEIGHTS)
    if not os.path.exists(path):
        path = os.path.join(folder, LEGACY_WEIGHTS)
    load_portable_weights(net, path, model_cfg)


@dataclass(frozen=True)
class TrialContext:
    """What every trial shares: the fixed training settings, the budget and the metric (a
    model with the n-gram branch fits its branch weight by it)."""

    base_train: TrainConfig
    max_epochs: int
    cpus: float
    metric: str = "val_accuracy"
    gpus: float = 0.0


def trial_configs(
    config: dict[str, Any], base: TrainConfig, num_classes: int = 2
) -> tuple[ModelConfig, TrainConfig]:
    """Split a sampled configuration into model and training configs (pure); the number of
    classes comes from the data, never from the configuration."""
    unknown = set(config) - _MODEL_KEYS - _TRAIN_KEYS - CLEANING_KEYS
    if unknown:
        raise ValueError(f"configuration keys {sorted(unknown)} are not model or train settings")
    model_cfg = ModelConfig(
        **{k: v for k, v in config.items() if k in _MODEL_KEYS and k != "num_classes"},
        num_classes=num_classes,
    )
    train_cfg = replace(
        base,
        **{k: v for k, v in config.items() if k in _TRAIN_KEYS},
        early_stopping_patience=0,
        reduce_lr_patience=0,
    )  # ASHA stops trials
    return model_cfg, train_cfg


def start_encoder(
    net, config: dict[str, Any], model_cfg: ModelConfig, train_cfg: TrainConfig, data: Vectorized
) -> list[Any]:
    """Load the pre-trained encoder ``config`` draws into the compiled ``net``; the
    fine-tuning callbacks for ``fit`` (its rate and unfreezing schedule).

    A configuration without ``encoder`` (a space that does not search it) starts from the
    word vectors when the data has them (``data.pretrain_embeddings``), as before encoders
    were searched."""
    if "encoder" not in config:
        load_embeddings(net, data.embeddings)
        return []
    if model_cfg.encoder == "vectors":
        if data.embeddings is None:
            raise ValueError("encoder=vectors, but the data has no pre-trained word vectors")
        load_embeddings(net, data.embeddings)
        pretrained = ["embedding"]
    elif model_cfg.encoder == "lm":
        if data.language_model is None:
            raise ValueError("encoder=lm, but the data has no pre-trained language model")
        parts = "embedding" if model_cfg.architecture == "conv_lstm" else "encoder"
        pretrained = load_encoder(net, data.language_model, parts)
    else:
        return []
    tuning = fine_tuning(net, pretrained, train_cfg.encoder_rate, train_cfg.unfreeze)
    return [tuning] if tuning is not None else []


def trial_views(data: Vectorized, model_cfg: ModelConfig):
    """The trial's train and validation arrays at its vocabulary size and length."""
    v, n = model_cfg.vocab_size, model_cfg.sequence_length
    return (
        (sequence_view(data.x_train, v, n), data.y_train),
        (sequence_view(data.x_val, v, n), data.y_val),
    )


def train_epochs(
    config: dict[str, Any],
    data: Vectorized,
    context: TrialContext,
    restore: Callable[[Any, ModelConfig], int] | None = None,
) -> Iterator[tuple[Any, dict[str, Any]]]:
    """Train one configuration epoch by epoch, yielding ``(model, metrics)`` after each.

    ``restore(model, model_config)`` loads a checkpoint into the built model and returns the
    epochs it had done. What a trial reports (``lstm_trial``) and what the learning-curve
    recorder stores (``bench/record_curves.py``) both come from here.
    """
    entered_at = time.time()
    configure_runtime(cpus=context.cpus, seed=context.base_train.seed, gpus=context.gpus)
    data = data.for_config(config)  # its stop words and lemmas, when the space searches them
    model_cfg, train_cfg = trial_configs(config, context.base_train, len(data.classes))
    train, val = trial_views(data, model_cfg)
    net = compile_model(build_model(model_cfg), train_cfg)
    tuning = start_encoder(net, config, model_cfg, train_cfg, data)
    start = restore(net, model_cfg) if restore is not None else 0
    params = int(net.count_params())
    latency_ms = None
    first_batch = FirstBatchClock()
    for epoch in range(start, context.max_epochs):
        (result,) = fit(
            net,
            train,
            val,
            train_cfg,
            callbacks=[first_batch, *tuning],
            initial_epoch=epoch,
            epochs=epoch + 1,
        )
        if latency_ms is None:  # a property of the architecture: measured once, warm
            latency_ms = inference_latency_ms(net, val[0])
        # the blend of the branches that validation prefers at this epoch; the winner's is
        # applied to the exported model (the reported metrics stay those of the mean)
        weight = (
            fit_branch_weight(branch_logits(net, val[0]), val[1], context.metric)
            if blend_layer(net) is not None
            else None
        )
        yield (
            net,
            {
                "epoch": epoch + 1,
                "loss": result.loss,
                "accuracy": result.accuracy,
                "val_loss": result.val_loss,
                "val_accuracy": result.val_accuracy,
                "val_auc": result.val_auc,
                "val_macro_f1": result.val_macro_f1,
                "epoch_seconds": result.seconds,
                "params": params,
                "latency_ms": latency_ms,
                "branch_weight": weight,
                "trial_entered_at": entered_at,  # wall clock, to measure per-trial overhead
                "first_batch_at": first_batch.at,
            },
        )


def lstm_trial(config: dict[str, Any], data: Vectorized, context: TrialContext) -> None:
    """Train one configuration epoch by epoch, reporting metrics and a checkpoint each epoch."""
    import ray
    from ray import tune

    checkpoint = tune.get_checkpoint()

    def restore(net, model_cfg: ModelConfig) -> int:
        with checkpoint.as_directory() as folder:
            load_trial_weights(net, folder, model_cfg)
            with open(os.path.join(folder, STATE)) as fh:
                return json.load(fh)["epoch"]

    node = {
        "node_ip": ray.util.get_node_ip_address(),
        "node_id": ray.get_runtime_context().get_node_id(),
    }
    for net, metrics in train_epochs(config, data, context, restore if checkpoint else None):
        with tempfile.TemporaryDirectory() as folder:
            save_trial_weights(net, folder)
            with open(os.path.join(folder, STATE), "w") as fh:
                json.dump({"epoch": metrics["epoch"]}, fh)
            tune.report({**metrics, **node}, checkpoint=tune.Checkpoint.from_directory(folder))
