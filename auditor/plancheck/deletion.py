"""deletion-protected before deployment: the vaults a plan's rules write to deny early deletion.

A vault a template deploys protects its recovery points when its lock becomes compliance mode
(CloudFormation `LockConfiguration.ChangeableForDays`, Terraform
`aws_backup_vault_lock_configuration.changeable_for_days`: "the number of days before the lock
date", after which the lock cannot be changed or removed; AWS Backup Developer Guide, "AWS Backup
Vault Lock"), or when its access policy (CloudFormation `AccessPolicy`, Terraform
`aws_backup_vault_policy.policy`) denies `backup:DeleteRecoveryPoint` to everyone, read by
`auditor.iampolicy`. Values known only at deployment give NOT_ASSESSED, never PASS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from auditor.iampolicy import deletion_verdict
from auditor.plancheck.model import DeployedPlan, DeployedRule, DeployedVault, Unknown

__all__ = ["judge_deletion_protected"]

PASS, FAIL, NOT_ASSESSED = "PASS", "FAIL", "NOT_ASSESSED"
_RANK = {FAIL: 0, NOT_ASSESSED: 1, PASS: 2}


def _rule_vault(
    rule: DeployedRule, plan: DeployedPlan, vaults: list[DeployedVault]
) -> tuple[DeployedVault | None, str | None]:
    """The vault a rule writes to, or None and why it is unknown (as vault-lock finds it)."""
    target = rule.target_vault
    if isinstance(target, Unknown) and rule.target_vault_ref is None:
        return None, f"the vault of rule {rule.name} is unknown before deployment ({target.reason})"
    found = None
    for candidate in vaults:
        if candidate.file != plan.file and rule.target_vault_ref is not None:
            continue
        if (rule.target_vault_ref is not None and candidate.key == rule.target_vault_ref) or (
            rule.target_vault_ref is None
            and isinstance(candidate.name, str)
            and candidate.name == target
        ):
            found = candidate
    if found is None:
        return None, (
            f"vault {target!s} of rule {rule.name} is not defined in the checked templates, so "
            "its protection is unknown"
        )
    return found, None


def _vault_verdict(vault: DeployedVault, region: str | None) -> tuple[str, str]:
    """(status, reason) for one deployed vault."""
    changeable = vault.lock_changeable_days
    if vault.locked is True and isinstance(changeable, int):
        return PASS, (
            f"vault {vault.key}'s lock turns to compliance mode {changeable} days after it is "
            "set (governance mode until then)"
        )
    policy = vault.access_policy
    if isinstance(policy, Unknown):
        return NOT_ASSESSED, (
            f"vault {vault.key}'s access policy is unknown before deployment ({policy.reason})"
        )
    points = f"arn:*:backup:{region or '*'}:*:recovery-point:*"
    verdict = deletion_verdict(policy, points)
    if verdict.protects:
        return PASS, f"vault {vault.key}: {verdict.reason}"
    if isinstance(vault.locked, Unknown) or isinstance(changeable, Unknown):
        return NOT_ASSESSED, f"whether vault {vault.key}'s lock becomes compliance mode is unknown"
    lock = (
        "its lock has no ChangeableForDays, so it stays in governance mode (removable)"
        if vault.locked is True
        else "it has no compliance-mode lock"
    )
    return FAIL, f"vault {vault.key} does not stop early deletion: {lock}, and {verdict.reason}"


def judge_deletion_protected(
    add: Callable[..., None],
    declared: Any,
    rules: list[tuple[DeployedPlan, DeployedRule]],
    vaults: list[DeployedVault],
    region: str | None,
) -> None:
    """deletion-protected: the worst verdict over the vaults the selecting rules write to."""
    verdicts: list[tuple[str, str, DeployedVault | None, DeployedPlan]] = []
    for plan, rule in rules:
        vault, unknown = _rule_vault(rule, plan, vaults)
        if vault is None:
            verdicts.append((NOT_ASSESSED, f"{unknown}.", None, plan))
            continue
        status, reason = _vault_verdict(vault, region)
        verdicts.append((status, f"{reason} (rule {rule.name}).", vault, plan))
    if not verdicts:
        return
    status, detail, vault, plan = min(verdicts, key=lambda v: _RANK[v[0]])
    if status == FAIL:
        detail = f"plan {declared.name} requires deletion protection: {detail}"
    add(
        "deletion-protected",
        status,
        detail[0].upper() + detail[1:],
        {"vault": vault.key if vault else None},
        line=(vault.policy_line or vault.lock_line or vault.line) if vault else plan.line,
        file=vault.file if vault else plan.file,
    )
