"""The language-model encoder: pre-trained once, cached in the sweep's storage, shared.

A space that can draw ``encoder: lm`` needs one language model over the sweep's vocabulary.
It is cached at ``<storage>/pretrained/<key>/``, where the key hashes the settings (all but
the epoch count) and the exact token ids it reads (so the data, its split, its cleaning and
the vocabulary are all in it). Each finished epoch leaves a snapshot, ``epoch-N/`` (the
encoder's weights, then ``pretrain.json``, written last), and the folder keeps the latest
checkpoint (weights, optimizer state, history): a second sweep with the same data and
settings finds its snapshot and trains nothing, an interrupted pre-training resumes at its
next epoch, and asking for more epochs continues the same model.

In a sweep it runs as one Ray task with ``spec.pretrain``'s resources (a GPU node when
``gpus`` > 0), on the driver's node unless the storage is shared or a URI (the task writes
there). The weights then travel with the vectorized data through the object store, put once
for every trial. ``sweep pretrain`` runs the same stage in its own process.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from sweep.data import Splits, Vectorized, pretraining_texts, token_ids
from sweep.model import LMEpoch, LMSettings

from ._sweep_spec import SweepSpec, is_remote_uri, join_storage, storage_root

PRETRAINED_DIR = "pretrained"
ENCODER_FILE = "encoder.npz"
INFO_FILE = "pretrain.json"
CHECKPOINT_DIR = "checkpoint"
Log = Callable[[str], None]


def _stderr(line: str) -> None:
    """Progress lines go to stderr: stdout may carry a command's JSON."""
    print(line, file=sys.stderr, flush=True)


def lm_settings(spec: SweepSpec) -> LMSettings:
    """The language model a sweep's space needs: its largest embedding and LSTM sizes."""
    return spec.pretrain.settings(spec.space.max_embedding_dim, spec.space.max_units, spec.seed)


def pretraining_corpus(splits: Splits, data: Vectorized) -> list[np.ndarray]:
    """The token ids pre-training reads (:func:`sweep.data.pretraining_texts`: training and
    unlabelled reviews, never validation or test), in the sweep's vocabulary."""
    return list(token_ids(pretraining_texts(splits), data.vocabulary))


def cache_key(settings: LMSettings, vocab_size: int, corpus: list[np.ndarray]) -> str:
    """The language model's identity: its settings but the epoch count (more epochs continue
    the same model), the vocabulary size and every token id it reads, review by review."""
    described = {k: v for k, v in asdict(settings).items() if k != "epochs"}
    digest = hashlib.sha256()
    digest.update(json.dumps({**described, "vocab_size": vocab_size}, sort_keys=True).encode())
    for ids in corpus:
        digest.update(len(ids).to_bytes(4, "little"))
        digest.update(np.ascontiguousarray(ids, dtype=np.int32).tobytes())
    return f"lm-{digest.hexdigest()[:16]}"


def cache_location(spec: SweepSpec, key: str) -> str:
    return join_storage(storage_root(spec), PRETRAINED_DIR, key)


class _Folder:
    """A cache folder as a local path: the folder itself, or for a URI a local copy that
    :meth:`push` uploads (and that starts from what the URI holds)."""

    def __init__(self, location: str):
        self.location = location
        self.remote = "://" in location
        if not self.remote:
            self.local = Path(location)
            self.local.mkdir(parents=True, exist_ok=True)
            return
        self._tmp = tempfile.TemporaryDirectory(prefix="sweep-pretrain-")
        self.local = Path(self._tmp.name)
        fs, path = _filesystem(location)
        import pyarrow.fs as pafs

        if fs.get_file_info(path).type == pafs.FileType.Directory:
            pafs.copy_files(path, str(self.local), source_filesystem=fs)

    def push(self) -> None:
        if self.remote:
            import pyarrow.fs as pafs

            fs, path = _filesystem(self.location)
            pafs.copy_files(str(self.local), path, destination_filesystem=fs)

    def close(self) -> None:
        if self.remote:
            self._tmp.cleanup()


