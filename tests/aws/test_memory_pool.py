"""The Arrow memory pool of collect, check and meter: jemalloc (else the C allocator), unless the
environment chose."""

from __future__ import annotations

import pyarrow as pa
import pytest

from auditor.memory import release_arrow_memory, use_compact_arrow_pool


def _compact_pool_name() -> str:
    """The pool collection is to use when the environment does not choose."""
    try:
        return pa.jemalloc_memory_pool().backend_name
    except NotImplementedError:  # a pyarrow built without jemalloc
        return pa.system_memory_pool().backend_name


@pytest.fixture
def other_pool():
    """Start from a pool collection would not choose, and put the process's pool back after.

    The pool is process-wide: once any earlier test has collected, it is already the compact one,
    and a use_compact_arrow_pool that did nothing (or ignored the environment) would pass.
    """
    pool = pa.default_memory_pool()
    compact = _compact_pool_name()
    for make in (pa.system_memory_pool, pa.mimalloc_memory_pool):
        try:
            other = make()
        except NotImplementedError:
            continue
        if other.backend_name != compact:
            break
    else:
        pytest.skip("pyarrow has no pool besides the compact one")
    pa.set_memory_pool(other)
    yield other
    pa.set_memory_pool(pool)


def test_collection_allocates_from_jemalloc_or_the_c_allocator(monkeypatch, other_pool) -> None:
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    use_compact_arrow_pool()
    assert pa.default_memory_pool().backend_name in ("jemalloc", "system")
    assert pa.default_memory_pool().backend_name == _compact_pool_name()
    release_arrow_memory()


def test_the_environment_chooses_first(monkeypatch, other_pool) -> None:
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "mimalloc")
    before = pa.default_memory_pool().backend_name
    assert before == other_pool.backend_name != _compact_pool_name()
    use_compact_arrow_pool()
    assert pa.default_memory_pool().backend_name == before


class _Reading(Exception):
    """Raised where the command reads its inventory: the test has seen what it needed."""


@pytest.mark.parametrize("command", ["check", "meter"])
def test_check_and_meter_read_the_inventory_with_the_compact_pool(
    monkeypatch, other_pool, tmp_path, command
) -> None:
    """At a million resources the pool decides ~0.5 GiB of check's peak: the inventory read's
    freed buffers are kept by mimalloc and handed back by jemalloc."""
    from datetime import UTC, datetime
    from pathlib import Path

    import auditor.inventory

    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    seen = []

    def reading(*folders, **kwargs):
        seen.append(pa.default_memory_pool().backend_name)
        raise _Reading

    monkeypatch.setattr(auditor.inventory, "read_inventory", reading)
    as_of = datetime(2026, 11, 26, tzinfo=UTC)
    with pytest.raises(_Reading):
        if command == "check":
            from auditor.controls import run_check

            policies = Path(__file__).resolve().parents[2] / "policies"
            run_check([tmp_path / "inv"], policies, tmp_path / "out", as_of)
        else:
            from auditor.metering import run_meter

            run_meter([tmp_path / "inv"], tmp_path / "out", as_of)
    assert seen == [_compact_pool_name()]
