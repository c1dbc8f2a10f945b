"""Parse the IMDB archive (streamed, never extracted to disk) or an extracted folder."""

from __future__ import annotations

import re
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from ._errors import DataError

# aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt ; train/unsup/<id>_0.txt is only read by
# read_unlabeled (for pre-training embeddings), never as labelled data.
_MEMBER = re.compile(r"(?:^|/)(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")
_UNLABELED = re.compile(r"(?:^|/)train/unsup/(\d+)_\d+\.txt$")
COLUMNS = ["text", "label", "rating", "id"]


def _record(name: str, raw: bytes) -> tuple[str, dict] | None:
    match = _MEMBER.search(name)
    if match is None:
        return None
    split, polarity, review_id, rating = match.groups()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{name}: byte {exc.start} is not valid UTF-8 ({exc.reason}); "
            "re-encode the file as UTF-8"
        ) from exc
    return split, {
        "text": text,
        "label": 1 if polarity == "pos" else 0,
        "rating": int(rating),
        "id": f"{split}/{polarity}/{review_id}",
    }


def _frames(records: Iterator[tuple[str, dict]], where: str) -> dict[str, pd.DataFrame]:
    rows: dict[str, list[dict]] = {"train": [], "test": []}
    for split, row in records:
        rows[split].append(row)
    for split, found in rows.items():
        if not found:
            raise DataError(
                f"{where}: no reviews found under {split}/pos or {split}/neg; expected the "
                "aclImdb layout (aclImdb/train/pos/*.txt ...). Is this the IMDB archive?"
            )
    return {
        split: pd.DataFrame(found, columns=COLUMNS)
        .sort_values("id", kind="stable")
        .reset_index(drop=True)
        for split, found in rows.items()
    }


def read_archive(path: Path, progress: bool = True) -> dict[str, pd.DataFrame]:
    """Read ``aclImdb_v1.tar.gz`` as a stream; returns ``{"train": df, "test": df}``."""

    def records() -> Iterator[tuple[str, dict]]:
        with (
            tarfile.open(path, mode="r|*") as tar,
            tqdm(desc=f"read {path.name}", unit=" files", disable=not progress) as bar,
        ):
            for member in tar:
                bar.update(1)
                if not member.isfile() or _MEMBER.search(member.name) is None:
                    continue
                fh = tar.extractfile(member)
                try:
                    rec = _record(member.name, fh.read() if fh else b"")
                except DataError as exc:  # name the archive as well as its member
                    raise DataError(f"{path}: {exc}") from exc
                if rec is not None:
                    yield rec

    try:
        return _frames(records(), str(path))
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise DataError(
            f"{path}: the archive is corrupt or truncated ({exc}); download it again "
            "or point --data at an intact copy"
        ) from exc


def read_folder(path: Path, progress: bool = True) -> dict[str, pd.DataFrame]:
    """Read an extracted ``aclImdb/`` folder (or its parent)."""
    root = path / "aclImdb" if (path / "aclImdb").is_dir() else path

    def records() -> Iterator[tuple[str, dict]]:
        files = list(review_files(root))
        for file in tqdm(files, desc=f"read {root}", unit=" files", disable=not progress):
            try:
                rec = _record(file.relative_to(root).as_posix(), file.read_bytes())
            except DataError as exc:  # name the folder as well as the file in it
                raise DataError(f"{root}: {exc}") from exc
            if rec is not None:
                yield rec

    return _frames(records(), str(root))


def review_files(root: Path) -> Iterator[Path]:
    """Labelled review files of an extracted folder, in a stable order."""
    for split in ("train", "test"):
        for polarity in ("pos", "neg"):
            folder = root / split / polarity
            if folder.is_dir():
                yield from sorted(folder.glob("*_*.txt"))


def read_unlabeled(path: Path, progress: bool = True) -> pd.DataFrame:
    """The unlabelled reviews (``train/unsup``) of an archive or extracted folder, as a frame
    with ``text, id``; empty when the source has none."""
    rows: list[dict] = []

    def add(name: str, raw: bytes) -> None:
        match = _UNLABELED.search(name)
        if match is not None:
            rows.append({"text": raw.decode("utf-8", errors="replace"), "id": f"unsup/{match[1]}"})

    if path.is_dir():
        root = path / "aclImdb" if (path / "aclImdb").is_dir() else path
        files = sorted((root / "train" / "unsup").glob("*.txt"))
        for file in tqdm(files, desc=f"read {root}/train/unsup", disable=not progress):
            add(file.relative_to(root).as_posix(), file.read_bytes())
    else:
        try:
            with tarfile.open(path, mode="r|*") as tar:
                for member in tqdm(tar, desc=f"read {path.name} (unsup)", disable=not progress):
                    if member.isfile() and _UNLABELED.search(member.name):
                        fh = tar.extractfile(member)
                        add(member.name, fh.read() if fh else b"")
        except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
            raise DataError(
                f"{path}: the archive is corrupt or truncated ({exc}); download it again "
                "or point --data at an intact copy"
            ) from exc
    frame = pd.DataFrame(rows, columns=["text", "id"])
    return frame.sort_values("id", kind="stable").reset_index(drop=True)
