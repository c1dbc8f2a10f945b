"""The simulator and the surrogate, on fixed curve sets."""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest

from sweep.search import parse_sweep_spec
from sweep.search._simulate import simulate, simulate_asha, simulate_optuna
from sweep.search._surrogate import Curve, CurveTable, Surrogate, Tabular, cross_validate

SPACE = {
    "architecture": ["lstm", "bilstm"],
    "vocab_size": [100, 300],
    "sequence_length": [24, 40],
    "embedding_dim": [8, 16],
    "units": [4, 8],
    "dropout": {"low": 0.0, "high": 0.5},
    "pooling": ["max"],
    "optimizer": ["adam", "rmsprop"],
    "learning_rate": {"low": 0.001, "high": 0.1, "log": True},
    "batch_size": [32],
    "ngram_buckets": [0],
}


def _spec(**overrides):
    return parse_sweep_spec(
        {
            "trials": 12,
            "concurrency": 1,
            "asha": {"max_epochs": 4, "grace_period": 1, "reduction_factor": 2},
            "space": SPACE,
            "startup_trials": 4,
            **overrides,
        }
    )


def fixed_curve(config: dict) -> Curve:
    """A deterministic curve per configuration: better with a learning rate near 0.01 and
    more units, rising with epochs; epochs take 1 to 3 s."""
    digest = int(hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest(), 16)
    quality = 0.9 - 0.1 * abs(math.log10(config["learning_rate"]) + 2) + 0.01 * config["units"]
    final = min(0.99, quality + (digest % 100) / 2000)
    acc = tuple(round(final - 0.1 / epoch, 4) for epoch in range(1, 5))
    secs = tuple(1.0 + (digest >> 8) % 3 for _ in range(4))
    return Curve(acc, secs)


class Fixed:
    def curve(self, config, rng):
        return fixed_curve(config)


def test_sequential_optuna_takes_the_sum_of_its_trials_epochs():
    spec = _spec(trials=6)
    outcome = simulate_optuna(spec, Fixed(), workers=1, seed=3, overhead_s=0.0)
    assert outcome.trials == outcome.finished == 6 and outcome.trial_epochs == 24
    # replay the study's own suggestions: the same configurations, their epochs summed
    import optuna

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=3))
    total = 0.0
    for _ in range(6):
        trial = study.ask()
        curve = fixed_curve(spec.space(trial))
        total += sum(curve.epoch_seconds)
        study.tell(trial, max(curve.val_accuracy))
    assert outcome.makespan == pytest.approx(total)
    with_overhead = simulate_optuna(spec, Fixed(), workers=1, seed=3, overhead_s=2.0)
    assert with_overhead.makespan == pytest.approx(total + 6 * 2.0)


def test_more_workers_finish_the_same_sweep_sooner():
    spec = _spec(trials=16)
    one = simulate("service", spec, Fixed(), workers=1, seed=0)
    four = simulate("service", spec, Fixed(), workers=4, seed=0)
    assert one.trials == four.trials == 16
    assert four.makespan < one.makespan / 2
    assert one.stopped_early > 0  # ASHA stopped some at its rungs


def test_a_budget_cuts_the_sweep_and_the_timeline_never_goes_down():
    spec = _spec(trials=200)
    outcome = simulate("random", spec, Fixed(), workers=2, seed=1, budget_s=60.0)
    assert outcome.makespan == 60.0 and outcome.trials < 200
    values = [v for _, v in outcome.timeline]
    assert values == sorted(values) and outcome.best_at(60.0) == outcome.best
    assert outcome.time_to(outcome.best) <= 60.0 and outcome.time_to(2.0) == math.inf


def test_stock_feedback_tells_stopped_trials_complete_and_the_service_pruned():
    spec = _spec(trials=12, startup_trials=2)
    service = simulate("service", spec, Fixed(), workers=1, seed=0)
    stock = simulate("stock", spec, Fixed(), workers=1, seed=0)
    assert service.stopped_early > 0 and stock.stopped_early > 0
    # the same first trials (random start-up), then TPE hears different things
    assert service.trials == stock.trials == 12


def _row(index: int, seed: int, config: dict, curve: Curve, noise: float = 0.0) -> dict:
    epochs = [
        {"epoch": e + 1, "val_accuracy": a + noise, "epoch_seconds": s}
        for e, (a, s) in enumerate(zip(curve.val_accuracy, curve.epoch_seconds, strict=True))
    ]
    return {"index": index, "seed": seed, "config": config, "epochs": epochs}


def _table(n: int, seeds: int = 1) -> CurveTable:
    """``n`` configurations of the fixed curves; the first five also with other seeds, each
    run shifted by a seed offset (sd 0.01)."""
    import optuna

    rng = np.random.default_rng(0)
    spec = _spec()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    rows = []
    for index in range(n):
        trial = study.ask()
        config = spec.space(trial)
        study.tell(trial, 0.0)
        for seed in range(seeds if index < 5 else 1):
            noise = rng.normal(0, 0.01) if seed else 0.0
            rows.append(_row(index, seed, config, fixed_curve(config), noise))
    return CurveTable.from_rows(rows, "synthetic")


def test_the_surrogate_learns_a_learnable_table_and_its_validation_is_computed():
    table = _table(80, seeds=3)
    offset, wobble = table.seed_spread()
    assert 0.002 < offset < 0.03 and wobble < 1e-9  # the synthetic noise is a pure offset
    result = cross_validate(table, folds=4)
    assert result.configurations == 80 and len(result.mae_per_epoch) == 4
    assert result.spearman_final > 0.5 and max(result.mae_per_epoch) < 0.05
    # with the curves dealt to the wrong configurations the same procedure finds no order
    runs = table.first_seed()
    dealt = [_row(r.index, 0, runs[(i * 7 + 3) % len(runs)].config, r.curve)
             for i, r in enumerate(runs)]  # fmt: skip
    shuffled = cross_validate(CurveTable.from_rows(dealt), folds=4)
    assert abs(shuffled.spearman_final) < result.spearman_final - 0.3


def test_surrogate_draws_carry_the_seed_noise_and_tabular_replays_recorded_runs():
    table = _table(40, seeds=3)
    surrogate = Surrogate(table)
    config = table.runs[0].config
    rng = np.random.default_rng(5)
    draws = np.array([surrogate.curve(config, rng).val_accuracy for _ in range(200)])
    assert 0.5 * table.seed_spread()[0] < draws[:, -1].std() < 2 * table.seed_spread()[0]
    # each draw is the mean curve plus one measured seed residual curve, whole
    residuals = table.seed_residuals()
    assert residuals.shape == (5 * 3, 4)
    offsets = draws - np.array(surrogate.mean_curve(config).val_accuracy)
    for offset in offsets:
        assert np.abs(residuals - offset).max(axis=1).min() < 1e-9
    assert len({tuple(np.round(o, 9)) for o in offsets}) > 5
    tabular = Tabular(table)
    recorded = {r.curve.val_accuracy for r in table.runs if r.index == 0}
    assert tabular.curve(config, rng).val_accuracy in recorded
    with pytest.raises(KeyError, match="not in the table"):
        tabular.curve({**config, "units": 999}, rng)


def test_a_table_too_small_for_a_surrogate_is_refused():
    with pytest.raises(ValueError, match="has 3 full-length configurations"):
        Surrogate(_table(3))


def test_only_val_accuracy_can_be_replayed():
    with pytest.raises(ValueError, match="curves hold val_accuracy"):
        simulate_asha(_spec(metric="val_loss", mode="min"), Fixed(), workers=1)
