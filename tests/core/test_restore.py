"""Restore paths and the right delete, from AWS's documented behaviour.

- An EBS snapshot restores as an EBS volume in any Availability Zone of its Region (EC2
  CreateVolume --snapshot-id) and as a Storage Gateway cached or stored volume on premises
  (CreateCachediSCSIVolume / CreateStorediSCSIVolume take a SnapshotId); a Volume Gateway's snapshots
  are EBS snapshots and restore the same ways.
- RDS snapshots restore as a new instance, Aurora cluster snapshots as a new cluster, DynamoDB backups
  as a new table, PITR to a point in time, EFS recovery points to a new or the same file system.
- A recovery point AWS Backup made restores with StartRestoreJob too; a copy restores where it is.
- "Backups created with AWS Backup cannot be deleted with APIs belonging to the backed-up resource"
  (AWS Backup, "Deleting backups"): only DeleteRecoveryPoint removes them; a vault lock keeps them
  until their lifecycle ends, at least MinRetentionDays after creation (AWS Backup Vault Lock).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from auditor import catalog
from auditor.restore import delete_advice, newest_backup_restore, restore_paths

AS_OF = datetime(2026, 3, 1, tzinfo=UTC)
REGION = "eu-west-1"


def _row(kind: str, created_by: str = "user", **extra) -> dict:
    source = "aws-backup" if created_by == "aws-backup" else "native"
    arns = {
        "ebs-snapshot": f"arn:aws:ec2:{REGION}::snapshot/snap-0abc",
        "storagegateway-snapshot": f"arn:aws:ec2:{REGION}::snapshot/snap-0sgw",
        "rds-snapshot": f"arn:aws:rds:{REGION}:111122223333:snapshot:orders-manual",
        "rds-cluster-snapshot": f"arn:aws:rds:{REGION}:111122223333:cluster-snapshot:ledger-1",
        "rds-automated-backup": f"arn:aws:rds:{REGION}:111122223333:auto-backup:ab-1",
        "dynamodb-backup": f"arn:aws:dynamodb:{REGION}:111122223333:table/orders/backup/0161-a",
        "dynamodb-pitr": f"arn:aws:dynamodb:{REGION}:111122223333:table/orders",
        "efs-backup": f"arn:aws:backup:{REGION}:111122223333:recovery-point:1EB3B5E7",
    }
    row = {
        "account_id": "111122223333",
        "region": REGION,
        "recovery_point_arn": arns[kind],
        "resource_arn": "arn:aws:ec2:eu-west-1:111122223333:volume/vol-1",
        "backup_type": kind,
        "source": source,
        "created_by": created_by,
        "status": "COMPLETED",
        "created_at": pd.Timestamp("2026-02-20", tz="UTC"),
        "delete_at": pd.NaT,
        "vault_name": "main" if source == "aws-backup" else None,
        "copy_source_arn": None,
    }
    row.update(extra)
    return row


def _commands(paths: list[dict]) -> list[str]:
    return [p["command"] for p in paths]


def test_an_ebs_snapshot_restores_as_an_ebs_volume_or_an_on_premises_gateway_volume():
    paths = restore_paths(_row("ebs-snapshot"))
    by_target = {p["target"]: p for p in paths}
    ebs = by_target["EBS volume"]
    assert ebs["command"].startswith("aws ec2 create-volume --region eu-west-1")
    assert "--snapshot-id snap-0abc" in ebs["command"]
    assert ebs["where"] == "any Availability Zone of eu-west-1"
    cached = by_target["Storage Gateway cached volume"]
    stored = by_target["Storage Gateway stored volume"]
    assert "aws storagegateway create-cached-iscsi-volume" in cached["command"]
    assert "aws storagegateway create-stored-iscsi-volume" in stored["command"]
    assert all("--snapshot-id snap-0abc" in p["command"] for p in (cached, stored))
    assert all(p["where"].startswith("on premises") for p in (cached, stored))
    # a native snapshot is no AWS Backup recovery point: no restore job for it
    assert not any("start-restore-job" in c for c in _commands(paths))


def test_a_gateway_volume_snapshot_restores_as_an_ebs_volume():
    commands = _commands(restore_paths(_row("storagegateway-snapshot", "storage-gateway")))
    assert any(c.startswith("aws ec2 create-volume") and "snap-0sgw" in c for c in commands)
    assert any("create-cached-iscsi-volume" in c for c in commands)


@pytest.mark.parametrize(
    ("kind", "call"),
    [
        ("rds-snapshot", "aws rds restore-db-instance-from-db-snapshot"),
        ("rds-cluster-snapshot", "aws rds restore-db-cluster-from-snapshot"),
        ("rds-automated-backup", "aws rds restore-db-instance-to-point-in-time"),
        ("dynamodb-backup", "aws dynamodb restore-table-from-backup"),
        ("dynamodb-pitr", "aws dynamodb restore-table-to-point-in-time"),
        ("efs-backup", "aws backup start-restore-job"),
    ],
)
def test_each_backup_kind_names_the_call_that_restores_it(kind, call):
    created_by = "aws-backup" if kind == "efs-backup" else "user"
    paths = restore_paths(_row(kind, created_by))
    assert any(c.startswith(call) for c in _commands(paths)), _commands(paths)
    assert all(p["doc"].startswith("https://docs.aws.amazon.com/") for p in paths)
    assert all("--region eu-west-1" in c for c in _commands(paths))


def test_rds_snapshot_identifier_and_dynamodb_backup_arn_are_filled_in():
    rds = _commands(restore_paths(_row("rds-snapshot")))[0]
    assert "--db-snapshot-identifier orders-manual" in rds
    ddb = _commands(restore_paths(_row("dynamodb-backup")))[0]
    assert f"--backup-arn arn:aws:dynamodb:{REGION}:111122223333:table/orders/backup/0161-a" in ddb


def test_efs_restores_to_a_new_or_the_same_file_system():
    paths = restore_paths(_row("efs-backup", "aws-backup"))
    metadata = [p["command"].split("--metadata ", 1)[1] for p in paths]
    assert any("newFileSystem=true" in m for m in metadata)
    assert any("newFileSystem=false" in m for m in metadata)


def test_a_recovery_point_aws_backup_made_also_restores_with_a_restore_job():
    paths = restore_paths(_row("ebs-snapshot", "aws-backup"))
    job = [c for c in _commands(paths) if c.startswith("aws backup start-restore-job")]
    assert len(job) == 1
    assert "--resource-type EBS" in job[0]
    assert "--recovery-point-arn arn:aws:ec2:eu-west-1::snapshot/snap-0abc" in job[0]
    assert "--metadata availabilityZone=" in job[0]
    # the snapshot itself still restores with EC2
    assert any(c.startswith("aws ec2 create-volume") for c in _commands(paths))


def test_a_copy_restores_in_its_own_region():
    copy = _row(
        "ebs-snapshot",
        "aws-backup",
        region="us-east-1",
        recovery_point_arn="arn:aws:ec2:us-east-1::snapshot/snap-0copy",
        copy_source_arn="arn:aws:ec2:eu-west-1::snapshot/snap-0abc",
    )
    paths = restore_paths(copy)
    assert all(p["copy"] for p in paths)
    assert all("--region us-east-1" in p["command"] for p in paths)
    assert paths[0]["where"] == "any Availability Zone of us-east-1"


def test_every_collected_backup_kind_has_a_restore_path_and_a_documented_page():
    for kind in catalog.collected_backup_kinds():
        assert kind.restore_paths, kind.kind
        for path in kind.restore_paths:
            assert path.command.startswith("aws "), path
            assert path.doc.startswith("https://docs.aws.amazon.com/"), path


def _resources(*regions: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "resource_arn": [
                f"arn:aws:ec2:{r}:111122223333:volume/vol-{i}" for i, r in enumerate(regions)
            ],
            "region": list(regions),
        }
    )


def test_newest_backup_paths_and_whether_any_backup_restores_outside_the_region():
    res = _resources(REGION, REGION)
    a, b = res["resource_arn"]
    older = _row("ebs-snapshot", resource_arn=a, created_at=pd.Timestamp("2026-02-01", tz="UTC"))
    newer = _row(
        "ebs-snapshot",
        resource_arn=a,
        recovery_point_arn=f"arn:aws:ec2:{REGION}::snapshot/snap-0new",
    )
    failed = _row(
        "ebs-snapshot",
        resource_arn=a,
        status="FAILED",
        created_at=pd.Timestamp("2026-02-28", tz="UTC"),
        recovery_point_arn=f"arn:aws:ec2:{REGION}::snapshot/snap-0bad",
    )
    home = _row("ebs-snapshot", "aws-backup", resource_arn=b)
    copy = _row(
        "ebs-snapshot",
        "aws-backup",
        resource_arn=b,
        region="us-east-1",
        recovery_point_arn="arn:aws:ec2:us-east-1::snapshot/snap-0copy",
        copy_source_arn=home["recovery_point_arn"],
        created_at=pd.Timestamp("2026-02-21", tz="UTC"),
    )
    out = newest_backup_restore(pd.DataFrame([older, newer, failed, home, copy]), res)
    assert out.loc[a, "newest_backup"].endswith("snap-0new")
    assert "snap-0new" in out.loc[a, "restore_paths"]
    assert not out.loc[a, "restorable_outside"]
    assert out.loc[a, "region_note"] == "No backup can be restored outside eu-west-1."
    assert out.loc[b, "restorable_outside"]
    assert pd.isna(out.loc[b, "region_note"])


@pytest.mark.parametrize(
    ("kind", "created_by", "api"),
    [
        ("ebs-snapshot", "user", "ec2 delete-snapshot"),
        ("ebs-snapshot", "aws-backup", "backup delete-recovery-point"),
        ("storagegateway-snapshot", "storage-gateway", "ec2 delete-snapshot"),
        ("rds-snapshot", "user", "rds delete-db-snapshot"),
        ("rds-snapshot", "aws-backup", "backup delete-recovery-point"),
        ("rds-cluster-snapshot", "user", "rds delete-db-cluster-snapshot"),
        ("rds-cluster-snapshot", "aws-backup", "backup delete-recovery-point"),
        ("dynamodb-backup", "user", "dynamodb delete-backup"),
        ("dynamodb-backup", "aws-backup", "backup delete-recovery-point"),
        ("efs-backup", "aws-backup", "backup delete-recovery-point"),
    ],
)
def test_the_delete_named_is_the_one_that_works_for_who_made_the_backup(kind, created_by, api):
    advice = delete_advice(pd.DataFrame([_row(kind, created_by)]), None, AS_OF).iloc[0]
    assert advice["delete_api"] == api
    assert advice["delete_command"].startswith("aws " + api + " --region eu-west-1")
    assert advice["delete_command"] in advice["remediation"]
    if created_by == "aws-backup":
        assert "--backup-vault-name main" in advice["delete_command"]
        assert "--recovery-point-arn " in advice["delete_command"]
    assert pd.isna(advice["deletable_from"])


def test_an_automated_rds_snapshot_is_not_deleted_by_hand():
    advice = delete_advice(pd.DataFrame([_row("rds-snapshot", "automated")]), None, AS_OF).iloc[0]
    assert advice["delete_api"] == ""
    assert "retention period" in advice["remediation"]


def _vault(lock_date: str | None, min_days: int | None = 30) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "account_id": "111122223333",
                "region": REGION,
                "vault_name": "main",
                "locked": True,
                "min_retention_days": min_days,
                "lock_date": pd.Timestamp(lock_date, tz="UTC") if lock_date else pd.NaT,
            }
        ]
    )


def test_a_compliance_locked_recovery_point_cannot_be_deleted_before_its_minimum_retention():
    # created 2026-02-20, lock minimum 30 days: no deletion before 2026-03-22
    row = _row("ebs-snapshot", "aws-backup")
    advice = delete_advice(pd.DataFrame([row]), _vault("2026-01-01"), AS_OF).iloc[0]
    assert advice["deletable_from"] == pd.Timestamp("2026-03-22", tz="UTC")
    assert "before 2026-03-22" in advice["remediation"]
    assert "compliance-mode" in advice["remediation"]
    assert "backup delete-recovery-point" in advice["remediation"]


def test_a_locked_recovery_point_waits_for_its_lifecycle_when_that_is_later():
    row = _row("ebs-snapshot", "aws-backup", delete_at=pd.Timestamp("2026-06-30", tz="UTC"))
    advice = delete_advice(pd.DataFrame([row]), _vault("2026-01-01"), AS_OF).iloc[0]
    assert advice["deletable_from"] == pd.Timestamp("2026-06-30", tz="UTC")
    assert "before 2026-06-30" in advice["remediation"]


def test_a_governance_lock_says_who_can_remove_it():
    row = _row("ebs-snapshot", "aws-backup")
    advice = delete_advice(pd.DataFrame([row]), _vault("2026-12-01"), AS_OF).iloc[0]
    assert "governance mode" in advice["remediation"]
    assert "backup:DeleteBackupVaultLockConfiguration" in advice["remediation"]


def test_past_its_minimum_retention_a_locked_point_without_lifecycle_can_be_deleted():
    row = _row("ebs-snapshot", "aws-backup", created_at=pd.Timestamp("2025-12-01", tz="UTC"))
    advice = delete_advice(pd.DataFrame([row]), _vault("2026-01-01"), AS_OF).iloc[0]
    assert pd.isna(advice["deletable_from"])
    assert advice["remediation"].startswith("Delete it with aws backup delete-recovery-point")


def test_a_native_snapshot_is_not_held_by_a_vault_lock():
    advice = delete_advice(pd.DataFrame([_row("ebs-snapshot")]), _vault("2026-01-01"), AS_OF)
    assert pd.isna(advice.iloc[0]["deletable_from"])
    assert advice.iloc[0]["delete_api"] == "ec2 delete-snapshot"


def test_a_dynamodb_backup_under_aws_backup_advanced_features_restores_only_with_aws_backup():
    # With AWS Backup's advanced DynamoDB features the recovery point ARN is AWS Backup's own and
    # DynamoDB's RestoreTableFromBackup does not know it.
    row = _row(
        "dynamodb-backup",
        "aws-backup",
        recovery_point_arn=f"arn:aws:backup:{REGION}:111122223333:recovery-point:4545AEB5",
    )
    commands = _commands(restore_paths(row))
    assert commands
    assert all(c.startswith("aws backup start-restore-job") for c in commands)
    assert "--resource-type DynamoDB" in commands[0]


def test_the_newest_backup_is_the_same_from_a_checks_columns_and_from_the_rows():
    """A check hands `newest_backup_rows` the resource rows and creation times it made already,
    and its regions as categories: the answer must not depend on it (a backup with no creation
    time or no region, a copy in another region, one of no listed resource among them)."""
    from auditor.controls.context import ts_us
    from auditor.policy.columns import index_in
    from auditor.restore import newest_backup_rows

    res = _resources(REGION, REGION, REGION)
    a, b, c = res["resource_arn"]
    rows = [
        _row("ebs-snapshot", resource_arn=a, created_at=pd.Timestamp("2026-02-01", tz="UTC")),
        _row("ebs-snapshot", resource_arn=a, recovery_point_arn="arn:aws:ec2:x::snapshot/s-1"),
        _row("ebs-snapshot", resource_arn=a, created_at=pd.NaT, recovery_point_arn="s-2"),
        _row("ebs-snapshot", "aws-backup", resource_arn=b, region=None, recovery_point_arn="s-3"),
        _row("ebs-snapshot", "aws-backup", resource_arn=c, region="us-east-1"),
        _row("ebs-snapshot", resource_arn="arn:aws:ec2:eu-west-1:1:volume/vol-gone"),
    ]
    plain = pd.DataFrame(rows)
    compact = plain.astype({"region": "category", "resource_arn": "category"})
    expected = newest_backup_rows(plain, res)
    given = newest_backup_rows(
        compact,
        res,
        index_in(compact["resource_arn"], res["resource_arn"]),
        ts_us(compact["created_at"]),
    )
    assert [x.tolist() for x in given] == [x.tolist() for x in expected]
    newest, outside = expected
    assert newest.tolist() == [1, 3, 4]
    assert outside.tolist() == [False, True, True]  # a missing region is not the resource's
