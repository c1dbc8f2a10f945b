"""The language-model encoder in the search: what it reads (never test or validation
reviews), its cache in the sweep's storage (a folder or S3), the space's encoder dimension,
and a trial starting from it."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import numpy as np
import optuna
import pytest

from sweep.data import pretraining_texts
from sweep.search import (
    SearchSpace,
    SpecError,
    WarmSource,
    parse_sweep_spec,
    warm_start_points,
)
from sweep.search._pretrain import (
    cache_key,
    lm_settings,
    load_cached,
    pretrain_encoder,
    run_pretraining,
    snapshot_location,
)
from sweep.search._space import param_name
from sweep.search._trial import start_encoder, trial_configs
from tests import _synthetic
from tests.search.test_sweep_spec import _sample

LM_SPACE = {
    "architecture": ["lstm", "bilstm", "conv_lstm"],
    "vocab_size": [100, 300],
    "sequence_length": [24, 40],
    "embedding_dim": [8, 16],
    "units": [4, 8],
    "encoder": ["scratch", "vectors", "lm"],
    "encoder_rate": [0.3, 1.0],
    "unfreeze": ["all", "gradual"],
}


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    return _synthetic.write_archive(
        tmp_path_factory.mktemp("lmdata") / "a.tar.gz", 60, unlabeled=120
    )


def _spec(archive, storage, **pretrain):
    return parse_sweep_spec(
        {
            "data": {"source": str(archive), "validation_fraction": 0.25},
            "storage": str(storage),
            "space": LM_SPACE,
            "pretrain": {"epochs": 1, "window": 16, "batch_size": 32, "sampled": 16, **pretrain},
        }
    )


def test_pretraining_reads_training_and_unlabelled_reviews_never_validation_or_test(
    archive, tmp_path
):
    from sweep.data import prepare_splits

    spec = _spec(archive, tmp_path)
    splits = prepare_splits(replace(spec.data, pretrain_embeddings=True), progress=False)
    texts = pretraining_texts(splits)
    assert set(texts) & set(splits.test["text"]) == set()
    assert set(texts) & set(splits.validation["text"]) == set()
    assert len(texts) == len(splits.train) + len(splits.unlabeled) == 90 + 120
    info = run_pretraining(spec, progress=False, log=lambda line: None)
    assert info["reviews"] == len(texts) and info["fingerprint"] == splits.fingerprint


def test_a_second_pretraining_of_the_same_data_and_settings_reuses_the_cache(
    archive, tmp_path, monkeypatch
):
    lines = []
    first = run_pretraining(_spec(archive, tmp_path), progress=False, log=lines.append)
    assert not first["reused"] and first["perplexity"] > 1
    assert any("held-out perplexity" in line for line in lines)

    def no_training(*args, **kwargs):
        raise AssertionError("pre-trained again")

    monkeypatch.setattr("sweep.model.pretrain_language_model", no_training)
    again = run_pretraining(_spec(archive, tmp_path), progress=False, log=lines.append)
    assert again["reused"] and again["key"] == first["key"]
    assert again["perplexity"] == first["perplexity"]
    # other settings are another language model
    monkeypatch.undo()
    other = run_pretraining(_spec(archive, tmp_path, window=12), progress=False, log=lines.append)
    assert other["key"] != first["key"] and not other["reused"]
    folder = tmp_path / "pretrained" / first["key"]
    assert (folder / "epoch-1" / "pretrain.json").exists()
    assert (folder / "checkpoint" / "lm.state.json").exists()


def test_asking_for_more_epochs_continues_the_cached_language_model(archive, tmp_path):
    one = run_pretraining(_spec(archive, tmp_path), progress=False, log=lambda line: None)
    lines = []
    two = run_pretraining(_spec(archive, tmp_path, epochs=2), progress=False, log=lines.append)
    assert two["key"] == one["key"] and not two["reused"]
    trained = [line for line in lines if line.startswith("pre-training epoch")]
    assert len(trained) == 1 and trained[0].startswith("pre-training epoch 2/2")
    assert two["history"][0] == one["history"][0] and len(two["history"]) == 2
    assert two["settings"]["epochs"] == 2 and one["settings"]["epochs"] == 1
    # both snapshots stay: a sweep asking for one epoch still gets the first
    again = run_pretraining(_spec(archive, tmp_path), progress=False, log=lambda line: None)
    assert again["reused"] and again["history"] == one["history"]


def test_the_cache_key_follows_settings_and_every_token():
    spec = parse_sweep_spec({"space": LM_SPACE})
    settings = lm_settings(spec)
    assert (settings.embedding_dim, settings.units) == (16, 8)  # the space's largest
    corpus = [np.array([2, 3, 4], np.int32), np.array([5, 6], np.int32)]
    key = cache_key(settings, 10, corpus)
    assert key == cache_key(settings, 10, [c.copy() for c in corpus])
    assert key != cache_key(settings, 11, corpus)
    assert key == cache_key(replace(settings, epochs=3), 10, corpus)  # more epochs: same model
    assert key != cache_key(replace(settings, window=32), 10, corpus)
    assert key != cache_key(settings, 10, [corpus[0], np.array([5, 7], np.int32)])
    # the same ids split differently between reviews are another corpus
    assert key != cache_key(
        settings, 10, [np.array([2, 3], np.int32), np.array([4, 5, 6], np.int32)]
    )


def test_the_lm_encoder_fixes_its_sizes_and_fine_tuning_is_drawn_only_when_pretrained():
    configs = _sample(parse_sweep_spec({"space": LM_SPACE}).space, 60)
    assert {c["encoder"] for c in configs} == {"scratch", "vectors", "lm"}
    for c in configs:
        pretrained = c["encoder"] != "scratch"
        assert ("encoder_rate" in c) == pretrained and ("unfreeze" in c) == pretrained
        if c["encoder"] == "lm":
            assert (c["embedding_dim"], c["units"]) == (16, 8)
        if c["architecture"] in ("lstm", "bilstm"):
            assert c["pooling"] in ("last", "max", "mean")
    assert {(c["embedding_dim"], c["units"]) for c in configs if c["encoder"] != "lm"} > {(16, 8)}
    # a space that does not search the encoder draws as before
    assert all("encoder" not in c for c in _sample(SearchSpace(), 10))


def test_a_pretrained_encoders_pooling_is_its_own_optuna_parameter_and_warm_starts_keep_it():
    space = parse_sweep_spec({"space": {**LM_SPACE, "pooling": ["max", "mean"]}}).space
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    drawn = []
    for _ in range(40):
        trial = study.ask()
        config = space(trial)
        study.tell(trial, 0.5)
        drawn.append((config, trial.params))
    drawn = [(c, params) for c, params in drawn if "pooling" in c]  # not conv_lstm
    names: dict[str, set[str]] = {}
    for config, params in drawn:
        names.setdefault(config["encoder"], set()).update(p for p in params if "pooling" in p)
    # TPE models each start's pooling apart; the configuration keeps the model's key
    assert names == {"scratch": {"pooling"}, "vectors": {"pooling_vectors"}, "lm": {"pooling_lm"}}
    for config, params in drawn:
        assert config["pooling"] == params[param_name("pooling", config)]
    # a warm start enqueues the pooling under the name the new trial draws it with
    source = {"architecture": "bilstm", "encoder": "lm", "pooling": "mean", "dropout": 0.2}
    warm = warm_start_points([WarmSource("old/1", "fp", source)], space, "fp")
    assert warm.points[0]["pooling_lm"] == "mean" and "pooling" not in warm.points[0]
    study.enqueue_trial(warm.points[0])
    trial = study.ask()
    assert space(trial)["pooling"] == "mean" and trial.params["encoder"] == "lm"
    # named by the encoder the new trial will have, where the new space fixes it
    only_lm = parse_sweep_spec({"space": {**LM_SPACE, "encoder": ["lm"]}}).space
    scratch_source = {"architecture": "bilstm", "pooling": "max"}  # a sweep without encoders
    warm = warm_start_points([WarmSource("old/2", "fp", scratch_source)], only_lm, "fp")
    assert warm.points[0] == {"architecture": "bilstm", "pooling_lm": "max"}
    warm = warm_start_points([WarmSource("old/1", "fp", source)], SearchSpace(), "fp")
    assert warm.points[0]["pooling"] == "mean" and "pooling_lm" not in warm.points[0]


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"encoder": ["bert"]}, r"encoder: \['bert'\] not allowed"),
        ({"encoder_rate": [2.0]}, r"encoder_rate: values \[2.0\] must be numbers in \[0, 1\]"),
        ({"unfreeze": ["slowly"]}, r"unfreeze: \['slowly'\] not allowed"),
        ({"encoder": ["lm"], "stop_words": [False, True]}, r"fix them in data.clean"),
    ],
)
def test_bad_encoder_spaces_are_refused(space, message):
    with pytest.raises(SpecError, match=message):
        parse_sweep_spec({"space": space})
    # one cleaning, even a fixed non-default one, is one vocabulary
    parse_sweep_spec({"space": {"encoder": ["lm"], "stop_words": [True]}})


@pytest.mark.parametrize(
    ("pretrain", "message"),
    [
        ({"epochs": 0}, r"spec.pretrain: epochs=0 must be >= 1"),
        ({"window": 1}, r"window=1 must be >= 2"),
        ({"gpus": 9}, r"gpus=9.0 must be in \[0, 8\]"),
        ({"epoch": 2}, r"spec.pretrain.epoch: unknown key; did you mean 'epochs'"),
    ],
)
def test_bad_pretrain_sections_are_refused(pretrain, message):
    with pytest.raises(SpecError, match=message):
        parse_sweep_spec({"pretrain": pretrain})


def test_a_trial_with_the_lm_encoder_starts_from_the_pretrained_weights(archive, tmp_path):
    from sweep.model import build_model, compile_model
    from sweep.search import prepare_data

    spec = _spec(archive, tmp_path)
    _, data = prepare_data(spec, progress=False)
    assert data.language_model is not None and data.embeddings is not None
    config = {
        "architecture": "bilstm",
        "vocab_size": 100,
        "sequence_length": 24,
        "embedding_dim": 16,
        "units": 8,
        "encoder": "lm",
        "encoder_rate": 0.3,
        "unfreeze": "gradual",
    }
    model_cfg, train_cfg = trial_configs(config, spec.train)
    net = compile_model(build_model(model_cfg), train_cfg)
    callbacks = start_encoder(net, config, model_cfg, train_cfg, data)
    assert len(callbacks) == 1
    for name in ("lstm_0", "lstm_0_backward"):
        for got, want in zip(
            net.get_layer(name).get_weights(), data.language_model[name], strict=True
        ):
            np.testing.assert_array_equal(got, want)
    pretrained = data.language_model["embedding"][0]  # rows: the (smaller) synthetic vocabulary
    np.testing.assert_array_equal(
        net.get_layer("embedding").get_weights()[0][: len(pretrained)], pretrained
    )
    # word vectors: the embedding only
    vectors = {**config, "encoder": "vectors", "embedding_dim": 8, "units": 4}
    model_cfg, train_cfg = trial_configs(vectors, spec.train)
    net = compile_model(build_model(model_cfg), train_cfg)
    assert len(start_encoder(net, vectors, model_cfg, train_cfg, data)) == 1
    rows = len(data.embeddings)
    np.testing.assert_allclose(
        net.get_layer("embedding").get_weights()[0][:rows], data.embeddings[:, :8]
    )


def test_a_trial_asking_for_an_encoder_the_data_lacks_is_told_which(archive, tmp_path):
    from sweep.model import build_model, compile_model
    from sweep.search import prepare_data

    spec = parse_sweep_spec({"data": {"source": str(archive)}, "storage": str(tmp_path)})
    _, data = prepare_data(spec, progress=False)
    config = {"encoder": "lm", "vocab_size": 100, "embedding_dim": 8, "units": 4}
    model_cfg, train_cfg = trial_configs(config, spec.train)
    net = compile_model(build_model(model_cfg), train_cfg)
    with pytest.raises(ValueError, match="no pre-trained language model"):
        start_encoder(net, config, model_cfg, train_cfg, data)


@pytest.fixture
def s3(tmp_path):
    """moto's S3 server on a free loopback port, with a bucket."""
    import socket

    import boto3

    from tests._netcluster import wait_for

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}
    client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", **env)

    def ready():
        try:
            client.create_bucket(Bucket="sweeps")
            return True
        except Exception:
            return False

    wait_for(ready, 60, "moto's S3 server")
    yield f"127.0.0.1:{port}", client
    server.terminate()
    server.wait()


