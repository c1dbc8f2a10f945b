"""Property-based test of the CSV reader: any CSV either loads exactly the non-empty rows
with their classes or is refused with a DataError (never another exception)."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sweep.data import DataError
from sweep.data._csv import CsvOptions, read_csv

_labels = st.sampled_from(
    ["positive", "negative", "pos", "NEG", "1", "0", "true", " False ", "neutral", "", "2"]
)
BINARY = {"positive", "negative", "pos", "neg", "1", "0", "true", "false"}
_texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(deadline=None, max_examples=80, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_texts, _labels), max_size=25), st.integers(1, 7))
def test_csv_loads_exactly_the_valid_rows_or_refuses(rows, chunk):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "r.csv"
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["review", "sentiment"])
            writer.writerows(rows)
        try:
            frame, dropped = read_csv(path, CsvOptions(chunk_size=chunk), progress=False)
        except DataError:
            kept = [label.strip() for text, label in rows if text.strip()]
            # refused only when there is nothing to learn from: no rows, a missing label or
            # a single class
            positive = {"positive", "pos", "1", "true"}
            sides = {k.lower() in positive for k in kept if k.lower() in BINARY}
            one_side = {k.lower() for k in kept} <= BINARY and len(sides) < 2
            assert not kept or "" in kept or len({k.lower() for k in kept}) < 2 or one_side
            return
    kept = [label.strip() for text, label in rows if text.strip()]
    assert len(frame) + dropped == len(rows)
    assert dropped == len(rows) - len(kept)
    classes = frame.attrs["classes"]
    names = [classes[i] for i in frame["label"]]
    if {k.lower() for k in kept} <= BINARY:
        positive = {"positive", "pos", "1", "true"}
        assert classes == ("negative", "positive")
        assert names == ["positive" if k.lower() in positive else "negative" for k in kept]
    else:
        assert names == kept
        assert list(classes) == sorted(set(kept), key=lambda k: (not k.isdigit(), k))
