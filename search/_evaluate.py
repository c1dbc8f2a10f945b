"""Evaluate any exported model on a labelled test split and write its report."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sweep.data import DataConfig, prepare_splits
from sweep.model import load_model, predict_texts, write_evaluation_report


def evaluate_export(
    model_dir: str | Path,
    output: str | Path,
    source: str | None = None,
    max_reviews: int | None = None,
    progress: bool = True,
) -> dict:
    """Score ``model_dir`` (checksums verified, safe_mode) on the test split of ``source``
    (default: the data the model was trained on) and write the report to ``output``."""
    net, metadata = load_model(model_dir)
    known = metadata.get("data", {})
    config = DataConfig()
    for key in ("source", "text_column", "label_column", "split_column", "seed"):
        if known.get(key) is not None:
            config = replace(config, **{key: known[key]})
    if source:
        config = replace(config, source=source)
    if max_reviews:
        config = replace(config, max_reviews=max_reviews)
    test = prepare_splits(config, progress=progress).test
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
    )