def test_the_cache_lives_in_object_storage_too(s3, monkeypatch, tmp_path):
    endpoint, client = s3
    for key, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test")):
        monkeypatch.setenv(key, value)
    from sweep.model import LMSettings

    corpus = [np.arange(2, 30, dtype=np.int32) % 20 + 2 for _ in range(40)]
    settings = LMSettings(embedding_dim=8, units=8, window=8, epochs=1, batch_size=16, sampled=4)
    where = f"s3://sweeps/runs/pretrained/lm-test?endpoint_override={endpoint}&scheme=http&region=us-east-1"
    weights, info = pretrain_encoder(
        corpus, 22, settings, where, progress=False, log=lambda s: None
    )
    assert not info["reused"]
    listed = client.list_objects_v2(Bucket="sweeps")["Contents"]
    keys = {o["Key"] for o in listed if not o["Key"].endswith("/")}  # not pyarrow's markers
    base = "runs/pretrained/lm-test/"
    assert {f"{base}epoch-1/encoder.npz", f"{base}epoch-1/pretrain.json"} <= keys
    assert f"{base}checkpoint/lm.state.json" in keys
    cached_weights, cached_info = load_cached(snapshot_location(where, 1))
    assert cached_info["key"] == "lm-test"
    for name, values in weights.items():
        for got, want in zip(cached_weights[name], values, strict=True):
            np.testing.assert_array_equal(got, want)
    _, again = pretrain_encoder(corpus, 22, settings, where, progress=False, log=lambda s: None)
    assert again["reused"]


