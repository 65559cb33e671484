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
    pa.default_memory_pool().release_unused()
