"""An LSTM layer with a hand-written backward pass, for ``bench/lstm_step.py`` only.

What a fused CPU kernel would do, written in TensorFlow ops: the input projection of all
steps is one large matmul before the loop; the forward loop stores, while each step's values
are in cache, the local derivatives the backward pass needs (so the backward loop is five
element-wise ops and one matmul per step); the recurrent weights' gradient is one large
matmul after the loop instead of one accumulation per step. ``tanh`` of the cell input is
computed as ``2 * sigmoid(2 z) - 1`` so one ``sigmoid`` covers all four gates.

Its gradients equal ``keras.layers.LSTM``'s (checked by the bench's ``--check``); it is not
used by the project because it is no faster than Keras' LSTM on this CPU (see the README).
"""

from __future__ import annotations

import keras
import tensorflow as tf


def _ifog(kernel):
    """Keras' gate order (i, f, g, o) to (i, f, o, 2 g)."""
    i, f, g, o = tf.split(kernel, 4, axis=-1)
    return tf.concat([i, f, o, 2.0 * g], -1)


def _lstm(xw, recurrent):
    """Hidden states ``[T, B, u]`` from ``xw = x W + b`` (``[T, B, 4u]``, gates i, f, o, 2g)."""

    @tf.custom_gradient
    def run(xw, recurrent):
        steps, batch, u = tf.shape(xw)[0], tf.shape(xw)[1], tf.shape(recurrent)[0]
        zero = tf.zeros(tf.stack([batch, u]), xw.dtype)

        def array():
            return tf.TensorArray(xw.dtype, size=steps)

        def step(t, h, c, hs, ms, ks, fs):
            a = tf.sigmoid(xw[t] + tf.matmul(h, recurrent))
            i, f, o, s = tf.split(a, 4, axis=1)
            g = 2.0 * s - 1.0
            c_new = f * c + i * g
            tc = tf.tanh(c_new)
            h_new = o * tc
            # dz = [dc, dc, dh, dc] * m; dc += dh * k; dc_prev = dc * f
            m = a * (1.0 - a) * tf.concat([g, c, tc, 2.0 * i], 1)
            k = o * (1.0 - tc * tc)
            return (
                t + 1,
                h_new,
                c_new,
                hs.write(t, h_new),
                ms.write(t, m),
                ks.write(t, k),
                fs.write(t, f),
            )

        loop = tf.while_loop(
            lambda t, *_: t < steps, step, (0, zero, zero, array(), array(), array(), array())
        )
        hs, ms, ks, fs = loop[3:]
        h_all = hs.stack()

        def grad(dh_all):
            transposed = tf.transpose(recurrent)

            def back(t, dh_next, dc_next, dzs):
                dh = dh_all[t] + dh_next
                dc = dh * ks.read(t) + dc_next
                dz = tf.concat([dc, dc, dh, dc], 1) * ms.read(t)
                return t - 1, tf.matmul(dz, transposed), dc * fs.read(t), dzs.write(t, dz)

            dzs = tf.while_loop(lambda t, *_: t >= 0, back, (steps - 1, zero, zero, array()))[3]
            dz_all = dzs.stack()
            h_prev = tf.concat([zero[None], h_all[:-1]], 0)
            d_recurrent = tf.matmul(
                tf.reshape(h_prev, [-1, u]), tf.reshape(dz_all, [-1, 4 * u]), transpose_a=True
            )
            return dz_all, d_recurrent

        return h_all, grad

    return run(xw, recurrent)


class CustomBPTTLSTM(keras.layers.LSTM):
    """``keras.layers.LSTM`` (same weights) whose loop is :func:`_lstm` (no mask, no dropout)."""

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if self.return_state or mask is not None or self.dropout or self.go_backwards:
            raise NotImplementedError("the bench's LSTM has no state output, mask or dropout")
        cell = self.cell
        xw = tf.einsum("bte,ef->tbf", sequences, _ifog(cell.kernel)) + _ifog(cell.bias)
        out = tf.transpose(_lstm(xw, _ifog(cell.recurrent_kernel)), [1, 0, 2])
        return out[:, -1], out, [out[:, -1], out[:, -1]]
