"""The process's C heap, kept from churning while large request bodies stream through.

A body read as it arrives comes in messages of a few hundred KiB, each allocated by the
server and freed by the reader as soon as it is handled. With glibc's adaptive thresholds
such a message is carved from the top of the heap and, once freed, given back to the
system, so that the next one has its pages faulted in again, zeroed by the kernel: on
uvicorn that was a third of the server's CPU time for a 100 MiB upload. The first such
message fixes the thresholds instead: blocks up to `MMAP_THRESHOLD` come from the heap, and
up to `TRIM_THRESHOLD` bytes of free heap stay with the process for the next message.

Nothing changes where the C library is not glibc, or where the process was started with
glibc's own settings for its allocator (`MALLOC_TRIM_THRESHOLD_` and the like, or
`GLIBC_TUNABLES=glibc.malloc...`): those are how a deployment keeps the choice.
"""

from __future__ import annotations

import os
from functools import cache

LARGE = 128 << 10
"""A message this large may churn: glibc's starting threshold for blocks it maps apart."""
MMAP_THRESHOLD = 4 << 20
TRIM_THRESHOLD = 8 << 20
_M_TRIM_THRESHOLD = -1  # mallopt's parameters, from glibc's <malloc.h>
_M_MMAP_THRESHOLD = -3
_SETTINGS = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")


@cache
def settle() -> bool:
    """Fix the allocator's thresholds, once per process; whether they are fixed (not on
    another C library, nor where the process was started with settings of its own)."""
    if not _glibc() or any(name in os.environ for name in _SETTINGS):
        return False
    if "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    import ctypes

    mallopt = ctypes.CDLL(None).mallopt
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def _glibc() -> bool:
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (ValueError, OSError):  # no such name: another C library
        return False
