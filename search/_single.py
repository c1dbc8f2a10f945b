"""One training run without Ray or Redis: load, vectorize, fit, evaluate on test, export."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from data import prepare_splits, vectorize_splits
from model import (
    EpochResult,
    Evaluation,
    build_model,
    configure_runtime,
    evaluate,
    export_model,
    fit,
)

from ._train_spec import TrainSpec


@dataclass(frozen=True)
class TrainingOutcome:
    history: list[EpochResult]
    test: Evaluation
    export_dir: Path


def run_training(
    spec: TrainSpec,
    output: str | Path,
    on_epoch: Callable[[EpochResult], None] | None = None,
    progress: bool = True,
) -> TrainingOutcome:
    """Train the model of ``spec`` once and export it to ``output``."""
    configure_runtime(seed=spec.train.seed)
    splits = prepare_splits(spec.data, progress=progress)
    vec = vectorize_splits(
        splits, spec.model.vocab_size, spec.model.sequence_length, spec.data.clean
    )
    net = build_model(spec.model)
    history = fit(net, (vec.x_train, vec.y_train), (vec.x_val, vec.y_val), spec.train, on_epoch)
    test, _ = evaluate(net, vec.x_test, vec.y_test)
    best = max(history, key=lambda r: r.val_accuracy)
    out = export_model(
        net,
        vec.vocabulary,
        spec.model,
        output,
        metadata={
            "source": "sweep train",
            "train_config": asdict(spec.train),
            "data": {
                **asdict(spec.data),
                "fingerprint": vec.fingerprint,
                "n_train": len(vec.y_train),
                "n_validation": len(vec.y_val),
                "n_test": len(vec.y_test),
            },
            "epochs": len(history),
            "best_epoch": best.epoch,
            "validation": {
                "accuracy": best.val_accuracy,
                "loss": best.val_loss,
                "auc": best.val_auc,
            },
            "test": test.to_dict(),
            "history": [asdict(r) for r in history],
        },
    )
    return TrainingOutcome(history, test, out)
