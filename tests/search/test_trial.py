"""A trial checkpoint's weights load whichever LSTM kernel the restoring node picks."""

from __future__ import annotations

import numpy as np
import pytest

from sweep.model import ModelConfig, build_model
from sweep.search._trial import LEGACY_WEIGHTS, WEIGHTS, load_trial_weights, save_trial_weights

SMALL = {"vocab_size": 60, "sequence_length": 12, "embedding_dim": 6, "units": 4, "dropout": 0.0}
IDS = np.array([[4, 9, 13, 2, 0, 0], [7, 7, 1, 30, 22, 5]], dtype=np.int32)


@pytest.mark.parametrize(
    ("saved_by", "loaded_by"), [("projected", "keras"), ("keras", "projected")]
)
def test_checkpoint_moves_between_lstm_kernels(saved_by, loaded_by, tmp_path, seeded):
    cfg = ModelConfig("bilstm", **SMALL, pooling="mean", lstm_kernel=saved_by)
    trained = build_model(cfg)
    save_trial_weights(trained, str(tmp_path))
    assert (tmp_path / WEIGHTS).exists()
    restored = build_model(ModelConfig("bilstm", **SMALL, pooling="mean", lstm_kernel=loaded_by))
    load_trial_weights(restored, str(tmp_path), cfg)
    for a, b in zip(trained.get_weights(), restored.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(
        restored.predict(IDS, verbose=0), trained.predict(IDS, verbose=0), atol=2e-3
    )


def test_legacy_keras_weights_file_loads_into_a_projected_model(tmp_path, seeded):
    """Checkpoints of sweeps started before the npz file hold Keras' weights file."""
    old = build_model(ModelConfig("lstm", **SMALL, lstm_kernel="keras"))
    old.save_weights(str(tmp_path / LEGACY_WEIGHTS))
    cfg = ModelConfig("lstm", **SMALL, lstm_kernel="projected")
    new = build_model(cfg)
    load_trial_weights(new, str(tmp_path), cfg)
    for a, b in zip(old.get_weights(), new.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
