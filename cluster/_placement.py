"""What a sweep's paths mean where its driver runs, settled before anything is recorded.

A sweep launched to a Ray job API has its driver on the cluster's head, another machine: a
data file on this machine is uploaded with the job, ``~`` in the storage path is the head's
home, and a path on this machine that does not exist is refused here, not on the head.
A sweep whose driver runs in this process keeps today's meaning: paths on this machine.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ._launch import LaunchRefused

# sources the driver resolves itself: the IMDB archive (downloaded on its node) and URIs
_DRIVER_SOURCES = ("imdb",)


@dataclass(frozen=True)
class Placement:
    """The spec as the driver will read it, and the files that travel with the job."""

    spec: Any
    uploads: dict[str, Path] = field(default_factory=dict)
    data_upload: dict[str, Any] | None = None


def _local_source(source: str) -> Path | None:
    """The local file or folder a data source names, or None for 'imdb' and URIs."""
    if source in _DRIVER_SOURCES or ("://" in source and not source.startswith("file://")):
        return None
    return Path(os.path.expanduser(source.removeprefix("file://")))


def _missing(path: Path, where: str) -> LaunchRefused:
    return LaunchRefused(
        f"data source {str(path)!r} does not exist {where}; pass the IMDB archive, an "
        "extracted aclImdb/ folder or a labelled table, `--data imdb` (downloaded where the driver "
        "runs), or a URI the cluster reads (s3://BUCKET/KEY)"
    )


def place_here(spec):
    """The driver runs in this process: local paths made absolute, data checked here."""
    from sweep.search import storage_root

    data = spec.data
    path = _local_source(data.source)
    if path is not None:
        if not path.exists():
            raise _missing(path, "on this machine")
        data = replace(data, source=str(path.resolve()))
    if data.cache_dir and "://" not in data.cache_dir:
        data = replace(data, cache_dir=os.path.abspath(os.path.expanduser(data.cache_dir)))
    return replace(spec, storage=storage_root(spec), data=data)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def place_for_job(spec, address: str) -> Placement:
    """The driver runs on the cluster's head as a Ray job: a data file here is uploaded with
    the job, paths are left for the head to expand (``~``) or made absolute here."""
    from ._ray import MAX_UPLOAD_BYTES, UPLOAD_DIR

    storage = spec.storage
    if "://" not in storage and not storage.startswith("~"):
        storage = os.path.abspath(storage)
    spec = replace(spec, storage=storage)
    path = _local_source(spec.data.source)
    if path is None:
        return Placement(spec)
    if not path.exists():
        raise _missing(path, f"on this machine (a local file is uploaded to {address})")
    if path.is_dir():
        raise LaunchRefused(
            f"data source {str(path)!r} is a folder; a sweep on a cluster takes one file "
            "uploaded with the job: pass the archive (aclImdb_v1.tar.gz) or a table (CSV, "
            "Parquet, JSON Lines), or put the data where the cluster reads it "
            "(--data s3://BUCKET/KEY)"
        )
    size = path.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise LaunchRefused(
            f"data source {str(path)!r} is {size / 2**20:.0f} MiB; a file uploaded with a Ray "
            f"job can be at most {MAX_UPLOAD_BYTES / 2**20:.0f} MiB (the dashboard's request "
            "limit): copy it to object storage and pass --data s3://BUCKET/KEY"
        )
    upload = {
        "from": str(path.resolve()),
        "name": path.name,
        "bytes": size,
        "sha256": _sha256(path),
    }
    source = f"{UPLOAD_DIR}/{path.name}"
    return Placement(
        replace(spec, data=replace(spec.data, source=source)),
        uploads={path.name: path},
        data_upload=upload,
    )
