"""Length-bucketed input: every review once per epoch, batches of similar length, nothing cut."""

from __future__ import annotations

import numpy as np

from model import make_dataset
from model._train import length_batches, token_lengths


def _right_padded(lengths, width=50, seed=0):
    rng = np.random.default_rng(seed)
    x = np.zeros((len(lengths), width), dtype=np.int32)
    for i, n in enumerate(lengths):
        x[i, :n] = rng.integers(1, 100, n)
    return x


def test_length_batches_cover_every_row_once_and_group_similar_lengths():
    rng = np.random.default_rng(1)
    lengths = rng.integers(1, 400, 5000)
    batches = length_batches(lengths, 32, np.random.default_rng(0), pool=16)
    rows = np.concatenate(batches)
    assert sorted(rows.tolist()) == list(range(5000))
    assert all(len(b) <= 32 for b in batches) and sum(len(b) == 32 for b in batches) >= 150
    spread = np.mean([np.ptp(lengths[b]) for b in batches])
    random_spread = np.mean(
        [np.ptp(lengths[b]) for b in np.array_split(rng.permutation(5000), 157)]
    )
    assert spread < random_spread / 5
    again = length_batches(lengths, 32, np.random.default_rng(0), pool=16)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again, strict=True))  # seeded
    other = length_batches(lengths, 32, np.random.default_rng(1), pool=16)
    assert not all(np.array_equal(a, b) for a, b in zip(batches, other, strict=True))


def test_bucketed_dataset_cuts_batches_to_their_longest_review_and_loses_no_token():
    lengths = np.random.default_rng(3).integers(1, 50, 300)
    x = _right_padded(lengths)
    y = (np.arange(300) % 2).astype("float32")
    seen_tokens, seen_rows, widths = 0, 0, []
    for xb, yb in make_dataset(x, y, 16, shuffle=True, seed=0):
        xb = xb.numpy()
        widths.append(xb.shape[1])
        assert xb.shape[1] == token_lengths(xb).max()  # cut to the longest review, no more
        seen_tokens += int(token_lengths(xb).sum())
        seen_rows += len(xb)
        assert len(yb) == len(xb)
    assert seen_rows == 300 and seen_tokens == int(lengths.sum())
    assert len(widths) == make_dataset(x, y, 16).cardinality().numpy() == 19  # known to Keras
    assert np.mean(widths) < 50 * 0.8  # most batches are shorter than the full width
    first = [b[0].numpy().tolist() for b in make_dataset(x, y, 16, shuffle=True, seed=0)]
    second = [b[0].numpy().tolist() for b in make_dataset(x, y, 16, shuffle=True, seed=1)]
    assert first != second  # a new seed (fit passes seed + epoch) gives a new order
    plain = next(iter(make_dataset(x, y, 16, bucket=False)))[0]
    assert plain.shape == (16, 50)
