"""The pure status lifecycle."""

from __future__ import annotations

import pytest

from sweep.cluster._status import STATUSES, TransitionError, check_move


@pytest.mark.parametrize(
    ("current", "new"),
    [
        ("pending", "running"),
        ("running", "retraining"),
        ("retraining", "exporting"),
        ("exporting", "succeeded"),
        ("running", "succeeded"),  # a replayed sweep: nothing to retrain
        ("running", "failed"),
        ("pending", "cancelled"),
    ],
)
def test_allowed_moves(current, new):
    check_move(current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        ("succeeded", "running"),
        ("pending", "succeeded"),
        ("running", "pending"),
        ("failed", "running"),
        ("cancelled", "failed"),
    ],
)
def test_refused_moves(current, new):
    with pytest.raises(TransitionError, match=f"cannot move a '{current}' sweep to '{new}'"):
        check_move(current, new)


def test_resume_is_only_from_interrupted_states():
    for status in ("running", "failed", "cancelled", "retraining"):
        check_move(status, "running", resume=True)
    for status in ("succeeded", "pending"):
        with pytest.raises(TransitionError, match="cannot resume"):
            check_move(status, "running", resume=True)
    with pytest.raises(TransitionError, match="does not exist"):
        check_move(None, "running")
    assert len(STATUSES) == 7
