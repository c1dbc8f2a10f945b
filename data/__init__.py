"""IMDB and user data: locate/download, parse, validate, cache, split, vectorize.

No Keras model code and no Ray or Redis here. The configuration, cleaning, download and
error names import with the standard library only (a spec parses without pandas or
scikit-learn); the rest load their modules on first use.
"""

from typing import TYPE_CHECKING

import lazy_loader

from ._clean import APOSTROPHE, HTML_TAG, PUNCTUATION, WHITESPACE, CleanConfig, clean_text, tokenize
from ._config import DEFAULT_SOURCE, DataConfig
from ._download import IMDB_CHECKSUMS, IMDB_URL, download, file_digests
from ._errors import DataError

if TYPE_CHECKING:
    from ._csv import CsvOptions, check_utf8
    from ._dataset import (
        Dataset,
        default_cache_dir,
        load_dataset,
        load_unlabeled,
        split_validation,
        stratified_split,
    )
    from ._describe import describe_dataset
    from ._embeddings import ppmi_vectors
    from ._prepare import (
        Splits,
        Vectorized,
        prepare_splits,
        pretraining_texts,
        vectorize_splits,
    )
    from ._vectorize import (
        OOV_ID,
        PAD_ID,
        Vocabulary,
        build_vocabulary,
        sequence_view,
        token_ids,
        vectorize,
    )

__getattr__, _, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "_csv": ["CsvOptions", "check_utf8"],
        "_dataset": [
            "Dataset",
            "default_cache_dir",
            "load_dataset",
            "load_unlabeled",
            "split_validation",
            "stratified_split",
        ],
        "_describe": ["describe_dataset"],
        "_embeddings": ["ppmi_vectors"],
        "_prepare": [
            "Splits",
            "Vectorized",
            "prepare_splits",
            "pretraining_texts",
            "pretraining_texts",
            "vectorize_splits",
        ],
        "_vectorize": [
            "OOV_ID",
            "PAD_ID",
            "Vocabulary",
            "build_vocabulary",
            "sequence_view",
            "token_ids",
            "vectorize",
        ],
    },
)


__all__ = [
    "APOSTROPHE",
    "DEFAULT_SOURCE",
    "HTML_TAG",
    "IMDB_CHECKSUMS",
    "IMDB_URL",
    "OOV_ID",
    "PAD_ID",
    "PUNCTUATION",
    "WHITESPACE",
    "CleanConfig",
    "CsvOptions",
    "DataConfig",
    "DataError",
    "Dataset",
    "Splits",
    "Vectorized",
    "Vocabulary",
    "build_vocabulary",
    "check_utf8",
    "clean_text",
    "default_cache_dir",
    "describe_dataset",
    "download",
    "file_digests",
    "load_dataset",
    "load_unlabeled",
    "ppmi_vectors",
    "prepare_splits",
    "pretraining_texts",
    "sequence_view",
    "split_validation",
    "stratified_split",
    "token_ids",
    "tokenize",
    "vectorize",
    "vectorize_splits",
]
