"""The driver's malloc arenas: few, so its memory stays flat over thousands of trials.

glibc gives each new thread its own malloc arena, up to 8 per core (512 on a 64-core head),
and an arena's freed pages mostly stay with the process. A sweep's driver runs through many
short-lived threads (Ray Tune's TensorBoard writers, one per trial; Ray's own), so its resident
memory grew per finished trial by several times what its Python objects grew by (figures in
docs/benchmarks.md, "The control plane at scale"). Capping the arenas, as ``MALLOC_ARENA_MAX``
does for services that run many threads, keeps that fragmentation from piling up.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

log = logging.getLogger(__name__)

ENV_ARENAS = "MALLOC_ARENA_MAX"  # glibc's own variable: set, it wins and nothing is changed
DRIVER_ARENAS = 2
_M_ARENA_MAX = -8  # mallopt's parameter number (glibc malloc.h)


def limit_malloc_arenas(arenas: int = DRIVER_ARENAS) -> bool:
    """Cap this process's glibc malloc arenas at ``arenas`` for the threads it starts from
    now on (mallopt(M_ARENA_MAX)); True when the cap was set. Nothing happens (False) off
    Linux, on another C library, or when the user set ``MALLOC_ARENA_MAX``, which glibc has
    already applied."""
    if not sys.platform.startswith("linux") or os.environ.get(ENV_ARENAS):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    applied = mallopt(_M_ARENA_MAX, int(arenas)) == 1
    if not applied:
        log.debug("mallopt(M_ARENA_MAX, %s) was refused", arenas)
    return applied
