"""The bench scripts run in their small mode, so they do not rot."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def run_bench(script: str, *args, timeout: int = 600) -> dict:
    """Run a bench script in its quick mode; its stdout is one JSON document."""
    done = subprocess.run(
        [sys.executable, str(BENCH / script), "--quick", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.mark.slow
def test_redis_callback_load_quick():
    result = run_bench("redis_callback_load.py", timeout=300)
    assert result["all_landed"] and result["reports"] == 1000


@pytest.mark.slow
def test_epoch_throughput_quick(learnable_archive):
    result = run_bench("epoch_throughput.py", "--data", learnable_archive, "--rounds", "2")
    rounds = result["rounds"]
    assert len(rounds) == 2 and result["optimizer_b"] == "model.FusedAdam"
    from sweep.model import use_projected_lstm  # auto: the projected LSTM on a CPU with bfloat16

    assert result["lstm_b"] == ("ProjectedLSTM" if use_projected_lstm() else "keras LSTM")
    for row in rounds:
        assert row["plain_keras"]["reviews_per_second"] > 0
        assert 0 <= row["project_trial_path"]["val_accuracy_after_3_epochs"] <= 1
    ratios = sorted(r["speedup_concurrent"] for r in rounds)
    assert result["speedup_concurrent"] == pytest.approx(sum(ratios) / 2)  # median of two


@pytest.mark.slow
def test_fidelity_feedback_quick(learnable_archive):
    result = run_bench("fidelity_feedback.py", "--data", learnable_archive)
    assert [r["feedback"] for r in result["runs"]] == ["complete", "pruned"]
    for run in result["runs"]:
        assert run["trials"] == 4 and 4 <= run["trial_epochs"] <= 12
        assert run["trial_epochs_to_same_best"] <= run["trial_epochs"]


@pytest.mark.slow
def test_tpe_startup_quick(learnable_archive):
    result = run_bench("tpe_startup.py", "--data", learnable_archive)
    runs = result["runs"]
    assert [r["variant"] for r in runs] == ["optuna_default_10", "third_of_trials"]
    assert [r["startup_trials"] for r in runs] == [10, 2]  # 4 trials, 2 at a time
    for run in runs:
        assert run["trials"] == 4 and 4 <= run["trial_epochs"] <= 12
        assert run["trial_epochs_to_same_best"] <= run["trial_epochs"]


@pytest.mark.slow
def test_trial_overhead_quick(learnable_archive):
    result = run_bench("trial_overhead.py", "--data", learnable_archive)
    assert [r["reuse_actors"] for r in result["runs"]] == [True, False]
    for run in result["runs"]:
        assert run["trials"] == 4
        o = run["overhead_seconds"]
        assert 0 < o["p50"] <= o["max"] < 120


@pytest.mark.slow
def test_search_efficiency_quick(learnable_archive):
    out = run_bench("search_efficiency.py", "--data", learnable_archive, timeout=900)
    assert [run["seed"] for run in out["runs"]] == [0] and out["concurrency"] >= 1
    result = out["runs"][0]["results"]
    assert set(result) == {"service", "keras_tuner_hyperband", "optuna_sequential"}
    # the verdict compares the service with each other method that ended an epoch in time
    verdict = out["verdict"]
    assert verdict["of"] == len(verdict["comparisons"]) == 2
    assert {c["other"] for c in verdict["comparisons"]} == {
        "keras_tuner_hyperband",
        "optuna_sequential",
    }
    for row in result.values():
        assert row["trials"] >= 1 and row["trial_epochs"] >= row["trials"]
        assert 0 <= row["winner_test_accuracy"] <= 1
        assert row["seconds_to_own_best"] <= 30.0  # results after the budget are not counted
        curve = [v for _, v in row["best_so_far"]]
        assert curve == sorted(curve) and curve[-1] == row["best_val_accuracy"]
    for name in ("service", "optuna_sequential"):  # every trial of theirs starts at epoch 1
        firsts = result[name]["first_epochs"]
        assert 1 <= firsts["trials"] <= result[name]["trials"]
        assert 0 <= firsts["best_trial_share_below"] < 1


@pytest.mark.slow
def test_ngram_branches_quick(learnable_archive):
    result = run_bench("ngram_branches.py", "--data", learnable_archive)
    bag = result["bag_only"]
    # the synthetic reviews are separable by their words: a working bag learns them
    assert len(bag["val_accuracy_per_epoch"]) == 2 and bag["test_accuracy"] > 0.8
    branches = result["branches"]
    assert branches["ngram_branch_alone"] > 0.8
    for key in ("lstm_branch_alone", "ngram_branch_alone", "model_mean_of_logits"):
        assert 0 <= branches[key] <= 1
    assert -1 <= branches["logit_correlation"] <= 1
    # the exported model applies the weight fitted on validation to its branches' logits
    assert 0 <= branches["lstm_weight_fitted_on_validation"] <= 1
    assert branches["model_output"] == pytest.approx(branches["fitted_blend"], abs=0.002)


def test_rating_task_quick_scores_baselines_and_a_rating_model(learnable_archive, tmp_path):
    from click.testing import CliRunner

    from sweep.cluster import main

    model = tmp_path / "rating-model"
    trained = CliRunner().invoke(
        main,
        [
            "train",
            "--data",
            str(learnable_archive),
            "--labels",
            "rating",
            "--max-reviews",
            "400",
            "--vocab-size",
            "300",
            "--sequence-length",
            "40",
            "--embedding-dim",
            "16",
            "--units",
            "8",
            "--epochs",
            "2",
            "-o",
            str(model),
            "-q",
        ],
    )
    assert trained.exit_code == 0, trained.output
    result = run_bench("rating_task.py", "--data", learnable_archive, "--model", model)
    assert result["classes"] == ["1", "2", "3", "4", "7", "8", "9", "10"]
    methods = result["methods"]
    assert set(methods) == {"majority_class", "tfidf_ngrams_logistic_regression", "model"}
    majority, bag = methods["majority_class"], methods["tfidf_ngrams_logistic_regression"]
    # the synthetic reviews tell the polarity by their words, not the stars within it: a bag
    # that learns the polarity gets each review's side right, the majority class half of them
    assert bag["mean_absolute_error_stars"] < majority["mean_absolute_error_stars"]
    assert bag["macro_f1"] > majority["macro_f1"]
    for method in methods.values():
        assert 0 <= method["accuracy"] <= 1 and method["mean_absolute_error_stars"] >= 0


@pytest.mark.slow
def test_iterator_teardown_quick():
    result = run_bench("iterator_teardown.py", timeout=300)
    runs = result["runs"]
    assert [r["autotune_model_thread"] for r in runs] == [True, False]
    for run in runs:
        assert run["epoch_seconds"] == 0.5 and len(run["delete_seconds"]) == result["repeats"] == 2
        assert run["max"] == max(run["delete_seconds"]) >= run["median"] >= 0


@pytest.mark.slow
def test_lstm_step_quick():
    result = run_bench("lstm_step.py", "--default-space", timeout=300)
    rows = result["default_space_steps"]
    assert [r["architecture"] for r in rows] == ["lstm", "lstm"]
    for row in rows:
        assert row["keras_ms"] > 0 and row["projected_ms"] > 0
        assert row["speedup"] == pytest.approx(row["keras_ms"] / row["projected_ms"], rel=0.02)
    steps = result["training_step"]
    assert set(steps) == {
        "keras_lstm",
        "keras_lstm_unrolled",
        "hoisted_projection",
        "keras_lstm_vocab_1000",
        "keras_lstm_fused_adam",
        "keras_lstm_xla",
        "projected_lstm",
        "projected_lstm_float32",
        "custom_bptt",
        "custom_bptt_xla",
    }
    assert (
        result["custom_bptt_max_gradient_difference"] < 1e-4
    )  # the same LSTM, differentiated by hand
    batch = result["shape"]["batch"]
    for row in steps.values():
        assert row["ms_per_batch"] > 0 and row["matmul_gflops_per_second"] > 0
        # reviews/s and ms/batch describe the same timing
        assert row["reviews_per_second"] == pytest.approx(batch / row["ms_per_batch"] * 1000, 0.02)
    for rates in result["matmul"].values():
        assert all(v > 0 for v in rates.values()) and len(rates) == 2


@pytest.mark.slow
@pytest.mark.parametrize(
    ("compare", "expected"),
    [
        ("optimizer", [("keras", "keras", "keras"), ("fused", "fused", "keras")]),
        ("lstm-kernel", [("keras", "fused", "keras"), ("projected", "fused", "projected")]),
    ],
)
def test_training_variants_quick(compare, expected, learnable_archive):
    result = run_bench("training_variants.py", "--data", learnable_archive, "--compare", compare)
    runs = result["runs"]
    assert [(r["variant"], r["optimizer"], r["lstm_kernel"], r["seed"]) for r in runs] == [
        (*variant, seed) for seed in (0, 1) for variant in expected
    ]
    for row in runs:
        assert len(row["val_accuracy_per_epoch"]) == 2 and len(row["epoch_seconds"]) == 2
    # the synthetic reviews are learnable: both variants train the LSTM
    assert set(result["mean_final_val_accuracy"]) == {name for name, _, _ in expected}
    assert min(result["mean_final_val_accuracy"].values()) > 0.7


@pytest.mark.parametrize(
    ("script", "flag", "data"),
    [
        ("epoch_throughput.py", "--rounds", ["--data", "/nonexistent.tar.gz"]),
        ("training_variants.py", "--seeds", ["--data", "/nonexistent.tar.gz"]),
        ("iterator_teardown.py", "--repeats", []),  # synthetic data
        ("search_efficiency.py", "--concurrency", ["--data", "/nonexistent.tar.gz"]),
    ],
)
def test_a_count_below_one_is_refused_before_any_work(script, flag, data):
    done = subprocess.run(
        [sys.executable, str(BENCH / script), flag, "0", *data],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert f"{flag} 0: must be at least 1" in done.stderr and "Traceback" not in done.stderr


def _bench_module(name: str):
    """A bench script imported as a module (bench/ on sys.path, as when it runs)."""
    import importlib

    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCH))


def test_search_efficiency_summary_of_a_method_that_ended_no_epoch_in_its_budget():
    bench = _bench_module("search_efficiency")
    idle = bench.Timeline(budget=0.0)  # over at once: nothing it is told counts
    idle.add("late", 1, 0.9, {"units": 8})
    service, kt = bench.Timeline(budget=60.0), bench.Timeline(budget=60.0)
    service.add("s-1", 1, 0.70, {"units": 8})
    service.add("s-1", 2, 0.80, {"units": 8})
    kt.add("kt-0", 1, 0.75, {"units": 16})
    timelines = {"service": service, "keras_tuner_hyperband": kt, "optuna_sequential": idle}
    tests = {"service": 0.79, "keras_tuner_hyperband": 0.74, "optuna_sequential": None}
    out = bench.summarize(timelines, tests, budget=60.0)
    assert idle.best() is None
    assert out["optuna_sequential"]["trials"] == 0
    assert "no epoch ended within the 60 s budget" in out["optuna_sequential"]["note"]
    assert out["service"]["seconds_to_reach_optuna_sequential_best"] is None
    assert out["service"]["best_val_accuracy"] == 0.8 and out["service"]["trial_epochs"] == 2
    assert out["service"]["seconds_to_reach_keras_tuner_hyperband_best"] is not None
    assert out["keras_tuner_hyperband"]["seconds_to_best_of_the_others"] is None  # never 0.8
    # the best trial's first epoch, against every trial's first epoch
    assert out["service"]["first_epochs"] == {
        "trials": 1,
        "median": 0.7,
        "best_trial": 0.7,
        "best_trial_share_below": 0.0,
    }


def test_search_efficiency_first_epochs_place_the_best_trial_among_all_first_epochs():
    bench = _bench_module("search_efficiency")
    t = bench.Timeline(budget=60.0)
    for trial, first in (("a", 0.60), ("b", 0.70), ("c", 0.75), ("d", 0.80)):
        t.add(trial, 1, first, {})
    t.add("b", 2, 0.90, {})  # the best trial was second-lowest after one epoch
    t.add("x", 3, 0.95, {})  # a continued trial (KerasTuner's) has no first epoch here
    assert t.first_epochs() == {
        "trials": 4,
        "median": 0.725,
        "best_trial": None,
        "best_trial_share_below": None,
    }
    t.rows.pop()  # without "x", "b" is the best trial
    assert t.first_epochs()["best_trial"] == 0.7
    assert t.first_epochs()["best_trial_share_below"] == 0.25
    assert bench.Timeline(budget=60.0).first_epochs() is None


def _efficiency_run(seed: int, service: dict, kt: dict, optuna: dict) -> dict:
    """One seed's results as search_efficiency.summarize writes them (the keys verdict reads)."""
    rows = {"keras_tuner_hyperband": kt, "optuna_sequential": optuna}
    results = {name: {"winner_test_accuracy": 0.8, **row} for name, row in rows.items()}
    results["service"] = {"best_val_accuracy": 0.85, "winner_test_accuracy": 0.8, **service}
    return {"seed": seed, "results": results}


