"""Layers that make an exported model take raw strings.

``TextCleaner`` applies the rules of ``data.clean_text`` with TensorFlow string ops (the
regular expressions are shared with ``data``), so the exported model maps a raw review to
exactly the token ids a trial trained on.  It is registered, so ``safe_mode=True`` loads it.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from sweep.data import APOSTROPHE, HTML_TAG, PUNCTUATION, WHITESPACE, CleanConfig


@keras.saving.register_keras_serializable(package="sweep")
class TextCleaner(keras.layers.Layer):
    """Strip HTML, lower-case and strip punctuation like ``data.clean_text``."""

    def __init__(self, strip_html=True, lowercase=True, strip_punctuation=True, **kwargs):
        super().__init__(**kwargs)
        # stop words and lemmas are not string rules: the vocabulary applies them (TokenMap)
        self.clean = CleanConfig(bool(strip_html), bool(lowercase), bool(strip_punctuation))

    def call(self, inputs):
        text = inputs
        if self.clean.strip_html:
            text = tf.strings.regex_replace(text, HTML_TAG, " ")
        if self.clean.lowercase:
            text = tf.strings.lower(text, encoding="utf-8")
        if self.clean.strip_punctuation:
            text = tf.strings.regex_replace(text, APOSTROPHE, "")
            text = tf.strings.regex_replace(text, PUNCTUATION, " ")
        return tf.strings.regex_replace(text, WHITESPACE, " ")

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "strip_html": self.clean.strip_html,
            "lowercase": self.clean.lowercase,
            "strip_punctuation": self.clean.strip_punctuation,
        }


@keras.saving.register_keras_serializable(package="sweep")
class TokenMap(keras.layers.Layer):
    """Map word-form ids to vocabulary ids through a table held as a weight, drop the ones
    mapped to 0 (stop words) and right-pad again: the vocabulary's stop-word removal and
    lemmatization (``data.Vocabulary.surface``) inside the model, no extra files.

    Ids ``>= vocab_size`` become the OOV id (1), as in a trial's view of the data.
    """

    def __init__(self, size: int, vocab_size: int, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)
        self.vocab_size = int(vocab_size)
        self.table = self.add_weight(
            shape=(self.size,), dtype="int32", initializer="zeros", trainable=False, name="table"
        )

    def call(self, ids):
        ids = tf.cast(ids, tf.int32)
        mapped = tf.gather(tf.convert_to_tensor(self.table), ids)
        mapped = tf.where(mapped >= self.vocab_size, tf.ones_like(mapped), mapped)
        return tf.ragged.boolean_mask(mapped, mapped > 0).to_tensor(default_value=0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], None)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "vocab_size": self.vocab_size}


@keras.saving.register_keras_serializable(package="sweep")
class KeepLastTokens(keras.layers.Layer):
    """Keep each row's last ``length`` token ids, right-padded with 0.

    Mirrors ``data.vectorize``'s truncation from the front: input rows are right-padded ids
    of any width, the real ids are the non-zero ones.
    """

    def __init__(self, length: int, **kwargs):
        super().__init__(**kwargs)
        self.length = int(length)

    def call(self, ids):
        ids = tf.cast(ids, tf.int32)
        ids = tf.pad(ids, [[0, 0], [0, self.length]])  # at least `length` columns
        counts = tf.math.count_nonzero(ids, axis=1, dtype=tf.int32)
        start = tf.maximum(counts - self.length, 0)[:, None]
        offsets = tf.range(self.length)[None, :]
        taken = tf.gather(ids, start + offsets, batch_dims=1)
        return tf.where(offsets < counts[:, None], taken, tf.zeros_like(taken))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.length)

    def get_config(self):
        return {**super().get_config(), "length": self.length}


@keras.saving.register_keras_serializable(package="sweep")
class BranchDropout(keras.layers.Layer):
    """Mean of branch logits; in training each example drops all but one branch at random.

    With two branches an example sees the LSTM alone, the n-gram bag alone or both, each
    with probability 1/3, so every branch also learns to classify on its own instead of
    leaning on the other (trained jointly, the fast-fitting LSTM leaves the bag little to
    learn). At inference the output is the weighted sum of the branch logits, an ensemble:
    ``branch_weights`` (one per branch, summing to 1; ``None``: the mean) is fitted on
    validation after training (see :func:`model.fit_branch_weight`) and saved with the model.
    """

    def __init__(self, seed=None, branch_weights=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.branch_weights = None if branch_weights is None else tuple(branch_weights)

    def call(self, logits, training=False):
        # [batch, units, branches]: units is 1 (a sigmoid) or K (a softmax's logits)
        stacked = keras.ops.stack(logits, axis=-1)
        if not training:
            if self.branch_weights is None:
                return keras.ops.mean(stacked, axis=-1)
            weights = keras.ops.convert_to_tensor(self.branch_weights, dtype=stacked.dtype)
            return keras.ops.sum(stacked * weights, axis=-1)
        n = len(logits)
        pick = keras.random.randint(
            (keras.ops.shape(stacked)[0], 1, 1), 0, n + 1, seed=self.seed_generator
        )  # n: keep every branch, otherwise keep only branch `pick` (one draw per example)
        keep = keras.ops.logical_or(pick == n, pick == keras.ops.arange(n)[None, None, :])
        keep = keras.ops.cast(keep, stacked.dtype)
        return keras.ops.sum(stacked * keep, axis=-1) / keras.ops.sum(keep, axis=-1)

    def compute_output_shape(self, input_shapes):
        return tuple(input_shapes[0])

    def get_config(self):
        weights = None if self.branch_weights is None else list(self.branch_weights)
        return {**super().get_config(), "seed": self.seed, "branch_weights": weights}
