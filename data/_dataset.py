"""``load_dataset``: resolve a source, parse it once, cache the splits as Parquet."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import shutil
import tempfile
import urllib.parse
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from ._config import DEFAULT_SOURCE, LABEL_TASKS
from ._csv import BINARY, CsvOptions, read_csv, table_format
from ._download import IMDB_URL, download, fetch_object, file_digests
from ._errors import DataError
from ._imdb import read_archive, read_folder, read_unlabeled, review_files

PARSER_VERSION = "1"


@dataclass(frozen=True)
class Dataset:
    """Labelled reviews: ``train`` and ``test`` frames with ``text, label, rating, id``.

    ``label`` is the index of the review's class in ``classes`` (IMDB's polarity:
    ``negative``, ``positive``; its star ratings: ``1`` ... ``10``; a table's own values).
    """

    train: pd.DataFrame
    test: pd.DataFrame
    fingerprint: str
    source: str
    dropped_empty: int = 0
    from_cache: bool = False
    classes: tuple[str, ...] = BINARY


def default_cache_dir() -> Path:
    """``$SWEEP_CACHE_DIR``, else ``~/.cache/sweep``."""
    return Path(os.environ.get("SWEEP_CACHE_DIR") or Path.home() / ".cache" / "sweep")


def resolve_source(
    source: str | os.PathLike, cache_dir: Path, progress: bool = True
) -> tuple[str, Path]:
    """Return ``(kind, path)`` with kind ``archive``, ``folder`` or ``table`` (a CSV, Parquet
    or JSON Lines file of labelled text).

    ``imdb`` means ``$SWEEP_IMDB`` when set, else the official archive URL (downloaded
    once into ``cache_dir/downloads``).
    """
    text = os.fspath(source)
    if text == DEFAULT_SOURCE:
        text = os.environ.get("SWEEP_IMDB") or IMDB_URL
    if text.startswith(("http://", "https://")):
        name = Path(urllib.parse.urlparse(text).path).name or "download"
        kind = "archive" if name.endswith((".tar.gz", ".tgz", ".tar")) else "table"
        return kind, download(text, cache_dir / "downloads" / name, progress=progress)
    if text.startswith("file://"):
        text = urllib.parse.unquote(urllib.parse.urlparse(text).path)
    elif "://" in text:  # object storage (s3://, gs://, ...): copied once into the cache
        path = fetch_object(text, cache_dir / "downloads", progress)
        return _kind_of(path), path
    path = Path(text).expanduser()
    if not path.exists():
        raise DataError(
            f"data source {text!r} does not exist; pass the IMDB archive, an extracted aclImdb/ "
            "folder or a labelled CSV, Parquet or JSON Lines file (--data PATH or SWEEP_IMDB=PATH)"
        )
    if path.is_dir():
        return "folder", path
    return _kind_of(path), path


def _kind_of(path: Path) -> str:
    """``archive`` or ``table`` for a file, by its name, else by its first bytes."""
    if path.suffix.lower() in {".csv", ".tsv", ".txt"} or table_format(path) != "csv":
        return "table"
    if path.name.endswith((".tar.gz", ".tgz", ".tar")):
        return "archive"
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return "archive" if magic == b"\x1f\x8b" else "table"


def fingerprint_source(kind: str, path: Path, options: object = None) -> str:
    """sha256 over the parser version, the source content (or folder listing) and options."""
    h = hashlib.sha256(f"{PARSER_VERSION}|{kind}|{options!r}|".encode())
    if kind == "folder":
        root = path / "aclImdb" if (path / "aclImdb").is_dir() else path
        for file in review_files(root):
            st = file.stat()
            h.update(f"{file.relative_to(root)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    else:
        h.update(file_digests(path)["sha256"].encode())
    return h.hexdigest()


def load_dataset(
    source: str | os.PathLike = DEFAULT_SOURCE,
    *,
    csv: CsvOptions | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
    cache_dir: Path | None = None,
    progress: bool = True,
    labels: str = "polarity",
) -> Dataset:
    """Load IMDB (default), a local archive / folder / ``file://`` URL, or a labelled table
    (CSV, Parquet, JSON Lines).

    ``labels`` picks an IMDB source's task: ``polarity`` (negative/positive) or ``rating``
    (the star rating in each file's name, 1-4 and 7-10, as 8 classes); a table's labels are
    its own label column. Parsed splits are cached as Parquet under
    ``cache_dir/parsed/<fingerprint>/``; the second load of the same source reads the cache.
    ``test_fraction`` and ``seed`` only apply to a table without a split column (the IMDB
    archive has its own test split).
    """
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    kind, path = resolve_source(source, cache_dir, progress)
    if labels not in LABEL_TASKS:
        raise DataError(f"labels={labels!r}: choose {' or '.join(LABEL_TASKS)}")
    if kind == "table" and labels != "polarity":
        raise DataError(
            f"labels={labels!r} is a task of the IMDB archive; {path} is a table, whose classes "
            "are its label column (--label-column)"
        )
    csv = csv or CsvOptions()
    options = (asdict(csv), test_fraction, seed) if kind == "table" else None
    if kind == "archive" and path.stat().st_size == 0:
        raise DataError(f"{path} is empty; expected the aclImdb_v1.tar.gz archive")
    fingerprint = fingerprint_source(kind, path, options)
    where = cache_dir / "parsed" / fingerprint
    if (where / "meta.json").exists():
        meta = json.loads((where / "meta.json").read_text())
        dataset = Dataset(
            pd.read_parquet(where / "train.parquet"),
            pd.read_parquet(where / "test.parquet"),
            fingerprint,
            str(source),
            meta.get("dropped_empty", 0),
            from_cache=True,
            classes=tuple(meta.get("classes", BINARY)),
        )
        return _relabel(dataset, labels)
    dropped, classes = 0, BINARY
    if kind == "table":
        frame, dropped = read_csv(path, csv, progress)
        classes = frame.attrs["classes"]
        splits = _split_csv(frame, csv, test_fraction, seed, path)
    elif kind == "folder":
        splits = read_folder(path, progress)
    else:
        try:
            splits = read_archive(path, progress)
        except gzip.BadGzipFile as exc:
            raise DataError(f"{path}: not a gzip archive ({exc})") from exc
    for name, frame in splits.items():
        empty = frame["text"].str.strip() == ""
        dropped += int(empty.sum())
        splits[name] = frame[~empty].reset_index(drop=True)
    meta = {"source": str(source), "kind": kind, "dropped_empty": dropped, "classes": classes}
    _write_cache(where, splits, meta)
    dataset = Dataset(
        splits["train"], splits["test"], fingerprint, str(source), dropped, classes=classes
    )
    return _relabel(dataset, labels)


IMDB_RATINGS = (1, 2, 3, 4, 7, 8, 9, 10)


def _relabel(dataset: Dataset, labels: str) -> Dataset:
    """The IMDB rating task: each review's class is its star rating (its own fingerprint, so
    nothing cached or recorded for the polarity task is taken for it)."""
    if labels == "polarity":
        return dataset
    index = {r: i for i, r in enumerate(IMDB_RATINGS)}
    frames = {}
    for name in ("train", "test"):
        frame = dataset.train if name == "train" else dataset.test
        unknown = ~frame["rating"].isin(IMDB_RATINGS)
        if unknown.any():
            raise DataError(
                f"{dataset.source}: review {frame.loc[unknown, 'id'].iloc[0]} has rating "
                f"{frame.loc[unknown, 'rating'].iloc[0]}, not one of {list(IMDB_RATINGS)}; "
                "the rating task needs the archive's <id>_<rating>.txt names"
            )
        frames[name] = frame.assign(label=frame["rating"].map(index).astype("int16"))
    return replace(
        dataset,
        train=frames["train"],
        test=frames["test"],
        fingerprint=hashlib.sha256(f"{dataset.fingerprint}|labels={labels}".encode()).hexdigest(),
        classes=tuple(str(r) for r in IMDB_RATINGS),
    )


def load_unlabeled(
    source: str | os.PathLike = DEFAULT_SOURCE,
    *,
    cache_dir: Path | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """The unlabelled reviews of an IMDB archive or folder (``train/unsup``, 50,000 in the
    official archive) as a frame with ``text, id``; empty for a CSV. Cached as Parquet next
    to the labelled splits of the same source."""
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    kind, path = resolve_source(source, cache_dir, progress)
    if kind == "table":
        return pd.DataFrame(columns=["text", "id"])
    # beside (not in) the labelled cache folder, which is created atomically as a whole
    where = cache_dir / "parsed" / f"{fingerprint_source(kind, path)}.unsup.parquet"
    if where.exists():
        return pd.read_parquet(where)
    frame = read_unlabeled(path, progress)
    frame = frame[frame["text"].str.strip() != ""].reset_index(drop=True)
    where.parent.mkdir(parents=True, exist_ok=True)
    tmp = where.with_name(f".tmp-{os.getpid()}-{where.name}")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, where)
    return frame


def _split_csv(
    frame: pd.DataFrame, csv: CsvOptions, test_fraction: float, seed: int, path: Path
) -> dict[str, pd.DataFrame]:
    if csv.split_column:
        values = set(frame["split"].unique())
        if not values <= {"train", "test"} or values != {"train", "test"}:
            raise DataError(
                f"{path}: column {csv.split_column!r} must hold exactly 'train' and 'test', "
                f"found {sorted(values)[:5]}"
            )
        return {
            s: frame[frame["split"] == s].drop(columns="split").reset_index(drop=True)
            for s in ("train", "test")
        }
    train, test = stratified_split(frame, test_fraction, seed)
    return {"train": train, "test": test}


def stratified_split(
    frame: pd.DataFrame, fraction: float, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``frame`` into ``(rest, held_out)`` with ``fraction`` held out, stratified by label."""
    if not 0 < fraction < 1:
        raise ValueError(f"split fraction={fraction} must be between 0 and 1 (exclusive)")
    counts = frame["label"].value_counts().sort_index()
    classes = frame.attrs.get("classes")
    named = {classes[k] if classes else k: int(v) for k, v in counts.items()}
    if counts.min() < 2:
        rare = [name for name, n in named.items() if n < 2]
        raise DataError(
            f"class {', '.join(map(repr, rare))} has fewer than 2 examples (per class: {named}), "
            f"too few to hold out {fraction:.0%} stratified; add examples of it, merge it into "
            "another class or drop its rows"
        )
    if len(frame) * fraction < len(counts):
        raise DataError(
            f"too few reviews ({len(frame)}, per class {named}) to hold out {fraction:.0%} "
            "with every class in it; use more data"
        )
    rest, held = train_test_split(
        frame, test_size=fraction, random_state=seed, stratify=frame["label"]
    )
    return rest.reset_index(drop=True), held.reset_index(drop=True)


def split_validation(
    train: pd.DataFrame, fraction: float = 0.2, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Carve a stratified, seeded validation split out of ``train``: ``(train, validation)``."""
    return stratified_split(train, fraction, seed)


def _write_cache(where: Path, splits: dict[str, pd.DataFrame], meta: dict) -> None:
    where.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=where.parent, prefix=".tmp-"))
    try:
        for name, frame in splits.items():
            frame.to_parquet(tmp / f"{name}.parquet", index=False)
        (tmp / "meta.json").write_text(json.dumps(meta))
        with contextlib.suppress(OSError):  # another process cached the same source first
            os.replace(tmp, where)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
