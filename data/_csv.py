"""Read labelled text: a CSV (in chunks), a Parquet or a JSON Lines file, with K >= 2 classes.

The label column may hold any K distinct values, strings or integers. Binary sentiment
labels (positive/negative, pos/neg, 1/0, true/false, yes/no) keep today's meaning
(``negative`` = 0, ``positive`` = 1); any other set of values becomes its own classes,
ordered numerically when every value is an integer, else alphabetically, so the same file
always gives the same class list.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ._errors import DataError

_POSITIVE = {"positive", "pos", "1", "true", "yes"}
_NEGATIVE = {"negative", "neg", "0", "false", "no"}
BINARY = ("negative", "positive")

# found without flags, in this order: the first text column and the first label column present
TEXT_COLUMNS = ("text", "review", "sentence")
LABEL_COLUMNS = ("label", "sentiment")
MAX_CLASSES = 50


@dataclass(frozen=True)
class CsvOptions:
    """Which columns hold the text, the label and (optionally) the split.

    ``None`` for the text or label column finds the common names (``text``/``review``/
    ``sentence`` and ``label``/``sentiment``). ``max_classes`` bounds K (a free-text column
    named as the label would otherwise become thousands of classes).
    """

    text_column: str | None = None
    label_column: str | None = None
    split_column: str | None = None
    chunk_size: int = 10_000
    max_classes: int = MAX_CLASSES

    def __post_init__(self) -> None:
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size={self.chunk_size} must be >= 1")
        if self.max_classes < 2:
            raise ValueError(f"max_classes={self.max_classes} must be >= 2")


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


def table_format(path: Path) -> str:
    """``parquet``, ``jsonl`` or ``csv`` by the file's name."""
    name = path.name.lower()
    if name.endswith(".parquet") or name.endswith(".pq"):
        return "parquet"
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    return "csv"


def _columns(columns: list[str], options: CsvOptions, path: Path) -> tuple[str, str]:
    """The text and label columns: the ones named, else the first common names present."""

    def pick(named: str | None, common: tuple[str, ...], flag: str) -> str:
        if named is not None:
            if named not in columns:
                raise DataError(
                    f"{path}: no column {named!r} ({flag}); the header has {columns}. "
                    f"Name the right one with {flag}"
                )
            return named
        found = next((c for c in common if c in columns), None)
        if found is None:
            raise DataError(
                f"{path}: none of the columns {list(common)} is in the header {columns}; "
                f"name the column with {flag}"
            )
        return found

    return (
        pick(options.text_column, TEXT_COLUMNS, "--text-column"),
        pick(options.label_column, LABEL_COLUMNS, "--label-column"),
    )


def encode_labels(
    values: pd.Series, where: str, max_classes: int = MAX_CLASSES, first_line: int = 2
) -> tuple[pd.Series, tuple[str, ...]]:
    """``(class index per row, class names)`` for raw label values.

    ``first_line`` is the file line of ``values``' first row, to name a missing label's line
    (2 for a CSV under its header, 1 for JSON Lines, 0 for Parquet's row numbers).
    """
    if pd.api.types.is_float_dtype(values):  # JSON/Parquet integers with gaps read as floats
        whole = values.dropna()
        if (whole == whole.round()).all():
            values = values.astype("Int64")
    text = values.astype("string").str.strip()
    missing = (text.isna() | (text == "")).to_numpy()
    if missing.any():
        first = int(values.index[missing.nonzero()[0][0]])  # the file's row, before any drop
        unit = "row" if first_line == 0 else "line"
        raise DataError(
            f"{where}: {int(missing.sum())} rows have no label (the first at {unit} "
            f"{first + first_line}); fill them in or drop those rows"
        )
    norm = text.str.lower()
    distinct = sorted(set(norm))
    if len(distinct) < 2:
        raise DataError(
            f"{where}: every row has label {text.iloc[0]!r}; at least two classes are needed"
        )
    found = set(distinct)
    if found <= _POSITIVE | _NEGATIVE:  # sentiment words: synonyms are one class
        if not (found & _POSITIVE and found & _NEGATIVE):
            side = "positive" if found & _POSITIVE else "negative"
            raise DataError(
                f"{where}: every label ({', '.join(distinct)}) means {side}; at least two "
                "classes are needed"
            )
        return norm.isin(_POSITIVE).astype("int16"), BINARY
    names = sorted(set(text))
    if len(names) > max_classes:
        raise DataError(
            f"{where}: the label column holds {len(names)} distinct values, more than "
            f"max_classes={max_classes}; is it the label column? If so, raise the limit "
            "(--max-classes N, or data.max_classes in the spec)"
        )
    try:
        names = sorted(names, key=lambda s: int(s))
        names = [str(int(s)) for s in names]
        index = {n: i for i, n in enumerate(names)}
        codes = text.map(lambda s: index[str(int(s))])
    except ValueError:
        index = {n: i for i, n in enumerate(names)}
        codes = text.map(index)
    return codes.astype("int16"), tuple(names)


