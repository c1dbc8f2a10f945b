"""Mend a Ray Tune experiment snapshot that a killed driver left torn, before ``Tuner.restore``.

Ray Tune writes a run's snapshot (``experiment_state-<session>.json`` and the search
algorithm's files of the same session) to the driver's local staging folder, then copies it
to the run's storage. Neither step is atomic: a driver killed while the copy is under way
leaves a truncated file in storage (local or shared-filesystem storage; an S3 upload is all
or nothing), and ``Tuner.restore`` then fails on it. The staging copy lives on the driver's
node, under a Ray session folder, and outlives the driver: it is whole when only the copy
was cut short, so it replaces the torn file.
"""

from __future__ import annotations

import logging
import pickle
import posixpath
import re
from collections.abc import Iterable
from pathlib import Path

logger = logging.getLogger(__name__)

# the files Ray Tune writes for one session of a run (TuneController, SearchGenerator,
# Searcher, CallbackList, BasicVariantGenerator: their CKPT_FILE_TMPL)
SNAPSHOT_FILE = re.compile(
    r"^(experiment_state|search_gen_state|searcher-state|callback-states|basic-variant-state)"
    r"-(?P<session>.+)\.(json|pkl)$"
)


class TornSnapshot(RuntimeError):
    """A snapshot file is torn and no whole copy of it was found."""


def is_whole(data: bytes) -> bool:
    """Whether a snapshot file reads back: Ray writes some as JSON, some as (cloud)pickle,
    and a truncated file is neither."""
    import json

    try:
        json.loads(data)
        return True
    except ValueError:
        pass
    try:
        pickle.loads(data)  # Ray's own file, which Tuner.restore unpickles anyway
        return True
    except Exception:  # a torn pickle fails in many ways (EOFError, UnpicklingError, ...)
        return False


def staging_folders(experiment_dir_name: str) -> list[Path]:
    """Ray's driver staging folders of the run on this node, newest first: under every Ray
    session folder, since a driver that started Ray itself had a session of its own."""
    import tempfile

    import ray

    roots = {Path(tempfile.gettempdir(), "ray")}  # Ray's default temp folder
    if ray.is_initialized():
        from ray.train.constants import _get_ray_train_session_dir

        roots.add(Path(_get_ray_train_session_dir()).parent.parent)
    found = {
        folder.resolve()  # session_latest links to one of the sessions
        for root in roots
        for folder in root.glob(f"session_*/artifacts/*/{experiment_dir_name}/driver_artifacts")
    }
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def mend_snapshot(path: str, copies: Iterable[Path] | None = None) -> list[str]:
    """Replace each torn file of the newest snapshot at ``path`` with a whole copy of the same
    name from ``copies`` (default: this node's staging folders of the run); returns the
    names mended. Raises ``TornSnapshot`` naming a torn file that has no whole copy."""
    from ray.train._internal.storage import _list_at_fs_path, get_fs_and_path
    from ray.tune.execution.experiment_state import _find_newest_experiment_checkpoint

    fs, fs_path = get_fs_and_path(path)
    newest = _find_newest_experiment_checkpoint(fs_path, fs=fs)
    if newest is None:
        return []
    session = SNAPSHOT_FILE.match(posixpath.basename(newest))["session"]
    names = [
        name
        for name in _list_at_fs_path(fs, fs_path)
        if (match := SNAPSHOT_FILE.match(name)) and match["session"] == session
    ]
    folders = list(copies) if copies is not None else staging_folders(posixpath.basename(fs_path))
    mended = []
    for name in sorted(names):
        target = posixpath.join(fs_path, name)
        with fs.open_input_stream(target) as stream:
            if is_whole(stream.read()):
                continue
        whole = next(
            (
                data
                for folder in folders
                if (folder / name).is_file() and is_whole(data := (folder / name).read_bytes())
            ),
            None,
        )
        if whole is None:
            where = ", ".join(str(f) for f in folders) or "no staging folder of this run here"
            raise TornSnapshot(
                f"{posixpath.join(path, name)} is torn (the driver died while writing it) and "
                f"no whole copy was found ({where}). Resume from the node the driver ran on, "
                "where Ray keeps its staging copy, or restore the file from a backup."
            )
        with fs.open_output_stream(target) as stream:
            stream.write(whole)
        logger.warning("%s was torn by the killed driver: mended from its staging copy", target)
        mended.append(name)
    return mended
