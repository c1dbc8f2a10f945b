"""`data.describe_dataset`: counts, lengths, truncation shares, top words, plots."""

from __future__ import annotations

import json

from sweep.data import load_dataset
from sweep.data._describe import describe_dataset
from tests import _synthetic
from tests._browser import assert_png


def test_describe_tiny_archive(tiny_archive, tmp_path):
    summary = describe_dataset(
        load_dataset(tiny_archive, progress=False),
        tmp_path,
        lengths=(5, 20, 40, 80),
        progress=False,
    )
    assert summary["counts"] == {
        "train": {"negative": 60, "positive": 60},
        "test": {"negative": 60, "positive": 60},
    }
    shares = list(summary["share_cut_by_sequence_length"].values())
    assert shares == sorted(shares, reverse=True) and shares[0] == 1.0 and shares[-1] == 0.0
    positive = {w for w, _ in summary["top_words"]["positive"]}
    negative = {w for w, _ in summary["top_words"]["negative"]}
    assert set(_synthetic.POSITIVE) & positive and not set(_synthetic.POSITIVE) & negative
    assert "the" not in positive  # stop words are left out
    assert json.loads((tmp_path / "summary.json").read_text())["counts"] == summary["counts"]
    assert "train: 120 reviews" in (tmp_path / "summary.txt").read_text()
    for name in ("label_counts.png", "review_lengths.png", "length_cut.png", "top_words.png"):
        assert_png(tmp_path / name)
