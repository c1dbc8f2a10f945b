"""Read a labelled CSV (e.g. Kaggle's "IMDB Dataset.csv": review,sentiment) in chunks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ._errors import DataError

_POSITIVE = {"positive", "pos", "1", "true", "yes"}
_NEGATIVE = {"negative", "neg", "0", "false", "no"}


@dataclass(frozen=True)
class CsvOptions:
    """Which columns hold the text, the label and (optionally) the split."""

    text_column: str = "review"
    label_column: str = "sentiment"
    split_column: str | None = None
    chunk_size: int = 10_000

    def __post_init__(self) -> None:
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size={self.chunk_size} must be >= 1")


def check_utf8(path: Path) -> None:
    """Fail on the first line that is not UTF-8, naming it."""
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{path}, line {number}: byte {exc.start} (0x{line[exc.start]:02x}) is not "
                    "valid UTF-8; re-encode the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)"
                ) from exc


def _labels(values: pd.Series, path: Path, first_line: int) -> pd.Series:
    norm = values.astype("string").str.strip().str.lower()
    out = pd.Series(-1, index=values.index, dtype="int8")
    out[norm.isin(_POSITIVE)] = 1
    out[norm.isin(_NEGATIVE)] = 0
    bad = out < 0
    if bad.any():
        pos = int(bad.to_numpy().nonzero()[0][0])
        raise DataError(
            f"{path}, record at line {first_line + pos}: label {values.iloc[pos]!r} is not binary; "
            "use positive/negative, pos/neg, 1/0 or true/false"
        )
    return out


def read_csv(path: Path, options: CsvOptions, progress: bool = True) -> tuple[pd.DataFrame, int]:
    """Read the CSV; returns ``(frame, dropped_empty)``.

    ``frame`` has ``text``, ``label``, ``rating`` (-1: unknown), ``id`` and, when a split
    column is given, ``split``.  Rows with empty text are dropped and counted.
    """
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty; expected a header and labelled rows")
    check_utf8(path)
    wanted = [options.text_column, options.label_column]
    if options.split_column:
        wanted.append(options.split_column)
    frames, dropped, first_line = [], 0, 2
    try:
        reader = pd.read_csv(
            path,
            chunksize=options.chunk_size,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8",
        )
        for chunk in reader:
            missing = [c for c in wanted if c not in chunk.columns]
            if missing:
                raise DataError(
                    f"{path}: no column {', '.join(map(repr, missing))}; the header has "
                    f"{list(chunk.columns)}. Name the columns with --text-column / --label-column"
                )
            labels = _labels(chunk[options.label_column], path, first_line)
            text = chunk[options.text_column].astype(str)
            keep = text.str.strip() != ""
            dropped += int((~keep).sum())
            part = pd.DataFrame(
                {
                    "text": text[keep],
                    "label": labels[keep],
                    "rating": -1,
                    "id": [f"csv/{i}" for i in chunk.index[keep]],
                }
            )
            if options.split_column:
                part["split"] = chunk.loc[keep, options.split_column].str.strip().str.lower()
            frames.append(part)
            first_line += len(chunk)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path} is empty; expected a header and labelled rows") from exc
    except pd.errors.ParserError as exc:
        raise DataError(f"{path} is not a valid CSV: {exc}") from exc
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if frame.empty:
        raise DataError(f"{path} has no rows with text (dropped {dropped} empty)")
    if frame["label"].nunique() < 2:
        raise DataError(
            f"{path}: every row has label {int(frame['label'].iloc[0])}; both classes are needed"
        )
    return frame, dropped
