"""The driver's malloc arena cap, read back from glibc's own arena report."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest


def _glibc() -> bool:
    try:
        return sys.platform.startswith("linux") and bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (ValueError, OSError):  # a C library without the name (musl)
        return False


pytestmark = pytest.mark.skipif(not _glibc(), reason="glibc only")

# eight threads alive at once, each allocating; then glibc's malloc_stats() lists the arenas
THREADS = textwrap.dedent(
    """
    import ctypes, sys, threading
    from sweep.cluster._malloc import limit_malloc_arenas
    applied = limit_malloc_arenas() if sys.argv[1] == "cap" else None
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    barrier = threading.Barrier(8)
    kept = []
    def work():
        kept.append(libc.malloc(4096))
        barrier.wait()
    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads: t.start()
    for t in threads: t.join()
    print("applied", applied, flush=True)
    libc.malloc_stats()
    """
)


def _arenas(mode: str, **env: str) -> tuple[str, int]:
    environ = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"} | env
    done = subprocess.run(
        [sys.executable, "-c", THREADS, mode],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=True,
    )
    return done.stdout.strip(), len(re.findall(r"^Arena \d+:", done.stderr, re.M))


def test_the_cap_keeps_eight_threads_in_two_arenas_where_glibc_would_give_more():
    said, uncapped = _arenas("none")
    assert uncapped > 2, f"glibc gave only {uncapped} arenas to 8 threads: nothing to cap"
    said, capped = _arenas("cap")
    assert said == "applied True" and capped <= 2


def test_malloc_arena_max_set_by_the_user_wins():
    said, arenas = _arenas("cap", MALLOC_ARENA_MAX="4")
    assert said == "applied False"  # nothing changed by the service
    assert 2 < arenas <= 4
