"""Copying an exported model out of the storage root, verifying every sha256."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from ._errors import BadInput


def fetch_artifact(artifact: str, output: str, metadata_sha256: str | None = None) -> Path:
    """Copy ``artifact`` (local folder or pyarrow URI) to ``output`` and verify it."""
    from data import file_digests
    from model import ModelFileError, verify_export

    out = Path(output)
    if out.exists() and any(out.iterdir()):
        raise BadInput(f"--output {out} exists and is not empty; choose a new folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        if "://" in artifact:
            import pyarrow.fs as pafs

            fs, path = pafs.FileSystem.from_uri(artifact)
            pafs.copy_files(path, str(tmp / "m"), source_filesystem=fs)
        else:
            if not Path(artifact).is_dir():
                raise BadInput(
                    f"the sweep's artifact {artifact} is not reachable from here; "
                    "run `sweep best` on a machine that mounts the storage root"
                )
            shutil.copytree(artifact, tmp / "m")
        got = file_digests(tmp / "m" / "metadata.json")["sha256"]
        if metadata_sha256 and got != metadata_sha256:
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
