"""Dataset statistics and plots (``sweep data describe``)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from ._clean import CleanConfig, tokenize
from ._dataset import Dataset

CANDIDATE_LENGTHS = (100, 150, 200, 250, 300, 400, 500)
LABEL_NAMES = {0: "negative", 1: "positive"}
PLOTTED_CLASSES = 8  # per-class plots show the first 8 classes; the JSON holds them all


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def length_table(frame: pd.DataFrame, clean: CleanConfig, progress: bool = False) -> pd.DataFrame:
    """Words (whitespace-separated, raw) and tokens (after cleaning) per review."""
    tokens = [
        len(tokenize(t, clean))
        for t in tqdm(frame["text"], desc="tokenize", unit=" reviews", disable=not progress)
    ]
    return pd.DataFrame(
        {
            "words": frame["text"].str.split().str.len().to_numpy(),
            "tokens": np.asarray(tokens),
            "label": frame["label"].to_numpy(),
        }
    )


def top_words(
    frame: pd.DataFrame, clean: CleanConfig, k: int = 20, classes=tuple(LABEL_NAMES.values())
) -> dict[str, list]:
    """Most frequent words per class, English stop words left out."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    out = {}
    for label, name in enumerate(classes):
        counts: Counter[str] = Counter()
        for text in frame.loc[frame["label"] == label, "text"]:
            counts.update(
                t for t in tokenize(text, clean) if t not in ENGLISH_STOP_WORDS and len(t) > 1
            )
        out[name] = counts.most_common(k)
    return out


def describe_dataset(
    dataset: Dataset,
    output: str | Path,
    clean: CleanConfig = CleanConfig(),
    lengths: tuple[int, ...] = CANDIDATE_LENGTHS,
    top_k: int = 20,
    progress: bool = True,
) -> dict:
    """Write summary.json, summary.txt and four PNG plots into ``output``; return the summary."""
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    splits = {"train": dataset.train, "test": dataset.test}
    classes = list(dataset.classes)
    counts = {
        s: {classes[k]: int(v) for k, v in f["label"].value_counts().sort_index().items()}
        for s, f in splits.items()
    }
    table = length_table(dataset.train, clean, progress)
    cut = {n: float((table["tokens"] > n).mean()) for n in lengths}
    words = top_words(dataset.train, clean, top_k, classes)
    stats = {
        col: {
            "mean": float(table[col].mean()),
            "median": float(table[col].median()),
            "p90": float(table[col].quantile(0.9)),
            "max": int(table[col].max()),
        }
        for col in ("words", "tokens")
    }
    summary = {
        "source": dataset.source,
        "fingerprint": dataset.fingerprint,
        "classes": classes,
        "counts": counts,
        "dropped_empty": dataset.dropped_empty,
        "train_lengths": stats,
        "share_cut_by_sequence_length": cut,
        "top_words": words,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    lines = [f"source {dataset.source}"]
    lines += [
        f"{s}: {sum(c.values())} reviews ({', '.join(f'{k} {v}' for k, v in c.items())})"
        for s, c in counts.items()
    ]
    lines.append(
        "train review length: "
        + "; ".join(
            f"{col} mean {v['mean']:.0f}, median {v['median']:.0f}, 90th pct {v['p90']:.0f}, "
            f"max {v['max']}"
            for col, v in stats.items()
        )
    )
    lines.append(
        "share of train reviews cut at sequence length: "
        + ", ".join(f"{n}: {share:.1%}" for n, share in cut.items())
    )
    for name, items in words.items():
        lines.append(f"top {name} words: " + ", ".join(w for w, _ in items[:12]))
    (out / "summary.txt").write_text("\n".join(lines) + "\n")
    _plots(out, counts, table, cut, words, classes[:PLOTTED_CLASSES])
    return summary


def _plots(out: Path, counts, table: pd.DataFrame, cut: dict, words: dict, classes) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5 + 0.4 * len(classes), 4))
    names = list(counts)
    width = 0.76 / len(classes)
    for i, label in enumerate(classes):
        ax.bar(
            np.arange(len(names)) + (i - (len(classes) - 1) / 2) * width,
            [counts[s].get(label, 0) for s in names],
            width,
            label=label,
        )
    ax.set_xticks(range(len(names)), names)
    ax.set_title("Reviews per split and label")
    ax.set_xlabel("Split")
    ax.set_ylabel("Reviews (count)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "label_counts.png", dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, col in zip(axes, ("words", "tokens"), strict=True):
        upper = float(table[col].quantile(0.99))
        for label, name in enumerate(classes):
            ax.hist(
                table.loc[table["label"] == label, col].clip(upper=upper),
                bins=50,
                alpha=0.55,
                label=name,
            )
        ax.set_title(f"Train review length in {col}")
        ax.set_xlabel(f"Length ({col} per review, clipped at 99th percentile)")
        ax.set_ylabel("Reviews (count)")
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "review_lengths.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.plot(list(cut), [100 * v for v in cut.values()], "o-")
    ax.set_title("Reviews truncated by each sequence length")
    ax.set_xlabel("Sequence length (tokens)")
    ax.set_ylabel("Train reviews longer than it (%)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "length_cut.png", dpi=110)
    plt.close(fig)

    columns = min(len(classes), 4)
    rows = -(-len(classes) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5.5 * columns, 5 * rows), squeeze=False)
    for ax in axes.flat[len(classes) :]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, classes, strict=False):
        items = words[name]
        ax.barh([w for w, _ in items][::-1], [c for _, c in items][::-1])
        ax.set_title(f"Most frequent words in {name} train reviews")
        ax.set_xlabel("Occurrences (count, stop words excluded)")
        ax.set_ylabel("Word")
    fig.tight_layout()
    fig.savefig(out / "top_words.png", dpi=110)
    plt.close(fig)
