"""Export of one end-to-end model (raw strings in, P(positive) out) and checked loading.

Layout of an export folder::

    model.keras      Keras model: TextCleaner -> TextVectorization -> KeepLastTokens -> classifier
    saved_model/     TensorFlow SavedModel (``serve`` endpoint) for TF Serving
    metadata.json    configs, metrics, data fingerprint, library versions, sha256 per file
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import keras
import numpy as np

from sweep.data import Vocabulary, file_digests

from . import _optimizers  # noqa: F401  (registers FusedAdam/FusedAdamW for loading)
from ._builders import build_model
from ._config import ModelConfig, ModelFileError
from ._evaluate import class_names
from ._layers import KeepLastTokens, TextCleaner, TokenMap
from ._lstm import lstm_layer_kind
from ._train import classes_of

FORMAT_VERSION = 1
MODEL_FILE = "model.keras"
SAVED_MODEL_DIR = "saved_model"
METADATA_FILE = "metadata.json"


def end_to_end(trained: keras.Model, vocabulary: Vocabulary, config: ModelConfig) -> keras.Model:
    """Wrap a trained id-level classifier so it takes raw review strings."""
    text = keras.Input(shape=(1,), dtype="string", name="text")
    clean = vocabulary.clean
    cleaned = TextCleaner(clean.strip_html, clean.lowercase, clean.strip_punctuation, name="clean")(
        text
    )
    if vocabulary.surface:  # stop words / lemmas: word forms, then the vocabulary's ids
        vectorizer = keras.layers.TextVectorization(
            standardize=None,
            split="whitespace",
            output_mode="int",
            vocabulary=list(vocabulary.surface),
            name="vectorize",
        )
        token_map = TokenMap(len(vocabulary.surface) + 2, config.vocab_size, name="token_map")
        word_ids = token_map(vectorizer(cleaned))
        token_map.table.assign(np.array([0, 1, *vocabulary.surface_ids], dtype="int32"))
    else:
        vectorizer = keras.layers.TextVectorization(
            max_tokens=config.vocab_size,
            standardize=None,
            split="whitespace",
            output_mode="int",
            vocabulary=vocabulary.words(config.vocab_size),
            name="vectorize",
        )
        word_ids = vectorizer(cleaned)
    ids = KeepLastTokens(config.sequence_length, name="keep_last")(word_ids)
    # an uncompiled copy: the export holds the weights, not the optimizer's state (Adam keeps
    # two more values per weight, which would triple the file)
    classifier = type(trained).from_config(trained.get_config())
    classifier.set_weights(trained.get_weights())
    return keras.Model(text, classifier(ids), name="sentiment")


def library_versions() -> dict[str, str]:
    import importlib.metadata as md

    versions = {"python": platform.python_version()}
    for name in ("keras", "tensorflow", "numpy", "pandas", "ray", "optuna"):
        with contextlib.suppress(md.PackageNotFoundError):
            versions[name] = md.version(name)
    return versions


def _hash_tree(root: Path) -> dict[str, str]:
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != METADATA_FILE)
    return {p.relative_to(root).as_posix(): file_digests(p)["sha256"] for p in files}


def _strict_json(value):
    """``value`` with non-finite floats (a metric that was never computed) as ``None``:
    ``NaN`` and ``Infinity`` are not JSON, and strict parsers (browsers, jq, Go) reject them."""
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict_json(v) for v in value]
    if isinstance(value, np.generic):
        return _strict_json(value.item())
    return value


def write_metadata(folder: Path, metadata: dict) -> dict:
    """(Re)write ``metadata.json`` with the sha256 of every other file in ``folder``."""
    metadata = _strict_json({**metadata, "files": _hash_tree(folder)})
    text = json.dumps(metadata, indent=2, sort_keys=True, default=str, allow_nan=False)
    (folder / METADATA_FILE).write_text(text)
    return metadata


def export_model(
    trained: keras.Model,
    vocabulary: Vocabulary,
    config: ModelConfig,
    out_dir: str | os.PathLike,
    metadata: dict | None = None,
    saved_model: bool = True,
    report: Callable[[Path], object] | None = None,
) -> Path:
    """Write the export folder atomically (a partial export never appears at ``out_dir``).

    ``report(folder)`` may add files (the evaluation report under ``report/``) before the
    metadata is written, so they are checksummed too.
    """
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        model = end_to_end(trained, vocabulary, config)
        model.save(tmp / MODEL_FILE)
        if saved_model:
            model.export(str(tmp / SAVED_MODEL_DIR), format="tf_saved_model", verbose=False)
        if report is not None:
            report(tmp)
        write_metadata(
            tmp,
            {
                "format_version": FORMAT_VERSION,
                "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                "model_config": asdict(config),
                "lstm_layer": lstm_layer_kind(trained),  # what lstm_kernel resolved to
                "clean": asdict(vocabulary.clean),
                "libraries": library_versions(),
                # what the model's outputs are: P(classes[1]) for two, one column per class
                "classes": class_names(config.num_classes),
                **(metadata or {}),
            },
        )
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def save_portable_weights(model: keras.Model, path: str | os.PathLike) -> None:
    """``model``'s weights as an ``.npz`` in ``get_weights`` order, which is the same for either
    LSTM kernel (Keras' own weights file keys layers by class name, so a file saved with
    ``ProjectedLSTM`` layers does not load into ``keras.layers.LSTM`` ones)."""
    np.savez(path, *model.get_weights())


def load_portable_weights(model: keras.Model, path: str | os.PathLike, config: ModelConfig) -> None:
    """Load a :func:`save_portable_weights` file into ``model`` (built from ``config``, either LSTM
    kernel); a Keras ``.h5`` weights file, saved by a model with Keras' LSTM layers, goes
    through a Keras-kernel twin of the model."""
    if str(path).endswith(".h5"):
        twin = build_model(replace(config, lstm_kernel="keras"))
        twin.load_weights(path)
        model.set_weights(twin.get_weights())
        return
    with np.load(path) as saved:
        model.set_weights([saved[f"arr_{i}"] for i in range(len(saved.files))])


def verify_export(folder: str | os.PathLike) -> dict:
    """Check every file listed in ``metadata.json`` against its sha256; return the metadata."""
    folder = Path(folder)
    meta_path = folder / METADATA_FILE
    if not folder.is_dir():
        raise ModelFileError(
            f"model folder {folder} does not exist; pass a folder written by "
            "`sweep train` or `sweep best --output`"
        )
    if not meta_path.is_file():
        raise ModelFileError(f"{folder} has no {METADATA_FILE}; it is not a sweep model export")
    try:
        metadata = json.loads(meta_path.read_text())
        files = dict(metadata["files"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"{meta_path} is not valid export metadata ({exc})") from exc
    if MODEL_FILE not in files:
        raise ModelFileError(f"{meta_path} does not list {MODEL_FILE}; the export is incomplete")
    for rel, expected in files.items():
        path = folder / rel
        if not path.is_file():
            raise ModelFileError(f"{path} is missing; the export is incomplete, copy it again")
        got = file_digests(path)["sha256"]
        if got != expected:
            raise ModelFileError(
                f"{path} fails its sha256 check (expected {expected[:12]}…, got {got[:12]}…): "
                "the file was changed or corrupted; refusing to load it"
            )
    return metadata


def load_model(folder: str | os.PathLike) -> tuple[keras.Model, dict]:
    """Verify the export's checksums, then load ``model.keras`` with ``safe_mode=True``."""
    metadata = verify_export(folder)
    try:
        model = keras.saving.load_model(Path(folder) / MODEL_FILE, safe_mode=True)
    except Exception as exc:  # Keras raises ValueError/TypeError for unsafe or foreign content
        raise ModelFileError(f"{folder}/{MODEL_FILE} cannot be loaded safely: {exc}") from exc
    return model, metadata


def predict_texts(model: keras.Model, texts: list[str], batch_size: int = 256) -> np.ndarray:
    """For each raw text: P(class 1) (``[n]``) from a two-class model, or the ``[n, K]``
    class probabilities from a K-class one."""
    units = model.outputs[0].shape[-1]
    if not texts:
        return np.zeros(0 if units == 1 else (0, units), dtype="float32")
    import tensorflow as tf

    batch = tf.constant([str(t) for t in texts], dtype=tf.string)[:, None]
    p = np.asarray(model.predict(batch, batch_size=batch_size, verbose=0))
    return p.reshape(-1) if units == 1 else p


def export_classes(metadata: dict, model: keras.Model) -> list[str]:
    """The class names of an export: its metadata's ``classes`` (exports made before K
    classes have none and are binary: ``negative``, ``positive``)."""
    return class_names(classes_of(model), metadata.get("classes"))
