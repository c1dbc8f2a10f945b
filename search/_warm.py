"""Warm start: the best configurations of earlier sweeps, fitted to a new search space (pure),
then enqueued into the new study so TPE evaluates them first."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._space import Choice, FloatRange, IntRange, SearchSpace, param_name


@dataclass(frozen=True)
class WarmSource:
    """One configuration of an earlier sweep: where it is from and the data it was tuned on."""

    label: str  # e.g. "<sweep id>/<trial id>"
    fingerprint: str | None
    config: dict[str, Any]


@dataclass(frozen=True)
class WarmStart:
    points: list[dict[str, Any]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"enqueued": self.labels, "notes": self.notes}


FIXED = "fixed"  # a one-value parameter: nothing to enqueue, the space sets it


def _why_not(param: Any, value: Any) -> str | None:
    """Why ``value`` cannot be given to ``param`` in the new space, or ``None`` if it can."""
    if isinstance(param, Choice):
        if len(param.values) == 1:
            fixed = param.values[0]
            return FIXED if value == fixed else f"is fixed to {fixed!r} in the new space"
        return None if value in param.values else f"{value!r} is not among {list(param.values)}"
    if isinstance(param, IntRange | FloatRange):
        if param.low == param.high:
            fixed = param.low
            return FIXED if value == fixed else f"is fixed to {fixed!r} in the new space"
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{value!r} is not a number"
        if not param.low <= value <= param.high:
            return f"{value!r} is outside [{param.low}, {param.high}]"
        if isinstance(param, IntRange) and (
            int(value) != value or (value - param.low) % param.step
        ):
            return f"{value!r} is not on the grid low={param.low}, step={param.step}"
        return None
    return "is not a searched parameter"


def warm_start_points(
    sources: Iterable[WarmSource], space: SearchSpace, fingerprint: str
) -> WarmStart:
    """Configurations to enqueue: sources tuned on other data are skipped, parameters that
    no longer exist or no longer fit are dropped (and TPE samples them), repeats removed."""
    out = WarmStart()
    seen: set[tuple] = set()
    skipped_data: list[str] = []
    for source in sources:
        if source.fingerprint != fingerprint:
            skipped_data.append(source.label)
            continue
        point: dict[str, Any] = {}
        for name, value in sorted(source.config.items()):
            param = getattr(space, name, None) if name in SearchSpace.__dataclass_fields__ else None
            reason = "no longer exists in the search space" if param is None else None
            reason = reason or _why_not(param, value)
            if reason == FIXED:
                continue
            if reason:
                out.notes.append(f"{source.label}: dropped {name} ({name} {reason})")
            else:
                point[name] = value
        point = _as_drawn(point, space, source.config)
        key = tuple(sorted(point.items()))
        if point and key not in seen:
            seen.add(key)
            out.points.append(point)
            out.labels.append(source.label)
    if skipped_data:
        out.notes.append(
            f"skipped {len(skipped_data)} configuration(s) tuned on other data "
            f"(data fingerprint differs): {', '.join(skipped_data)}"
        )
    return out


def _as_drawn(point: dict[str, Any], space: SearchSpace, source: dict[str, Any]) -> dict[str, Any]:
    """``point`` under the names the new space's trial draws them with (:func:`param_name`),
    so an enqueued value is the one used: by the encoder that trial will have (the point's,
    the one the new space fixes, else the source's)."""
    encoders = space.encoder.values
    encoder = point.get("encoder", encoders[0] if len(encoders) == 1 else source.get("encoder"))
    drawn = {"encoder": encoder or "scratch"}
    return {param_name(name, drawn): value for name, value in point.items()}


def seed_study(
    storage: Any, study_name: str, objectives: Sequence[str] | str, points: WarmStart
) -> None:
    """Create (or load) the study and enqueue the warm-start points, marked with their source."""
    import optuna

    modes = [objectives] if isinstance(objectives, str) else list(objectives)
    study = optuna.create_study(
        storage=storage,
        study_name=study_name,
        directions=["minimize" if m == "min" else "maximize" for m in modes],
        load_if_exists=True,
    )
    for point, label in zip(points.points, points.labels, strict=True):
        study.enqueue_trial(point, user_attrs={"warm_start_from": label}, skip_if_exists=True)
