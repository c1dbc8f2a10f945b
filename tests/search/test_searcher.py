"""The searcher's duplicate guard and fidelity feedback, driven as Ray Tune drives it."""

from __future__ import annotations

import json

import optuna
import pytest
from ray.tune.search.optuna import OptunaSearch

from sweep.search import parse_space
from sweep.search._searcher import DUPLICATE_ATTR, FidelityAwareOptunaSearch
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
    from sweep.search import parse_sweep_spec
    from sweep.search._searcher import make_searcher

    spec = parse_sweep_spec({"trials": 9, "startup_trials": 3, "space": SMALL})
    first, again = (make_searcher(spec, "s", None, seed_offset=0) for _ in range(2))
    sampler = first._ot_study.sampler
    assert isinstance(sampler, optuna.samplers.TPESampler)
    assert sampler._n_startup_trials == 3  # Optuna keeps it private
    drawn = _suggest_all(first, 3)
    assert drawn == _suggest_all(again, 3)  # seeded
    extension = make_searcher(spec, "s", None, seed_offset=1)
    assert _suggest_all(extension, 3) != drawn  # an extension draws anew


def test_the_specs_tpe_and_asha_settings_reach_optuna_and_ray_tune():
    from sweep.search import parse_sweep_spec
    from sweep.search._searcher import make_scheduler, make_searcher

    mapping = {"space": SMALL, "asha": {"max_epochs": 8, "reduction_factor": 2, "brackets": 3}}
    plain = parse_sweep_spec(mapping)
    tuned = parse_sweep_spec({**mapping, "constant_liar": True, "multivariate": True})
    assert not plain.constant_liar and not plain.multivariate
    for spec in (plain, tuned):
        sampler = make_searcher(spec, "s", None)._ot_study.sampler
        assert sampler._constant_liar is spec.constant_liar  # Optuna keeps them private
        assert sampler._multivariate is spec.multivariate and sampler._group is spec.multivariate
    # three brackets: trials are spread over first rungs at 1, 2 and 4 epochs
    assert [b._rungs[-1][0] for b in make_scheduler(plain)._brackets] == [1, 2, 4]


def test_a_trial_the_study_closed_before_the_driver_died_does_not_end_the_resumed_run(
    redis_url, tmp_path
):
    """Ray restores a searcher from a snapshot taken while the trial ran, the study closed
    it since; Ray reruns it and reports to the restored searcher, which must not touch it
    (Optuna raises UpdateFinishedTrialError, and Ray Tune ends the run on it)."""
    import optuna

    from sweep.cluster._keys import Keys
    from sweep.cluster._optuna_journal import optuna_storage
    from sweep.search import parse_sweep_spec
    from sweep.search._searcher import make_searcher

    spec = parse_sweep_spec({"trials": 4, "asha": {"max_epochs": 4, "grace_period": 1}})
    storage = optuna_storage(redis_url, "closed", Keys())
    searcher = make_searcher(spec, "closed", storage)
    searcher.suggest("t1")
    searcher.on_trial_result("t1", {"training_iteration": 1, "val_accuracy": 0.7})
    searcher.save(str(tmp_path / "snapshot.pkl"))  # Ray's snapshot, the trial running
    searcher.on_trial_complete("t1", {"training_iteration": 4, "val_accuracy": 0.9})

    restored = make_searcher(spec, "closed", optuna_storage(redis_url, "closed", Keys()))
    restored.restore(str(tmp_path / "snapshot.pkl"))
    restored.on_trial_result("t1", {"training_iteration": 2, "val_accuracy": 0.75})
    restored.on_trial_complete("t1", {"training_iteration": 4, "val_accuracy": 0.8})
    (trial,) = optuna.load_study(study_name="closed", storage=storage).trials
    assert trial.state == optuna.trial.TrialState.COMPLETE and trial.value == 0.9
    assert trial.intermediate_values == {1: 0.7}
    assert restored.suggest("t2") is not None  # the restored searcher goes on


