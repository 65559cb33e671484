"""Inventory files keep repeated columns as whole Parquet dictionaries, and read back the same."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from auditor.inventory import (
    TABLES,
    WHOLE_DICTIONARY_KEY,
    Inventory,
    frame,
    read_inventory,
    write_inventory,
)

# More distinct source ARNs than fit in pyarrow's default 1 MiB dictionary page, so a writer with
# the defaults falls back to plain pages part way through the column.
SOURCES = 30_000
BACKUPS = 60_000


def _inventory() -> Inventory:
    arns = np.array(
        [f"arn:aws:ec2:us-east-1:111122223333:volume/vol-{i:017d}" for i in range(SOURCES)],
        dtype=object,
    )
    rows = np.random.default_rng(7).integers(0, SOURCES, BACKUPS)
    backups = pd.DataFrame(
        {
            "account_id": np.where(rows % 3 == 0, "444455556666", "111122223333"),
            "region": "us-east-1",
            "recovery_point_arn": [f"arn:aws:ec2:us-east-1::snapshot/snap-{i:017d}" for i in rows],
            "resource_arn": arns[rows],
            "resource_type": "ebs-volume",
            "status": np.where(rows % 5 == 0, "FAILED", "COMPLETED"),
            "created_at": pd.Timestamp("2026-11-01", tz="UTC") + pd.to_timedelta(rows, unit="s"),
        }
    )
    return Inventory(tables={"recovery_points": frame("recovery_points", backups)})


def test_repeated_columns_are_stored_with_one_dictionary_per_file(tmp_path: Path):
    out = write_inventory(_inventory(), tmp_path / "inv")
    files = sorted((out / "recovery_points").glob("*.parquet"))
    assert len(files) == 2  # one per account
    for path in files:
        listed = json.loads(pq.read_metadata(path).metadata[WHOLE_DICTIONARY_KEY])
        assert "resource_arn" in listed and "status" in listed
        assert "recovery_point_arn" not in listed  # one value per row: stored plain
        column = pq.ParquetFile(path, read_dictionary=["resource_arn"]).read()["resource_arn"]
        # one dictionary for the whole file, holding each distinct source once
        assert column.num_chunks == 1
        assert len(column.chunk(0).dictionary) == len(set(column.to_pylist()))


def test_files_written_before_whole_dictionaries_read_the_same(tmp_path: Path):
    current = write_inventory(_inventory(), tmp_path / "current")
    older = tmp_path / "older"
    shutil.copytree(current, older)
    for path in sorted((older / "recovery_points").glob("*.parquet")):
        # as an older auditor wrote them: pyarrow's defaults, no note of whole dictionaries
        pq.write_table(pq.read_table(path).replace_schema_metadata(None), path)
        assert WHOLE_DICTIONARY_KEY not in (pq.read_metadata(path).metadata or {})
    for compact in (True, False):
        new, old = read_inventory(current, compact=compact), read_inventory(older, compact=compact)
        for name in TABLES:
            pd.testing.assert_frame_equal(new[name], old[name], check_categorical=True)
    compact = read_inventory(current, compact=True).recovery_points
    plain = read_inventory(current).recovery_points
    assert isinstance(compact["resource_arn"].dtype, pd.CategoricalDtype)
    assert compact["resource_arn"].astype(object).equals(plain["resource_arn"].astype(object))
