"""Builders for hand-made inventories used by the metering tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pandas as pd
import pytest

from auditor.inventory import SCHEMAS, Inventory, frame
from auditor.metering import load_prices

GiB = 1 << 30
ACCT = "111122223333"
AS_OF = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # November 2026: 30 days

_ids = itertools.count(1)

_ARN = {
    "ebs-snapshot": ("ebs-volume", "arn:aws:ec2:{r}:{a}:volume/vol-{i}"),
    "storagegateway-snapshot": (
        "storagegateway-volume",
        "arn:aws:storagegateway:{r}:{a}:gateway/sgw-1/volume/vol-{i}",
    ),
    "rds-snapshot": ("rds-instance", "arn:aws:rds:{r}:{a}:db:db-{i}"),
    "rds-cluster-snapshot": ("rds-cluster", "arn:aws:rds:{r}:{a}:cluster:cl-{i}"),
    "dynamodb-backup": ("dynamodb-table", "arn:aws:dynamodb:{r}:{a}:table/t-{i}"),
    "efs-backup": ("efs-filesystem", "arn:aws:elasticfilesystem:{r}:{a}:file-system/fs-{i}"),
}


def backup(
    backup_type="ebs-snapshot",
    gib=100,
    *,
    region="us-east-1",
    account=ACCT,
    resource_arn=None,
    created_at="2026-10-01T00:00:00Z",
    storage_class="warm",
    status="COMPLETED",
    source="native",
    **kw,
):
    """One recovery_points record; the source resource ARN is made up unless given."""
    i = next(_ids)
    rtype, pattern = _ARN.get(backup_type, ("unknown", "arn:aws:x:{r}:{a}:thing/{i}"))
    source_arn = resource_arn or pattern.format(r=region, a=account, i=i)
    # DynamoDB's own backups (not AWS Backup's advanced ones) have a DynamoDB ARN under the table
    rp_arn = (
        f"{source_arn}/backup/0176{i:09d}-ab12cd34"
        if backup_type == "dynamodb-backup" and source == "native"
        else f"arn:aws:backup:{region}:{account}:recovery-point:rp-{i}"
    )
    rec = dict(
        account_id=account,
        region=region,
        recovery_point_arn=rp_arn,
        resource_arn=source_arn,
        resource_type=rtype,
        backup_type=backup_type,
        source=source,
        created_by="user",
        status=status,
        created_at=created_at,
        size_bytes=None if gib is None else int(gib * GiB),
        size_basis="BackupSizeInBytes",
        storage_class=storage_class,
    )
    rec.update(kw)
    return rec


def resource_for(rec, **kw):
    """A resources record for the source of backup record `rec` (so it is not orphaned)."""
    out = dict(
        account_id=rec["account_id"],
        region=rec["region"],
        resource_type=rec["resource_type"],
        resource_arn=rec["resource_arn"],
        resource_id=rec["resource_arn"].rsplit("/", 1)[-1],
        state="available",
    )
    out.update(kw)
    return out


def inventory(
    backups=(),
    resources=None,
    tags=(),
    region_settings=(),
    backup_plans=(),
    errors=(),
    manifest=None,
):
    """An Inventory from records; by default every backup's source resource exists."""
    if resources is None:
        resources = [resource_for(b) for b in backups]
    return Inventory(
        tables={
            "recovery_points": frame("recovery_points", list(backups)),
            "resources": _resources(list(resources)),
            "tags": frame("tags", list(tags)),
            "region_settings": frame("region_settings", list(region_settings)),
            "backup_plans": frame("backup_plans", list(backup_plans)),
            "errors": frame("errors", list(errors)),
        },
        manifest=manifest or {},
    )


def _resources(records):
    """The resources frame; `size_basis` (where the size came from) is kept even on an inventory
    schema that does not declare it yet."""
    if "size_basis" in SCHEMAS["resources"].names:
        return frame("resources", records)
    bases = [r.get("size_basis") for r in records]
    df = frame("resources", [{k: v for k, v in r.items() if k != "size_basis"} for r in records])
    if any(b is not None for b in bases):
        df["size_basis"] = pd.Series(bases, dtype="str")
    return df


def cents(values) -> int:
    """Sum of money values in whole cents (exact)."""
    return sum(round(v * 100) for v in values)


@pytest.fixture(scope="session")
def prices():
    return load_prices()


@pytest.fixture
def mk():
    """The builders above, for tests (importlib mode cannot import conftest directly)."""
    import types

    return types.SimpleNamespace(
        backup=backup,
        resource_for=resource_for,
        inventory=inventory,
        cents=cents,
        GiB=GiB,
        ACCT=ACCT,
        AS_OF=AS_OF,
    )