def _filesystem(location: str):
    import pyarrow.fs as pafs

    return pafs.FileSystem.from_uri(location)


def load_cached(location: str) -> tuple[dict[str, list[np.ndarray]], dict[str, Any]] | None:
    """A finished language model's encoder weights and description, or None."""
    if "://" in location:
        import pyarrow.fs as pafs

        fs, path = _filesystem(location)
        if fs.get_file_info(f"{path}/{INFO_FILE}").type != pafs.FileType.File:
            return None
        with tempfile.TemporaryDirectory() as tmp:
            for name in (INFO_FILE, ENCODER_FILE):
                pafs.copy_files(f"{path}/{name}", f"{tmp}/{name}", source_filesystem=fs)
            return _read(Path(tmp))
    if not (Path(location) / INFO_FILE).exists():
        return None
    return _read(Path(location))


def find_cached(location: str, log: Log = _stderr):
    """:func:`load_cached`, saying so when found (with ``reused: True`` in the description)."""
    cached = load_cached(location)
    if cached is None:
        return None
    weights, info = cached
    log(f"pre-trained language model found at {location} (perplexity {info['perplexity']:.1f})")
    return weights, {**info, "reused": True}


def _read(folder: Path) -> tuple[dict[str, list[np.ndarray]], dict[str, Any]]:
    info = json.loads((folder / INFO_FILE).read_text())
    weights: dict[str, list[np.ndarray]] = {}
    with np.load(folder / ENCODER_FILE) as saved:
        for name in sorted(
            saved.files, key=lambda n: (n.rsplit("/", 1)[0], int(n.rsplit("/", 1)[1]))
        ):
            layer = name.rsplit("/", 1)[0]
            weights.setdefault(layer, []).append(saved[name])
    return weights, info


def snapshot_location(location: str, epochs: int) -> str:
    """Where the encoder after ``epochs`` epochs of the language model at ``location`` is."""
    return join_storage(location, f"epoch-{epochs}")


