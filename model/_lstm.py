"""``ProjectedLSTM``: Keras' LSTM with the input projection taken out of the time loop.

On CPU, ``keras.layers.LSTM`` runs a per-step loop in which every step multiplies its own
input by the input kernel (batch x embedding by embedding x 4 units), and the backward pass
does the same twice more. Profiled on this project's trial LSTM (batch 128, 200 steps,
embedding 128, 64 units, one thread), those three small products are 63 of 168 ms of a
training step. ``ProjectedLSTM`` does them as one product over all steps before the loop
(and its two gradients as one product each after it), in bfloat16 where the CPU has native
bfloat16 matrix units (AMX or AVX512-BF16): there a product of that size runs at several
times the float32 rate. The loop keeps the recurrent product, the gates and the state in
float32; only the projected inputs are stored as bfloat16 (8 significant bits).

The weights live in a ``keras.layers.LSTMCell`` as in ``keras.layers.LSTM`` (``kernel``,
``recurrent_kernel``, ``bias``, gates in the order i, f, c, o, forget bias initialised to 1),
so weights move between the two layers with ``get_weights``/``set_weights`` (Keras' own
weights file keys layers by class name, hence ``save_portable_weights`` for checkpoints); the
arithmetic is Keras' LSTM cell with its default activations. With
``projection_dtype="float32"`` the result equals ``keras.layers.LSTM``'s (tested); in
float32 the hoisted product is slower than Keras' loop on this CPU, which is why
:func:`lstm_layer` uses this layer only where bfloat16 is native and no GPU is visible
(where Keras' LSTM takes the cuDNN kernel). Always ``return_sequences``, never masked: the
model reads each review at its last real step (``_builders``).
"""

from __future__ import annotations

import functools

import keras
import tensorflow as tf

from ._config import LSTM_KERNELS

BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


@functools.cache
def cpu_has_native_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether this CPU multiplies bfloat16 matrices natively (AMX or AVX512-BF16 flags)."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        return False
    return any(flag in flags.split() for flag in BF16_CPU_FLAGS)


def use_projected_lstm(kernel: str = "auto") -> bool:
    """``kernel``: ``keras`` (always ``keras.layers.LSTM``), ``projected`` (always
    :class:`ProjectedLSTM`), or ``auto``: projected where no GPU is visible and the CPU has
    native bfloat16, else Keras' (cuDNN on a GPU)."""
    if kernel not in LSTM_KERNELS:
        raise ValueError(f"lstm kernel {kernel!r} is unknown; choose one of {LSTM_KERNELS}")
    if kernel != "auto":
        return kernel == "projected"
    return not tf.config.list_physical_devices("GPU") and cpu_has_native_bf16()


def lstm_layer(units: int, name: str, kernel: str = "auto") -> keras.layers.Layer:
    """An unmasked ``return_sequences`` LSTM layer of ``units``: :class:`ProjectedLSTM` or
    ``keras.layers.LSTM`` as :func:`use_projected_lstm` decides; the same weights either way."""
    if use_projected_lstm(kernel):
        return ProjectedLSTM(units, name=name)
    return keras.layers.LSTM(units, return_sequences=True, name=name)


def lstm_layer_kind(model: keras.Model) -> str | None:
    """Which LSTM layer class ``model`` runs (``ProjectedLSTM`` or ``LSTM``; None if none)."""
    kinds = {
        type(layer).__name__
        for layer in model.layers
        if isinstance(layer, ProjectedLSTM | keras.layers.LSTM)
    }
    return ",".join(sorted(kinds)) or None


@keras.saving.register_keras_serializable(package="sweep")
class ProjectedLSTM(keras.layers.Layer):
    """``keras.layers.LSTM(units, return_sequences=True)`` with the input projection of all
    steps done as one matrix product in ``projection_dtype`` (TensorFlow backend)."""

    def __init__(self, units: int, projection_dtype: str = "bfloat16", **kwargs):
        super().__init__(**kwargs)
        if projection_dtype not in ("bfloat16", "float32"):
            raise ValueError(
                f"projection_dtype={projection_dtype!r} must be 'bfloat16' or 'float32'"
            )
        self.units = int(units)
        self.projection_dtype = projection_dtype
        # Keras' own cell holds the weights, with its initialisers and weight order
        self.cell = keras.layers.LSTMCell(self.units, name="lstm_cell")

    def build(self, input_shape):
        self.cell.build(input_shape)

    def call(self, inputs):
        units, low = self.units, tf.as_dtype(self.projection_dtype)
        inputs = tf.convert_to_tensor(inputs)
        time_major = tf.transpose(tf.cast(inputs, low), [1, 0, 2])  # [steps, batch, features]
        steps, batch = tf.shape(time_major)[0], tf.shape(time_major)[1]
        flat = tf.reshape(time_major, [-1, inputs.shape[-1]])
        projected = tf.reshape(
            tf.matmul(flat, tf.cast(self.cell.kernel, low)), [steps, batch, 4 * units]
        )
        per_step = tf.TensorArray(low, size=steps).unstack(projected)
        recurrent = tf.convert_to_tensor(self.cell.recurrent_kernel)
        bias = tf.convert_to_tensor(self.cell.bias)

        def step(t, h, c, outputs):
            z = tf.cast(per_step.read(t), tf.float32) + tf.matmul(h, recurrent) + bias
            i, f, g, o = tf.split(z, 4, axis=1)
            c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
            h = tf.sigmoid(o) * tf.tanh(c)
            return t + 1, h, c, outputs.write(t, h)

        zeros = tf.zeros([batch, units], tf.float32)
        outputs = tf.TensorArray(tf.float32, size=steps, element_shape=[None, units])
        _, _, _, outputs = tf.while_loop(
            lambda t, *_: t < steps, step, (tf.constant(0), zeros, zeros, outputs)
        )
        return tf.transpose(outputs.stack(), [1, 0, 2])

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "projection_dtype": self.projection_dtype,
        }
