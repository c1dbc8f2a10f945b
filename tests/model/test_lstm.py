"""ProjectedLSTM against keras.layers.LSTM, and when the builder picks it."""

from __future__ import annotations

import numpy as np
import pytest

from sweep.model import (
    ConfigError,
    ModelConfig,
    ProjectedLSTM,
    build_model,
    cpu_has_native_bf16,
    use_projected_lstm,
)


def _pair(projection_dtype: str, units: int = 5, features: int = 6):
    """A Keras LSTM and a ProjectedLSTM holding the same (non-default) weights."""
    import keras

    reference = keras.layers.LSTM(units, return_sequences=True)
    ours = ProjectedLSTM(units, projection_dtype=projection_dtype)
    probe = np.zeros((1, 2, features), "float32")
    reference(probe), ours(probe)
    rng = np.random.default_rng(3)
    weights = [rng.normal(scale=0.5, size=w.shape).astype("float32") for w in ours.get_weights()]
    reference.set_weights(weights)
    ours.set_weights(weights)
    return reference, ours


def _outputs_and_gradients(layer, x, weights):
    import tensorflow as tf

    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = layer(x)
        loss = tf.reduce_sum(out * weights)
    grads = tape.gradient(loss, [x, *layer.trainable_weights])
    return out.numpy(), [tf.convert_to_tensor(g).numpy() for g in grads]


@pytest.mark.parametrize(("projection_dtype", "tolerance"), [("float32", 1e-5), ("bfloat16", 3e-2)])
def test_projected_lstm_computes_keras_lstm_and_its_gradients(projection_dtype, tolerance):
    reference, ours = _pair(projection_dtype)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 9, 6)).astype("float32")
    weights = rng.normal(size=(3, 9, 5)).astype("float32")
    ref_out, ref_grads = _outputs_and_gradients(reference, x, weights)
    out, grads = _outputs_and_gradients(ours, x, weights)
    assert out.shape == (3, 9, 5)
    np.testing.assert_allclose(out, ref_out, atol=tolerance, rtol=0)
    for got, want in zip(grads, ref_grads, strict=True):  # inputs, kernel, recurrent, bias
        scale = max(1.0, float(np.abs(want).max()))
        np.testing.assert_allclose(got, want, atol=tolerance * scale, rtol=0)
    if projection_dtype == "bfloat16":  # rounded, so not exactly Keras'
        assert not np.array_equal(out, ref_out)


def test_projected_lstm_starts_like_keras_with_forget_bias_one():
    layer = ProjectedLSTM(3)
    layer(np.zeros((1, 2, 4), "float32"))
    kernel, recurrent, bias = layer.get_weights()
    assert kernel.shape == (4, 12) and recurrent.shape == (3, 12)
    np.testing.assert_array_equal(bias, [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(3), atol=1e-5)  # orthogonal


def test_weights_move_between_the_two_kernels_and_the_saved_model_loads(tmp_path):
    import keras

    small = {"vocab_size": 50, "sequence_length": 12, "embedding_dim": 6, "units": 4}
    cfg = ModelConfig("bilstm", **small, dropout=0.0, pooling="max", lstm_kernel="projected")
    projected = build_model(cfg)
    keras_twin = build_model(ModelConfig(**{**cfg.__dict__, "lstm_kernel": "keras"}))
    kinds = {type(layer).__name__ for layer in projected.layers}
    assert "ProjectedLSTM" in kinds and "LSTM" not in kinds
    assert "LSTM" in {type(layer).__name__ for layer in keras_twin.layers}
    keras_twin.set_weights(projected.get_weights())
    ids = np.array([[4, 9, 13, 2, 0, 0], [7, 7, 1, 30, 22, 5]], dtype=np.int32)
    expected = projected.predict(ids, verbose=0)
    np.testing.assert_allclose(keras_twin.predict(ids, verbose=0), expected, atol=2e-3)
    path = tmp_path / "projected.keras"
    projected.save(path)
    restored = keras.saving.load_model(path)  # safe mode: the layer is registered
    np.testing.assert_array_equal(restored.predict(ids, verbose=0), expected)


def test_kernel_choice_follows_the_setting_and_the_cpu(tmp_path):
    assert use_projected_lstm("projected") is True
    assert use_projected_lstm("keras") is False
    with pytest.raises(ValueError, match="'cudnn' is unknown"):
        use_projected_lstm("cudnn")
    with pytest.raises(ConfigError, match="lstm_kernel='fast' is unknown; choose one of"):
        ModelConfig(lstm_kernel="fast")
    with_amx = tmp_path / "amx"
    with_amx.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f amx_bf16 amx_tile\n")
    without = tmp_path / "plain"
    without.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f\n")
    assert cpu_has_native_bf16(str(with_amx)) is True
    assert cpu_has_native_bf16(str(without)) is False
    assert cpu_has_native_bf16(str(tmp_path / "missing")) is False
    # auto: projected exactly where no GPU is visible and this CPU has native bfloat16
    import tensorflow as tf

    expected = not tf.config.list_physical_devices("GPU") and cpu_has_native_bf16()
    assert use_projected_lstm("auto") is expected