def test_search_efficiency_verdict_counts_ratios_under_half_over_seeds():
    bench = _bench_module("search_efficiency")
    runs = [
        _efficiency_run(  # reached KerasTuner's best in 40 % of its time, Optuna's in 60 %
            0,
            {
                "seconds_to_reach_keras_tuner_hyperband_best": 40.0,
                "seconds_to_reach_optuna_sequential_best": 60.0,
            },
            {"best_val_accuracy": 0.84, "seconds_to_own_best": 100.0},
            {"best_val_accuracy": 0.83, "seconds_to_own_best": 100.0},
        ),
        _efficiency_run(  # never reached KerasTuner's; Optuna ended no epoch in its budget
            1,
            {
                "seconds_to_reach_keras_tuner_hyperband_best": None,
                "seconds_to_reach_optuna_sequential_best": None,
            },
            {"best_val_accuracy": 0.86, "seconds_to_own_best": 50.0},
            {"best_val_accuracy": None, "winner_test_accuracy": None},
        ),
    ]
    out = bench.verdict(runs)
    assert [(c["seed"], c["other"], c["ratio"]) for c in out["comparisons"]] == [
        (0, "keras_tuner_hyperband", 0.4),
        (0, "optuna_sequential", 0.6),
        (1, "keras_tuner_hyperband", None),
    ]
    assert out["under_half"] == 1 and out["of"] == 3
    assert out["median_ratio"] == 0.6  # never reached counts as slower than any ratio
    assert out["means"]["keras_tuner_hyperband"]["mean_best_val_accuracy"] == 0.85
    assert out["means"]["optuna_sequential"]["mean_best_val_accuracy"] == 0.83  # seed 0 only
    # in most comparisons never reached: no median ratio to give
    assert bench.verdict(runs[1:])["median_ratio"] is None


