"""Text cleaning and tokenization, pure Python.

The same rules are applied inside exported models by ``model``'s ``TextCleaner`` layer
(TensorFlow string ops), so the regular expressions below only use ASCII classes, which
Python's ``re`` and TensorFlow's RE2 read the same way.  A test checks both agree.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

# Regular expressions shared with model/_layers.py (kept RE2-compatible).
HTML_TAG = r"<br *\/?>|<\/?[a-zA-Z][^<>]{0,40}>"
APOSTROPHE = r"'"
PUNCTUATION = r"[!\"#$%&()*+,\-./:;<=>?@\[\\\]^_`{|}~]"
WHITESPACE = r"[\t\n\r\f\v]"

_HTML = re.compile(HTML_TAG)
_APOS = re.compile(APOSTROPHE)
_PUNCT = re.compile(PUNCTUATION)
_WS = re.compile(WHITESPACE)
_SPLIT = re.compile(r" +")


@dataclass(frozen=True)
class CleanConfig:
    """How review text is normalised before tokenization.

    ``strip_html`` replaces tags such as ``<br />`` by a space, ``lowercase`` lower-cases
    (Unicode aware), ``strip_punctuation`` deletes apostrophes (``don't`` -> ``dont``) and
    turns other ASCII punctuation into spaces.

    ``stop_words`` removes scikit-learn's English stop words, except the negations
    (``NEGATIONS``: not, no, never, dont, isnt, ...) while ``keep_negations``;
    ``lemmatize`` merges inflected forms (``movies`` -> ``movie``, ``loved`` -> ``love``) with
    simplemma's English lemmatizer, leaving negations as they are. Both act on the words of
    the vocabulary, so an exported model needs neither the list nor the lemmatizer.
    """

    strip_html: bool = True
    lowercase: bool = True
    strip_punctuation: bool = True
    stop_words: bool = False
    keep_negations: bool = True
    lemmatize: bool = False

    @property
    def maps_words(self) -> bool:
        """Whether words are removed or merged after tokenization (applied through the
        vocabulary, see ``data.build_vocabulary``)."""
        return self.stop_words or self.lemmatize


def clean_text(text: str, config: CleanConfig = CleanConfig()) -> str:
    """Return ``text`` normalised according to ``config``."""
    if config.strip_html:
        text = _HTML.sub(" ", text)
    if config.lowercase:
        text = text.lower()
    if config.strip_punctuation:
        text = _APOS.sub("", text)
        text = _PUNCT.sub(" ", text)
    return _WS.sub(" ", text)


def tokenize(text: str, config: CleanConfig = CleanConfig()) -> list[str]:
    """Clean ``text`` and split it on ASCII whitespace (as ``tf.strings.split`` does)."""
    return [t for t in _SPLIT.split(clean_text(text, config)) if t]


# negations a sentiment model needs: scikit-learn's stop-word list holds the first ones, and
# apostrophe stripping turns the contractions into the rest
NEGATIONS = frozenset(
    "no not nor never none nothing neither nobody nowhere cannot without against aint arent "
    "cant couldnt didnt doesnt dont hadnt hasnt havent isnt mightnt mustnt neednt shant "
    "shouldnt wasnt werent wont wouldnt".split()
)


@functools.cache
def stop_words(keep_negations: bool = True) -> frozenset[str]:
    """scikit-learn's English stop words (318), without ``NEGATIONS`` when kept."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS - NEGATIONS) if keep_negations else ENGLISH_STOP_WORDS


@functools.lru_cache(maxsize=500_000)
def lemma(word: str) -> str:
    """simplemma's English lemma of ``word`` (negations stay as they are: ``dont`` is not
    ``do``)."""
    if word in NEGATIONS:
        return word
    import simplemma

    return simplemma.lemmatize(word, lang="en")


def normalize_word(word: str, config: CleanConfig) -> str | None:
    """What ``word`` (a token of ``tokenize``) becomes: ``None`` when it is a stop word
    to remove, its lemma when lemmatizing, else itself."""
    if config.stop_words and word in stop_words(config.keep_negations):
        return None
    return lemma(word) if config.lemmatize else word


def normalized_tokens(words: Iterable[str], config: CleanConfig) -> list[str]:
    """``words`` with stop words removed and lemmatized as ``config`` says."""
    out = (normalize_word(w, config) for w in words)
    return [w for w in out if w]
