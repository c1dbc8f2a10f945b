"""Property-based test of the CSV reader: any CSV either loads exactly the labelled,
non-empty rows or is refused with a DataError (never another exception)."""

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
            return
    valid = {"positive", "negative", "pos", "neg", "1", "0", "true", "false"}
    assert all(label.strip().lower() in valid for _, label in rows)
    assert len(frame) + dropped == len(rows)
    assert dropped == sum(1 for text, _ in rows if not text.strip())
    assert set(frame["label"]) == {0, 1}
