"""Winner selection and trial config splitting, called directly."""

from __future__ import annotations

import math

import pytest

from sweep.model import TrainConfig
from sweep.search import TrialSummary, select_winner, trial_configs


def test_best_epoch_of_best_trial_wins():
    trials = [
        TrialSummary("a", {"units": 8}, (0.70, 0.80, 0.79)),
        TrialSummary("b", {"units": 16}, (0.82, 0.81)),
        TrialSummary("c", {"units": 32}, ()),
        TrialSummary("d", {"units": 4}, (math.nan, 0.5)),
    ]
    w = select_winner(trials, "max")
    assert (w.trial_id, w.epoch, w.value) == ("b", 1, 0.82)
    w = select_winner(trials, "min")
    assert (w.trial_id, w.epoch) == ("d", 2)


def test_the_winner_carries_the_branch_weight_of_its_best_epoch():
    trials = [
        TrialSummary("a", {}, (0.70, 0.85, 0.80), branch_weights=(0.5, 0.25, 0.3)),
        TrialSummary("b", {}, (0.90,), branch_weights=(None,)),  # LSTM-only
        TrialSummary("c", {}, (0.80, 0.95)),  # recorded before weights were fitted
    ]
    assert select_winner(trials[:1], "max").branch_weight == 0.25  # epoch 2's, not the last
    assert select_winner(trials[:2], "max").branch_weight is None
    assert select_winner(trials, "max").branch_weight is None


def test_a_tie_goes_to_the_earlier_epoch_whatever_the_order_and_ids():
    early = TrialSummary("z", {}, (0.8, 0.9, 0.9))  # 0.9 first at epoch 2
    late = TrialSummary("a", {}, (0.7, 0.8, 0.9))  # 0.9 at epoch 3
    for order in ([early, late], [late, early]):
        w = select_winner(order, "max")
        assert (w.trial_id, w.epoch, w.value) == ("z", 2, 0.9)
    low_early = TrialSummary("z", {}, (0.3, 0.2))
    low_late = TrialSummary("a", {}, (0.4, 0.3, 0.2))
    for order in ([low_early, low_late], [low_late, low_early]):
        assert (select_winner(order, "min").trial_id, select_winner(order, "min").epoch) == (
            "z",
            2,
        )


def test_a_tie_at_the_same_epoch_goes_to_the_trial_created_first():
    first, second = TrialSummary("ff", {}, (0.9,)), TrialSummary("00", {}, (0.9,))
    assert select_winner([first, second], "max").trial_id == "ff"
    assert select_winner([second, first], "max").trial_id == "00"


def test_no_finite_metric_is_an_error():
    with pytest.raises(ValueError, match="every trial failed"):
        select_winner([TrialSummary("a", {}, ()), TrialSummary("b", {}, (math.nan,))], "max")


def test_when_every_trial_failed_the_error_names_the_first_failure():
    failed = (
        TrialSummary("a", {}, (), status="ERROR", error="GpuUnavailable: no GPU"),
        TrialSummary("b", {}, (), status="ERROR", error="MemoryError"),
    )
    with pytest.raises(ValueError, match=r"\(2 with an error; the first error: a: GpuUnavailable"):
        select_winner(iter(failed), "max")  # any iterable, read twice


def test_trial_configs_split_and_turn_off_single_run_callbacks():
    model_cfg, train_cfg = trial_configs(
        {
            "architecture": "bilstm",
            "units": 8,
            "pooling": "max",
            "learning_rate": 0.01,
            "batch_size": 32,
        },
        TrainConfig(weight_decay=0.5),
    )
    assert model_cfg.architecture == "bilstm" and model_cfg.pooling == "max"
    assert train_cfg.learning_rate == 0.01 and train_cfg.weight_decay == 0.5
    assert train_cfg.early_stopping_patience == 0 and train_cfg.reduce_lr_patience == 0
    with pytest.raises(ValueError, match="not model or train settings"):
        trial_configs({"warp": 9}, TrainConfig())


def test_a_resumed_run_owes_the_trials_it_lost_or_never_restored():
    from sweep.search import Run, lost_on_restore, shortfall
    from sweep.search._driver import LOST, settle_restored

    gone = "ValueError: Could not recover from checkpoint as it does not exist on storage anymore."
    assert lost_on_restore(gone) and lost_on_restore(ValueError(gone))
    assert not lost_on_restore(None) and not lost_on_restore("ResourceExhaustedError: OOM")
    run = Run("s", trials=5)
    restored = [
        TrialSummary("a", {}, (0.7,)),
        TrialSummary("b", {}, (0.6, 0.7), status=LOST),  # finished before the kill
        TrialSummary("c", {}, (0.6,), status=LOST),  # lost mid-training
        TrialSummary("d", {}, (), status="ERROR"),  # a real error is not replaced
    ]
    assert shortfall(run, restored) == 3  # b, c and one Ray never restored
    settled = settle_restored(restored, finished={"b", "zz"})
    assert [t.status for t in settled] == ["TERMINATED", "TERMINATED", LOST, "ERROR"]
    assert shortfall(run, settled) == 2
    assert shortfall(Run("s", trials=2), settled) == 0
    # "e" ended after Ray's last snapshot, before the kill: the study has it, Ray does not
    assert shortfall(run, settled, finished_elsewhere={"a", "b", "e"}) == 1
