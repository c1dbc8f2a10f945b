"""Mending the Ray Tune snapshot a killed driver tore mid-copy (``search._snapshot``)."""

from __future__ import annotations

import json
import pickle

import pytest

from sweep.search._snapshot import TornSnapshot, mend_snapshot

OLD, NEW = "2026-12-05_10-00-00", "2026-12-05_11-00-00"


def _snapshot(folder, session, trials):
    folder.mkdir(parents=True, exist_ok=True)
    state = json.dumps({"trial_data": [[json.dumps({"trial_id": t}), "{}"] for t in trials]})
    (folder / f"experiment_state-{session}.json").write_text(state)
    (folder / f"searcher-state-{session}.pkl").write_bytes(pickle.dumps({"trials": trials}))
    return folder


def _tear(path):
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def test_torn_files_of_the_newest_snapshot_are_replaced_by_their_staging_copies(tmp_path):
    storage = _snapshot(tmp_path / "runs" / "exp", NEW, ["a", "b"])
    staging = _snapshot(tmp_path / "staging", NEW, ["a", "b"])
    _tear(storage / f"experiment_state-{NEW}.json")
    _tear(storage / f"searcher-state-{NEW}.pkl")

    mended = mend_snapshot(str(storage), [tmp_path / "nowhere", staging])

    assert mended == [f"experiment_state-{NEW}.json", f"searcher-state-{NEW}.pkl"]
    for name in mended:
        assert (storage / name).read_bytes() == (staging / name).read_bytes()


def test_a_whole_snapshot_is_left_as_it_is_and_older_sessions_are_not_read(tmp_path):
    storage = _snapshot(tmp_path / "exp", OLD, ["a"])
    _tear(storage / f"experiment_state-{OLD}.json")  # Ray restores the newest session only
    _snapshot(storage, NEW, ["a", "b"])
    before = {p.name: p.read_bytes() for p in storage.iterdir()}

    assert mend_snapshot(str(storage), []) == []
    assert {p.name: p.read_bytes() for p in storage.iterdir()} == before


def test_a_torn_file_without_a_whole_copy_is_named_and_left_in_place(tmp_path):
    storage = _snapshot(tmp_path / "exp", NEW, ["a"])
    staging = _snapshot(tmp_path / "staging", NEW, ["a"])
    _tear(storage / f"experiment_state-{NEW}.json")
    _tear(staging / f"experiment_state-{NEW}.json")  # torn there too: no whole copy
    torn = (storage / f"experiment_state-{NEW}.json").read_bytes()

    with pytest.raises(TornSnapshot, match=rf"experiment_state-{NEW}\.json is torn.*{staging}"):
        mend_snapshot(str(storage), [staging])
    assert (storage / f"experiment_state-{NEW}.json").read_bytes() == torn
