"""Normalisation rules on hand-built records (no AWS): merging, sizes, storage class, copies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from auditor.aws.normalize import build_tables, merge_key, resource_type_from_arn

T0 = datetime(2026, 10, 1, tzinfo=UTC)
A = "111122223333"
VOL = f"arn:aws:ec2:us-east-1:{A}:volume/vol-0abc"
SNAP_NATIVE = "arn:aws:ec2:us-east-1::snapshot/snap-1"


def _native_ebs(**kw):
    row = dict(
        account_id=A,
        region="us-east-1",
        recovery_point_arn=SNAP_NATIVE,
        resource_arn=VOL,
        resource_type="ebs-volume",
        backup_type="ebs-snapshot",
        source="aws-backup",
        created_by="aws-backup",
        status="COMPLETED",
        created_at=T0,
        size_bytes=100 * 2**30,
        size_basis="VolumeSize(upper-bound)",
        storage_class="warm",
        encrypted=False,
        _size_exact=False,
        _native_volume_id="vol-0abc",
    )
    row.update(kw)
    return row


def _backup_rp(arn=SNAP_NATIVE, **kw):
    row = dict(
        account_id=A,
        region="us-east-1",
        recovery_point_arn=arn,
        resource_arn=VOL,
        source="aws-backup",
        created_by="aws-backup",
        status="COMPLETED",
        created_at=T0,
        size_bytes=7 * 2**30,
        size_basis="BackupSizeInBytes",
        storage_class="warm",
        delete_at=T0 + timedelta(days=35),
        encrypted=True,
        kms_key_arn="arn:aws:kms:us-east-1:111122223333:key/k",
        vault_name="gold",
        vault_arn="arn:aws:backup:us-east-1:111122223333:backup-vault:gold",
        backup_plan_id="p1",
        backup_rule_id="r1",
        _backup_resource_type="EBS",
        _origin="backup",
    )
    row.update(kw)
    return row


def test_merge_key_ignores_the_account_field():
    keys = merge_key(pd.Series([f"arn:aws:ec2:us-east-1:{A}:snapshot/snap-1", SNAP_NATIVE]))
    assert keys[0] == keys[1] == SNAP_NATIVE


def test_resource_types_from_arns():
    arns = pd.Series(
        [
            VOL,
            f"arn:aws:rds:eu-west-1:{A}:db:x",
            f"arn:aws:rds:eu-west-1:{A}:cluster:c",
            f"arn:aws:dynamodb:us-east-1:{A}:table/t",
            f"arn:aws:elasticfilesystem:us-east-1:{A}:file-system/fs-1",
            f"arn:aws:storagegateway:us-east-1:{A}:gateway/sgw-12AB34CD/volume/vol-12AB34CD",
            "arn:aws:s3:::bucket",
        ]
    )
    got = resource_type_from_arn(arns, pd.Series([None] * 6 + ["S3"])).tolist()
    assert got == [
        "ebs-volume",
        "rds-instance",
        "rds-cluster",
        "dynamodb-table",
        "efs-filesystem",
        "storagegateway-volume",
        "s3-bucket",  # a collected type: its ARN names it
    ]


def test_native_and_backup_listings_of_one_snapshot_become_one_row():
    inv = build_tables({"recovery_points": [_native_ebs(), _backup_rp()]})
    rps = inv["recovery_points"]
    assert len(rps) == 1
    row = rps.iloc[0]
    # Backup's view: owner, vault, plan, lifecycle, encryption; native view: type; size: Backup's
    # exact figure beats the native upper bound.
    assert (row["source"], row["created_by"], row["vault_name"], row["backup_plan_id"]) == (
        "aws-backup",
        "aws-backup",
        "gold",
        "p1",
    )
    assert row["delete_at"] == T0 + timedelta(days=35) and bool(row["encrypted"])
    assert (row["size_bytes"], row["size_basis"]) == (7 * 2**30, "BackupSizeInBytes")
    assert row["backup_type"] == "ebs-snapshot"


def test_exact_native_size_and_native_tier_win():
    native = _native_ebs(
        size_bytes=3 * 2**30,
        size_basis="FullSnapshotSizeInBytes",
        _size_exact=True,
        storage_class="archive",
    )
    row = build_tables({"recovery_points": [native, _backup_rp(storage_class="cold")]})[
        "recovery_points"
    ].iloc[0]
    assert (row["size_bytes"], row["size_basis"], row["storage_class"]) == (
        3 * 2**30,
        "FullSnapshotSizeInBytes",
        "archive",
    )


def test_cold_means_archive_for_ebs_and_nothing_for_rds_when_only_backup_lists_it():
    rds_rp = f"arn:aws:rds:us-east-1:{A}:snapshot:awsbackup:job-1"
    efs_rp = f"arn:aws:backup:us-east-1:{A}:recovery-point:abc"
    rows = [
        _backup_rp(storage_class="cold"),
        _backup_rp(
            arn=rds_rp,
            resource_arn=f"arn:aws:rds:us-east-1:{A}:db:x",
            storage_class="cold",
            _backup_resource_type="RDS",
        ),
        _backup_rp(
            arn=efs_rp,
            resource_arn=f"arn:aws:elasticfilesystem:us-east-1:{A}:file-system/fs-1",
            storage_class="cold",
            _backup_resource_type="EFS",
        ),
    ]
    rps = build_tables({"recovery_points": rows})["recovery_points"].set_index("recovery_point_arn")
    assert rps.loc[SNAP_NATIVE, "storage_class"] == "archive"
    assert (
        rps.loc[rds_rp, "storage_class"] == "warm"
        and rps.loc[rds_rp, "backup_type"] == "rds-snapshot"
    )
    assert (
        rps.loc[efs_rp, "storage_class"] == "cold"
        and rps.loc[efs_rp, "backup_type"] == "efs-backup"
    )


def test_copy_source_comes_from_copy_jobs_across_regions():
    copy = SNAP_NATIVE.replace("us-east-1", "eu-west-1").replace("snap-1", "snap-2")
    rows = [_backup_rp(), _backup_rp(arn=copy, region="eu-west-1")]
    jobs = [
        dict(
            account_id=A,
            region="us-east-1",
            job_id="c1",
            job_type="copy",
            state="COMPLETED",
            resource_arn=VOL,
            recovery_point_arn=copy,
            _copy_source_arn=SNAP_NATIVE,
            _backup_resource_type="EBS",
        )
    ]
    tables = build_tables({"recovery_points": rows, "backup_jobs": jobs})
    rps = tables["recovery_points"].set_index("recovery_point_arn")
    assert rps.loc[copy, "copy_source_arn"] == SNAP_NATIVE and pd.isna(
        rps.loc[SNAP_NATIVE, "copy_source_arn"]
    )
    assert tables["backup_jobs"].iloc[0]["resource_type"] == "ebs-volume"


def test_gateway_snapshots_are_attributed_to_their_volume():
    sgw = f"arn:aws:storagegateway:us-east-1:{A}:gateway/sgw-12AB34CD/volume/vol-12AB34CD"
    resources = [
        dict(
            account_id=A,
            region="us-east-1",
            resource_type="storagegateway-volume",
            resource_arn=sgw,
            resource_id="vol-12AB34CD",
        )
    ]
    snap = _native_ebs(
        source="native",
        created_by="user",
        resource_arn=f"arn:aws:ec2:us-east-1:{A}:volume/vol-12ab34cd",
        _native_volume_id="vol-12ab34cd",
    )
    row = build_tables({"resources": resources, "recovery_points": [snap]})["recovery_points"].iloc[
        0
    ]
    assert (row["resource_arn"], row["resource_type"]) == (sgw, "storagegateway-volume")
    assert (row["backup_type"], row["created_by"]) == ("storagegateway-snapshot", "storage-gateway")
