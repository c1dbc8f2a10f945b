"""The train spec: sections validated by their dataclasses, unknown keys and types refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sweep.search import (
    SpecError,
    TrainSpec,
    load_yaml,
    override,
    parse_sweep_spec,
    parse_train_spec,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "train.yaml"


def test_example_spec_parses_to_the_defaults():
    assert parse_train_spec(load_yaml(str(EXAMPLE))) == TrainSpec()


def test_values_and_nested_sections():
    spec = parse_train_spec(
        {
            "model": {"architecture": "bilstm", "pooling": "max"},
            "data": {"clean": {"lowercase": False}, "max_reviews": 100},
            "train": {"learning_rate": 1},
        }
    )
    assert spec.model.pooling == "max" and spec.data.clean.lowercase is False
    assert spec.train.learning_rate == 1.0 and isinstance(spec.train.learning_rate, float)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"modle": {}}, r"spec.modle: unknown key; did you mean 'model'"),
        ({"model": {"unit": 3}}, r"spec.model.unit: unknown key; did you mean 'units'"),
        ({"model": {"units": "many"}}, r"spec.model.units: expected an integer, got 'many'"),
        ({"model": {"units": True}}, r"spec.model.units: expected an integer"),
        ({"train": {"epochs": 0}}, r"spec.train: epochs=0 must be >= 1"),
        ({"data": {"clean": {"lowercase": "yes"}}}, r"spec.data.clean.lowercase: expected true"),
        ({"data": {"validation_fraction": 1.5}}, r"validation_fraction=1.5 must be in"),
        ([1, 2], r"spec: expected a mapping"),
    ],
)
def test_bad_specs_name_the_key_and_rule(mapping, message):
    with pytest.raises(SpecError, match=message):
        parse_train_spec(mapping)


def test_override_replaces_given_values_only():
    spec = override(TrainSpec(), {"model.units": 7, "model.dropout": None})
    assert spec.model.units == 7 and spec.model.dropout == TrainSpec().model.dropout
    with pytest.raises(SpecError, match="model: units=-1 must be >= 1"):
        override(TrainSpec(), {"model.units": -1})


def test_override_names_sweep_keys_as_the_spec_file_does():
    base = parse_sweep_spec({})
    spec = override(base, {"trials": 9, "asha.max_epochs": 5, "resources.cpus": None})
    assert (spec.trials, spec.asha.max_epochs) == (9, 5)
    assert spec.resources == base.resources and spec.asha.grace_period == base.asha.grace_period
    with pytest.raises(SpecError, match="asha: "):
        override(base, {"asha.grace_period": 50, "asha.max_epochs": 2})


def test_yaml_problems_are_spec_errors(tmp_path):
    with pytest.raises(SpecError, match="does not exist"):
        load_yaml(str(tmp_path / "none.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_yaml(str(bad))


_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
)


_keys = st.sampled_from(["units", "layers", "dropout", "epochs", "source", "seed", "nope"])


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=60)
@given(
    st.dictionaries(
        st.sampled_from(["data", "model", "train", "other"]),
        st.one_of(_values, st.dictionaries(_keys, _values, max_size=3)),
        max_size=3,
    )
)
def test_any_mapping_either_parses_or_raises_spec_error(mapping):
    try:
        spec = parse_train_spec(mapping)
    except SpecError:
        return
    assert isinstance(spec, TrainSpec)
    # whatever parsed survives a YAML round trip of its input
    assert parse_train_spec(yaml.safe_load(yaml.safe_dump(mapping))) == spec


def test_the_search_package_loads_without_ray_tune():
    """`sweep train` imports `search`; Ray Tune is imported only where a sweep runs."""
    import subprocess
    import sys

    code = "import sys, sweep.search; print('ray.tune' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
