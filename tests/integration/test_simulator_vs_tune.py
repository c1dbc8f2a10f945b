"""The simulator's decisions are Ray Tune's: on a fixed curve set, one trial at a time, a real
Tuner (the sweep's searcher and ASHA) and the simulation try the same configurations and stop
each at the same epoch."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.search.test_simulate import Fixed, _spec

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_simulated_asha_stops_the_trials_ray_tune_stops(ray_2_cpus, tmp_path):
    from ray import tune

    from sweep.search._searcher import make_scheduler, make_searcher
    from sweep.search._simulate import simulate_asha
    from tests.integration._light_trainable import replay_fixed_curve

    spec = _spec(trials=12, startup_trials=3, seed=4)
    grid = tune.Tuner(
        tune.with_resources(replay_fixed_curve, {"cpu": 1}),
        tune_config=tune.TuneConfig(
            search_alg=make_searcher(spec, "real", None),
            scheduler=make_scheduler(spec),
            num_samples=spec.trials,
            max_concurrent_trials=1,
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="real", verbose=0),
    ).fit()
    # creation order: a trial's folder is <trainable>_<trial id>_<number>_<params>_<date>
    results = sorted(
        grid, key=lambda r: int(re.search(r"_[0-9a-f]{8}_(\d+)_", Path(r.path).name).group(1))
    )
    real = [
        (json.dumps(r.config, sort_keys=True), int(r.metrics["training_iteration"]))
        for r in results
    ]

    trained: list[tuple[str, int]] = []

    class Recording(Fixed):
        def curve(self, config, rng):
            trained.append(json.dumps(config, sort_keys=True))
            return super().curve(config, rng)

    outcome = simulate_asha(spec, Recording(), workers=1, seed=spec.seed)
    assert outcome.trials == len(real) == 12
    stopped = sum(epochs < spec.asha.max_epochs for _, epochs in real)
    assert stopped == outcome.stopped_early and stopped > 0
    assert trained == [config for config, _ in real]
    assert outcome.trial_epochs == sum(epochs for _, epochs in real)
