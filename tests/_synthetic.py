"""Synthetic, learnable review corpora in the layouts the loader accepts.

Reviews mix neutral filler with a few sentiment words of their class, plus HTML line
breaks and punctuation, so cleaning, vectorization and small models all have work to do.
"""

from __future__ import annotations

import csv
import io
import random
import tarfile
from pathlib import Path

POSITIVE = [
    "great",
    "wonderful",
    "superb",
    "loved",
    "brilliant",
    "masterpiece",
    "excellent",
    "moving",
    "beautiful",
    "fantastic",
]
NEGATIVE = [
    "awful",
    "boring",
    "terrible",
    "dull",
    "waste",
    "horrible",
    "worst",
    "bad",
    "poor",
    "stupid",
]
FILLER = (
    "the movie film plot actor story scene director was is a an and of to it this that "
    "with for on as but at by his her they one all there what when some time just"
).split()


def review(rng: random.Random, label: int) -> str:
    words = [rng.choice(FILLER) for _ in range(rng.randint(8, 40))]
    cue = POSITIVE if label else NEGATIVE
    for _ in range(rng.randint(2, 4)):
        words.insert(rng.randint(0, len(words)), rng.choice(cue))
    text = " ".join(words)
    return text.capitalize() + "!<br /><br />" + ("It's " + rng.choice(cue) + ".")


def corpus(n_per_class: int, seed: int = 0) -> list[tuple[str, int, int]]:
    """``(text, label, rating)`` rows, balanced."""
    rng = random.Random(seed)
    rows = []
    for i in range(2 * n_per_class):
        label = i % 2
        rating = rng.randint(7, 10) if label else rng.randint(1, 4)
        rows.append((review(rng, label), label, rating))
    return rows


def write_folder(root: Path, n_per_class: int = 60, seed: int = 0) -> Path:
    """An extracted ``aclImdb/`` folder (train, test, unsup, README)."""
    base = root / "aclImdb"
    for s, split in enumerate(("train", "test")):
        for i, (text, label, rating) in enumerate(corpus(n_per_class, seed + s)):
            d = base / split / ("pos" if label else "neg")
            d.mkdir(parents=True, exist_ok=True)
            (d / f"{i}_{rating}.txt").write_text(text, encoding="utf-8")
    (base / "train" / "unsup").mkdir(parents=True, exist_ok=True)
    (base / "train" / "unsup" / "0_0.txt").write_text("unlabelled review", encoding="utf-8")
    (base / "README").write_text("synthetic test corpus")
    return base


def write_archive(path: Path, n_per_class: int = 60, seed: int = 0, unlabeled: int = 0) -> Path:
    """``aclImdb_v1.tar.gz`` layout, written without touching the real dataset; with
    ``unlabeled`` reviews of both classes under ``train/unsup``."""
    rng = random.Random(seed + 2)
    return write_reviews_archive(
        path,
        {"train": corpus(n_per_class, seed), "test": corpus(n_per_class, seed + 1)},
        [review(rng, i % 2) for i in range(unlabeled)],
    )


def write_reviews_archive(
    path: Path, splits: dict[str, list[tuple[str, int, int]]], unlabeled: list[str] = ()
) -> Path:
    """An archive in the aclImdb layout from ``(text, label, rating)`` rows per split and
    unlabelled texts."""
    with tarfile.open(path, "w:gz") as tar:

        def add(name: str, text: str) -> None:
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        for split, items in splits.items():
            for i, (text, label, rating) in enumerate(items):
                add(f"aclImdb/{split}/{'pos' if label else 'neg'}/{i}_{rating}.txt", text)
        for i, text in enumerate(unlabeled):
            add(f"aclImdb/train/unsup/{i}_0.txt", text)
    return path


def write_csv(
    path: Path,
    n_per_class: int = 60,
    seed: int = 0,
    columns: tuple[str, str] = ("review", "sentiment"),
) -> Path:
    """Kaggle "IMDB Dataset.csv" layout: review,sentiment (positive/negative)."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(columns)
        for text, label, _ in corpus(n_per_class, seed):
            w.writerow([text, "positive" if label else "negative"])
    return path


TOPIC_CUES = {
    "billing": ["invoice", "refund", "charged", "payment", "receipt"],
    "bug": ["crash", "error", "broken", "freezes", "exception"],
    "feature": ["wish", "suggest", "could", "idea", "request"],
    "account": ["password", "login", "email", "username", "locked"],
    "shipping": ["parcel", "courier", "delivery", "tracking", "arrived"],
}


def class_corpus(
    classes: list[str] | list[int], n_per_class: int, seed: int = 0
) -> list[tuple[str, str | int]]:
    """``(text, label)`` rows, balanced, for K classes: each class has five cue words of its
    own (``TOPIC_CUES`` for the first five names, else made-up words) among neutral filler."""
    rng = random.Random(seed)
    cues = list(TOPIC_CUES.values())
    rows = []
    for i in range(n_per_class * len(classes)):
        k = i % len(classes)
        words = cues[k] if k < len(cues) else [f"cue{k}x{j}" for j in range(5)]
        text = [rng.choice(FILLER) for _ in range(rng.randint(8, 30))]
        for _ in range(rng.randint(2, 4)):
            text.insert(rng.randint(0, len(text)), rng.choice(words))
        rows.append((" ".join(text).capitalize() + ".", classes[k]))
    rng.shuffle(rows)
    return rows


def write_table(
    path: Path,
    rows: list[tuple[str, str | int]],
    columns: tuple[str, str] = ("text", "label"),
) -> Path:
    """``rows`` as a CSV, Parquet or JSON Lines file, by ``path``'s suffix."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=list(columns))
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif path.suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_csv(path, index=False)
    return path
