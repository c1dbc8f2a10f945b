"""Whole sweeps with a real redis-server and real Ray on this machine."""

from __future__ import annotations

import pytest
import yaml

from tests import _synthetic

TINY_SPACE = {
    "architecture": ["lstm", "conv_lstm", "bilstm"],
    "vocab_size": [100, 300],
    "sequence_length": [24, 40],
    "embedding_dim": [8, 16],
    "units": [4, 8],
    "dropout": {"low": 0.0, "high": 0.3},
    "pooling": ["max"],
    "conv_filters": [8],
    "conv_kernel_size": [3],
    "optimizer": ["adam", "rmsprop"],
    "learning_rate": {"low": 0.002, "high": 0.02, "log": True},
    "batch_size": [32],
    # LSTM-only (the default space turns the n-gram branch on): on these synthetic reviews the
    # branch reaches validation 1.0 at once and ASHA would have no trial to stop
    "ngram_buckets": [0],
}


def write_spec(folder, archive, **overrides) -> str:
    """A tiny sweep spec: a few hundred synthetic reviews, short sequences, tiny models."""
    spec = {
        "name": "tiny",
        "data": {"source": str(archive), "cache_dir": str(folder / "cache")},
        "trials": 6,
        "concurrency": 2,
        "resources": {"cpus": 1, "gpus": 0},
        "asha": {"max_epochs": 3, "grace_period": 1, "reduction_factor": 3},
        "storage": str(folder / "runs"),
        "seed": 7,
        "train": {"early_stopping_patience": 0, "reduce_lr_patience": 0},
        "space": TINY_SPACE,
    }
    for key, value in overrides.items():
        spec[key] = value
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return str(path)


@pytest.fixture(scope="session")
def sweep_archive(tmp_path_factory):
    path = tmp_path_factory.mktemp("sweepdata") / "a.tar.gz"
    return _synthetic.write_archive(path, 150, unlabeled=100)


@pytest.fixture(scope="module")
def ray_2_cpus():
    """A private local Ray with 2 CPUs for the module (the driver runs in the test)."""
    import ray

    from sweep.cluster import start_local_ray

    start_local_ray(num_cpus=2)
    yield
    ray.shutdown()
