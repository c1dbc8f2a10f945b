"""Copying an exported model out of the storage root, verifying every sha256."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from ._errors import BadInput


def metadata_sha256(artifact: str) -> str:
    """sha256 of an export's ``metadata.json`` (which lists the sha256 of every other file),
    in a local folder or at a URI pyarrow reads (``s3://...``)."""
    import pyarrow.fs as pafs

    if "://" in artifact:
        fs, path = pafs.FileSystem.from_uri(artifact)
    else:
        fs, path = pafs.LocalFileSystem(), str(Path(artifact).resolve())
    with fs.open_input_stream(f"{path.rstrip('/')}/metadata.json") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def fetch_artifact(artifact: str, output: str, expected_sha256: str | None = None) -> Path:
    """Copy ``artifact`` (local folder or pyarrow URI) to ``output`` and verify it."""
    from sweep.data import file_digests
    from sweep.model import ModelFileError, verify_export

    out = Path(output)
    if out.exists() and any(out.iterdir()):
        raise BadInput(f"--output {out} exists and is not empty; choose a new folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        if "://" in artifact:
            import pyarrow.fs as pafs

            try:
                fs, path = pafs.FileSystem.from_uri(artifact)
                pafs.copy_files(path, str(tmp / "m"), source_filesystem=fs)
            except OSError as exc:
                raise BadInput(
                    f"cannot copy the sweep's artifact {artifact}: {str(exc)[:300]}; check "
                    "this machine's credentials for that storage (AWS_ACCESS_KEY_ID/"
                    "AWS_PROFILE for s3://) and its endpoint"
                ) from None
        else:
            if not Path(artifact).is_dir():
                raise BadInput(
                    f"the sweep's artifact {artifact} is not on this machine: it is on the "
                    "cluster's shared folder; mount that folder here at the same path (NFS, "
                    "EFS), or run `sweep best` on a node, or store sweeps in object storage "
                    "(--storage s3://BUCKET/PREFIX), which `sweep best` copies from anywhere"
                )
            shutil.copytree(artifact, tmp / "m")
        got = file_digests(tmp / "m" / "metadata.json")["sha256"]
        if expected_sha256 and got != expected_sha256:
            raise BadInput(
                f"{artifact}/metadata.json does not match the sha256 recorded in "
                "Redis; the artifact was changed after export"
            )
        try:
            verify_export(tmp / "m")
        except ModelFileError as exc:
            raise BadInput(str(exc)) from None
        if out.exists():
            out.rmdir()
        (tmp / "m").rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
