"""One training run without Ray or Redis: load, vectorize, fit, evaluate on test, export."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from sweep.data import prepare_splits, vectorize_splits
from sweep.model import (
    REPORT_DIR,
    EpochResult,
    Evaluation,
    blend_classes,
    blend_layer,
    branch_logits,
    build_model,
    configure_runtime,
    evaluate,
    export_model,
    fit,
    fit_branch_weight,
    load_embeddings,
    set_branch_weight,
    write_evaluation_report,
)

from ._train_spec import TrainSpec


def report_writer(test_frame, probabilities, history, context, classes=None):
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
            classes=classes,
        )

    return write


def branch_blend(
    net,
    test: tuple[np.ndarray, np.ndarray],
    *,
    val: tuple[np.ndarray, np.ndarray] | None = None,
    metric: str = "val_accuracy",
    weight: float | None = None,
    fitted_with: str | None = None,
) -> dict | None:
    """Set the weight of ``net``'s LSTM branch against its n-gram bag; describe it for the
    export's metadata (``None`` for an LSTM-only model).

    ``weight`` is used as given (fitted earlier on validation); without one it is fitted on
    ``val`` by ``metric``; with neither the model keeps the mean. The test accuracy of the
    mean is recorded beside it, to show what the weight changed.
    """
    if blend_layer(net) is None:
        return None
    if weight is None and val is not None:
        weight = fit_branch_weight(branch_logits(net, val[0]), val[1], metric)
        fitted_with = "the exported model"
    mean_classes = blend_classes(branch_logits(net, test[0]))
    set_branch_weight(net, weight)
    return {
        "lstm": weight,
        "ngram": None if weight is None else 1.0 - weight,
        "fitted_on": None if weight is None else "validation",
        "fitted_by": None if weight is None else metric,
        "fitted_with": None if weight is None else fitted_with,
        "test_accuracy_of_mean": float(np.mean(mean_classes == np.asarray(test[1]).astype(int))),
    }


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
    model_cfg = replace(spec.model, num_classes=len(vec.classes))
    net = build_model(model_cfg)
    load_embeddings(net, vec.embeddings)
    history = fit(net, (vec.x_train, vec.y_train), (vec.x_val, vec.y_val), spec.train, on_epoch)
    blend = branch_blend(net, (vec.x_test, vec.y_test), val=(vec.x_val, vec.y_val))
    test, probabilities = evaluate(net, vec.x_test, vec.y_test, classes=vec.classes)
    best = max(history, key=lambda r: r.val_accuracy)
    report = report_writer(
        splits.test,
        probabilities,
        [asdict(r) for r in history],
        {"architecture": spec.model.architecture, "split": "test"},
        classes=vec.classes,
    )
    out = export_model(
        net,
        vec.vocabulary,
        model_cfg,
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
                "macro_f1": best.val_macro_f1,
            },
            "branch_weight": blend,
            "test": test.to_dict(),
            "classes": list(vec.classes),
            "history": [asdict(r) for r in history],
        },
    )
    return TrainingOutcome(history, test, out)
