"""`vault_lock:` in a policy: true | false | governance | compliance, and nothing else."""

from __future__ import annotations

import pytest

from auditor.errors import PolicyError


@pytest.mark.parametrize(
    "value,mode",
    [("true", "any"), ("false", None), ("governance", "governance"), ("compliance", "compliance")],
)
def test_vault_lock_values(plan_policy, value, mode):
    assert plan_policy(vault_lock=value).plans[0].vault_lock == mode


def test_unknown_vault_lock_mode_is_a_policy_error(plan_policy):
    with pytest.raises(PolicyError, match="vault_lock is true, false, governance or compliance"):
        plan_policy(vault_lock="strict")


def test_governance_lock_fails_a_compliance_plan_on_hand_built_vaults(
    estate, plan_policy, check, h
):
    arn = estate.resource("v", tags=h.GOLD)
    estate.backup(arn, age_hours=2, vault="vault-a")
    estate.vault("vault-a", locked=True)  # no lock date: governance mode
    findings = check(estate, plan_policy(vault_lock="compliance"), ["vault-lock"])
    row = h.one(findings, "vault-lock", arn)
    assert row["status"] == "FAIL"
    assert "governance mode" in row["detail"] and "requires compliance" in row["detail"]
