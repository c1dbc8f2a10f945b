"""``sweep report``'s figures count every trial (``search._insight``), with a real Optuna
study and the trial table's shape; no Ray."""

from __future__ import annotations

import json

import optuna

from sweep.search import parse_sweep_spec
from sweep.search._insight import (
    MIN_IMPORTANCE_TRIALS,
    best_so_far,
    write_comparison,
    write_search_report,
)
from tests._studies import sweep_study

SPEC = parse_sweep_spec(
    {"trials": 12, "asha": {"max_epochs": 4, "grace_period": 1, "reduction_factor": 2}}
)


def _sweep(n_trials: int, reach: list[int]):
    assert len(reach) == n_trials
    return sweep_study(reach)


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


def test_best_so_far_follows_trials_as_they_end_in_time_and_in_trial_epochs(tmp_path):
    _, rows = sweep_study([4, 1, 2, 4])
    record = {"running_at": 0.0, "spec": {"mode": "max", "metric": "val_accuracy"}}
    points = best_so_far(record, rows, "max")
    assert [p[:2] for p in points] == [(10.0, 4), (20.0, 5), (30.0, 7), (40.0, 11)]
    bests = [p[2] for p in points]
    assert bests == sorted(bests) and bests[-1] == max(r["best"] for r in rows.values())

    _, better = sweep_study([4, 4], offset=0.2)
    summary = write_comparison(tmp_path, [("a", record, rows), ("b", record, better)])
    assert summary["sweeps"]["a"] == {"trials": 4, "trial_epochs": 11, "minutes": 0.7,
                                      "best": bests[-1]}  # fmt: skip
    assert summary["sweeps"]["b"]["best"] > bests[-1]
    assert (tmp_path / "comparison.png").stat().st_size > 1000
    html = (tmp_path / "comparison.html").read_text()
    assert html.count("data:image/png;base64,") == 1 and ">b<" in html  # inlined, offline
