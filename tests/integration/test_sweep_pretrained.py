"""A sweep whose trials start from the pre-trained language model, end to end: real Redis,
real Ray, the language model pre-trained once as a Ray task and cached in the storage, the
winner retrained from it and exported, and a second sweep of the same data reusing it."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from sweep.cluster import main
from tests.integration.conftest import TINY_SPACE, write_spec

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SPACE = {
    **TINY_SPACE,
    "architecture": ["lstm", "bilstm"],
    "encoder": ["lm"],
    "encoder_rate": [0.3, 1.0],
    "unfreeze": ["all", "gradual"],
    "pooling": ["last", "max"],
}
PRETRAIN = {"epochs": 1, "window": 16, "batch_size": 32, "sampled": 16}


def _launch(folder, archive, url, name, trials):
    spec = write_spec(
        folder,
        archive,
        name=name,
        trials=trials,
        space=SPACE,
        pretrain=PRETRAIN,
        asha={"max_epochs": 2, "grace_period": 1, "reduction_factor": 2},
    )
    result = CliRunner().invoke(main, ["launch", spec, "--redis-url", url, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def lm_sweep(ray_2_cpus, redis_server, sweep_archive, tmp_path_factory):
    folder = tmp_path_factory.mktemp("lmsweep")
    record = _launch(folder, sweep_archive, redis_server.url, "lm", trials=3)
    return record, redis_server.url, folder, sweep_archive


def test_every_trial_starts_from_the_language_model_and_the_winner_is_exported(lm_sweep, tmp_path):
    record, url, folder, _ = lm_sweep
    assert record["status"] == "succeeded", record
    trials = json.loads(
        CliRunner().invoke(main, ["trials", record["id"], "--redis-url", url, "--json"]).output
    )
    assert len(trials) == 3
    for t in trials:
        assert t["config"]["encoder"] == "lm"
        assert (t["config"]["embedding_dim"], t["config"]["units"]) == (16, 8)
    cached = list((folder / "runs" / "pretrained").iterdir())
    assert len(cached) == 1 and (cached[0] / "epoch-1" / "pretrain.json").exists()
    # the sweep record says which language model the trials started from
    assert record["language_model"]["key"] == cached[0].name
    assert (
        record["language_model"]["reused"] is False and record["language_model"]["perplexity"] > 1
    )
    out = tmp_path / "winner"
    done = CliRunner().invoke(main, ["best", record["id"], "--redis-url", url, "-o", str(out)])
    assert done.exit_code == 0, done.output
    meta = json.loads((out / "metadata.json").read_text())
    lm = meta["data"]["language_model"]
    assert lm["key"] == cached[0].name and lm["reused"] is False
    assert meta["model_config"]["encoder"] == "lm"
    assert meta["trial_config"]["unfreeze"] in ("all", "gradual")
    predicted = CliRunner().invoke(main, ["predict", str(out), "--json", "a wonderful film"])
    assert predicted.exit_code == 0, predicted.output
    assert 0 <= json.loads(predicted.output)[0]["probability"] <= 1


def test_a_second_sweep_of_the_same_data_reuses_the_cached_language_model(lm_sweep, tmp_path):
    _, url, folder, archive = lm_sweep
    second = _launch(folder, archive, url, "lm-again", trials=1)
    assert second["status"] == "succeeded", second
    assert len(list((folder / "runs" / "pretrained").iterdir())) == 1
    out = tmp_path / "again"
    done = CliRunner().invoke(main, ["best", second["id"], "--redis-url", url, "-o", str(out)])
    assert done.exit_code == 0, done.output
    lm = json.loads((out / "metadata.json").read_text())["data"]["language_model"]
    assert lm["reused"] is True
