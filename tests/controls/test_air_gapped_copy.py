"""air-gapped-copy over hand-built inventories, and vault-lock on logically air-gapped vaults.

A logically air-gapped vault (VaultType LOGICALLY_AIR_GAPPED_BACKUP_VAULT) is locked in Vault
Lock's compliance mode from creation (AWS Backup Developer Guide, "Logically air-gapped vault").
"""

from __future__ import annotations

import pytest

LAG = "LOGICALLY_AIR_GAPPED_BACKUP_VAULT"
AIR_GAPPED = "{regions: [], accounts: [], air_gapped: true}"


def _lag_vault(estate, h, name="airgap", account=None, state="AVAILABLE", vault_type=LAG):
    account = account or h.ACCOUNT
    estate.add(
        "vaults",
        account_id=account,
        region=h.REGION,
        vault_name=name,
        vault_arn=f"arn:aws:backup:{h.REGION}:{account}:backup-vault:{name}",
        vault_type=vault_type,
        vault_state=state,
        locked=True,
        min_retention_days=7,
        max_retention_days=365,
        lock_date=None,
    )


@pytest.mark.parametrize(
    "copy_age_hours, vault_type, state, expected",
    [
        (5, LAG, "AVAILABLE", "PASS"),
        (30, LAG, "AVAILABLE", "FAIL"),  # older than frequency 24h + grace 2h
        (5, "BACKUP_VAULT", "AVAILABLE", "FAIL"),  # an ordinary vault is not air-gapped
        (5, "RESTORE_ACCESS_BACKUP_VAULT", "AVAILABLE", "FAIL"),  # access, not a copy
        (5, LAG, "CREATING", "FAIL"),
    ],
)
def test_air_gapped_copy_table(
    estate, plan_policy, check, h, copy_age_hours, vault_type, state, expected
):
    arn = estate.resource("vol-1", tags=h.GOLD)
    source = estate.backup(arn, 2)
    _lag_vault(estate, h, state=state, vault_type=vault_type)
    estate.backup(arn, copy_age_hours, vault="airgap", copy_of=source)
    findings = check(estate, plan_policy(copy_to=AIR_GAPPED), ["air-gapped-copy"])
    row = h.one(findings, "air-gapped-copy", arn)
    assert row["status"] == expected, row["detail"]
    if expected == "PASS":
        assert "airgap" in row["detail"]