def test_a_trial_ray_restored_but_the_searchers_snapshot_predates_is_reattached_from_the_study(
    redis_url, tmp_path
):
    """Ray's trial list can be snapshotted after the searcher's: the resumed run reports a
    trial the restored searcher never suggested (Ray's OptunaSearch raised KeyError and the
    resume failed). It is found in the study by its Ray trial id and told there."""
    import optuna

    from sweep.cluster._keys import Keys
    from sweep.cluster._optuna_journal import optuna_storage
    from sweep.search import parse_sweep_spec
    from sweep.search._searcher import make_searcher

    spec = parse_sweep_spec({"trials": 4, "asha": {"max_epochs": 4, "grace_period": 1}})
    storage = optuna_storage(redis_url, "newer", Keys())
    searcher = make_searcher(spec, "newer", storage)
    searcher.suggest("t1")
    searcher.save(str(tmp_path / "snapshot.pkl"))  # the searcher's snapshot: t1 only
    searcher.suggest("t2")  # then t2 starts, and the driver dies
    searcher.on_trial_result("t2", {"training_iteration": 1, "val_accuracy": 0.7})

    restored = make_searcher(spec, "newer", optuna_storage(redis_url, "newer", Keys()))
    restored.restore(str(tmp_path / "snapshot.pkl"))
    restored.on_trial_result("t2", {"training_iteration": 1, "val_accuracy": 0.71})
    restored.on_trial_result("t2", {"training_iteration": 2, "val_accuracy": 0.8})
    restored.on_trial_complete("t2", {"training_iteration": 2, "val_accuracy": 0.8})
    restored.on_trial_result("ghost", {"training_iteration": 1, "val_accuracy": 0.5})
    restored.on_trial_complete("ghost", {"training_iteration": 1, "val_accuracy": 0.5})
    trials = optuna.load_study(study_name="newer", storage=storage).trials
    assert len(trials) == 2  # the unknown "ghost" added nothing
    second = trials[1]
    assert second.system_attrs["sweep:ray_trial"] == "t2"
    assert second.state == optuna.trial.TrialState.PRUNED  # stopped at 2 of 4 epochs
    assert second.intermediate_values == {1: 0.7, 2: 0.8}
    assert restored.suggest("t3") is not None


def test_a_trial_the_study_failed_that_ray_runs_to_its_end_is_told_as_a_trial_of_its_own(
    redis_url, tmp_path
):
    """A resume closed a trial as lost (FAIL) in the study, yet Ray restored and finished
    it: the result reaches the study as a new trial with the same parameters and epochs."""
    import optuna

    from sweep.cluster._keys import Keys
    from sweep.cluster._optuna_journal import optuna_storage
    from sweep.search import parse_sweep_spec
    from sweep.search._searcher import make_searcher

    spec = parse_sweep_spec({"trials": 4, "asha": {"max_epochs": 4, "grace_period": 1}})
    storage = optuna_storage(redis_url, "failed", Keys())
    searcher = make_searcher(spec, "failed", storage)
    params = searcher.suggest("t1")
    searcher.save(str(tmp_path / "snapshot.pkl"))
    (open_trial,) = optuna.load_study(study_name="failed", storage=storage).trials
    storage.set_trial_state_values(open_trial._trial_id, optuna.trial.TrialState.FAIL)

    restored = make_searcher(spec, "failed", optuna_storage(redis_url, "failed", Keys()))
    restored.restore(str(tmp_path / "snapshot.pkl"))
    restored.on_trial_result("t1", {"training_iteration": 1, "val_accuracy": 0.7})
    restored.on_trial_complete("t1", {"training_iteration": 2, "val_accuracy": 0.75})
    failed, rerun = optuna.load_study(study_name="failed", storage=storage).trials
    assert failed.state == optuna.trial.TrialState.FAIL
    assert rerun.state == optuna.trial.TrialState.PRUNED  # stopped at 2 of 4 epochs
    assert rerun.params == failed.params and set(params) >= set(rerun.params)
    assert rerun.intermediate_values == {1: 0.7, 2: 0.75}
    assert rerun.system_attrs["sweep:ray_trial"] == "t1"
    assert rerun.system_attrs["sweep:rerun_of"] == failed.number
    from sweep.search._searcher import finished_ray_trials

    assert finished_ray_trials(storage, "failed") == {"t1"}