def _frame(
    text: pd.Series, labels: pd.Series, ids: pd.Index, prefix: str, split: pd.Series | None
) -> tuple[pd.DataFrame, int]:
    text = text.astype("string").fillna("").astype(str)
    keep = text.str.strip() != ""
    part = pd.DataFrame(
        {  # the index stays the file's row number, to name a bad row
            "text": text[keep],
            "raw_label": labels[keep],
            "rating": -1,
            "id": [f"{prefix}/{i}" for i in ids[keep]],
        }
    )
    if split is not None:
        part["split"] = split[keep].astype(str).str.strip().str.lower()
    return part, int((~keep).sum())


def read_csv(path: Path, options: CsvOptions, progress: bool = True) -> tuple[pd.DataFrame, int]:
    """Read a CSV, Parquet or JSON Lines file; returns ``(frame, dropped_empty)``.

    ``frame`` has ``text``, ``label`` (class index), ``rating`` (-1: unknown), ``id`` and,
    when a split column is given, ``split``; ``frame.attrs["classes"]`` names the classes.
    Rows with empty text are dropped and counted.
    """
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty; expected a header and labelled rows")
    kind = table_format(path)
    if kind == "csv":
        frame, dropped, first_line = _read_csv_chunks(path, options)
    else:
        frame, dropped, first_line = _read_whole(path, kind, options)
    if frame.empty:
        raise DataError(f"{path} has no rows with text (dropped {dropped} empty)")
    codes, classes = encode_labels(
        frame.pop("raw_label"), str(path), options.max_classes, first_line
    )
    frame.insert(1, "label", codes.to_numpy())
    frame = frame.reset_index(drop=True)
    frame.attrs["classes"] = classes
    return frame, dropped


def _read_csv_chunks(path: Path, options: CsvOptions) -> tuple[pd.DataFrame, int, int]:
    check_utf8(path)
    frames, dropped = [], 0
    try:
        reader = pd.read_csv(
            path, chunksize=options.chunk_size, dtype=str, keep_default_na=False, encoding="utf-8"
        )
        for chunk in reader:
            text_col, label_col = _columns(list(chunk.columns), options, path)
            if options.split_column and options.split_column not in chunk.columns:
                raise DataError(
                    f"{path}: no column {options.split_column!r} (split column); the header has "
                    f"{list(chunk.columns)}"
                )
            split = chunk[options.split_column] if options.split_column else None
            # empty labels stay empty strings: encode_labels counts them as missing
            part, n = _frame(chunk[text_col], chunk[label_col], chunk.index, "csv", split)
            frames.append(part)
            dropped += n
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path} is empty; expected a header and labelled rows") from exc
    except pd.errors.ParserError as exc:
        raise DataError(f"{path} is not a valid CSV: {exc}") from exc
    frame = pd.concat(frames) if frames else pd.DataFrame()
    return frame, dropped, 2


def _read_whole(path: Path, kind: str, options: CsvOptions) -> tuple[pd.DataFrame, int, int]:
    try:
        if kind == "parquet":
            table = pd.read_parquet(path)
        else:
            table = pd.read_json(path, lines=True, dtype=False)
    except (ValueError, OSError) as exc:  # pyarrow and pandas' JSON errors are ValueErrors
        raise DataError(f"{path} is not a valid {kind} file ({exc}); check its format") from exc
    text_col, label_col = _columns([str(c) for c in table.columns], options, path)
    split = None
    if options.split_column:
        if options.split_column not in table.columns:
            raise DataError(
                f"{path}: no column {options.split_column!r} (split column); the columns are "
                f"{list(table.columns)}"
            )
        split = table[options.split_column]
    prefix = "parquet" if kind == "parquet" else "jsonl"
    part, dropped = _frame(table[text_col], table[label_col], table.index, prefix, split)
    return part, dropped, 0 if kind == "parquet" else 1
