"""backup-encrypted, vault-lock, cross-region-copy, cross-account-copy, backup-supported, orphaned-backup."""

from __future__ import annotations

import pytest

# --- backup-encrypted ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encrypted_flag, backups, accept, expected",
    [
        ("false", [dict(encrypted=False)], None, "NOT_APPLICABLE"),
        ("true", [dict(encrypted=True), dict(encrypted=True, age_hours=30)], None, "PASS"),
        ("true", [dict(encrypted=True), dict(encrypted=False, age_hours=30)], None, "FAIL"),
        # an unencrypted copy in another region is still an unencrypted backup
        (
            "true",
            [dict(encrypted=True), dict(encrypted=False, region="us-west-2", copy_of="arn:x")],
            None,
            "FAIL",
        ),
        # a native snapshot the plan does not count is not judged
        (
            "true",
            [dict(encrypted=True), dict(encrypted=False, source="native")],
            "[aws-backup]",
            "PASS",
        ),
        (
            "true",
            [dict(encrypted=True), dict(encrypted=False, source="native")],
            "[aws-backup, native]",
            "FAIL",
        ),
        # failed backups hold no data
        ("true", [dict(encrypted=True), dict(encrypted=False, status="FAILED")], None, "PASS"),
    ],
)
def test_encrypted_table(estate, plan_policy, check, h, encrypted_flag, backups, accept, expected):
    arn = estate.resource("vol-1", tags=h.GOLD)
    for b in backups:
        b.setdefault("age_hours", 2)
        estate.backup(arn, **b)
    findings = check(
        estate, plan_policy(encrypted=encrypted_flag, accept=accept), ["backup-encrypted"]
    )
    row = h.one(findings, "backup-encrypted", arn)
    assert row["status"] == expected, row["detail"]
    if expected == "FAIL":
        assert row["evidence"]["unencrypted_backups"] == 1
        assert row["evidence"]["example"].startswith("arn:aws:backup:")


# --- vault-lock -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "vault, backup, max_retention, expected, words",
    [
        (dict(locked=True, min_days=7, max_days=400), {}, "400", "PASS", "locked"),
        (dict(locked=False), {}, "400", "FAIL", "not locked"),
        (dict(locked=True, min_days=1, max_days=30), {}, "400", "FAIL", "at most 30 days"),
        (dict(locked=True, min_days=500, max_days=900), {}, "400", "FAIL", "at least 500 days"),
        (dict(locked=True, min_days=500, max_days=900), {}, None, "PASS", "locked"),
        (dict(locked=True), dict(vault="other-vault"), "400", "FAIL", "not in the inventory"),
        (dict(locked=True), dict(source="native"), "400", "FAIL", "None of its recovery points"),
    ],
)
def test_vault_lock_table(
    estate, plan_policy, check, h, vault, backup, max_retention, expected, words
):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.vault("vault-a", **vault)
    estate.backup(arn, age_hours=2, **backup)
    pol = plan_policy(vault_lock="true", max_retention_days=max_retention)
    row = h.one(check(estate, pol, ["vault-lock"]), "vault-lock", arn)
    assert row["status"] == expected, row["detail"]
    assert words in row["detail"]