def test_a_resumed_run_stops_at_its_quota_counting_trials_that_ended_after_rays_snapshot(
    redis_url, tmp_path
):
    """Ray restores its trial count from its last experiment snapshot; a trial that started
    after it and finished before the driver died is in the study only. The searcher counts
    the run's trials in the study, so Ray does not run that trial's share again; a trial
    lost with the driver (open in the study, not in Ray's snapshot) is closed as lost and
    replaced."""
    import optuna
    from ray.tune.search import Searcher

    from sweep.cluster._keys import Keys
    from sweep.cluster._optuna_journal import optuna_storage
    from sweep.search import parse_sweep_spec
    from sweep.search._searcher import LOST_ATTR, close_lost, finished_ray_trials, make_searcher

    spec = parse_sweep_spec({"trials": 4, "asha": {"max_epochs": 2, "grace_period": 1}})
    storage = optuna_storage(redis_url, "quota", Keys())
    searcher = make_searcher(spec, "quota", storage, run_name="quota", quota=4)
    for t in ("t1", "t2"):
        searcher.suggest(t)
    searcher.save(str(tmp_path / "snapshot.pkl"))  # Ray's snapshot: two trials
    searcher.suggest("t3")
    searcher.on_trial_complete("t3", {"training_iteration": 2, "val_accuracy": 0.8})
    searcher.suggest("t4")  # running when the driver dies: lost
    assert finished_ray_trials(storage, "quota", "quota") == {"t3"}
    assert finished_ray_trials(storage, "quota", "another run") == set()

    restored = make_searcher(spec, "quota", optuna_storage(redis_url, "quota", Keys()))
    restored.restore(str(tmp_path / "snapshot.pkl"))
    assert restored.suggest("t5") == Searcher.FINISHED  # t4 still open: four trials
    assert close_lost(storage, "quota", "another run", {"t1", "t2"}) == []
    assert close_lost(storage, "quota", "quota", {"t1", "t2"}) == ["t4"]
    (t4,) = [
        t for t in optuna.load_study(study_name="quota", storage=storage).trials if t.number == 3
    ]
    assert t4.state == optuna.trial.TrialState.FAIL and LOST_ATTR in t4.system_attrs
    # stock Ray would run two more (t5, t6); t3 is done, so one: in t4's place
    assert isinstance(restored.suggest("t5"), dict)
    assert restored.suggest("t6") == Searcher.FINISHED


def test_a_trial_that_errored_and_that_ray_resumes_to_its_end_is_told_as_a_trial_of_its_own(
    redis_url, tmp_path
):
    """Ray resumes errored trials on a resume (``resume_errored``): one the study has as
    FAIL (told when it errored) that now finishes reaches the study as a new trial."""
    import optuna

    from sweep.cluster._keys import Keys
    from sweep.cluster._optuna_journal import optuna_storage
    from sweep.search import parse_sweep_spec
    from sweep.search._searcher import RUN_ATTR, finished_ray_trials, make_searcher

    spec = parse_sweep_spec({"trials": 2, "asha": {"max_epochs": 4, "grace_period": 1}})
    storage = optuna_storage(redis_url, "errored", Keys())
    searcher = make_searcher(spec, "errored", storage, run_name="r", quota=2)
    searcher.suggest("t1")
    searcher.on_trial_result("t1", {"training_iteration": 1, "val_accuracy": 0.6})
    searcher.on_trial_complete("t1", None, error=True)
    searcher.save(str(tmp_path / "snapshot.pkl"))

    restored = make_searcher(spec, "errored", optuna_storage(redis_url, "errored", Keys()))
    restored.restore(str(tmp_path / "snapshot.pkl"))
    restored.on_trial_result("t1", {"training_iteration": 2, "val_accuracy": 0.7})
    restored.on_trial_complete("t1", {"training_iteration": 4, "val_accuracy": 0.75})
    restored.on_trial_complete("t1", {"training_iteration": 4, "val_accuracy": 0.75})
    failed, rerun = optuna.load_study(study_name="errored", storage=storage).trials
    assert failed.state == optuna.trial.TrialState.FAIL
    assert rerun.state == optuna.trial.TrialState.COMPLETE and rerun.value == 0.75
    assert rerun.intermediate_values == {2: 0.7, 4: 0.75}
    assert rerun.system_attrs[RUN_ATTR] == "r"
    assert finished_ray_trials(storage, "errored", "r") == {"t1"}


