"""Inventory tables: declared columns, Parquet round trip, validation of what is read back."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from auditor.errors import InputError
from auditor.inventory import (
    SCHEMAS,
    TABLES,
    Inventory,
    empty_frame,
    frame,
    read_inventory,
    write_inventory,
)


def _resources(account: str, n: int) -> pd.DataFrame:
    return frame(
        "resources",
        [
            {
                "account_id": account,
                "region": "us-east-1",
                "resource_type": "ebs-volume",
                "resource_arn": f"arn:aws:ec2:us-east-1:{account}:volume/vol-{i:04d}",
                "created_at": f"2026-01-0{1 + i % 9}T00:00:00Z",
                "size_bytes": (i + 1) * 2**30,
                "encrypted": i % 2 == 0,
            }
            for i in range(n)
        ],
    )


def test_frame_has_declared_columns_and_dtypes():
    df = _resources("111122223333", 3)
    assert list(df.columns) == SCHEMAS["resources"].names
    assert str(df["created_at"].dtype) == "datetime64[us, UTC]"
    assert str(df["size_bytes"].dtype) == "Int64"
    assert str(df["encrypted"].dtype) == "boolean"
    assert df["engine"].isna().all()


def test_frame_rejects_undeclared_column():
    with pytest.raises(ValueError, match="undeclared"):
        frame("resources", [{"resource_arn": "a", "colour": "blue"}])


def test_round_trip_one_file_per_account(tmp_path: Path):
    inv = Inventory(
        tables={
            "resources": pd.concat([_resources("111122223333", 2), _resources("444455556666", 3)])
        },
        manifest={"accounts": ["111122223333", "444455556666"], "regions": ["us-east-1"]},
    )
    out = write_inventory(inv, tmp_path / "inv")
    parts = sorted(
        p.relative_to(out / "resources").as_posix() for p in (out / "resources").rglob("*")
    )
    assert parts == ["111122223333.parquet", "444455556666.parquet"]
    back = read_inventory(out)
    assert len(back.resources) == 5
    assert set(back.resources["account_id"]) == {"111122223333", "444455556666"}
    assert json.loads((out / "manifest.json").read_text())["tables"]["resources"] == 5
    for name in TABLES:
        assert list(back[name].columns) == SCHEMAS[name].names


def test_several_folders_read_as_one(tmp_path: Path):
    a = write_inventory(
        Inventory(
            tables={"resources": _resources("111122223333", 2)},
            manifest={"accounts": ["111122223333"]},
        ),
        tmp_path / "a",
    )
    b = write_inventory(
        Inventory(
            tables={"resources": _resources("444455556666", 4)},
            manifest={"accounts": ["444455556666"]},
        ),
        tmp_path / "b",
    )
    both = read_inventory(a, b)
    assert len(both.resources) == 6
    assert both.accounts == ["111122223333", "444455556666"]


def test_rewrite_replaces_folder_whole(tmp_path: Path):
    out = tmp_path / "inv"
    write_inventory(Inventory(tables={"resources": _resources("111122223333", 5)}), out)
    write_inventory(Inventory(tables={"resources": _resources("111122223333", 1)}), out)
    assert len(read_inventory(out).resources) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / "manifest.json").unlink(), "no manifest.json"),
        (lambda d: (d / "manifest.json").write_text("{not json"), "corrupt manifest"),
        (
            lambda d: next((d / "resources").rglob("*.parquet")).write_bytes(b"PAR1garbage"),
            "corrupt Parquet",
        ),
        (lambda d: __import__("shutil").rmtree(d / "vaults"), "missing table 'vaults'"),
        (
            lambda d: pq.write_table(
                pa.table({"account_id": ["1"]}), next((d / "resources").rglob("*.parquet"))
            ),
            "lacks column",
        ),
        (
            lambda d: (d / "manifest.json").write_text(json.dumps({"schema_version": 99})),
            "schema version 99",
        ),
    ],
)
def test_damaged_inventory_is_one_line_input_error(tmp_path: Path, damage, message):
    out = write_inventory(
        Inventory(tables={"resources": _resources("111122223333", 2)}), tmp_path / "inv"
    )
    damage(out)
    with pytest.raises(InputError, match=message) as info:
        read_inventory(out)
    assert "\n" not in str(info.value)


def test_row_count_mismatch_detected(tmp_path: Path):
    out = write_inventory(
        Inventory(tables={"resources": _resources("111122223333", 2)}), tmp_path / "inv"
    )
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["tables"]["resources"] = 7
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError, match=r"manifest\.json says 7"):
        read_inventory(out)


def test_empty_frames_for_every_table():
    for name in TABLES:
        assert list(empty_frame(name).columns) == SCHEMAS[name].names


def test_compact_read_gives_categoricals_with_same_values(tmp_path: Path):
    inv = Inventory(
        tables={
            "resources": pd.concat([_resources("111122223333", 3), _resources("444455556666", 2)])
        }
    )
    out = write_inventory(inv, tmp_path / "inv")
    plain = read_inventory(out)
    compact = read_inventory(out, compact=True)
    assert isinstance(compact.resources["region"].dtype, pd.CategoricalDtype)
    assert isinstance(compact.resources["account_id"].dtype, pd.CategoricalDtype)
    assert str(compact.resources["resource_arn"].dtype) == "str"
    pd.testing.assert_frame_equal(
        compact.resources.astype({c: plain.resources[c].dtype for c in plain.resources.columns}),
        plain.resources,
    )


def _mixed_inventory() -> Inventory:
    """Two accounts (one with a leading zero), an error row without account, every table present."""
    errors = frame(
        "errors",
        [
            {
                "account_id": "012345678901",
                "region": "us-east-1",
                "service": "ec2",
                "operation": "DescribeVolumes",
                "error_code": "AccessDenied",
                "message": "no",
                "affects": "ebs-volume",
            },
            {
                "account_id": None,
                "region": None,
                "service": "sts",
                "operation": "AssumeRole",
                "error_code": "AccessDenied",
                "message": "no",
                "affects": "*",
            },
        ],
    )
    resources = pd.concat([_resources("012345678901", 2), _resources("444455556666", 3)])
    return Inventory(tables={"resources": resources, "errors": errors})


def test_every_table_reads_back_with_plain_pandas(tmp_path: Path):
    out = write_inventory(_mixed_inventory(), tmp_path / "inv")
    back = read_inventory(out)
    for name in TABLES:
        plain = pd.read_parquet(out / name)
        assert list(plain.columns) == SCHEMAS[name].names, name
        assert len(plain) == len(back[name]), name
    errors = pd.read_parquet(out / "errors")
    # account ids stay strings: no partition inference turning them into integers
    assert sorted(errors["account_id"].dropna()) == ["012345678901"]
    assert errors["account_id"].isna().sum() == 1
    resources = pd.read_parquet(out / "resources")
    assert set(resources["account_id"]) == {"012345678901", "444455556666"}


def test_every_table_reads_back_with_duckdb(tmp_path: Path):
    duckdb = pytest.importorskip("duckdb")
    out = write_inventory(_mixed_inventory(), tmp_path / "inv")
    con = duckdb.connect()
    for name in TABLES:
        pattern = (out / name / "*.parquet").as_posix()
        count = con.execute(f"SELECT count(*) FROM read_parquet('{pattern}')").fetchone()[0]
        assert count == len(read_inventory(out)[name]), name
    accounts = con.execute(
        "SELECT DISTINCT account_id FROM read_parquet(?) ORDER BY 1",
        [(out / "resources" / "*.parquet").as_posix()],
    ).fetchall()
    assert accounts == [("012345678901",), ("444455556666",)]


def test_older_hive_style_layout_is_still_read(tmp_path: Path):
    out = write_inventory(_mixed_inventory(), tmp_path / "inv")
    for name in TABLES:  # rewrite each table as <table>/account_id=<id>/part-0.parquet
        for path in sorted((out / name).glob("*.parquet")):
            folder = out / name / f"account_id={path.stem}"
            folder.mkdir()
            path.rename(folder / "part-0.parquet")
    back = read_inventory(out)
    assert len(back.resources) == 5 and len(back.errors) == 2
    assert set(back.resources["account_id"]) == {"012345678901", "444455556666"}
