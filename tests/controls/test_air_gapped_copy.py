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
