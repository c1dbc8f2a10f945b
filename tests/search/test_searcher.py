"""The searcher's duplicate guard and fidelity feedback, driven as Ray Tune drives it."""

from __future__ import annotations

import json

import optuna
import pytest
from ray.tune.search.optuna import OptunaSearch

from search import parse_space
from search._searcher import DUPLICATE_ATTR, FidelityAwareOptunaSearch
from tests.integration.test_no_duplicates import SMALL


def _suggest_all(searcher, n):
    """Ray asks for every concurrent trial's configuration before any result is in."""
    return [json.dumps(searcher.suggest(f"t{i}"), sort_keys=True) for i in range(n)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_concurrent_suggestions_are_distinct_where_stock_optuna_search_repeats(seed):
    kwargs = dict(space=parse_space(SMALL), metric="val_accuracy", mode="max", seed=seed)
    stock = _suggest_all(OptunaSearch(**kwargs), 16)
    ours = FidelityAwareOptunaSearch(**kwargs, max_epochs=2)
    got = _suggest_all(ours, 16)
    assert len(set(stock)) < 16  # random start-up on 16 configurations repeats some
    assert len(set(got)) == 16
    assert ours.duplicates_skipped > 0
    study = ours._ot_study
    skipped = [t for t in study.trials if DUPLICATE_ATTR in t.system_attrs]
    assert len(skipped) == ours.duplicates_skipped
    assert {t.state for t in skipped} == {optuna.trial.TrialState.FAIL}
    more = _suggest_all_more(ours, 16, 4)
    assert len(more) == 4 and set(more) <= set(got)  # the space is exhausted: repeats now


def _suggest_all_more(searcher, start, n):
    return [json.dumps(searcher.suggest(f"t{start + i}"), sort_keys=True) for i in range(n)]


def test_stopped_early_is_pruned_and_full_is_complete_only_with_pruned_feedback():
    kwargs = dict(space=parse_space(SMALL), metric="val_accuracy", mode="max", seed=0)
    for feedback, early_state in (("pruned", "PRUNED"), ("complete", "COMPLETE")):
        s = FidelityAwareOptunaSearch(**kwargs, max_epochs=3, feedback=feedback)
        s.suggest("a")
        s.suggest("b")
        s.on_trial_result("a", {"val_accuracy": 0.6, "training_iteration": 1})
        s.on_trial_complete("a", {"val_accuracy": 0.61, "training_iteration": 2})
        for epoch in (1, 2, 3):
            s.on_trial_result("b", {"val_accuracy": 0.7, "training_iteration": epoch})
        s.on_trial_complete("b", {"val_accuracy": 0.7, "training_iteration": 3})
        a, b = s._ot_study.trials[:2]
        assert a.state.name == early_state and b.state.name == "COMPLETE"
        if feedback == "pruned":  # the epoch ASHA stopped it on is an intermediate value too
            assert a.intermediate_values == {1: 0.6, 2: 0.61}
        else:
            assert a.value == 0.61


def test_two_objectives_prune_without_intermediate_values():
    s = FidelityAwareOptunaSearch(
        space=parse_space(SMALL),
        metric=["val_accuracy", "params"],
        mode=["max", "min"],
        seed=0,
        max_epochs=3,
    )
    s.suggest("a")
    s.suggest("b")
    s.on_trial_result("a", {"val_accuracy": 0.6, "params": 100, "training_iteration": 1})
    s.on_trial_complete("a", {"val_accuracy": 0.6, "params": 100, "training_iteration": 1})
    s.on_trial_complete("b", {"val_accuracy": 0.8, "params": 50, "training_iteration": 3})
    a, b = s._ot_study.trials[:2]
    assert a.state.name == "PRUNED" and a.intermediate_values == {}
    assert b.state.name == "COMPLETE" and b.values == [0.8, 50]
    s.suggest("c")  # TPE still samples with a pruned two-objective trial in the study


def test_the_sweep_searcher_starts_tpe_after_the_specs_startup_trials():
    from search import parse_sweep_spec
    from search._searcher import make_searcher

    spec = parse_sweep_spec({"trials": 9, "startup_trials": 3, "space": SMALL})
    first, again = (make_searcher(spec, "s", None, seed_offset=0) for _ in range(2))
    sampler = first._ot_study.sampler
    assert isinstance(sampler, optuna.samplers.TPESampler)
    assert sampler._n_startup_trials == 3  # Optuna keeps it private
    drawn = _suggest_all(first, 3)
    assert drawn == _suggest_all(again, 3)  # seeded
    extension = make_searcher(spec, "s", None, seed_offset=1)
    assert _suggest_all(extension, 3) != drawn  # an extension draws anew
