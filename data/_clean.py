"""Text cleaning and tokenization, pure Python.

The same rules are applied inside exported models by ``model``'s ``TextCleaner`` layer
(TensorFlow string ops), so the regular expressions below only use ASCII classes, which
Python's ``re`` and TensorFlow's RE2 read the same way.  A test checks both agree.
"""

from __future__ import annotations

import re
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
    """

    strip_html: bool = True
    lowercase: bool = True
    strip_punctuation: bool = True


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
