"""16 concurrent trials on a small categorical space never run one configuration twice
unless the space is exhausted (real Ray Tune, the sweep's searcher, its study in Redis)."""

from __future__ import annotations

import json

import optuna
import pytest

from sweep.cluster._keys import Keys
from sweep.cluster._optuna_journal import optuna_storage
from sweep.search import parse_space
from sweep.search._searcher import DUPLICATE_ATTR, FidelityAwareOptunaSearch

from ._light_trainable import score_after_a_second

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# 2 x 2 x 2 x 2 = 16 configurations (every other parameter fixed)
SMALL = {
    "architecture": ["lstm", "conv_lstm"],
    "units": [4, 8],
    "embedding_dim": [8, 16],
    "optimizer": ["adam", "rmsprop"],
    "vocab_size": [100],
    "sequence_length": [24],
    "dropout": 0.1,
    "learning_rate": 0.01,
    "batch_size": [32],
    "conv_filters": [8],
    "conv_kernel_size": [3],
}


def _run(redis_url, study_name, trials, seed):
    from ray import tune

    searcher = FidelityAwareOptunaSearch(
        space=parse_space(SMALL),
        metric="val_accuracy",
        mode="max",
        study_name=study_name,
        storage=optuna_storage(redis_url, study_name, Keys()),
        seed=seed,
        max_epochs=1,
    )
    grid = tune.Tuner(
        tune.with_resources(score_after_a_second, {"cpu": 0.1}),
        tune_config=tune.TuneConfig(
            search_alg=searcher, num_samples=trials, max_concurrent_trials=16
        ),
        run_config=tune.RunConfig(verbose=0, name=study_name),
    ).fit()
    configs = [json.dumps(r.config, sort_keys=True) for r in grid]
    study = optuna.load_study(
        study_name=study_name, storage=optuna_storage(redis_url, study_name, Keys())
    )
    return configs, study, searcher


def test_sixteen_concurrent_trials_repeat_only_once_the_space_is_exhausted(ray_2_cpus, redis_url):
    configs, study, _ = _run(redis_url, "dedup", 20, 0)
    assert len(configs) == 20 and len(set(configs)) == 16
    real = sorted(
        (t for t in study.trials if DUPLICATE_ATTR not in t.system_attrs), key=lambda t: t.number
    )
    assert len(real) == 20
    first = [json.dumps(t.params, sort_keys=True) for t in real[:16]]
    assert len(set(first)) == 16  # the first 16, run at once, are the whole space
    skipped = [t for t in study.trials if DUPLICATE_ATTR in t.system_attrs]
    assert all(t.state == optuna.trial.TrialState.FAIL for t in skipped)
