"""``sweep predict``: score raw texts or a CSV with an exported model."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from ._common import echo_json
from ._errors import BadInput, cli_errors

MAX_CHARS = 1_000_000  # longer texts are cut here; the model only reads sequence_length tokens


def _read_input(path: str, text_column: str | None):
    import pandas as pd

    from sweep.data import DataError, check_utf8

    p = Path(path)
    if p.stat().st_size == 0:
        raise DataError(f"{path} is empty; expected a header and a text column")
    check_utf8(p)
    try:
        frame = pd.read_csv(p, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path} is not a valid CSV: {exc}") from exc
    common = ("review", "text", "sentence")  # the text columns training finds, review first
    column = text_column or next((c for c in common if c in frame.columns), None)
    if column is None or column not in frame.columns:
        raise DataError(
            f"{path}: no column {text_column or '/'.join(common)!r}; the header has "
            f"{list(frame.columns)}. Name it with --text-column"
        )
    return frame, column


def _check_texts(texts: list[str], where: str) -> list[str]:
    empty = [i for i, t in enumerate(texts) if not t.strip()]
    if empty:
        rows = ", ".join(str(i + 1) for i in empty[:10])
        raise BadInput(f"{where}: empty text at {rows}; remove those rows or give real text")
    return [t[:MAX_CHARS] for t in texts]


@click.command()
@click.argument("model_dir", metavar="MODEL", type=click.Path())
@click.argument("texts", nargs=-1)
@click.option(
    "--input",
    "input_csv",
    type=click.Path(exists=True, dir_okay=False),
    help="CSV of texts to score (column 'review', 'text' or 'sentence', or --text-column).",
)
@click.option(
    "--output",
    "output_csv",
    type=click.Path(dir_okay=False),
    help="Where to write the CSV with label and probability columns added (a K-class model "
    "adds one probability_<class> column per class; default: predictions.csv next to the "
    "input).",
)
@click.option("--text-column", help="Column of --input holding the text.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@cli_errors
def predict(model_dir, texts, input_csv, output_csv, text_column, as_json):
    """Predict the class of TEXTs or of a CSV with an exported MODEL folder.

    The model's files are checked against their sha256 and loaded with safe_mode. Each text
    gets its class and a probability: P(positive) for a two-class sentiment model, the
    probability of the predicted class for a K-class one (whose JSON rows also give every
    class's probability).

    \b
    Examples:
      sweep predict model/ "An absolute masterpiece, I loved every minute"
      sweep predict model/ --input reviews.csv --output predictions.csv
    """
    if bool(texts) == bool(input_csv):
        raise BadInput("give either TEXT arguments or --input CSV (not both, not neither)")
    import numpy as np

    from sweep.model import export_classes, load_model, predict_texts, predicted_classes

    if input_csv:
        frame, column = _read_input(input_csv, text_column)
        values = _check_texts(frame[column].tolist(), f"{input_csv}, data rows")
    else:
        values = _check_texts(list(texts), "TEXT argument")
    net, metadata = load_model(model_dir)
    classes = export_classes(metadata, net)
    probs = predict_texts(net, values)
    binary = probs.ndim == 1
    predicted = predicted_classes(probs)
    labels = [classes[c] for c in predicted]
    # two classes: P(class 1), as before K classes; K: the predicted class's probability
    shown = probs if binary else probs[np.arange(len(probs)), predicted]
    if not input_csv:
        rows = []
        for i, (t, lab, p) in enumerate(zip(texts, labels, shown, strict=True)):
            row = {"text": t, "label": lab, "probability": round(float(p), 6)}
            if not binary:
                row["probabilities"] = {
                    c: round(float(q), 6) for c, q in zip(classes, probs[i], strict=True)
                }
            rows.append(row)
        if as_json:
            echo_json(rows)
        else:
            width = max(8, *(len(c) for c in classes))
            for r in rows:
                click.echo(f"{r['label']:<{width}}  {r['probability']:.4f}  {r['text'][:80]}")
        return
    out = Path(output_csv or Path(input_csv).with_name("predictions.csv"))
    if out.resolve() == Path(input_csv).resolve():
        raise BadInput(f"--output {out} is the input file; choose another path")
    label_col = "label" if "label" not in frame.columns else "predicted_label"
    prob_col = "probability" if "probability" not in frame.columns else "predicted_probability"
    frame[label_col] = labels
    frame[prob_col] = np.round(shown, 6)
    if not binary:
        for c, name in enumerate(classes):
            frame[f"probability_{name}"] = probs[:, c].round(6)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    frame.to_csv(tmp, index=False)
    os.replace(tmp, out)
    counts = {name: int(sum(lab == name for lab in labels)) for name in classes}
    summary = {
        "output": str(out),
        "rows": len(frame),
        **({"positive": counts["positive"]} if binary and "positive" in counts else {}),
        "per_class": counts,
    }
    if as_json:
        echo_json(summary)
    else:
        per = ", ".join(f"{n} {name}" for name, n in counts.items())
        click.echo(f"wrote {summary['rows']} predictions to {out} ({per})")
