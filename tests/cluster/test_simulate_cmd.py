"""`sweep simulate` on the recorded trials of a sweep in a real Redis, and its refusals."""

from __future__ import annotations

import json

import yaml
from click.testing import CliRunner

from sweep.cluster import RedisStateStore, main
from tests.search.test_simulate import SPACE, _table, fixed_curve


def _sweep_with_trials(redis_url, n: int, full: int | None = None, name: str = "past") -> str:
    """A sweep whose ``n`` trials reported the fixed curves: all 4 epochs, or only the first
    ``full`` of them (the others stopped after 2, as ASHA does)."""
    store = RedisStateStore(redis_url)
    store.create_sweep(name, {}, "/runs")
    for run in _table(n).first_seed():
        curve = fixed_curve(run.config)
        epochs = 4 if full is None or run.index < full else 2
        record = {
            "trial_id": f"t{run.index}",
            "config": run.config,
            "history": list(curve.val_accuracy[:epochs]),
            "epochs": epochs,
            "train_seconds": sum(curve.epoch_seconds[:epochs]),
        }
        store.write_trial(name, record["trial_id"], record, curve.val_accuracy[-1], "completed")
    return name


def _spec(tmp_path, **overrides) -> str:
    asha = {"max_epochs": 4, "grace_period": 1, "reduction_factor": 2}
    spec = {"trials": 16, "concurrency": 2, "space": SPACE, "startup_trials": 4, "asha": asha}
    spec.update(overrides)
    path = tmp_path / f"spec-{len(list(tmp_path.glob('spec-*')))}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return str(path)


def test_simulate_replays_a_past_sweeps_curves(redis_url, tmp_path):
    sweep = _sweep_with_trials(redis_url, 30)
    args = ["simulate", _spec(tmp_path), "--curves", sweep, "--redis-url", redis_url]
    result = CliRunner().invoke(main, [*args, "--workers", "4", "--seeds", "3", "--json",
                                       "--plot", str(tmp_path / "sim.png")])  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["workers"] == 4 and summary["seeds"] == 3 and summary["trials"] == 16
    assert summary["curves"] == "the 30 trials of sweep past"
    best = max(fixed_curve(r.config).val_accuracy[-1] for r in _table(30).first_seed())
    assert summary["target_val_accuracy"] == round(best - 0.005, 4)
    assert 16 <= summary["median_trial_epochs"] <= 64 and summary["median_stopped_early"] > 0
    assert (tmp_path / "sim.png").stat().st_size > 5_000
    text = CliRunner().invoke(main, [*args, "--seeds", "2"])
    assert text.exit_code == 0 and "2 workers, 16 trials, 2 seeds" in text.output


def test_simulate_refuses_what_it_cannot_replay(redis_url, tmp_path):
    sweep = _sweep_with_trials(redis_url, 30)
    base = ["simulate", "--curves", sweep, "--redis-url", redis_url]
    cases = [
        (_spec(tmp_path, space={**SPACE, "units": [4, 8, 512]}), "units: [512]"),
        (_spec(tmp_path, asha={"max_epochs": 9, "grace_period": 1}), "max_epochs=9"),
        (_spec(tmp_path, metric="val_loss", mode="min"), "metric='val_loss'"),
    ]
    for spec, message in cases:
        result = CliRunner().invoke(main, [*base[:1], spec, *base[1:]])
        assert result.exit_code == 2 and message in result.output, result.output
    unknown = CliRunner().invoke(main, ["simulate", "--curves", "nope", "--redis-url", redis_url])
    assert unknown.exit_code == 2 and "no sweep 'nope'" in unknown.output
    RedisStateStore(redis_url).create_sweep("empty", {}, "/runs")
    empty = CliRunner().invoke(main, ["simulate", "--curves", "empty", "--redis-url", redis_url])
    assert empty.exit_code == 2 and "no trial with a reported epoch" in empty.output
    stopped = _sweep_with_trials(redis_url, 30, full=3, name="stopped")
    few = CliRunner().invoke(
        main, ["simulate", _spec(tmp_path), "--curves", stopped, "--redis-url", redis_url]
    )
    assert few.exit_code == 2 and "has 3 full-length configurations" in few.output, few.output


def test_simulate_runs_the_default_spec_on_the_bundled_imdb_curves(tmp_path):
    from sweep.search._surrogate import CurveTable

    bundled = CurveTable.load(None)
    result = CliRunner().invoke(main, ["simulate", "--workers", "2", "--seeds", "2", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["trials"] == 12 and summary["workers"] == 2  # the default spec's sweep
    assert str(len(bundled.first_seed())) in summary["curves"]
    assert summary["target_val_accuracy"] == round(bundled.best_final() - 0.005, 4)
    assert 12 <= summary["median_trial_epochs"] <= 48
    assert summary["median_trials_finished"] == 12
    # the spec's time budget ends the simulated sweep as it ends a real one
    spec = tmp_path / "budget.yaml"
    spec.write_text(yaml.safe_dump({"trials": 1000, "time_budget_s": 300}))
    budget = CliRunner().invoke(main, ["simulate", str(spec), "--seeds", "2", "--json"])
    assert budget.exit_code == 0, budget.output
    cut = json.loads(budget.output)
    assert cut["median_makespan_s"] == 300 and 0 < cut["median_trials_finished"] < 1000
