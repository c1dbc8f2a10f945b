"""Adam and AdamW with TensorFlow's fused update kernel (``ResourceApplyAdam``).

Keras 3 applies Adam as a chain of separate element-wise ops per weight (about eight passes
over the weight, its two moments and the gradient, each writing a new tensor). For the
20,000 x 128 embedding of a sweep's LSTM that chain is a sizeable part of a CPU training step.
TensorFlow's fused kernel computes the same update in one pass:

    lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
    m = beta_1 * m + (1 - beta_1) * g
    v = beta_2 * v + (1 - beta_2) * g^2
    w = w - lr_t * m / (sqrt(v) + epsilon)

which is Keras' ``Adam.update_step`` written out (Keras updates ``m += (g - m) * (1 -
beta_1)``, the same value). ``AdamW``'s decoupled weight decay is applied by Keras before the
update, as before. ``amsgrad`` and non-TensorFlow backends fall back to Keras' own update.
Tests check both against Keras, step by step.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def _handle(variable):
    """The resource handle of a Keras variable or of the ``tf.Variable`` inside one."""
    return (variable.value if isinstance(variable, keras.Variable) else variable).handle


def _fused_update(optimizer, gradient, variable, learning_rate) -> bool:
    """Apply the update with the fused kernel; ``False`` where it does not apply."""
    if optimizer.amsgrad or keras.backend.backend() != "tensorflow":
        return False
    dtype = variable.dtype
    index = optimizer._get_variable_index(variable)
    m, v = optimizer._momentums[index], optimizer._velocities[index]
    step = tf.cast(optimizer.iterations + 1, dtype)
    beta_1 = tf.cast(optimizer.beta_1, dtype)
    beta_2 = tf.cast(optimizer.beta_2, dtype)
    tf.raw_ops.ResourceApplyAdam(
        var=_handle(variable),
        m=_handle(m),
        v=_handle(v),
        beta1_power=tf.pow(beta_1, step),
        beta2_power=tf.pow(beta_2, step),
        lr=tf.cast(learning_rate, dtype),
        beta1=beta_1,
        beta2=beta_2,
        epsilon=tf.cast(optimizer.epsilon, dtype),
        grad=tf.cast(tf.convert_to_tensor(gradient), dtype),  # an embedding's IndexedSlices
    )
    return True


class RateScales:
    """Per-weight learning-rate multipliers (discriminative fine-tuning, ULMFiT): a weight
    given to :meth:`scale_rates` steps at ``learning_rate * scale``, where ``scale`` is a
    Keras variable the caller may change between epochs (0 freezes the weight: gradual
    unfreezing). Weights not given step at the full rate."""

    def scale_rates(self, variables, scale: keras.Variable) -> None:
        if not hasattr(self, "_rate_scales"):
            self._rate_scales = {}
        for variable in variables:
            self._rate_scales[self._var_key(variable)] = scale

    def _scaled(self, variable, learning_rate):
        # keyed like the optimizer's own slots: the update sees the tf.Variable inside
        scale = getattr(self, "_rate_scales", {}).get(self._var_key(variable))
        return learning_rate if scale is None else learning_rate * scale

    def _apply_weight_decay(self, variables):
        # a frozen or slowed weight decays at its own rate, not the full one
        if not getattr(self, "_rate_scales", None) or not self.weight_decay:
            return super()._apply_weight_decay(variables)
        lr = tf.cast(self.learning_rate, variables[0].dtype)
        for variable in variables:
            if self._use_weight_decay(variable):
                rate = tf.cast(self._scaled(variable, lr), variable.dtype)  # single device
                variable.assign_sub(variable * tf.cast(self.weight_decay, variable.dtype) * rate)
        return None


@keras.saving.register_keras_serializable(package="sweep")
class FusedAdam(RateScales, keras.optimizers.Adam):
    """``keras.optimizers.Adam`` whose update runs as one fused TensorFlow kernel."""

    def update_step(self, gradient, variable, learning_rate):
        learning_rate = self._scaled(variable, learning_rate)
        if not _fused_update(self, gradient, variable, learning_rate):
            super().update_step(gradient, variable, learning_rate)


@keras.saving.register_keras_serializable(package="sweep")
class FusedAdamW(RateScales, keras.optimizers.AdamW):
    """``keras.optimizers.AdamW`` whose Adam update runs as one fused TensorFlow kernel."""

    def update_step(self, gradient, variable, learning_rate):
        learning_rate = self._scaled(variable, learning_rate)
        if not _fused_update(self, gradient, variable, learning_rate):
            super().update_step(gradient, variable, learning_rate)


@keras.saving.register_keras_serializable(package="sweep")
class ScaledRMSprop(RateScales, keras.optimizers.RMSprop):
    """``keras.optimizers.RMSprop`` with :class:`RateScales`."""

    def update_step(self, gradient, variable, learning_rate):
        super().update_step(gradient, variable, self._scaled(variable, learning_rate))
