"""Sweep spec and search space: parsing, validation, define-by-run sampling."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sweep.search import (
    SearchSpace,
    SpecError,
    SweepSpec,
    default_spec_text,
    load_yaml,
    parse_recorded_spec,
    parse_sweep_spec,
    spec_to_dict,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_default_spec_text_is_the_default_spec():
    assert parse_sweep_spec(yaml.safe_load(default_spec_text())) == SweepSpec()


def test_quick_example_parses_and_round_trips():
    spec = parse_sweep_spec(load_yaml(str(EXAMPLES / "quick.yaml")))
    assert spec.trials == 6 and spec.space.max_sequence_length == 150
    assert parse_sweep_spec(spec_to_dict(spec)) == spec
    assert parse_sweep_spec(yaml.safe_load(yaml.safe_dump(spec_to_dict(spec)))) == spec


def test_cluster_example_is_a_large_sweep_every_node_can_store():
    from sweep.search import is_remote_uri

    spec = parse_sweep_spec(load_yaml(str(EXAMPLES / "cluster.yaml")))
    assert spec.concurrency >= 32 and spec.trials >= 10 * spec.concurrency
    assert is_remote_uri(spec.storage) and spec.max_failures >= 1
    assert parse_sweep_spec(spec_to_dict(spec)) == spec


def test_quality_example_pretrains_embeddings_at_the_largest_dimension():
    spec = parse_sweep_spec(load_yaml(str(EXAMPLES / "quality.yaml")))
    assert spec.data.pretrain_embeddings and spec.space.max_embedding_dim == 128
    assert spec.asha.grace_period == 2 and spec.retrain
    assert parse_sweep_spec(spec_to_dict(spec)) == spec


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"trails": 3}, r"spec.trails: unknown key; did you mean 'trials'"),
        ({"trials": "many"}, r"spec.trials: expected an integer"),
        ({"trials": 0}, r"trials=0 must be >= 1"),
        ({"cost": "flops"}, r"cost='flops' is unknown; choose one of \['params', 'latency_ms'\]"),
        ({"feedback": "lie"}, r"feedback='lie' is unknown; choose one of \['pruned', 'complete'\]"),
        ({"startup_trials": 0}, r"startup_trials=0 must be >= 1 \(random trials before TPE"),
        ({"metric": "val_loss"}, r"mode='max' does not fit metric 'val_loss'"),
        ({"resources": {"cpus": 0}}, r"resources.cpus=0.0 must be in"),
        ({"resources": {"gpu": 1}}, r"spec.resources.gpu: unknown key; did you mean 'gpus'"),
        ({"asha": {"grace_period": 9}}, r"asha.grace_period=9 must be in \[1, max_epochs=4\]"),
        ({"asha": {"brackets": 0}}, r"asha.brackets=0 must be in \[1, 8\]"),
        ({"constant_liar": "yes"}, r"spec.constant_liar: expected"),
        ({"space": {"units": []}}, r"spec.space.units: empty list"),
        ({"space": {"dropout": {"low": 0.5, "high": 0.1}}}, r"empty range: low=0.5 > high=0.1"),
        ({"space": {"architecture": ["transformer"]}}, r"\['transformer'\] not allowed"),
        ({"space": {"widht": [1]}}, r"spec.space.widht: unknown parameter"),
        ({"space": {"learning_rate": {"low": 0, "high": 1, "log": True}}}, r"log: true needs"),
        ({"space": {"ngram_buckets": [-1, 64]}}, r"ngram_buckets: values \[-1\] must be integers"),
        ({"space": {"ngram_dim": [0]}}, r"ngram_dim: values \[0\] must be positive integers"),
        ({"name": "bad name!"}, r"name='bad name!' must be"),
    ],
)
def test_bad_specs_are_refused_with_key_and_reason(mapping, message):
    with pytest.raises(SpecError, match=message):
        parse_sweep_spec(mapping)


def _sample(space: SearchSpace, n: int = 40) -> list[dict]:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    configs = []
    for _ in range(n):
        trial = study.ask()
        configs.append(space(trial))
        study.tell(trial, 0.5)
    return configs


def test_conditional_parameters_exist_only_where_they_matter():
    configs = _sample(SearchSpace())
    assert {c["architecture"] for c in configs} == {"lstm", "bilstm", "conv_lstm", "stacked_lstm"}
    for c in configs:
        assert ("layers" in c) == (c["architecture"] == "stacked_lstm")
        assert ("pooling" in c) == (c["architecture"] == "bilstm")
        assert ("conv_filters" in c) == (c["architecture"] == "conv_lstm")
        assert 3e-4 <= c["learning_rate"] <= 3e-3 and c["vocab_size"] in (10_000, 20_000)
        assert c["ngram_buckets"] == 262_144 and c["ngram_dim"] == 16  # on by default


def test_ngram_dim_is_searched_only_with_ngrams_on():
    space = parse_sweep_spec({"space": {"ngram_buckets": [0, 64], "ngram_dim": [8, 16]}}).space
    configs = _sample(space)
    assert {c["ngram_buckets"] for c in configs} == {0, 64}
    for c in configs:
        assert ("ngram_dim" in c) == (c["ngram_buckets"] > 0)
        assert c.get("ngram_dim", 8) in (8, 16)


def test_a_recorded_spec_keeps_the_space_it_was_recorded_with():
    recorded = spec_to_dict(parse_sweep_spec({}))
    assert parse_recorded_spec(recorded) == parse_sweep_spec({})  # this version: unchanged
    del recorded["space"]["ngram_buckets"]  # as recorded before the n-gram branch existed
    assert parse_recorded_spec(recorded).space.ngram_buckets.values == (0,)
    assert parse_sweep_spec(recorded).space.ngram_buckets.values == (262_144,)  # a new spec


def test_scalars_fix_a_parameter():
    space = parse_sweep_spec({"space": {"units": 16, "dropout": 0.3, "architecture": "lstm"}}).space
    for c in _sample(space, 5):
        assert c["units"] == 16 and c["dropout"] == 0.3 and c["architecture"] == "lstm"


_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 50_000),
    st.floats(-1, 2),
    st.sampled_from(["lstm", "adam", "x"]),
    st.lists(st.integers(0, 300), max_size=3),
)
_space_keys = st.sampled_from(["units", "dropout", "architecture", "learning_rate", "nope"])


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=80)
@given(
    st.dictionaries(
        st.sampled_from(["trials", "concurrency", "space", "asha", "metric", "seed"]),
        st.one_of(
            _leaf,
            st.dictionaries(
                _space_keys,
                st.one_of(
                    _leaf, st.fixed_dictionaries({"low": st.floats(0, 1), "high": st.floats(0, 1)})
                ),
            ),
            st.fixed_dictionaries({"max_epochs": st.integers(-1, 5)}),
        ),
        max_size=4,
    )
)
def test_any_mapping_parses_to_a_valid_spec_or_raises_spec_error(mapping):
    try:
        spec = parse_sweep_spec(mapping)
    except SpecError:
        return
    assert parse_sweep_spec(spec_to_dict(spec)) == spec


def test_class_weight_is_searched_only_when_the_space_lists_it():
    import optuna

    from sweep.search import parse_space

    plain = optuna.create_study().ask()
    assert "class_weight" not in parse_space({"architecture": ["lstm"]})(plain)
    space = parse_space({"architecture": ["lstm"], "class_weight": ["none", "balanced"]})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    drawn = {space(study.ask())["class_weight"] for _ in range(20)}
    assert drawn == {"none", "balanced"}
    with pytest.raises(Exception, match=r"class_weight: \['inverse'\] not allowed"):
        parse_space({"class_weight": ["inverse"]})
