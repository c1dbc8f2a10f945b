"""``sweep pretrain``: the language model a spec's sweep would use, alone, from the CLI."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from sweep.cluster import main
from tests import _synthetic

SPEC = {
    "space": {"vocab_size": [200], "sequence_length": [40], "embedding_dim": [8], "units": [8]},
    "pretrain": {"epochs": 1, "window": 16, "batch_size": 32, "sampled": 16},
}


@pytest.fixture(scope="module")
def spec_and_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pretrain-cli")
    archive = _synthetic.write_archive(folder / "a.tar.gz", 40, unlabeled=80)
    spec = folder / "spec.yaml"
    spec.write_text(yaml.safe_dump({**SPEC, "storage": str(folder / "runs")}))
    return str(spec), str(archive), folder


def test_pretrain_prints_perplexity_per_epoch_then_reuses_the_cache(spec_and_data):
    spec, archive, folder = spec_and_data
    first = CliRunner().invoke(main, ["pretrain", spec, "--data", archive, "--epochs", "2"])
    assert first.exit_code == 0, first.output
    assert "pre-training epoch 1/2" in first.output and "pre-training epoch 2/2" in first.output
    assert "held-out perplexity" in first.output and "reused" not in first.output
    again = CliRunner().invoke(
        main, ["pretrain", spec, "--data", archive, "--epochs", "2", "--json"]
    )
    assert again.exit_code == 0, again.output
    info = json.loads(again.output)
    assert info["reused"] is True and len(info["history"]) == 2
    assert (folder / "runs" / "pretrained" / info["key"] / "epoch-2" / "encoder.npz").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--epochs", "0"], "pretrain: epochs=0 must be >= 1"),
        (["--window", "1"], "window=1 must be >= 2"),
        (["--data", "/nonexistent/reviews.tar.gz"], "/nonexistent/reviews.tar.gz"),
    ],
)
def test_pretrain_refuses_bad_input_with_exit_2(spec_and_data, args, message):
    spec, archive, _ = spec_and_data
    result = CliRunner().invoke(main, ["pretrain", spec, "--data", archive, *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