def _write_snapshot(folder: Path, weights: dict[str, list[np.ndarray]], info: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(
        folder / ENCODER_FILE,
        **{f"{layer}/{i}": w for layer, ws in weights.items() for i, w in enumerate(ws)},
    )
    (folder / INFO_FILE).write_text(json.dumps(info, indent=2))  # last: the snapshot is whole


def pretrain_encoder(
    corpus: list[np.ndarray],
    vocab_size: int,
    settings: LMSettings,
    location: str,
    *,
    progress: bool = True,
    log: Log = _stderr,
    cpus: float | None = None,
    gpus: float = 0.0,
    fingerprint: str | None = None,
) -> tuple[dict[str, list[np.ndarray]], dict[str, Any]]:
    """The encoder after ``settings.epochs`` epochs of the language model at ``location``:
    cached, or trained now from the checkpoint there (so asking for more epochs than a
    cached model has continues it). Every finished epoch leaves a snapshot
    (``epoch-N/``). Returns the encoder weights and the description: ``key``, ``reused``,
    ``perplexity``, ``history``, ``seconds``, ``device``, corpus size and the ``fingerprint``
    of the data source it was given."""
    wanted = snapshot_location(location, settings.epochs)
    cached = find_cached(wanted, log)
    if cached is not None:
        return cached
    from sweep.model import configure_runtime, pretrain_language_model

    configure_runtime(cpus=cpus, seed=settings.seed, gpus=gpus)
    import tensorflow as tf

    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    key = Path(location.partition("?")[0]).name
    tokens = int(sum(len(c) for c in corpus))
    folder = _Folder(location)
    try:

        def on_epoch(entry: LMEpoch, weights, history: list[LMEpoch]) -> None:
            log(
                f"pre-training epoch {entry.epoch}/{settings.epochs}: loss {entry.loss:.3f} "
                f"(sampled), held-out perplexity {entry.perplexity:.1f}, {entry.seconds:.0f} s"
            )
            info = {
                "key": key,
                "fingerprint": fingerprint,
                "settings": asdict(replace(settings, epochs=entry.epoch)),
                "vocab_size": vocab_size,
                "reviews": len(corpus),
                "tokens": tokens,
                "history": [asdict(h) for h in history],
                "perplexity": entry.perplexity,
                "seconds": float(sum(h.seconds for h in history)),
                "device": device,
                "finished_at": time.time(),
            }
            _write_snapshot(folder.local / f"epoch-{entry.epoch}", weights, info)
            folder.push()  # snapshot and checkpoint, for a resume from another process or node

        log(
            f"pre-training a language model on {len(corpus)} reviews ({tokens} tokens) on the "
            f"{device}; cache: {location}"
        )
        pretrain_language_model(
            corpus,
            vocab_size,
            settings,
            folder.local / CHECKPOINT_DIR,
            progress=progress,
            on_epoch=on_epoch,
        )
        weights, info = _read(folder.local / f"epoch-{settings.epochs}")
    finally:
        folder.close()
    return weights, {**info, "reused": False}


def _pretrain_task(corpus, vocab_size, settings, location, cpus, gpus, fingerprint):
    return pretrain_encoder(
        corpus,
        vocab_size,
        settings,
        location,
        progress=False,
        cpus=cpus,
        gpus=gpus,
        fingerprint=fingerprint,
    )


def with_language_model(
    spec: SweepSpec, splits: Splits, data: Vectorized, progress: bool = True, log: Log = _stderr
) -> Vectorized:
    """``data`` with the language model its space can draw: cached, or pre-trained now (as a
    Ray task when Ray is initialised, else in this process)."""
    settings = lm_settings(spec)
    corpus = pretraining_corpus(splits, data)
    vocab_size = len(data.vocabulary)
    location = cache_location(spec, cache_key(settings, vocab_size, corpus))
    cached = find_cached(snapshot_location(location, settings.epochs), log)
    if cached is not None:
        weights, info = cached
    elif _ray_ready():
        weights, info = _run_as_task(spec, corpus, vocab_size, settings, location, data.fingerprint)
    else:
        weights, info = pretrain_encoder(
            corpus,
            vocab_size,
            settings,
            location,
            progress=progress,
            log=log,
            cpus=spec.pretrain.cpus,
            gpus=spec.pretrain.gpus,
            fingerprint=data.fingerprint,
        )
    return replace(data, language_model=weights, language_model_info=info)


def _ray_ready() -> bool:
    try:
        import ray
    except ImportError:  # pragma: no cover - ray is a dependency
        return False
    return ray.is_initialized()


def _run_as_task(spec: SweepSpec, corpus, vocab_size, settings, location, fingerprint):
    """One Ray task with the pretrain resources; on the driver's node when the storage is a
    local folder that other nodes do not share (the task writes the cache there)."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    options: dict[str, Any] = {"num_cpus": spec.pretrain.cpus, "num_gpus": spec.pretrain.gpus}
    if not (is_remote_uri(spec.storage) or spec.shared_storage):
        node = ray.get_runtime_context().get_node_id()
        options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node, soft=False)
    task = ray.remote(_pretrain_task).options(**options)
    return ray.get(
        task.remote(
            corpus,
            vocab_size,
            settings,
            location,
            spec.pretrain.cpus,
            spec.pretrain.gpus,
            fingerprint,
        )
    )


def run_pretraining(spec: SweepSpec, progress: bool = True, log: Log = _stderr) -> dict[str, Any]:
    """``sweep pretrain``: the language model ``spec``'s sweep would use, in this process
    (found in the cache, or trained and cached); its description."""
    from sweep.data import prepare_splits, vectorize_splits

    splits = prepare_splits(replace(spec.data, pretrain_embeddings=True), progress=progress)
    data = vectorize_splits(
        splits, spec.space.max_vocab_size, spec.space.max_sequence_length, spec.data.clean, progress
    )
    return with_language_model(spec, splits, data, progress, log).language_model_info
