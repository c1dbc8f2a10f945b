"""The namespace test cluster cleans up after a run that was killed before its teardown."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests import _netcluster

pytestmark = pytest.mark.skipif(
    _netcluster.available() is not None, reason=str(_netcluster.available())
)


def test_a_killed_runs_namespaces_are_removed_by_the_next_run(tmp_path):
    # A process builds a cluster with a node and dies without closing it (SIGKILL, a restart).
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import os, signal
            from tests._netcluster import NetCluster
            c = NetCluster({str(tmp_path)!r}, {str(tmp_path)!r})
            c.add_node("head", shared=False)
            print(c.tag, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        """),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == -9, child.stderr
    tag = child.stdout.strip()
    left = _netcluster._ip("netns", "list")
    assert f"{tag}-switch" in left and f"{tag}-head" in left

    assert tag in _netcluster.reap_orphans()

    left = _netcluster._ip("netns", "list")
    assert f"{tag}-" not in left
    assert f"{tag}h" not in _netcluster._ip("link")
    assert not (_netcluster.OWNERS / tag).exists()


def test_tags_differ_even_when_the_tests_seed_pythons_generator():
    import random

    tags = []
    for _ in range(2):
        random.seed(0)
        tag = _netcluster._new_tag()
        (_netcluster.OWNERS / tag).unlink()
        tags.append(tag)
    assert tags[0] != tags[1]
