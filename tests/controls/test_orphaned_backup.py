"""orphaned-backup uses the shared orphan detector and its `reads=` registration for failed calls."""

from __future__ import annotations

import pytest

GONE_VOLUME = "arn:aws:ec2:us-east-1:111122223333:volume/vol-gone"
GONE_TABLE = "arn:aws:dynamodb:us-east-1:111122223333:table/gone"


def _dynamodb_backup(estate, created_by: str) -> str:
    arn = estate.backup(GONE_TABLE, age_hours=30, source="native", created_by=created_by)
    estate.rows["recovery_points"][-1]["backup_type"] = "dynamodb-backup"
    return arn


def test_a_free_system_backup_of_a_deleted_table_is_no_orphan(estate, plan_policy, check, h):
    # "If you delete a table with point-in-time recovery enabled, a SYSTEM backup is automatically
    # created and is retained for 35 days (at no additional cost)" (DynamoDB API reference,
    # BackupSummary): AWS removes it on its own and it costs nothing, so nothing is to be done.
    # The collector records BackupType SYSTEM as created_by "automated", USER as "user".
    _dynamodb_backup(estate, "automated")
    user = _dynamodb_backup(estate, "user")
    findings = check(estate, plan_policy(), ["orphaned-backup"])
    assert h.verdicts(findings, "orphaned-backup") == {(user, None): "FAIL"}


@pytest.mark.parametrize(
    ("service", "operation", "expected"),
    [
        # fills the resources listing: the source may exist after all
        ("ec2", "DescribeVolumes", "NOT_ASSESSED"),
        # fills the backups listing, which this control reads
        ("ec2", "DescribeSnapshots", "NOT_ASSESSED"),
        # fills only AWS Backup plans or jobs: whether the volume exists is still known
        ("backup", "ListBackupPlans", "FAIL"),
        ("backup", "ListBackupJobs", "FAIL"),
    ],
)
def test_only_failed_calls_filling_what_it_reads_make_an_orphan_not_assessed(
    estate, plan_policy, check, h, service, operation, expected
):
    rp = estate.backup(GONE_VOLUME, age_hours=100)
    estate.error(affects="*", service=service, operation=operation)
    findings = check(estate, plan_policy(), ["orphaned-backup"])
    assert h.verdicts(findings, "orphaned-backup") == {(rp, None): expected}
    if expected == "NOT_ASSESSED":
        row = h.one(findings, "orphaned-backup", rp, None)
        assert operation in str(row["detail"]) + str(row["evidence"])


def test_the_control_and_metering_find_the_same_orphans(estate, plan_policy, check, h):
    from auditor.metering import load_prices, meter

    live = estate.resource("vol-live", tags=h.GOLD)
    estate.backup(live, age_hours=2)
    orphans = {
        estate.backup(GONE_VOLUME, age_hours=100, source="native"),
        estate.backup(GONE_VOLUME, age_hours=200, status="EXPIRED"),
        _dynamodb_backup(estate, "user"),
    }
    estate.backup(GONE_VOLUME, age_hours=5, status="FAILED")
    _dynamodb_backup(estate, "automated")
    estate.backup("arn:aws:ec2:ap-south-1:111122223333:volume/vol-x", age_hours=5)
    findings = check(estate, plan_policy(), ["orphaned-backup"])
    failed = {
        arn
        for (arn, _), status in h.verdicts(findings, "orphaned-backup").items()
        if status == "FAIL"
    }
    metered = set(meter(estate.inventory(), load_prices(), h.AS_OF).orphans["recovery_point_arn"])
    assert failed == metered == orphans


# A logically air-gapped vault can be shared with the audited account through AWS RAM (AWS Backup
# Developer Guide, "Logically air-gapped vault"); the audited account then lists it with
# ListBackupVaults ByShared=true and its recovery points with ListRecoveryPointsByBackupVault
# BackupVaultAccountId=<owner> (AWS Backup API reference). Those recovery points are kept in the
# owner's account and may be backups of the owner's own resources, which the run did not list.
THEIRS = "arn:aws:ec2:us-east-1:444455556666:volume/vol-theirs"


@pytest.mark.parametrize(("owner_collected", "expected"), [(False, "NOT_ASSESSED"), (True, "FAIL")])
def test_a_backup_in_a_vault_shared_by_an_account_not_collected_is_not_assessed(
    estate, plan_policy, check, h, owner_collected, expected
):
    rp = estate.backup(THEIRS, age_hours=100, vault="airgap", account=h.OTHER_ACCOUNT)
    if owner_collected:  # the owner's resources were listed too, and vol-theirs is not among them
        estate.accounts.add(h.OTHER_ACCOUNT)
    findings = check(estate, plan_policy(), ["orphaned-backup"])
    row = h.one(findings, "orphaned-backup", rp, None)
    assert row["status"] == expected, row["detail"]
    if expected == "NOT_ASSESSED":
        assert "not collected" in row["detail"]


def test_a_backup_in_a_vault_of_an_account_that_could_not_be_entered_is_not_assessed(
    estate, plan_policy, h
):
    # A collection lists the accounts it could not enter among its accounts as well as in
    # accounts_failed (auditor/aws/collect.py); none of their resources were listed, so whether
    # the source still exists is unknown, even with no failed call recorded.
    from auditor.controls import check_inventory
    from auditor.metering import load_prices, meter

    rp = estate.backup(THEIRS, age_hours=100, vault="airgap", account=h.OTHER_ACCOUNT)
    estate.accounts.add(h.OTHER_ACCOUNT)
    inventory = estate.inventory()
    inventory.manifest["accounts_failed"] = [h.OTHER_ACCOUNT]
    assert not len(inventory.errors)
    findings = check_inventory(inventory, plan_policy(), h.AS_OF, controls=["orphaned-backup"])
    row = h.one(findings, "orphaned-backup", rp, None)
    assert row["status"] == "NOT_ASSESSED", row["detail"]
    assert "not collected" in row["detail"]
    assert rp not in set(meter(inventory, load_prices(), h.AS_OF).orphans["recovery_point_arn"])


def test_an_orphans_monthly_cost_is_priced_with_the_runs_price_table(
    estate, plan_policy, h, tmp_path
):
    # `audit --prices FILE` merges FILE over the default table; the cost an orphan's evidence
    # shows must be the one the metering of the same run gives, not the default table's.
    import json

    from auditor.controls import check_inventory
    from auditor.metering import load_prices

    rp = estate.backup(GONE_VOLUME, age_hours=100, source="native", size_gib=100)
    table = tmp_path / "prices.yaml"
    table.write_text(
        "version: 1\ncurrency: USD\nprices:\n  us-east-1:\n    EBS:SnapshotUsage: 0.5\n"
    )

    def cost(prices) -> float:
        findings = check_inventory(
            estate.inventory(), plan_policy(), h.AS_OF, ["orphaned-backup"], prices=prices
        )
        evidence = h.one(findings, "orphaned-backup", rp, None)["evidence"]
        evidence = json.loads(evidence) if isinstance(evidence, str) else evidence
        return float(evidence["monthly_cost_usd"])

    default, mine = cost(None), cost(load_prices(table))
    assert default > 0
    # the whole snapshot is billed at the standard rate: $0.05 by default, $0.5 in the file
    assert mine == pytest.approx(default * 10, rel=0.01)
