"""Optuna studies and trial tables shaped like a sweep's, built without Ray (for the
report's component tests)."""

from __future__ import annotations

from typing import Any

import optuna


def sweep_study(
    reach: list[int], *, storage: Any = None, name: str | None = None, offset: float = 0.0
) -> tuple[optuna.Study, dict[str, dict[str, Any]]]:
    """A study of ``len(reach)`` trials and their trial-table rows: trial i reaches reach[i]
    epochs (fewer than 4: stopped early, PRUNED in the study as the service tells it) and
    ends ``10 * (i + 1)`` seconds after the sweep started running (at 0)."""
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(0),
        storage=storage,
        study_name=name,
    )
    rows = {}
    for i, epochs in enumerate(reach):
        trial = study.ask()
        lr = trial.suggest_float("learning_rate", 1e-3, 1e-1, log=True)
        units = trial.suggest_categorical("units", [8, 16, 32])
        study._storage.set_trial_system_attr(trial._trial_id, "sweep:ray_trial", f"t{i}")
        history = [offset + 0.5 + 0.05 * e + 0.01 * units / 8 - lr for e in range(epochs)]
        if epochs < 4:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, history[-1])
        rows[f"t{i}"] = {
            "trial_id": f"t{i}",
            "status": "TERMINATED",
            "epochs": epochs,
            "history": history,
            "best": max(history),
            "stopped_early": epochs < 4,
            "started_at": float(i),
            "finished_at": 10.0 * (i + 1),
            "config": {"learning_rate": lr, "units": units},
        }
    return study, rows
