"""``sweep report``'s figures count every trial (``search._insight``), with a real Optuna
study and the trial table's shape; no Ray."""

from __future__ import annotations

import json

import optuna

from sweep.search import parse_sweep_spec
from sweep.search._insight import MIN_IMPORTANCE_TRIALS, write_search_report

SPEC = parse_sweep_spec(
    {"trials": 12, "asha": {"max_epochs": 4, "grace_period": 1, "reduction_factor": 2}}
)


def _sweep(n_trials: int, reach: list[int]):
    """A study of ``n_trials`` TPE-style trials and their rows: trial i reaches reach[i]
    epochs (fewer than 4: stopped early, PRUNED in the study as the service tells it)."""
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(0))
    rows = {}
    for i in range(n_trials):
        trial = study.ask()
        lr = trial.suggest_float("learning_rate", 1e-3, 1e-1, log=True)
        units = trial.suggest_categorical("units", [8, 16, 32])
        trial.set_user_attr("x", 1)
        study._storage.set_trial_system_attr(trial._trial_id, "sweep:ray_trial", f"t{i}")
        history = [0.5 + 0.05 * e + 0.01 * units / 8 - lr for e in range(reach[i])]
        if reach[i] < 4:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, history[-1])
        rows[f"t{i}"] = {
            "trial_id": f"t{i}",
            "status": "TERMINATED",
            "epochs": reach[i],
            "history": history,
            "best": max(history),
            "stopped_early": reach[i] < 4,
            "started_at": float(i),
            "config": {"learning_rate": lr, "units": units},
        }
    return study, rows


def test_the_figures_rest_on_every_trial_not_only_the_completed_ones(tmp_path):
    reach = [4, 1, 1, 2, 4, 1, 2, 1, 4, 1, 1, 2]  # 3 complete, 9 stopped early
    study, rows = _sweep(12, reach)
    assert len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))) == 3

    summary = write_search_report(tmp_path, study, rows, SPEC, "s")

    figures = summary["figures"]
    assert figures["optimization_history"]["trials"] == 12
    # rungs 1, 2, 4: only 6 trials reached epoch 2, so all 12 are compared at epoch 1
    assert figures["param_importances"] == {"trials": 12, "epoch": 1}
    assert figures["parallel_coordinate"] == {"trials": 12, "epoch": 1}
    for name in ("optimization_history", "param_importances", "parallel_coordinate"):
        assert (tmp_path / f"{name}.png").stat().st_size > 1000
    html = (tmp_path / "report.html").read_text()
    assert "Hyperparameter importances: 12 trials, val_accuracy at epoch 1" in html
    assert json.loads((tmp_path / "compute.json").read_text())["stopped_early"] == 9


def test_the_highest_rung_enough_trials_reached_is_the_one_compared(tmp_path):
    study, rows = _sweep(12, [4, 2, 2, 2, 4, 2, 2, 2, 4, 1, 1, 1])  # 9 reached epoch 2
    figures = write_search_report(tmp_path, study, rows, SPEC, "s")["figures"]
    assert figures["param_importances"] == {"trials": 9, "epoch": 2}


def test_importances_from_too_few_trials_are_withheld_with_the_minimum_named(tmp_path):
    n = MIN_IMPORTANCE_TRIALS - 1
    study, rows = _sweep(n, [4] * n)
    figures = write_search_report(tmp_path, study, rows, SPEC, "s")["figures"]
    # no rung has 8 trials: compared at the first, which all 7 reached, and withheld
    message = f"withheld: {n} trials reached epoch 1, and this figure needs at least 8"
    assert figures["param_importances"]["withheld"].startswith(message)
    assert not (tmp_path / "param_importances.png").exists()
    assert message in (tmp_path / "report.html").read_text()
    assert (tmp_path / "parallel_coordinate.png").exists()  # 2 trials suffice there
