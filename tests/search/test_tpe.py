"""SplitOnceTPESampler: Optuna's TPE with the study split once per trial, not per parameter."""

from __future__ import annotations

import pickle

import optuna
import pytest

from sweep.search import _tpe
from sweep.search._tpe import SplitOnceTPESampler

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _objective(trial: optuna.Trial) -> float:
    """Ten parameters, some conditional, and pruned trials at several steps, as a sweep's."""
    value = 0.0
    for i in range(6):
        value += (trial.suggest_float(f"x{i}", -3, 3) - i / 3) ** 2
    kind = trial.suggest_categorical("kind", ["a", "b", "c"])
    if kind == "a":
        value += trial.suggest_int("units", 8, 256, log=True) / 256
    value += trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    steps = 1 + trial.number % 4  # like trials ASHA stopped at 1, 2, 3 and 4 epochs
    for step in range(1, steps + 1):
        trial.report(value / step, step)
    if steps < 4:
        raise optuna.TrialPruned()
    return value


# as the sweep's searcher sets it (Optuna 5's defaults are multivariate and constant_liar)
INDEPENDENT = {"multivariate": False, "constant_liar": False}


def _suggestions(sampler_cls, n: int, **kwargs) -> list[dict]:
    sampler = sampler_cls(seed=3, n_startup_trials=8, **{**INDEPENDENT, **kwargs})
    study = optuna.create_study(sampler=sampler)
    study.optimize(_objective, n_trials=n)
    return [t.params for t in study.trials]


@pytest.mark.parametrize(
    "kwargs", [{}, {"constant_liar": True}, {"multivariate": True, "group": True}]
)
def test_suggestions_are_the_same_as_optunas_tpe(kwargs):
    assert _suggestions(SplitOnceTPESampler, 40, **kwargs) == _suggestions(
        optuna.samplers.TPESampler, 40, **kwargs
    )


def test_constant_liar_sees_a_trial_that_ends_between_suggestions():
    """Trials asked together: each suggestion's split counts the others as running, and a
    trial told between two suggestions is seen by the next, as with Optuna's TPE."""
    runs = []
    for cls in (SplitOnceTPESampler, optuna.samplers.TPESampler):
        sampler = cls(seed=5, n_startup_trials=4, multivariate=False, constant_liar=True)
        study = optuna.create_study(sampler=sampler)
        study.optimize(_objective, n_trials=12)
        first, second = study.ask(), study.ask()
        [first.suggest_float(f"x{i}", -3, 3) for i in range(3)]
        study.tell(first, 1.0)
        third = study.ask()
        [t.suggest_float(f"x{i}", -3, 3) for t in (second, third) for i in range(3)]
        runs.append([t.params for t in study.trials])
    assert runs[0] == runs[1]


def test_the_study_is_split_once_per_trial_not_once_per_parameter(monkeypatch):
    assert _tpe.SPLIT_MEMO_ACTIVE, "Optuna's _split_trials is gone: update search._tpe"
    calls = []
    original = _tpe._optuna_split

    def counted(study, trials, n_below):
        calls.append(len(trials))
        return original(study, trials, n_below)

    monkeypatch.setattr(_tpe, "_optuna_split", counted)
    study = optuna.create_study(
        sampler=SplitOnceTPESampler(seed=0, n_startup_trials=5, **INDEPENDENT)
    )
    study.optimize(_objective, n_trials=15)
    # ten TPE trials (after five random ones), eight or nine parameters each, one split each
    assert calls == list(range(5, 15))

    calls.clear()  # Optuna's own TPE in the same process is left alone: a split per parameter
    plain = optuna.create_study(
        sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=5, **INDEPENDENT)
    )
    plain.optimize(_objective, n_trials=15)
    assert len(calls) > 8 * 10


def test_a_pickled_sampler_leaves_its_caches_behind_and_goes_on_suggesting_the_same():
    """Ray Tune pickles the searcher, sampler included, in every experiment snapshot."""
    sampler = SplitOnceTPESampler(seed=1, n_startup_trials=5, **INDEPENDENT)
    study = optuna.create_study(sampler=sampler)
    study.optimize(_objective, n_trials=12)
    assert sampler._columns and sampler._split_memo[1]
    copy = pickle.loads(pickle.dumps(sampler))
    assert copy._columns == {} and copy._split_memo == (-1, {})
    again = optuna.create_study(sampler=copy)
    for trial in study.trials:
        again.add_trial(trial)
    study.optimize(_objective, n_trials=4)
    again.optimize(_objective, n_trials=4)
    assert [t.params for t in again.trials] == [t.params for t in study.trials]