def test_concurrency_is_limited_by_the_searcher_so_every_trials_end_reaches_the_study(
    redis_url, tmp_path
):
    """Ray wraps a searcher in its ConcurrencyLimiter for ``max_concurrent_trials``; the
    limiter drops the end of a trial it does not hold as live (an errored trial Ray resumes,
    one restored from a snapshot newer than the searcher's). Ours limits concurrency itself
    and the limiter passes everything through."""
    import optuna
    from ray.tune.search import ConcurrencyLimiter

    from sweep.cluster._keys import Keys
    from sweep.cluster._optuna_journal import optuna_storage
    from sweep.search import parse_sweep_spec
    from sweep.search._searcher import make_searcher

    spec = parse_sweep_spec({"trials": 6, "asha": {"max_epochs": 2, "grace_period": 1}})
    storage = optuna_storage(redis_url, "limit", Keys())
    limiter = ConcurrencyLimiter(
        make_searcher(spec, "limit", storage, run_name="r", quota=6), max_concurrent=2
    )
    limiter.set_search_properties(None, None, {})
    assert isinstance(limiter.suggest("t1"), dict) and isinstance(limiter.suggest("t2"), dict)
    assert limiter.suggest("t3") is None  # two running
    limiter.on_trial_complete("t1", {"training_iteration": 2, "val_accuracy": 0.8})
    assert isinstance(limiter.suggest("t3"), dict)
    limiter.on_trial_complete("t2", None, error=True)
    limiter.save(str(tmp_path / "snapshot.pkl"))

    restored = ConcurrencyLimiter(
        make_searcher(spec, "limit", optuna_storage(redis_url, "limit", Keys())), max_concurrent=2
    )
    restored.restore(str(tmp_path / "snapshot.pkl"))
    restored.set_search_properties(None, None, {})
    # Ray resumes the errored t2 (resume_errored) and it runs to its end
    restored.on_trial_result("t2", {"training_iteration": 1, "val_accuracy": 0.6})
    restored.on_trial_complete("t2", {"training_iteration": 2, "val_accuracy": 0.7})
    by_ray = {}
    for t in optuna.load_study(study_name="limit", storage=storage).trials:
        by_ray.setdefault(t.system_attrs["sweep:ray_trial"], []).append(t.state.name)
    assert by_ray == {"t1": ["COMPLETE"], "t2": ["FAIL", "COMPLETE"], "t3": ["RUNNING"]}


def test_suggested_configurations_carry_the_pooling_under_its_own_key_only():
    # the study draws a pre-trained encoder's pooling as pooling_<encoder>; the trial's
    # configuration (what the model reads) has it as pooling and nothing else
    encoders = {"encoder": ["scratch", "lm"], "pooling": ["max", "mean"]}
    space = parse_space({**SMALL, "architecture": ["bilstm"], **encoders})
    searcher = FidelityAwareOptunaSearch(
        space=space, metric="val_accuracy", mode="max", seed=0, max_epochs=2
    )
    configs = [searcher.suggest(f"t{i}") for i in range(12)]
    assert {c["encoder"] for c in configs} == {"scratch", "lm"}
    for config in configs:
        assert config["pooling"] in ("max", "mean")
        assert not any(k.startswith("pooling_") for k in config)
    assert any("pooling_lm" in t.params for t in searcher._ot_study.trials)
