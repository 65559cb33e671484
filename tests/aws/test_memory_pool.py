"""Collection's Arrow memory pool: jemalloc (else the C allocator), unless the environment chose."""

from __future__ import annotations

import pyarrow as pa
import pytest

from auditor.memory import release_arrow_memory, use_compact_arrow_pool


@pytest.fixture
def restored_pool():
    pool = pa.default_memory_pool()
    yield
    pa.set_memory_pool(pool)


def test_collection_allocates_from_jemalloc_or_the_c_allocator(monkeypatch, restored_pool) -> None:
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    use_compact_arrow_pool()
    assert pa.default_memory_pool().backend_name in ("jemalloc", "system")
    release_arrow_memory()


def test_the_environment_chooses_first(monkeypatch, restored_pool) -> None:
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "mimalloc")
    before = pa.default_memory_pool().backend_name
    use_compact_arrow_pool()
    assert pa.default_memory_pool().backend_name == before
