"""Hand memory that is free again back to the operating system between the phases of a run.

Collection's worker threads parse many short-lived API answers; once they are freed, the C
allocator (glibc's malloc) and Arrow's memory pool keep most of those pages for reuse, and the
next phase (normalisation, which allocates through Arrow and pandas) grows the process on top of
them instead of into them. Returning the free pages between the phases lowers the peak.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
from functools import cache
from typing import Any

import pyarrow as pa


@cache
def _libc() -> Any:
    """The C library, when it has glibc's `malloc_trim` (Linux); else None."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def release_free_memory() -> None:
    """Collect garbage, then return free heap pages (glibc) and Arrow's unused pool memory."""
    gc.collect()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
    release_arrow_memory()


def release_arrow_memory() -> None:
    """Return the memory Arrow's pool holds unused (no garbage collection: cheap)."""
    pa.default_memory_pool().release_unused()


def use_compact_arrow_pool() -> None:
    """Make Arrow allocate from jemalloc (else the C allocator), unless ARROW_DEFAULT_MEMORY_POOL
    says which pool.

    Arrow's default pool on Linux, mimalloc, kept the pages of the many small tables that
    collection's worker threads make and free, and normalisation grew on top of them: on the
    10,000-resource estate collection peaked ~110 MiB higher with it than with jemalloc (and
    ~45 MiB higher than with the C allocator). Reading a large inventory is the same: at 10M
    backups mimalloc still held ~840 MiB of the read's freed buffers afterwards, and `check`
    peaked ~300 MiB higher with it (the C allocator: ~1.3 GiB higher). Buffers already allocated
    stay valid (each remembers its pool). Call it before a command makes its first Arrow table.
    """
    if "ARROW_DEFAULT_MEMORY_POOL" in os.environ:
        return
    try:
        pool = pa.jemalloc_memory_pool()
    except NotImplementedError:  # a pyarrow built without jemalloc
        pool = pa.system_memory_pool()
    pa.set_memory_pool(pool)


# glibc's mallopt parameter for the number of malloc arenas (M_ARENA_MAX in <malloc.h>).
_M_ARENA_MAX = -8
# Arenas kept when the environment does not choose (MALLOC_ARENA_MAX).
COLLECTION_ARENAS = 2


def limit_malloc_arenas(arenas: int = COLLECTION_ARENAS) -> None:
    """Let glibc's malloc use at most `arenas` arenas, unless MALLOC_ARENA_MAX says otherwise.

    glibc gives threads their own arenas (up to eight per core) and keeps each arena's free
    pages for that arena: collection's worker threads parse many API answers at once, and the
    pages each of them kept added up to a large part of the process's peak. Python holds the GIL
    while it allocates, so fewer arenas cost little contention. Call it before the threads start.
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    libc = _libc()
    if libc is not None and hasattr(libc, "mallopt"):
        libc.mallopt(_M_ARENA_MAX, arenas)