def test_not_applicable_without_the_setting(estate, plan_policy, check, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.backup(arn, 2)
    findings = check(estate, plan_policy(), ["air-gapped-copy"])
    assert h.one(findings, "air-gapped-copy", arn)["status"] == "NOT_APPLICABLE"


def test_a_copy_in_another_accounts_shared_vault_counts(estate, plan_policy, check, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    _lag_vault(estate, h, account=h.OTHER_ACCOUNT)
    estate.backup(arn, 3, vault="airgap", account=h.OTHER_ACCOUNT, copy_of="arn:src")
    findings = check(estate, plan_policy(copy_to=AIR_GAPPED), ["air-gapped-copy"])
    assert h.one(findings, "air-gapped-copy", arn)["status"] == "PASS"


def test_no_visible_air_gapped_vault_says_so(estate, plan_policy, check, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.backup(arn, 2)
    findings = check(estate, plan_policy(copy_to=AIR_GAPPED), ["air-gapped-copy"])
    row = h.one(findings, "air-gapped-copy", arn)
    assert row["status"] == "FAIL"
    assert "no such vault is visible" in row["detail"]
    assert "create-logically-air-gapped-backup-vault" in row["remediation"]


def test_unlisted_vaults_are_not_assessed(estate, plan_policy, check, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.backup(arn, 2)
    estate.error(affects="*", service="backup", operation="ListBackupVaults")
    findings = check(estate, plan_policy(copy_to=AIR_GAPPED), ["air-gapped-copy"])
    assert h.one(findings, "air-gapped-copy", arn)["status"] == "NOT_ASSESSED"


def test_an_air_gapped_vault_is_a_compliance_lock_without_a_lock_date(
    estate, plan_policy, check, h
):
    arn = estate.resource("vol-1", tags=h.GOLD)
    _lag_vault(estate, h)
    estate.backup(arn, 2, vault="airgap")
    findings = check(estate, plan_policy(vault_lock="compliance"), ["vault-lock"])
    row = h.one(findings, "vault-lock", arn)
    assert row["status"] == "PASS", row["detail"]


def test_a_restore_access_vault_is_no_copy_in_its_account(estate, plan_policy, check, h):
    """A restore access vault reaches the air-gapped vault's recovery points (AWS Backup API
    reference, CreateRestoreAccessBackupVault): listed in another account, they are no copy there."""
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.backup(arn, 2)
    _lag_vault(
        estate, h, name="access", account=h.OTHER_ACCOUNT, vault_type="RESTORE_ACCESS_BACKUP_VAULT"
    )
    estate.backup(arn, 3, vault="access", account=h.OTHER_ACCOUNT, copy_of="arn:src")
    estate.accounts.add(h.OTHER_ACCOUNT)
    policies = plan_policy(copy_to=f'{{accounts: ["{h.OTHER_ACCOUNT}"]}}')
    findings = check(estate, policies, ["cross-account-copy"])
    assert h.one(findings, "cross-account-copy", arn)["status"] == "FAIL"


# Where an air-gapped copy can be: in a vault of any account and Region the run collected, its own
# or one another account shares with it through AWS RAM (ListBackupVaults with ByShared=true, then
# ListRecoveryPointsByBackupVault with BackupVaultAccountId: AWS Backup API reference; AWS Backup
# Developer Guide, "Logically air-gapped vault"). So a listing of vaults or of their recovery
# points that failed in any place may hide the copy, not only one in the resource's own place.
_HIDING = {
    "points of another account's vault": dict(
        account="444455556666", service="backup", operation="ListRecoveryPointsByBackupVault"
    ),
    "vaults of another Region": dict(
        region="us-west-2", service="backup", operation="ListBackupVaults"
    ),
    "vaults, in no one place": dict(
        account="*", region="*", service="backup", operation="ListBackupVaults"
    ),
}
# Failures elsewhere that list no vault's contents: a DynamoDB table's own backups (DynamoDB API
# reference, ListBackups), resources, or backup plans.
_UNRELATED = {
    "DynamoDB backups of another Region": dict(
        region="us-west-2", service="dynamodb", operation="ListBackups"
    ),
    "DynamoDB tables of another Region": dict(
        region="us-west-2", service="dynamodb", operation="ListTables"
    ),
    "backup plans of another account": dict(
        account="444455556666", service="backup", operation="ListBackupPlans"
    ),
}


def _run(estate, policies, h, failed_accounts=()):
    """air-gapped-copy over the estate, with `failed_accounts` as the manifest's accounts_failed."""
    from auditor.controls import check_inventory

    inventory = estate.inventory()
    inventory.manifest["accounts_failed"] = list(failed_accounts)
    return check_inventory(inventory, policies, h.AS_OF, controls=["air-gapped-copy"])


@pytest.mark.parametrize("failure", sorted(_HIDING))
@pytest.mark.parametrize("copy_age_hours", [None, 30])  # none, or only one too old
def test_a_listing_failed_elsewhere_is_not_assessed(
    estate, plan_policy, check, h, failure, copy_age_hours
):
    arn = estate.resource("vol-1", tags=h.GOLD)
    source = estate.backup(arn, 2)
    estate.accounts.add(h.OTHER_ACCOUNT)
    estate.regions.add("us-west-2")
    _lag_vault(estate, h, account=h.OTHER_ACCOUNT)
    if copy_age_hours is not None:
        estate.backup(arn, copy_age_hours, vault="airgap", account=h.OTHER_ACCOUNT, copy_of=source)
    estate.error(**_HIDING[failure])
    findings = check(estate, plan_policy(copy_to=AIR_GAPPED), ["air-gapped-copy"])
    row = h.one(findings, "air-gapped-copy", arn)
    assert row["status"] == "NOT_ASSESSED", row["detail"]
    where = _HIDING[failure]
    # the finding names the call that failed and where, in its detail and its evidence
    assert row["detail"].startswith("Not assessed: ")
    assert where["operation"] in row["detail"], row["detail"]
    assert where["operation"] in row["evidence"]["not_collected"]
    assert where["operation"] in row["evidence"]["collection_error"]


# (A failure in no one place also touches the resource's own account and Region, where the engine
# makes every verdict that reads the data NOT_ASSESSED: left out here.)
@pytest.mark.parametrize("failure", sorted(set(_HIDING) - {"vaults, in no one place"}))
def test_a_seen_recent_copy_still_passes_when_a_listing_failed_elsewhere(
    estate, plan_policy, check, h, failure
):
    arn = estate.resource("vol-1", tags=h.GOLD)
    source = estate.backup(arn, 2)
    _lag_vault(estate, h, account=h.OTHER_ACCOUNT)
    estate.backup(arn, 3, vault="airgap", account=h.OTHER_ACCOUNT, copy_of=source)
    estate.error(**_HIDING[failure])
    findings = check(estate, plan_policy(copy_to=AIR_GAPPED), ["air-gapped-copy"])
    assert h.one(findings, "air-gapped-copy", arn)["status"] == "PASS"


@pytest.mark.parametrize("failure", sorted(_UNRELATED))
def test_a_failure_that_lists_no_vault_leaves_fail(estate, plan_policy, check, h, failure):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.backup(arn, 2)
    estate.accounts.add(h.OTHER_ACCOUNT)
    estate.regions.add("us-west-2")
    estate.error(**_UNRELATED[failure])
    findings = check(estate, plan_policy(copy_to=AIR_GAPPED), ["air-gapped-copy"])
    row = h.one(findings, "air-gapped-copy", arn)
    assert row["status"] == "FAIL", row["detail"]


@pytest.mark.parametrize("with_error_row", [True, False])
def test_an_account_the_run_could_not_enter_is_not_assessed(estate, plan_policy, h, with_error_row):
    # The recovery account that owns the air-gapped vault could not be entered (its role could not
    # be assumed): its vault, not shared with the audited account, may hold the copy.
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.backup(arn, 2)
    estate.accounts.add(h.OTHER_ACCOUNT)
    if with_error_row:  # what the collector records (sts AssumeRole, in that account)
        estate.error(account=h.OTHER_ACCOUNT, region=None, service="sts", operation="AssumeRole")
    findings = _run(estate, plan_policy(copy_to=AIR_GAPPED), h, [h.OTHER_ACCOUNT])
    row = h.one(findings, "air-gapped-copy", arn)
    assert row["status"] == "NOT_ASSESSED", row["detail"]
    assert row["detail"].startswith("Not assessed: ")
    assert h.OTHER_ACCOUNT in row["detail"] and h.OTHER_ACCOUNT in row["evidence"]["not_collected"]


def test_a_seen_copy_passes_though_an_account_could_not_be_entered(estate, plan_policy, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    source = estate.backup(arn, 2)
    _lag_vault(estate, h)
    estate.backup(arn, 3, vault="airgap", copy_of=source)
    findings = _run(estate, plan_policy(copy_to=AIR_GAPPED), h, [h.OTHER_ACCOUNT])
    assert h.one(findings, "air-gapped-copy", arn)["status"] == "PASS"


def test_a_listing_failing_vault_after_vault_is_named_once(estate, plan_policy, check, h):
    # ListRecoveryPointsByBackupVault is called once per vault: one denied place fails many times.
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.backup(arn, 2)
    for _ in range(40):
        estate.error(**_HIDING["points of another account's vault"])
    findings = check(estate, plan_policy(copy_to=AIR_GAPPED), ["air-gapped-copy"])
    row = h.one(findings, "air-gapped-copy", arn)
    assert row["status"] == "NOT_ASSESSED"
    assert row["evidence"]["not_collected"].count("ListRecoveryPointsByBackupVault") == 1
