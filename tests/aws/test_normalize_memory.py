"""The memory-saving paths of normalisation and writing give what the plain paths gave.

Merging the listings on row positions, retyping the merged rows one column at a time and
converting each table straight to Arrow must not change a value, a type, the order of the
rows or the bytes of a written file.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
from pandas.testing import assert_frame_equal

from auditor.aws.normalize import build_arrow_tables, build_tables
from auditor.inventory import (
    SCHEMAS,
    TABLES,
    Inventory,
    Tables,
    _types_mapper,
    frame,
    table_arrow,
    write_inventory,
    write_table_files,
)

T0 = datetime(2026, 10, 1, tzinfo=UTC)
ACCOUNTS = ("111122223333", "444455556666")


def _native(account: str, n: int, **kw) -> dict:
    row = dict(
        account_id=account,
        region="us-east-1",
        recovery_point_arn=f"arn:aws:ec2:us-east-1::snapshot/snap-{n:03d}",
        resource_arn=f"arn:aws:ec2:us-east-1:{account}:volume/vol-{n:03d}",
        resource_type="ebs-volume",
        backup_type="ebs-snapshot",
        source="native",
        created_by="user",
        status="COMPLETED",
        created_at=T0 + timedelta(hours=n),
        size_bytes=n * 2**30,
        size_basis="VolumeSize(upper-bound)",
        storage_class="warm",
        encrypted=bool(n % 2),
        _size_exact=False,
    )
    row.update(kw)
    return row


def _backup(account: str, n: int, **kw) -> dict:
    row = dict(
        account_id=account,
        region="us-east-1",
        recovery_point_arn=f"arn:aws:ec2:us-east-1::snapshot/snap-{n:03d}",
        resource_arn=f"arn:aws:ec2:us-east-1:{account}:volume/vol-{n:03d}",
        source="aws-backup",
        created_by="aws-backup",
        status="COMPLETED",
        created_at=T0 + timedelta(hours=n),
        size_bytes=n * 2**20,
        size_basis="BackupSizeInBytes",
        storage_class="warm",
        delete_at=T0 + timedelta(days=35),
        encrypted=True,
        vault_name="gold",
        backup_plan_id="p1",
        _backup_resource_type="EBS",
        _origin="backup",
    )
    row.update(kw)
    return row


def _listings() -> list[dict]:
    """Both accounts; rows listed out of order, some only natively, some only in Backup, some
    in both, and a snapshot listed twice by its own service."""
    rows = []
    for account in ACCOUNTS:
        for n in (7, 3, 11, 5):
            rows.append(_native(account, n))
        for n in (5, 2, 7, 13):
            rows.append(_backup(account, n))
        rows.append(_native(account, 3, size_bytes=1))  # a second listing of snap-003
    return rows


def test_merged_rows_one_per_backup_in_key_order() -> None:
    points = build_tables({"recovery_points": _listings()})["recovery_points"]
    keys = list(zip(points["account_id"], points["recovery_point_arn"], strict=True))
    assert keys == sorted(keys)  # ordered by account, then by the ARN (no account in these)
    assert len(keys) == len(set(keys)) == 2 * 6  # snapshots 2, 3, 5, 7, 11, 13 per account
    first = points.set_index(["account_id", "recovery_point_arn"])
    snap3 = first.loc[(ACCOUNTS[0], "arn:aws:ec2:us-east-1::snapshot/snap-003")]
    assert snap3["size_bytes"] == 3 * 2**30  # the first listing of a snapshot is the one kept
    both = first.loc[(ACCOUNTS[1], "arn:aws:ec2:us-east-1::snapshot/snap-005")]
    assert both["vault_name"] == "gold"  # Backup's view of what it knows
    assert both["backup_type"] == "ebs-snapshot"  # the native view of the kind


def test_table_arrow_is_what_pandas_wrote(tmp_path) -> None:
    tables = build_tables({"recovery_points": _listings()})
    for name in ("recovery_points", "resources", "errors"):
        df = tables[name]
        old = pa.Table.from_pandas(frame(name, df), schema=SCHEMAS[name], preserve_index=False)
        new = table_arrow(name, df)
        assert new.equals(old, check_metadata=True)


def test_one_account_written_whole_equals_filtered(tmp_path) -> None:
    points = build_tables({"recovery_points": _listings()})["recovery_points"]
    one = points[points["account_id"] == ACCOUNTS[0]].reset_index(drop=True)
    write_table_files("recovery_points", table_arrow("recovery_points", one), tmp_path / "one")
    write_table_files("recovery_points", table_arrow("recovery_points", points), tmp_path / "two")
    whole = (tmp_path / "one" / f"{ACCOUNTS[0]}.parquet").read_bytes()
    filtered = (tmp_path / "two" / f"{ACCOUNTS[0]}.parquet").read_bytes()
    assert whole == filtered
    assert pq.read_table(tmp_path / "one").num_rows == len(one) == 6


def _gateway_and_image_listings() -> dict[str, list[dict]]:
    """Listings with a Storage Gateway volume's snapshot and an AMI with its snapshots."""
    account = ACCOUNTS[0]
    volume = f"arn:aws:storagegateway:us-east-1:{account}:gateway/sgw-1/volume/vol-0AB"
    image = _native(
        account,
        40,
        recovery_point_arn=f"arn:aws:ec2:us-east-1:{account}:image/ami-1",
        backup_type="ec2-image",
        resource_arn=f"arn:aws:ec2:us-east-1:{account}:instance/i-1",
        resource_type="ec2-instance",
        _image_snapshot_ids='["snap-041", "snap-042"]',
    )
    parts = [_native(account, n, _size_exact=True) for n in (41, 42)]
    gateway = _native(account, 43, _native_volume_id="vol-0ab")
    resources = [
        dict(
            account_id=account,
            region="us-east-1",
            resource_arn=volume,
            resource_id="vol-0AB",
            resource_type="storagegateway-volume",
        )
    ]
    return {"recovery_points": [*_listings(), image, *parts, gateway], "resources": resources}