def test_vault_lock_not_required(estate, plan_policy, check, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.backup(arn, age_hours=2)
    assert (
        h.one(check(estate, plan_policy(), ["vault-lock"]), "vault-lock", arn)["status"]
        == "NOT_APPLICABLE"
    )


def test_vault_lock_one_bad_vault_fails(estate, plan_policy, check, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.vault("vault-a", locked=True)
    estate.vault("vault-b", locked=False)
    estate.backup(arn, age_hours=2, vault="vault-a")
    estate.backup(arn, age_hours=30, vault="vault-b")
    row = h.one(check(estate, plan_policy(vault_lock="true"), ["vault-lock"]), "vault-lock", arn)
    assert row["status"] == "FAIL" and "vault-b" in row["detail"]


# --- cross-region-copy / cross-account-copy ---------------------------------------------------


@pytest.mark.parametrize(
    "copies, expected",
    [
        ([dict(age_hours=20, region="us-west-2")], "PASS"),
        ([dict(age_hours=26, region="us-west-2")], "PASS"),  # exactly frequency + grace
        ([dict(age_hours=27, region="us-west-2")], "FAIL"),
        ([dict(age_hours=2, region="eu-west-1")], "FAIL"),  # wrong region
        ([dict(age_hours=2, region="us-west-2", status="FAILED")], "FAIL"),
        ([], "FAIL"),
    ],
)
def test_cross_region_table(estate, plan_policy, check, h, copies, expected):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.backup(arn, age_hours=2)
    estate.regions.add("us-west-2")  # the collection covered the copy's region
    for c in copies:
        estate.backup(
            arn, copy_of="arn:aws:backup:us-east-1:111122223333:recovery-point:src", vault="dr", **c
        )
    pol = plan_policy(copy_to="{regions: [us-west-2]}")
    row = h.one(check(estate, pol, ["cross-region-copy"]), "cross-region-copy", arn)
    assert row["status"] == expected, row["detail"]
    if expected == "FAIL":
        assert row["evidence"]["missing"] == "us-west-2"


def test_cross_region_two_regions_names_the_missing_one(estate, plan_policy, check, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.regions.update({"us-west-2", "eu-west-1"})
    estate.backup(arn, age_hours=2, region="us-west-2", copy_of="arn:x")
    pol = plan_policy(copy_to="{regions: [us-west-2, eu-west-1]}")
    row = h.one(check(estate, pol, ["cross-region-copy"]), "cross-region-copy", arn)
    assert row["status"] == "FAIL"
    assert row["evidence"]["missing"] == "eu-west-1"
    assert "eu-west-1" in row["detail"] and "us-west-2" not in row["detail"]
    assert row["evidence"]["newest_copy"]["us-west-2"] == "2026-11-26T10:00:00Z"


def test_cross_region_copy_to_a_region_not_collected_is_not_assessed(estate, plan_policy, check, h):
    # Only us-east-1 was collected: the vaults of us-west-2 were never listed, so a copy there
    # may exist. Absence of evidence is not a FAIL.
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.backup(arn, age_hours=2)
    pol = plan_policy(copy_to="{regions: [us-west-2]}")
    row = h.one(check(estate, pol, ["cross-region-copy"]), "cross-region-copy", arn)
    assert row["status"] == "NOT_ASSESSED"
    assert row["evidence"]["not_collected"] == "us-west-2"
    assert "us-west-2" in row["detail"] and "not all collected" in row["detail"]


@pytest.mark.parametrize(
    "copy_age_hours, expected",
    [(None, "NOT_ASSESSED"), (2, "PASS")],  # a copy that was seen still passes
)
def test_cross_region_copy_when_listing_backups_there_failed(
    estate, plan_policy, check, h, copy_age_hours, expected
):
    # The resource is in us-east-1; the copy's region us-west-2 was collected, but listing its
    # vault's recovery points was denied: the failure touches no us-east-1 resource, yet it may
    # hide the copy.
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.backup(arn, age_hours=2)
    estate.regions.add("us-west-2")
    if copy_age_hours is not None:
        estate.backup(arn, age_hours=copy_age_hours, region="us-west-2", copy_of="arn:x")
    estate.error(region="us-west-2", service="backup", operation="ListRecoveryPointsByBackupVault")
    pol = plan_policy(copy_to="{regions: [us-west-2]}")
    row = h.one(check(estate, pol, ["cross-region-copy"]), "cross-region-copy", arn)
    assert row["status"] == expected, row["detail"]


def test_cross_account_copy_when_listing_backups_there_failed(estate, plan_policy, check, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.backup(arn, age_hours=2)
    estate.accounts.add(h.OTHER_ACCOUNT)
    estate.error(
        account=h.OTHER_ACCOUNT, service="backup", operation="ListRecoveryPointsByBackupVault"
    )
    pol = plan_policy(copy_to=f'{{accounts: ["{h.OTHER_ACCOUNT}"]}}')
    row = h.one(check(estate, pol, ["cross-account-copy"]), "cross-account-copy", arn)
    assert row["status"] == "NOT_ASSESSED", row["detail"]


def test_cross_region_copy_ignores_failures_that_do_not_list_backups(estate, plan_policy, check, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.backup(arn, age_hours=2)
    estate.regions.add("us-west-2")
    estate.error(region="us-west-2", service="backup", operation="ListBackupPlans")
    pol = plan_policy(copy_to="{regions: [us-west-2]}")
    row = h.one(check(estate, pol, ["cross-region-copy"]), "cross-region-copy", arn)
    assert row["status"] == "FAIL", row["detail"]


def test_cross_region_not_required(estate, plan_policy, check, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    assert (
        h.one(check(estate, plan_policy(), ["cross-region-copy"]), "cross-region-copy", arn)[
            "status"
        ]
        == "NOT_APPLICABLE"
    )


@pytest.mark.parametrize(
    "copy_account, collected, expected",
    [
        ("444455556666", True, "PASS"),
        ("111122223333", True, "FAIL"),  # stored in the source account only
        (None, False, "NOT_ASSESSED"),  # the required account was never collected
        (None, True, "FAIL"),
    ],
)
def test_cross_account_table(estate, plan_policy, check, h, copy_account, collected, expected):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.backup(arn, age_hours=2)
    if copy_account:
        estate.backup(arn, age_hours=3, account=copy_account, copy_of="arn:x")
    if collected:
        estate.accounts.add(h.OTHER_ACCOUNT)
    pol = plan_policy(copy_to='{accounts: ["444455556666"]}')
    row = h.one(check(estate, pol, ["cross-account-copy"]), "cross-account-copy", arn)
    assert row["status"] == expected, row["detail"]


# --- backup-supported ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rtype, engine, accept, expected",
    [
        # AWS Backup has backed up Aurora clusters since 2020 ("Feature availability by resource")
        ("rds-cluster", "aurora-postgresql", "[aws-backup]", "PASS"),
        ("rds-instance", "aurora-postgresql", "[aws-backup]", "FAIL"),  # Aurora: per cluster
        ("rds-cluster", "aurora-mysql", "[aws-backup, native]", "PASS"),
        ("rds-cluster", "aurora-mysql", "[native]", "NOT_APPLICABLE"),
        ("rds-cluster", "postgres", "[aws-backup]", "PASS"),  # Multi-AZ DB cluster
        ("rds-instance", "postgres", "[aws-backup]", "PASS"),
        ("ebs-volume", None, "[aws-backup]", "PASS"),
        ("efs-filesystem", None, "[aws-backup]", "PASS"),
    ],
)
def test_supported_table(estate, plan_policy, check, h, rtype, engine, accept, expected):
    arn = estate.resource("r1", rtype=rtype, tags=h.GOLD, engine=engine)
    row = h.one(
        check(estate, plan_policy(accept=accept), ["backup-supported"]), "backup-supported", arn
    )
    assert row["status"] == expected, row["detail"]


def test_guide_profile_does_not_support_aurora(estate, policy, check, h):
    arn = estate.resource("c1", rtype="rds-cluster", tags=h.GOLD, engine="aurora-mysql")
    text = h.plan_text(accept="[aws-backup]") + "aws_backup_support_profile: guide\n"
    row = h.one(check(estate, policy(text), ["backup-supported"]), "backup-supported", arn)
    assert row["status"] == "FAIL" and "Aurora" in row["detail"]


@pytest.mark.parametrize(
    "rtype, fields, rule, managed, expected",
    [
        # RDS backups never go cold (API reference, "Lifecycle": other types ignore the setting)
        ("rds-instance", {"cold_after_days": "30", "retention_days": "365"}, None, None, "FAIL"),
        ("efs-filesystem", {"cold_after_days": "30", "retention_days": "365"}, None, None, "PASS"),
        # DynamoDB: cold storage and cross-account copy only with advanced features on
        ("dynamodb-table", {"cold_after_days": "30", "retention_days": "365"}, None, False, "FAIL"),
        ("dynamodb-table", {"cold_after_days": "30", "retention_days": "365"}, None, True, "PASS"),
        ("dynamodb-table", {"copy_to": '{accounts: ["444455556666"]}'}, None, False, "FAIL"),
        # a deployed rule moving a type without cold storage to cold
        (
            "rds-instance",
            {},
            {"move_to_cold_after_days": 30, "delete_after_days": 365},
            None,
            "FAIL",
        ),
        ("ebs-volume", {}, {"move_to_cold_after_days": 30, "delete_after_days": 365}, None, "PASS"),
        # continuous backup: RDS yes, EFS no
        ("rds-instance", {}, {"continuous_backup": True, "delete_after_days": 35}, None, "PASS"),
        ("efs-filesystem", {}, {"continuous_backup": True, "delete_after_days": 35}, None, "FAIL"),
    ],
)
def test_supported_features(estate, plan_policy, check, h, rtype, fields, rule, managed, expected):
    engine = {"engine": "postgres"} if rtype == "rds-instance" else {}
    arn = estate.resource("r1", rtype=rtype, tags=h.GOLD, **engine)
    if rule is not None:
        tags = [
            {"ConditionType": "STRINGEQUALS", "ConditionKey": "backup", "ConditionValue": "gold"}
        ]
        estate.deployed(
            {"ListOfTags": tags}, [dict(schedule_expression="cron(0 5 ? * * *)", **rule)]
        )
    if managed is not None:
        estate.add(
            "region_settings",
            account_id=h.ACCOUNT,
            region=h.REGION,
            service="DynamoDB",
            opted_in=True,
            full_management=managed,
        )
    pol = plan_policy(accept="[aws-backup]", **fields)
    row = h.one(check(estate, pol, ["backup-supported"]), "backup-supported", arn)
    assert row["status"] == expected, row["detail"]


def test_supported_matrix_is_overridable(estate, policy, check, h):
    arn = estate.resource("c1", rtype="rds-cluster", tags=h.GOLD, engine="aurora-mysql")
    text = h.plan_text(accept="[aws-backup]") + (
        "aws_backup_support:\n  - {resource_type: rds-cluster, engine_like: 'aurora*', supported: true}\n"
    )
    row = h.one(check(estate, policy(text), ["backup-supported"]), "backup-supported", arn)
    assert row["status"] == "PASS"


# --- orphaned-backup ------------------------------------------------------------------------------


def test_orphans_per_backup(estate, plan_policy, check, h):
    live = estate.resource("vol-live", tags=h.GOLD)
    estate.backup(live, age_hours=2)
    gone = "arn:aws:ec2:us-east-1:111122223333:volume/vol-gone"
    a = estate.backup(gone, age_hours=100, source="native", size_gib=50)
    b = estate.backup(gone, age_hours=200, source="native", status="EXPIRED")
    estate.backup(gone, age_hours=5, status="FAILED")  # holds no data: not reported
    estate.backup(gone, age_hours=5, status="DELETING")
    elsewhere = "arn:aws:ec2:ap-south-1:111122223333:volume/vol-x"  # region never collected
    c = estate.backup(elsewhere, age_hours=5)
    findings = check(estate, plan_policy(), ["orphaned-backup"])
    got = h.verdicts(findings, "orphaned-backup")
    assert got == {(a, None): "FAIL", (b, None): "FAIL", (c, None): "NOT_ASSESSED"}
    row = h.one(findings, "orphaned-backup", a, None)
    assert row["evidence"]["source_resource_arn"] == gone
    assert row["evidence"]["size_gb"] == 50.0
    assert "no longer exists" in row["detail"]


def test_orphans_not_assessed_when_source_listing_failed(estate, plan_policy, check, h):
    gone = "arn:aws:ec2:us-east-1:111122223333:volume/vol-gone"
    rp = estate.backup(gone, age_hours=100)
    estate.error(affects="ebs-volume")
    findings = check(estate, plan_policy(), ["orphaned-backup"])
    assert h.verdicts(findings, "orphaned-backup") == {(rp, None): "NOT_ASSESSED"}


def test_orphan_waiver_by_recovery_point(estate, policy, check, h):
    gone = "arn:aws:ec2:us-east-1:111122223333:volume/vol-gone"
    rp = estate.backup(gone, age_hours=100)
    text = (
        h.plan_text()
        + f"waivers:\n  - {{resource: '{rp}', controls: [orphaned-backup], reason: legal hold, expires: 2030-01-01}}\n"
    )
    findings = check(estate, policy(text), ["orphaned-backup"])
    assert h.verdicts(findings, "orphaned-backup") == {(rp, None): "WAIVED"}


def test_cross_account_copy_to_a_failed_account_is_not_assessed(estate, plan_policy, check, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.backup(arn, age_hours=2)
    estate.accounts.add(h.OTHER_ACCOUNT)
    inventory = estate.inventory()
    inventory.manifest["accounts_failed"] = [h.OTHER_ACCOUNT]
    from auditor.controls import check_inventory

    findings = check_inventory(
        inventory,
        plan_policy(copy_to='{accounts: ["444455556666"]}'),
        h.AS_OF,
        controls=["cross-account-copy"],
    )
    assert h.one(findings, "cross-account-copy", arn)["status"] == "NOT_ASSESSED"
