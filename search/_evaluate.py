"""Evaluate any exported model on a labelled test split and write its report."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sweep.data import DataConfig, DataError, prepare_splits
from sweep.model import export_classes, load_model, predict_texts, write_evaluation_report


def evaluate_export(
    model_dir: str | Path,
    output: str | Path,
    source: str | None = None,
    max_reviews: int | None = None,
    progress: bool = True,
    data: dict | None = None,
) -> dict:
    """Score ``model_dir`` (checksums verified, safe_mode) on the test split of ``source``
    (default: the data the model was trained on; ``data`` overrides other data settings,
    e.g. ``label_column``) and write the report to ``output``.

    The data's classes must be the model's, in the same order: a model scored on another
    task's labels fails here, naming both lists, instead of reporting a meaningless accuracy.
    """
    net, metadata = load_model(model_dir)
    # `sweep train` records the data section itself, a sweep's winner its spec's
    known = {**metadata.get("spec", {}).get("data", {}), **metadata.get("data", {})}
    config = DataConfig()
    keys = ("source", "text_column", "label_column", "split_column", "seed", "labels")
    for key in keys:
        if known.get(key) is not None:
            config = replace(config, **{key: known[key]})
    if source:
        config = replace(config, source=source)
    if max_reviews:
        config = replace(config, max_reviews=max_reviews)
    config = replace(config, **(data or {}))
    splits = prepare_splits(config, progress=progress)
    classes = export_classes(metadata, net)
    if list(splits.classes) != classes:
        raise DataError(
            f"{config.source}: its classes {list(splits.classes)} are not the model's "
            f"{classes}; evaluate on data labelled like the model's training data "
            "(--label-column, --labels)"
        )
    test = splits.test
    probabilities = predict_texts(net, test["text"].tolist())
    return write_evaluation_report(
        output,
        test["label"].to_numpy(),
        probabilities,
        test["text"].tolist(),
        test["id"].tolist(),
        metadata.get("history"),
        title=f"Evaluation of {Path(model_dir).name}",
        context={
            "model": str(model_dir),
            "data": config.source,
            "split": "test",
            "trial": metadata.get("trial_id", "-"),
            "architecture": metadata.get("model_config", {}).get("architecture"),
        },
        classes=classes,
    )
