"""One training run without Ray or Redis: load, vectorize, fit, evaluate on test, export."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from data import prepare_splits, vectorize_splits
from model import (
    REPORT_DIR,
    EpochResult,
    Evaluation,
    build_model,
    configure_runtime,
    evaluate,
    export_model,
    fit,
    load_embeddings,
    write_evaluation_report,
)

from ._train_spec import TrainSpec


def report_writer(test_frame, probabilities, history, context):
    """A callback writing the evaluation report into ``<export>/report/``."""

    def write(folder: Path) -> None:
        write_evaluation_report(
            folder / REPORT_DIR,
            test_frame["label"].to_numpy(),
            probabilities,
            test_frame["text"].tolist(),
            test_frame["id"].tolist(),
            history,
            context=context,
        )

    return write


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
        splits,
        spec.model.vocab_size,
        spec.model.sequence_length,
        spec.data.clean,
        progress,
        embedding_dim=spec.model.embedding_dim,
    )
    net = build_model(spec.model)
    load_embeddings(net, vec.embeddings)
    history = fit(net, (vec.x_train, vec.y_train), (vec.x_val, vec.y_val), spec.train, on_epoch)
    test, probabilities = evaluate(net, vec.x_test, vec.y_test)
    best = max(history, key=lambda r: r.val_accuracy)
    report = report_writer(
        splits.test,
        probabilities,
        [asdict(r) for r in history],
        {"architecture": spec.model.architecture, "split": "test"},
    )
    out = export_model(
        net,
        vec.vocabulary,
        spec.model,
        output,
        report=report,
        metadata={
            "source": "sweep train",
            "train_config": asdict(spec.train),
            "data": {
                **asdict(spec.data),
                "fingerprint": vec.fingerprint,
                "n_train": len(vec.y_train),
                "n_validation": len(vec.y_val),
                "n_test": len(vec.y_test),
                "embeddings_pretrained_on": vec.embeddings_from,
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
