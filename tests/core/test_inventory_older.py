"""An inventory written before newer columns existed is still read: they come back as nulls.

Columns added to the schema since an inventory was written are filled with nulls of their type
and listed (manifest key `columns_read_as_null`, and one note); a table missing a column every
inventory has had is damaged and stays a one-line InputError (exit 2).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from auditor.errors import EXIT_USAGE, InputError
from auditor.inventory import (
    READ_AS_NULL,
    REQUIRED_COLUMNS,
    SCHEMAS,
    Inventory,
    frame,
    read_as_null_note,
    read_inventory,
    write_inventory,
)

ACCOUNT = "111122223333"


def _inventory(tmp_path: Path, name: str = "inv") -> Path:
    resources = frame(
        "resources",
        [
            {
                "account_id": ACCOUNT,
                "region": "us-east-1",
                "resource_type": "ebs-volume",
                "resource_arn": f"arn:aws:ec2:us-east-1:{ACCOUNT}:volume/vol-{i}",
                "created_at": "2026-01-01T00:00:00Z",
                "size_bytes": 2**30,
                "attached_to": '["i-0123456789abcdef0"]',
                "deletion_protection": True,
            }
            for i in range(3)
        ],
    )
    return write_inventory(Inventory(tables={"resources": resources}), tmp_path / name)


def _drop(folder: Path, table: str, columns: list[str]) -> None:
    """Rewrite every file of `table` without `columns`, as an older program would have written it."""
    for path in (folder / table).glob("*.parquet"):
        arrow = pq.read_table(path, partitioning=None)
        pq.write_table(arrow.drop_columns([c for c in columns if c in arrow.column_names]), path)


def test_required_columns_are_declared_columns():
    for table, names in REQUIRED_COLUMNS.items():
        assert set(names) <= set(SCHEMAS[table].names), table
    assert set(REQUIRED_COLUMNS) == set(SCHEMAS)


@pytest.mark.parametrize("compact", [False, True])
def test_newer_columns_missing_are_read_as_typed_nulls(tmp_path: Path, compact: bool):
    folder = _inventory(tmp_path)
    _drop(folder, "resources", ["attached_to", "deletion_protection"])
    _drop(folder, "backup_rules", ["recovery_point_tags"])  # an empty table: nothing to note
    inventory = read_inventory(folder, compact=compact)
    res = inventory.resources
    assert list(res.columns) == SCHEMAS["resources"].names
    assert res["attached_to"].isna().all() and res["deletion_protection"].isna().all()
    assert isinstance(res["deletion_protection"].dtype, pd.BooleanDtype)
    assert res["resource_arn"].tolist() == [
        f"arn:aws:ec2:us-east-1:{ACCOUNT}:volume/vol-{i}" for i in range(3)
    ]
    assert "recovery_point_tags" in inventory["backup_rules"].columns
    assert inventory.manifest[READ_AS_NULL] == {"resources": ["attached_to", "deletion_protection"]}
    note = read_as_null_note(inventory)
    assert note is not None and "\n" not in note
    assert "resources.attached_to, resources.deletion_protection" in note


def test_an_inventory_with_every_column_has_no_note(tmp_path: Path):
    inventory = read_inventory(_inventory(tmp_path))
    assert READ_AS_NULL not in inventory.manifest
    assert read_as_null_note(inventory) is None


def test_several_folders_list_what_any_of_them_lacked(tmp_path: Path):
    old, new = _inventory(tmp_path, "old"), _inventory(tmp_path, "new")
    _drop(old, "resources", ["attached_to"])
    both = read_inventory(old, new)
    assert len(both.resources) == 6
    assert both.resources["attached_to"].isna().sum() == 3
    assert both.manifest[READ_AS_NULL] == {"resources": ["attached_to"]}


@pytest.mark.parametrize("column", ["resource_arn", "native_schedule"])
def test_a_missing_required_column_is_still_one_line_input_error(tmp_path: Path, column: str):
    folder = _inventory(tmp_path)
    _drop(folder, "resources", [column, "attached_to"])
    with pytest.raises(
        InputError, match=f"table 'resources' lacks column\\(s\\) {column}$"
    ) as info:
        read_inventory(folder)
    assert "\n" not in str(info.value)
    assert info.value.exit_code == EXIT_USAGE
