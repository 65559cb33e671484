"""Logically air-gapped vaults in templates, and the air-gapped-copy verdict before deployment.

CloudFormation `AWS::Backup::LogicallyAirGappedBackupVault` (BackupVaultName, MinRetentionDays,
MaxRetentionDays: AWS CloudFormation User Guide) and Terraform `aws_backup_logically_air_gapped_vault`
(name, min_retention_days, max_retention_days: Terraform AWS provider) deploy a vault that is locked
in Vault Lock's compliance mode from creation (AWS Backup Developer Guide, "Logically air-gapped
vault"). A backup rule reaches one with a copy action whose DestinationBackupVaultArn is the vault,
or with TargetLogicallyAirGappedBackupVaultArn (AWS Backup API reference, BackupRule; Terraform's
`target_logically_air_gapped_backup_vault_arn`), which sends supported resources' backups straight
there. Such a rule's backups are judged against the air-gapped vault, not its ordinary target.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from auditor.plancheck.model import (
    DeployedPlan,
    DeployedRule,
    DeployedVault,
    Unknown,
)

AIR_GAPPED_VAULT_TYPE = "AWS::Backup::LogicallyAirGappedBackupVault"
TF_AIR_GAPPED_VAULT = "aws_backup_logically_air_gapped_vault"
# Status codes as plan-check's evaluator uses them (the controls' verdict codes).
PASS, FAIL, NOT_ASSESSED = "PASS", "FAIL", "NOT_ASSESSED"


def _int(value: Any) -> int | Unknown | None:
    if value is None or isinstance(value, Unknown):
        return value
    try:
        return int(str(value))
    except ValueError:
        return Unknown(f"{value!s} is not a number")


def _text(value: Any) -> str | Unknown | None:
    if value is None or isinstance(value, (str, Unknown)):
        return value
    return Unknown(f"{value!s} is known only after deployment")


def air_gapped_vault(path: str, line: int, key: str, props: dict) -> DeployedVault:
    """A CloudFormation LogicallyAirGappedBackupVault: locked (compliance) with its bounds."""
    return DeployedVault(
        path,
        line,
        key,
        _text(props.get("BackupVaultName")),
        None,  # encrypted by AWS Backup (an AWS owned key unless one is given)
        locked=True,
        lock_min_days=_int(props.get("MinRetentionDays")),
        lock_max_days=_int(props.get("MaxRetentionDays")),
        air_gapped=True,
    )


def air_gapped_target(value: Any) -> dict[str, Any]:
    """DeployedRule fields for a CloudFormation rule's TargetLogicallyAirGappedBackupVaultArn."""
    if value is None:
        return {}
    key = getattr(value, "logical_id", None)  # a Ref / GetAtt to a vault of this stack
    if key is not None:
        return {"air_gapped_target": key, "air_gapped_target_ref": key}
    return {"air_gapped_target": _text(value)}


def _by_key(vaults: list[DeployedVault], key: str | None, file: str) -> DeployedVault | None:
    if key is None:
        return None
    return next((v for v in vaults if v.key == key and v.file == file), None)


def rule_vault(
    rule: DeployedRule, plan: DeployedPlan, vaults: list[DeployedVault]
) -> DeployedVault | None:
    """The air-gapped vault a rule backs up into, when it names one of the template's vaults."""
    return _by_key(vaults, rule.air_gapped_target_ref, plan.file)


def _reaches(
    rule: DeployedRule, plan: DeployedPlan, vaults: list[DeployedVault]
) -> tuple[bool, Unknown | None, list[str]]:
    """(reaches an air-gapped vault, why that is unknown, the destinations looked at)."""
    seen: list[str] = []
    unknown: Unknown | None = None
    targets: list[tuple[Any, str | None]] = [
        (c.destination, c.destination_ref) for c in rule.copies
    ]
    if rule.air_gapped_target is not None:
        targets.append((rule.air_gapped_target, rule.air_gapped_target_ref))
    for written, ref in targets:
        seen.append(str(written))
        vault = _by_key(vaults, ref, plan.file)
        if vault is not None:
            if vault.air_gapped:
                return True, None, seen
            continue
        if ref is None and unknown is None:
            # An ARN outside the checked templates: its vault type is known only to AWS.
            unknown = Unknown(f"whether vault {written!s} is logically air-gapped is unknown")
    return False, unknown, seen


def judge_air_gapped_copy(
    add: Callable[..., None],
    declared: Any,
    rules: list[tuple[DeployedPlan, DeployedRule]],
    vaults: list[DeployedVault],
) -> None:
    """air-gapped-copy for one resource and declared plan, over the rules that select it."""
    if not declared.copy_to.air_gapped or not rules:
        return
    first = rules[0][0]
    looked: list[str] = []
    undecided: Unknown | None = None
    for p, r in rules:
        ok, unknown, seen = _reaches(r, p, vaults)
        looked += seen
        if ok:
            add(
                "air-gapped-copy",
                PASS,
                f"backup plan {p.name if isinstance(p.name, str) else p.key} rule {r.name} copies "
                "into a logically air-gapped vault.",
                {"destinations": looked},
                line=p.line,
                file=p.file,
            )
            return
        undecided = undecided or unknown
    if undecided is not None:
        add(
            "air-gapped-copy",
            NOT_ASSESSED,
            f"{undecided.reason} before deployment.",
            {"destinations": looked},
            line=first.line,
            file=first.file,
        )
        return
    add(
        "air-gapped-copy",
        FAIL,
        f"no rule copies into a logically air-gapped vault as plan {declared.name} requires"
        + (f" (copies go to: {', '.join(looked)})" if looked else "")
        + ".",
        {"destinations": looked},
        line=first.line,
        file=first.file,
    )
