"""``sweep best --pick smallest-within P``: retrain and export another trial than the winner."""

from __future__ import annotations

from typing import Any

from ._artifacts import metadata_sha256
from ._errors import BadInput

PICK_DIR = "picks"


def pick_trial(store, record: dict[str, Any], points: float, cost: str | None):
    """The cheapest trial within ``points`` percentage points of the best (from Redis)."""
    from sweep.search import parse_recorded_spec, smallest_within

    from ._runner import scored_trials

    spec = parse_recorded_spec(record["spec"])
    rows = scored_trials(store, record["id"], spec, cost)
    try:
        return spec, smallest_within(rows, spec.mode, points)
    except ValueError as exc:
        raise BadInput(f"sweep {record['id']}: {exc}") from None


def export_pick(store, record: dict[str, Any], points: float, cost: str | None) -> dict[str, Any]:
    """Retrain and export the picked trial (once; later calls reuse the export).

    Returns the pick record: trial, metric, cost, artifact and the sha256 of its metadata.
    """
    from sweep.search import Winner, experiment_path, join_storage, prepare_data, retrain_and_export

    spec, chosen = pick_trial(store, record, points, cost)
    cost = cost or spec.cost or "params"
    label = f"smallest-within {points:g} by {cost}"
    picks = dict(record.get("picks") or {})
    if chosen.trial_id == record.get("best_trial") and record.get("artifact"):
        artifact, sha = record["artifact"], record.get("artifact_sha256")
    elif chosen.trial_id in picks:
        artifact, sha = picks[chosen.trial_id]["artifact"], picks[chosen.trial_id]["sha256"]
    else:
        destination = join_storage(experiment_path(spec, record["id"]), PICK_DIR, chosen.trial_id)
        splits, data = prepare_data(spec, progress=False)
        winner = Winner(chosen.trial_id, chosen.config, chosen.epoch, chosen.value)
        _, artifact = retrain_and_export(
            spec,
            record["id"],
            data,
            winner,
            destination,
            lambda *a, **k: None,
            extra_metadata={"pick": label, "cost": {cost: chosen.cost}},
            test_frame=splits.test,
        )
        sha = metadata_sha256(artifact)
    out = {
        "trial_id": chosen.trial_id,
        "pick": label,
        spec.metric: chosen.value,
        "epoch": chosen.epoch,
        cost: chosen.cost,
        "artifact": artifact,
        "sha256": sha,
    }
    picks[chosen.trial_id] = out
    store.set_fields(record["id"], picks=picks)
    return out
