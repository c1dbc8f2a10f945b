"""Download of the official IMDB archive, with progress and a checksum tied to the URL."""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from ._errors import DataError

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
# Published checksums of the official file (84,125,825 bytes).  They belong to that URL
# only: a local copy or a mirror with another layout legitimately differs.
IMDB_CHECKSUMS = {
    "md5": "7c2ac02c03563afcf9b574c7e56c153a",
    "sha1": "01ada507287d82875905620988597833ad4e0903",
}
KNOWN_CHECKSUMS: dict[str, dict[str, str]] = {IMDB_URL: IMDB_CHECKSUMS}


def file_digests(path: Path, algorithms: tuple[str, ...] = ("sha256",)) -> dict[str, str]:
    """Hex digests of a file, read in 1 MiB blocks."""
    hashes = {name: hashlib.new(name) for name in algorithms}
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            for h in hashes.values():
                h.update(block)
    return {name: h.hexdigest() for name, h in hashes.items()}


def download(
    url: str,
    target: Path,
    checksums: dict[str, str] | None = None,
    progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Download ``url`` to ``target`` (atomically) unless a verified copy is already there.

    ``checksums`` defaults to the published checksums of known URLs; a mismatch deletes the
    partial file and raises :class:`DataError`.
    """
    checksums = KNOWN_CHECKSUMS.get(url, {}) if checksums is None else checksums
    target = Path(target)
    if target.exists() and _matches(target, checksums):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + f".part{os.getpid()}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                desc=f"download {target.name}",
                disable=not progress,
            ) as bar:
                while block := response.read(1 << 20):
                    out.write(block)
                    bar.update(len(block))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        partial.unlink(missing_ok=True)
        raise DataError(
            f"cannot download {url}: {exc}. Check the network, or pass a local copy with "
            "--data PATH (an archive, an extracted aclImdb/ folder or a CSV) or SWEEP_IMDB=PATH"
        ) from exc
    if not _matches(partial, checksums):
        got = file_digests(partial, tuple(checksums))
        partial.unlink(missing_ok=True)
        raise DataError(
            f"checksum mismatch for {url}: expected {checksums}, got {got}; the download is "
            "corrupt or the file changed upstream. Retry, or pass a verified local copy with --data"
        )
    shutil.move(partial, target)
    return target


def _matches(path: Path, checksums: dict[str, str]) -> bool:
    if not checksums:
        return True
    return file_digests(path, tuple(checksums)) == {k: v.lower() for k, v in checksums.items()}


def fetch_object(uri: str, folder: Path, progress: bool = True) -> Path:
    """Copy a file from object storage or any URI pyarrow reads (``s3://bucket/key``,
    ``gs://``, ``abfs://``; an S3-compatible endpoint goes in the query, as in
    ``s3://b/k?endpoint_override=host:9000&scheme=http``) into ``folder``, once: a copy of the
    same size and modification time is reused."""
    import json

    import pyarrow.fs as pafs

    try:
        fs, path = pafs.FileSystem.from_uri(uri)
        info = fs.get_file_info(path)
    except (OSError, ValueError) as exc:
        raise DataError(
            f"cannot reach data source {uri}: {str(exc)[:300]}. Check the URI and this "
            "machine's credentials for it (an instance profile, AWS_ACCESS_KEY_ID / AWS_PROFILE)"
        ) from None
    if info.type != pafs.FileType.File:
        raise DataError(
            f"data source {uri} is not a file in that storage; pass the URI of the IMDB "
            "archive (aclImdb_v1.tar.gz) or of a CSV"
        )
    stamp = {"uri": uri.partition("?")[0], "size": info.size, "mtime_ns": info.mtime_ns}
    target = folder / hashlib.sha256(stamp["uri"].encode()).hexdigest()[:16] / Path(path).name
    sidecar = target.with_name(target.name + ".source.json")
    if target.exists() and sidecar.exists() and json.loads(sidecar.read_text()) == stamp:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + f".part{os.getpid()}")
    try:
        with (
            fs.open_input_stream(path) as src,
            open(partial, "wb") as out,
            tqdm(
                total=info.size,
                unit="B",
                unit_scale=True,
                desc=f"copy {target.name}",
                disable=not progress,
            ) as bar,
        ):
            while block := src.read(1 << 20):
                out.write(block)
                bar.update(len(block))
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise DataError(f"cannot copy data source {uri}: {str(exc)[:300]}") from None
    shutil.move(partial, target)
    sidecar.write_text(json.dumps(stamp))
    return target