@pytest.mark.parametrize(
    ("seeds", "message"),
    [("0,x", "comma-separated whole numbers"), ("1,1", "a seed is repeated"), ("-1", "0 or more")],
)
@pytest.mark.parametrize(
    "script", ["search_efficiency.py", "fidelity_feedback.py", "tpe_startup.py"]
)
def test_bad_seeds_are_refused_before_any_work(script, seeds, message):
    done = subprocess.run(
        [sys.executable, str(BENCH / script), "--seeds", seeds],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert message in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_record_curves_quick_appends_and_resumes_after_a_stop(learnable_archive, tmp_path):
    sys.path.insert(0, str(BENCH))
    from record_curves import read_table

    table = tmp_path / "curves.jsonl.gz"
    common = ["--data", learnable_archive, "--out", table, "--max-reviews", "0"]
    first = run_bench("record_curves.py", *common, "--configs", "3", "--seed-configs", "1")
    assert first["runs_before"] == 0 and first["runs_planned"] == 3 + 2  # config 0: 3 seeds
    rows = read_table(table)
    assert sorted((r["index"], r["seed"]) for r in rows) == [(0, 0), (0, 1), (0, 2), (1, 0), (2, 0)]
    for row in rows:
        assert [e["epoch"] for e in row["epochs"]] == [1, 2]
        assert all(e["epoch_seconds"] > 0 and 0 <= e["val_accuracy"] <= 1 for e in row["epochs"])
        assert row["params"] > 0 and row["threads"] == 1 and row["machine"]["cpus"] >= 1
        assert row["load_1m"] >= 0
    by_key = {(r["index"], r["seed"]): r for r in rows}
    assert by_key[(0, 0)]["config"] == by_key[(0, 1)]["config"]  # the same configuration

    # a run made while the machine was busy is done again on request; a stop mid-write
    # leaves a cut last member: it is dropped and its run done again
    from record_curves import append_run

    busy = rows[0]
    table.unlink()
    for row in rows:
        append_run(table, {**row, "load_1m": 99.0} if row is busy else row)
    data = table.read_bytes()
    table.write_bytes(data[:-60])  # into the last run's compressed line
    second = run_bench(
        "record_curves.py", *common, "--configs", "4", "--seed-configs", "1",
        "--redo-above-load", "50",
    )  # fmt: skip
    assert second["runs_redone_for_load"] == 1
    assert second["runs_before"] == 3 and second["runs_planned"] == 3
    again = read_table(table)
    assert len(again) == 6 and len({(r["index"], r["seed"]) for r in again}) == 6
    assert all(r["load_1m"] < 50 for r in again)
    # the draw is seeded: the first run's configurations come back with the same indices
    assert {r["index"]: r["config"] for r in again if r["seed"] == 0}[1] == by_key[(1, 0)]["config"]
    provenance = json.loads((tmp_path / "curves.provenance.json").read_text())
    assert [p["runs_after"] for p in provenance] == [5, 6]
    assert provenance[0]["command"].startswith("record_curves.py --quick")

    # stopped with SIGTERM (what a scheduler or `kill` sends): the finished runs stay, the
    # session is written to the provenance as stopped, and the exit code says so
    more = [*common, "--configs", "40", "--seed-configs", "0"]
    recorder = subprocess.Popen(
        [sys.executable, str(BENCH / "record_curves.py"), "--quick", *map(str, more)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 300
    while len(read_table(table)) < 7:
        assert recorder.poll() is None and time.time() < deadline, recorder.stderr.read()[-2000:]
        time.sleep(0.5)
    recorder.send_signal(signal.SIGTERM)
    out, _ = recorder.communicate(timeout=300)
    assert recorder.returncode == 130
    kept = len(read_table(table))
    assert 7 <= kept < 40
    last = json.loads((tmp_path / "curves.provenance.json").read_text())[-1]
    assert last["stopped"] is True and last["runs_after"] == kept
    assert json.loads(out[out.index("{") :])["runs_after"] == kept


def _synthetic_curve_table(tmp_path):
    """A learnable 40-configuration curve table (5 of them with 3 seeds), as a recorder file."""
    import gzip

    sys.path.insert(0, str(BENCH.parent))
    from tests.search.test_simulate import _row, _table

    table = _table(40, seeds=3)
    path = tmp_path / "curves.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        for r in table.runs:
            fh.write(json.dumps(_row(r.index, r.seed, r.config, r.curve)) + "\n")
    return table, path


@pytest.mark.slow
def test_simulate_quick_compares_every_method_on_a_recorded_table(tmp_path):
    table, path = _synthetic_curve_table(tmp_path)
    result = run_bench("simulate.py", "--table", path, "--plots", tmp_path / "plots")
    assert result["configurations"] == 40 and result["seeds"] == 2
    assert result["surrogate_validation"]["configurations"] == 40
    one = sorted(sum(r.curve.epoch_seconds) for r in table.first_seed())
    assert result["time_one_config_s"] == pytest.approx((one[19] + one[20]) / 2, abs=0.1)
    for workers in ("1", "2"):
        row = result["by_workers"][workers]
        assert set(row["methods"]) == {
            "service", "stock", "random", "optuna_sequential", "optuna_parallel",
            "kerastuner_hyperband",
        }  # fmt: skip
        for method in row["methods"].values():
            assert method["trial_epochs_median"] >= method["trials_median"] > 0
            assert 0.5 < method["best_at_budget_median"] <= 1.0
        for point, lo, hi in row["service_time_ratio_to"].values():
            if point is not None and lo is not None:
                assert lo <= point <= hi or hi is None
        assert (tmp_path / "plots" / f"simulate-w{workers}.png").stat().st_size > 10_000


@pytest.mark.slow
def test_tune_defaults_quick_changes_one_setting_at_a_time(tmp_path):
    _, path = _synthetic_curve_table(tmp_path)
    result = run_bench("tune_defaults.py", "--table", path)
    variants = result["by_workers"]["2"]["variants"]
    assert list(variants) == ["default", "reduction_factor=3", "constant_liar"]
    assert variants["default"]["time_ratio_to_default"] is None
    assert all(len(v["time_ratio_to_default"]) == 3 for n, v in variants.items() if n != "default")
    # a reduction factor of 3 keeps a third of each rung, not half: more trials stop early
    assert (
        variants["reduction_factor=3"]["stopped_early_share"]
        > variants["default"]["stopped_early_share"]
        > 0
    )
    for v in variants.values():
        assert v["trial_epochs_median"] >= v["trials_median"] > 0


@pytest.mark.slow
def test_control_plane_quick_runs_every_replayed_trial_on_several_nodes():
    # --quick with 120 trials, not its 200: the suite's time (the scale is 16 at once)
    result = run_bench(
        "control_plane.py", "--trials", 120, "--at", "60", "--cli-at", "1000", timeout=900
    )
    assert result["status"] == "succeeded" and result["finished_trials"] == result["trials"] == 120
    use = result["utilization"]
    assert 0 < use["in_epochs"] <= use["occupied"] <= 1 and use["trials_per_second"] > 0
    latency = result["suggestion_latency_by_study_size"]["120"]
    assert set(result["suggestion_latency_by_study_size"]) == {"60", "120"}
    # memory read at both sizes, so the growth between them is a figure, not a guess
    assert set(result["driver_kb_per_finished_trial"]) == {"60", "120"}
    assert set(result["driver_kb_growth_per_trial_between_sizes"]) == {"60-120"}
    assert 0 < latency["p50_ms"] <= latency["p99_ms"]
    assert 0 < latency["cpu_p50_ms"] <= latency["cpu_p99_ms"]
    redis_bytes = result["redis_bytes_per_trial"]
    assert redis_bytes["state_bytes"] > 0 and redis_bytes["journal_bytes"] > 0
    assert result["events_stream_length"] >= 2 * 120  # started and finished, at least
    assert all(seconds > 0 for seconds in result["cli_seconds_at_end"].values())
    copied = result["cli_seconds_with_copied_trials"]["1000"]  # the CLI timed on 1,000 rows
    assert copied.pop("trial_rows") == 1000
    assert set(copied) == {"status", "trials_top_10", "list"} and min(copied.values()) > 0


@pytest.mark.slow
def test_searcher_scale_quick():
    result = run_bench("searcher_scale.py", timeout=300)
    assert result["trials"] == 100
    for where in ("suggest_in_memory", "suggest_on_redis_journal"):
        rows = result[where]
        assert set(rows) == {"50", "100"}
        assert all(0 < r["p50_ms"] <= r["p99_ms"] for r in rows.values())
    assert result["journal_bytes_per_trial"] > 0


@pytest.mark.slow
def test_pretrain_ablation_quick(tmp_path):
    from tests import _synthetic

    archive = _synthetic.write_archive(tmp_path / "a.tar.gz", 60, unlabeled=120)
    result = run_bench(
        "pretrain_ablation.py", "--data", archive, "--storage", tmp_path / "runs", timeout=600
    )
    assert set(result["arms"]) == {"scratch", "vectors", "lm"}
    for arm in result["arms"].values():
        assert len(arm["val_accuracy_by_epoch"]) == 2 and 0 <= arm["test_accuracy"] <= 1
    probe = result["linear_probe"]
    assert set(probe) == {"n_train", "n_validation", "language_model", "random"}
    for net in ("language_model", "random"):
        found = probe[net]
        assert set(found["val_accuracy_by_pooling"]) == {"mean", "max", "mean+max"}
        assert found["val_accuracy"] == found["val_accuracy_by_pooling"]["mean+max"]
        assert all(0 <= a <= 1 for a in found["val_accuracy_by_pooling"].values())
        assert found["mean_abs_state"] > 0
        assert all(s > 0 for s in found["spread_across_reviews"].values())
    lm = result["language_model"]
    # 120 labelled training reviews less the 20 % validation split, and the unlabelled ones
    assert lm["reused"] is False and lm["perplexity"] > 1 and lm["reviews"] == 96 + 120
    again = run_bench(
        "pretrain_ablation.py", "--data", archive, "--storage", tmp_path / "runs", "--arms", "lm",
        "--ngram-buckets", "64",
    )  # fmt: skip
    assert again["language_model"]["reused"] is True
    assert again["arms"]["lm"]["config"]["ngram_buckets"] == 64
    found = again["arms"]["lm"]["branches"]
    assert 0 <= found["lstm_weight_fitted_on_validation"] <= 1
    for key in ("lstm_branch_alone", "ngram_branch_alone", "exported_blend"):
        assert 0 <= found[key] <= 1
    assert again["language_model"]["key"] == lm["key"]
