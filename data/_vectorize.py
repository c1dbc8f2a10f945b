"""Vectorize once at the largest vocabulary and length; cheap per-trial views.

Long reviews are truncated from the front: the *last* ``max_length`` tokens are kept (as
``keras.utils.pad_sequences`` does by default), since reviews tend to end on their verdict.
Sequences are right-padded, so a mask hides the padding from the LSTM.

Id 0 is padding, id 1 the out-of-vocabulary token, ids 2.. are tokens by decreasing
frequency (ties broken alphabetically, so the vocabulary is deterministic).  This is the
layout of ``keras.layers.TextVectorization``, so an exported model can embed the same
vocabulary and map raw text to exactly the ids a trial trained on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from ._clean import CleanConfig, normalize_word, stop_words, tokenize

PAD_ID = 0
OOV_ID = 1
PAD_TOKEN = ""
OOV_TOKEN = "[UNK]"


@dataclass(frozen=True)
class Vocabulary:
    """Frequency-ordered tokens; ``tokens[0]`` is padding and ``tokens[1]`` the OOV token.

    With stop words or lemmas (``clean.maps_words``) the tokens are lemmas, and ``surface``
    / ``surface_ids`` map every word form seen while building it (and every stop word) to
    its token's id: 0 for a stop word (removed), the OOV id for a lemma the vocabulary cut.
    Text is vectorized through this map alone, in training and in the exported model, so
    both give the same ids and the export needs no lemmatizer.
    """

    tokens: tuple[str, ...]
    clean: CleanConfig = CleanConfig()
    surface: tuple[str, ...] = ()
    surface_ids: tuple[int, ...] = ()

    def __len__(self) -> int:
        return len(self.tokens)

    def words(self, vocab_size: int) -> list[str]:
        """The real tokens (without padding and OOV) of a vocabulary cut to ``vocab_size``."""
        return list(self.tokens[2 : max(2, vocab_size)])


def build_vocabulary(
    texts: Iterable[str], max_size: int, clean: CleanConfig = CleanConfig()
) -> Vocabulary:
    """Count tokens over ``texts`` and keep the ``max_size - 2`` most frequent ones."""
    if max_size < 3:
        raise ValueError(
            f"max_size={max_size} is too small: it must be at least 3 (pad, OOV, 1 word)"
        )
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(tokenize(text, clean))
    if not clean.maps_words:
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: max_size - 2]
        return Vocabulary((PAD_TOKEN, OOV_TOKEN, *(t for t, _ in ranked)), clean)
    final: dict[str, str | None] = {word: normalize_word(word, clean) for word in counts}
    merged: Counter[str] = Counter()
    for word, n in counts.items():
        if final[word]:
            merged[final[word]] += n
    ranked = sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))[: max_size - 2]
    tokens = (PAD_TOKEN, OOV_TOKEN, *(t for t, _ in ranked))
    index = {t: i for i, t in enumerate(tokens) if i >= 2}
    removed = stop_words(clean.keep_negations) if clean.stop_words else frozenset()
    mapping = {w: PAD_ID for w in removed}
    mapping.update({w: PAD_ID if f is None else index.get(f, OOV_ID) for w, f in final.items()})
    ordered = sorted(mapping.items(), key=lambda kv: (kv[1], kv[0]))
    return Vocabulary(tokens, clean, tuple(w for w, _ in ordered), tuple(i for _, i in ordered))


def vectorize(
    texts: Sequence[str], vocabulary: Vocabulary, max_length: int, progress: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Map texts to right-padded int32 ids of shape ``(n, max_length)``, keeping the last
    ``max_length`` tokens of longer texts.

    Returns ``(ids, lengths)``; ``lengths`` is the untruncated number of tokens of each text
    (used for statistics and for length-bucketed batching).
    """
    ids = np.zeros((len(texts), max_length), dtype=np.int32)
    lengths = np.zeros(len(texts), dtype=np.int32)
    rows = tqdm(texts, desc="vectorize", unit=" reviews", disable=not progress, leave=False)
    for row, text_ids in enumerate(token_ids(rows, vocabulary)):
        lengths[row] = len(text_ids)
        cut = text_ids[-max_length:]
        ids[row, : len(cut)] = cut
    return ids, lengths


def token_ids(texts: Iterable[str], vocabulary: Vocabulary) -> Iterator[np.ndarray]:
    """Each text's ids, untruncated and unpadded (unknown tokens are the OOV id; stop words,
    when removed, leave no id)."""
    if vocabulary.surface:
        index = dict(zip(vocabulary.surface, vocabulary.surface_ids, strict=True))
        for text in texts:
            ids = [index.get(t, OOV_ID) for t in tokenize(text, vocabulary.clean)]
            yield np.array([i for i in ids if i != PAD_ID], np.int32)
        return
    index = {tok: i for i, tok in enumerate(vocabulary.tokens) if i >= 2}
    for text in texts:
        yield np.array([index.get(t, OOV_ID) for t in tokenize(text, vocabulary.clean)], np.int32)


def sequence_view(ids: np.ndarray, vocab_size: int, sequence_length: int) -> np.ndarray:
    """A trial's view of ids vectorized at a larger vocabulary and length.

    Ids ``>= vocab_size`` become the OOV id, and each sequence keeps its last
    ``sequence_length`` tokens (right-padded).  Equivalent to vectorizing again with the
    first ``vocab_size`` tokens and ``max_length=sequence_length``.
    """
    if sequence_length > ids.shape[1]:
        raise ValueError(
            f"sequence_length={sequence_length} exceeds the vectorized length {ids.shape[1]}; "
            "vectorize at the largest length of the search space"
        )
    counts = np.count_nonzero(ids, axis=1)  # ids are right-padded, real ids are >= 1
    if int(counts.max(initial=0)) <= sequence_length:
        view = ids[:, :sequence_length]
    else:
        start = np.maximum(counts - sequence_length, 0)[:, None]
        offsets = np.arange(sequence_length)[None, :]
        cols = np.minimum(start + offsets, ids.shape[1] - 1)
        view = np.take_along_axis(ids, cols, axis=1)
        view = np.where(offsets < counts[:, None], view, PAD_ID).astype(np.int32)
    if int(view.max(initial=0)) >= vocab_size:
        view = np.where(view >= vocab_size, OOV_ID, view).astype(np.int32)
    return view