def _declared(row: dict) -> dict:
    """A listed row without the helper columns normalisation reads."""
    return {k: v for k, v in row.items() if not k.startswith("_")}


def _merged_rows() -> list[dict]:
    """The recovery points `_gateway_and_image_listings` should become, written out by the rules
    of auditor.aws.normalize and auditor.aws.ec2_native (their docstrings), in key order."""
    rows = []
    for account in ACCOUNTS:
        if account == ACCOUNTS[0]:
            # the AMI, with its two snapshots' exact sizes summed (their own rows are left out)
            image = _gateway_and_image_listings()["recovery_points"][-4]
            rows.append(
                _declared(image)
                | dict(
                    size_bytes=(41 + 42) * 2**30,
                    size_basis="FullSnapshotSizeInBytes(sum of AMI snapshots)",
                )
            )
        for n in (2, 3, 5, 7, 11, 13):
            if n in (3, 11):  # listed natively only (snap-003 twice: the first listing kept)
                rows.append(_declared(_native(account, n)))
                continue
            # AWS Backup's view, its source's type from the ARN, the kind natively if listed so
            row = _declared(_backup(account, n)) | dict(resource_type="ebs-volume")
            if n in (5, 7):  # listed by both; the native size is no exact one, Backup's wins
                row = _declared(_native(account, n)) | row
            rows.append(row | dict(backup_type="ebs-snapshot"))
        if account == ACCOUNTS[0]:
            # the Storage Gateway volume's snapshot, given to that volume
            volume = _gateway_and_image_listings()["resources"][0]["resource_arn"]
            rows.append(
                _declared(_native(account, 43))
                | dict(
                    resource_arn=volume,
                    resource_type="storagegateway-volume",
                    backup_type="storagegateway-snapshot",
                    created_by="storage-gateway",
                )
            )
    return rows


def test_arrow_tables_are_the_frames() -> None:
    listings = _gateway_and_image_listings()
    arrow = build_arrow_tables(_gateway_and_image_listings())
    # every other table is its records as `frame` makes them
    expected = {
        name: frame(name, [] if name == "recovery_points" else listings.get(name, []))
        for name in TABLES
    }
    expected["recovery_points"] = frame("recovery_points", _merged_rows())
    assert set(arrow) == set(TABLES)
    frames = {}
    for name, table in arrow.items():
        assert table.schema.equals(SCHEMAS[name], check_metadata=True)
        frames[name] = table.to_pandas(types_mapper=_types_mapper)
        assert_frame_equal(frames[name], expected[name], check_exact=True)
    points = frames["recovery_points"].set_index("recovery_point_arn")
    image = points.loc[f"arn:aws:ec2:us-east-1:{ACCOUNTS[0]}:image/ami-1"]
    assert image["size_bytes"] == (41 + 42) * 2**30  # the AMI's snapshots, counted with it
    assert "arn:aws:ec2:us-east-1::snapshot/snap-041" not in points.index
    gateway = points.loc["arn:aws:ec2:us-east-1::snapshot/snap-043"]
    assert gateway["backup_type"] == "storagegateway-snapshot"


def test_arrow_tables_written_as_the_frames(tmp_path) -> None:
    frames = Inventory(tables=build_tables(_gateway_and_image_listings()))
    arrow = Inventory(tables=Tables(build_arrow_tables(_gateway_and_image_listings())))
    write_inventory(frames, tmp_path / "frames")
    write_inventory(arrow, tmp_path / "arrow")
    for name in TABLES:
        assert arrow.tables.arrow(name) is not None  # written without becoming a frame
        for path in sorted((tmp_path / "frames" / name).iterdir()):
            assert path.read_bytes() == (tmp_path / "arrow" / name / path.name).read_bytes()


def test_tables_become_frames_when_read() -> None:
    tables = Tables(build_arrow_tables(_gateway_and_image_listings()))
    inventory = Inventory(tables=tables)
    assert "recovery_points" in inventory.tables and tables.arrow("recovery_points") is not None
    rows = inventory.rows("recovery_points")
    assert rows == len(inventory.recovery_points)
    assert tables.arrow("recovery_points") is None  # read once: a frame from then on
    assert inventory.recovery_points is inventory.recovery_points
