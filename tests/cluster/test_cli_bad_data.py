"""Bad data through the commands, as users meet it: exit 2, one line naming the file (and
the line or member where there is one) and the fix, no traceback, nothing written."""

from __future__ import annotations

import gzip
import io
import re
import tarfile

import pytest
from click.testing import CliRunner

from sweep.cluster import main
from sweep.data._dataset import default_cache_dir
from tests import _synthetic


def _bad_review_archive(path):
    with tarfile.open(path, "w:gz") as tar:
        payload = b"good \xff\xfe movie"
        info = tarfile.TarInfo("aclImdb/train/pos/1_9.txt")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))


def _write(kind: str, folder, tiny_archive):
    if kind == "missing":
        return folder / "nope.tar.gz", r"nope\.tar\.gz' does not exist"
    if kind == "corrupt archive":
        path = folder / "aclImdb_v1.tar.gz"
        path.write_bytes(b"not a gzip archive" * 100)
        return path, r"aclImdb_v1\.tar\.gz.*(corrupt|gzip)"
    if kind == "truncated archive":
        path = folder / "aclImdb_v1.tar.gz"
        path.write_bytes(tiny_archive.read_bytes()[: tiny_archive.stat().st_size // 2])
        return path, r"aclImdb_v1\.tar\.gz.*corrupt or truncated"
    if kind == "gzip without a tar":
        path = folder / "x.tar.gz"
        path.write_bytes(gzip.compress(b"plain text" * 50))
        return path, r"x\.tar\.gz.*corrupt or truncated"
    if kind == "undecodable review":
        path = folder / "a.tar.gz"
        _bad_review_archive(path)
        return path, r"a\.tar\.gz.*train/pos/1_9\.txt: byte 5 is not valid UTF-8"
    if kind == "csv without the columns":
        path = folder / "r.csv"
        path.write_text("body,stars\nnice,5\n")
        return path, r"r\.csv.*none of the columns \['text', 'review', 'sentence'\].*--text-column"
    if kind == "missing label":
        path = _synthetic.write_csv(folder / "r.csv", 5)
        with open(path, "a") as fh:
            fh.write('"meh film",\n')
        return path, r"r\.csv.*1 rows have no label \(the first at line 12\)"
    if kind == "non-UTF-8 csv":
        path = folder / "r.csv"
        path.write_bytes(b"review,sentiment\ngood,positive\ncaf\xe9 ok,negative\n")
        return path, r"r\.csv.*line 3: byte 3 \(0xe9\) is not valid UTF-8"
    if kind == "empty csv":
        path = folder / "r.csv"
        path.write_text("")
        return path, r"r\.csv.*is empty"
    raise AssertionError(kind)


KINDS = [
    "missing",
    "corrupt archive",
    "truncated archive",
    "gzip without a tar",
    "undecodable review",
    "csv without the columns",
    "missing label",
    "non-UTF-8 csv",
    "empty csv",
]


@pytest.mark.parametrize("kind", KINDS)
def test_sweep_train_refuses_bad_data_naming_the_file_and_line(kind, tmp_path, tiny_archive):
    path, expected = _write(kind, tmp_path, tiny_archive)
    out = tmp_path / "model"
    result = CliRunner().invoke(main, ["train", "--data", str(path), "-o", str(out), "-q"])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert re.search(expected, lines[0]), lines[0]
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not out.exists()
    parsed = default_cache_dir() / "parsed"
    assert not parsed.exists() or list(parsed.iterdir()) == []


@pytest.mark.integration
@pytest.mark.slow
def test_sweep_launch_refuses_bad_data_with_exit_2_and_records_why(redis_url, tmp_path):
    """The driver runs here: the data is read once the sweep is recorded, so the record is
    marked failed with the same message."""
    import subprocess
    import sys

    from sweep.cluster import RedisStateStore
    from tests.integration.conftest import write_spec

    path, expected = _write("missing label", tmp_path, None)
    spec = write_spec(tmp_path, path, trials=1, concurrency=1)
    done = subprocess.run(
        [sys.executable, "-m", "sweep.cluster", "launch", spec, "--redis-url", redis_url, "-q"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: ") and re.search(expected, last), last
    (record,) = RedisStateStore(redis_url).list_sweeps()
    assert record["status"] == "failed" and re.search(expected, record["error"])