def test_the_pretrained_example_searches_the_encoder_and_its_fine_tuning():
    import yaml

    from tests.conftest import REPO

    spec = parse_sweep_spec(yaml.safe_load((REPO / "examples/pretrained.yaml").read_text()))
    assert set(spec.space.encoder.values) == {"scratch", "vectors", "lm"}
    assert len(spec.space.encoder_rate.values) > 1 and len(spec.space.unfreeze.values) == 2
    settings = lm_settings(spec)
    assert (settings.embedding_dim, settings.units, settings.epochs) == (128, 128, 2)
    assert 0 in spec.space.ngram_buckets.values and max(spec.space.ngram_buckets.values) > 0


def test_a_space_that_fixes_another_cleaning_pretrains_on_that_vocabulary(archive, tmp_path):
    from sweep.search import prepare_data

    fixed = parse_sweep_spec(
        {
            "data": {"source": str(archive)},
            "storage": str(tmp_path),
            "space": {**LM_SPACE, "encoder": ["lm"], "stop_words": [True]},
            "pretrain": {"epochs": 1, "window": 16, "batch_size": 32, "sampled": 16},
        }
    )
    _, data = prepare_data(fixed, progress=False)
    # every trial draws stop_words=True: that vectorization carries the language model
    assert data.cleaning == (True, False) and data.variants == {}
    assert data.for_config({"stop_words": True}) is data and data.language_model is not None
    assert "the" not in data.vocabulary.tokens
