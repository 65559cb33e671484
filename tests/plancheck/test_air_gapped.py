"""plan-check and logically air-gapped vaults, in CloudFormation and Terraform.

AWS::Backup::LogicallyAirGappedBackupVault / aws_backup_logically_air_gapped_vault deploy a vault
locked in compliance mode from creation (AWS Backup Developer Guide, "Logically air-gapped vault").
A rule reaches it by a copy action or by TargetLogicallyAirGappedBackupVaultArn (AWS Backup API
reference, BackupRule); the latter's backups are judged against that vault.
"""

from __future__ import annotations

import json

P, F, NA = "PASS", "FAIL", "NOT_ASSESSED"
POLICY = "air_gapped/policies/isolated.yaml"


def test_cloudformation_template_is_read(pc):
    from auditor.plancheck import load_template

    template = load_template(pc.FIXTURES / "air_gapped/cfn.yaml")
    vaults = {v.key: v for v in template.vaults}
    assert vaults["AirGap"].air_gapped and vaults["AirGap"].locked is True
    assert (vaults["AirGap"].lock_min_days, vaults["AirGap"].lock_max_days) == (7, 365)
    assert not vaults["PlainVault"].air_gapped
    rules = {r.name: r for p in template.plans for r in p.rules}
    assert rules["daily-target"].air_gapped_target_ref == "AirGap"
    assert rules["daily-copy"].copies[0].destination_ref == "AirGap"
    assert rules["daily-local"].air_gapped_target is None


def test_cloudformation_verdicts(pc):
    got = pc.verdicts(pc.check("air_gapped/cfn.yaml", policies=pc.FIXTURES / POLICY))
    assert got[("CopiedVolume", "air-gapped-copy", "isolated")] == P
    assert got[("TargetedVolume", "air-gapped-copy", "isolated")] == P
    assert got[("LocalVolume", "air-gapped-copy", "isolated")] == F
    # the targeted rule's backups go to the air-gapped vault (compliance mode from creation);
    # the others land in the unlocked plain vault first
    assert got[("TargetedVolume", "vault-lock", "isolated")] == P
    assert got[("CopiedVolume", "vault-lock", "isolated")] == F
    assert got[("LocalVolume", "vault-lock", "isolated")] == F


def test_a_copy_to_a_vault_outside_the_templates_is_not_assessed(pc, write):
    text = (pc.FIXTURES / "air_gapped/cfn.yaml").read_text()
    text = text.replace(
        "DestinationBackupVaultArn: !GetAtt AirGap.BackupVaultArn",
        "DestinationBackupVaultArn: arn:aws:backup:us-east-1:210987654321:backup-vault:elsewhere",
    )
    path = write("outside.yaml", text)
    from auditor.plancheck import plan_check

    got = pc.verdicts(plan_check(pc.FIXTURES / POLICY, [path], pc.AS_OF))
    assert got[("CopiedVolume", "air-gapped-copy", "isolated")] == NA


def _res(address, rtype, values, unknown=None):
    name = address.split(".")[-1]
    pv = {
        "address": address,
        "mode": "managed",
        "type": rtype,
        "name": name,
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "schema_version": 0,
        "values": values,
        "sensitive_values": {},
    }
    rc = {
        "address": address,
        "mode": "managed",
        "type": rtype,
        "name": name,
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "change": {
            "actions": ["create"],
            "before": None,
            "after": values,
            "after_unknown": unknown or {},
            "before_sensitive": False,
            "after_sensitive": {},
        },
    }
    return pv, rc


def _cfg(address, rtype, expressions):
    return {
        "address": address,
        "mode": "managed",
        "type": rtype,
        "name": address.split(".")[-1],
        "provider_config_key": "aws",
        "expressions": expressions,
        "schema_version": 0,
    }


def _const(v):
    return {"constant_value": v}


def _rule(name, copy: bool):
    values = {
        "rule_name": name,
        "schedule": "cron(0 5 * * ? *)",
        "enable_continuous_backup": False,
        "target_vault_name": "plain",
        "recovery_point_tags": None,
        "lifecycle": [{"cold_storage_after": 0, "delete_after": 7}],
        "copy_action": [{"lifecycle": [{"cold_storage_after": 0, "delete_after": 7}]}]
        if copy
        else [],
    }
    unknown = {
        "copy_action": [{"destination_vault_arn": True, "lifecycle": [{}]}] if copy else [],
        "lifecycle": [{}],
    }
    config = {
        "rule_name": _const(name),
        "schedule": _const("cron(0 5 * * ? *)"),
        "target_vault_name": _const("plain"),
        "lifecycle": [{"delete_after": _const(7)}],
    }
    if copy:
        config["copy_action"] = [
            {
                "destination_vault_arn": {
                    "references": [
                        "aws_backup_logically_air_gapped_vault.airgap.arn",
                        "aws_backup_logically_air_gapped_vault.airgap",
                    ]
                },
                "lifecycle": [{"delete_after": _const(7)}],
            }
        ]
    return values, unknown, config


def _terraform_plan() -> dict:
    items, configs = [], []
    unk = {"arn": True, "id": True}
    for route, copy in (("copied", True), ("local", False)):
        vol = f"aws_ebs_volume.{route}"
        tags = {"backup": "isolated", "route": route}
        items.append(
            _res(vol, "aws_ebs_volume", {"size": 10, "encrypted": True, "tags": tags}, unk)
        )
        configs.append(_cfg(vol, "aws_ebs_volume", {"tags": _const(tags)}))
        values, unknown, config = _rule(f"daily-{route}", copy)
        plan = f"aws_backup_plan.{route}"
        items.append(
            _res(
                plan,
                "aws_backup_plan",
                {"name": route, "rule": [values]},
                dict(unk, rule=[unknown]),
            )
        )
        configs.append(_cfg(plan, "aws_backup_plan", {"name": _const(route), "rule": [config]}))
        sel = f"aws_backup_selection.{route}"
        tag = [{"type": "STRINGEQUALS", "key": "route", "value": route}]
        items.append(
            _res(
                sel,
                "aws_backup_selection",
                {
                    "name": route,
                    "iam_role_arn": "arn:aws:iam::111122223333:role/b",
                    "selection_tag": tag,
                    "condition": [],
                    "resources": None,
                    "not_resources": None,
                },
                {"id": True, "plan_id": True},
            )
        )
        configs.append(
            _cfg(sel, "aws_backup_selection", {"plan_id": {"references": [f"{plan}.id", plan]}})
        )
    items.append(
        _res(
            "aws_backup_vault.plain",
            "aws_backup_vault",
            {"name": "plain", "force_destroy": False},
            {"arn": True, "id": True, "kms_key_arn": True},
        )
    )
    configs.append(_cfg("aws_backup_vault.plain", "aws_backup_vault", {"name": _const("plain")}))
    items.append(
        _res(
            "aws_backup_logically_air_gapped_vault.airgap",
            "aws_backup_logically_air_gapped_vault",
            {"name": "airgap", "min_retention_days": 7, "max_retention_days": 365},
            {"arn": True, "id": True},
        )
    )
    configs.append(
        _cfg(
            "aws_backup_logically_air_gapped_vault.airgap",
            "aws_backup_logically_air_gapped_vault",
            {"name": _const("airgap")},
        )
    )
    return {
        "format_version": "1.2",
        "terraform_version": "1.9.5",
        "planned_values": {"root_module": {"resources": [p for p, _ in items]}},
        "resource_changes": [c for _, c in items],
        "configuration": {
            "provider_config": {
                "aws": {
                    "name": "aws",
                    "full_name": "registry.terraform.io/hashicorp/aws",
                    "expressions": {"region": _const("us-east-1")},
                }
            },
            "root_module": {"resources": configs},
        },
        "timestamp": "2026-11-20T10:00:00Z",
        "errored": False,
    }


def test_terraform_plan(pc, write):
    from auditor.plancheck import load_template, plan_check

    path = write("plan.json", json.dumps(_terraform_plan()))
    template = load_template(path)
    vaults = {v.key: v for v in template.vaults}
    assert vaults["aws_backup_logically_air_gapped_vault.airgap"].air_gapped
    got = pc.verdicts(plan_check(pc.FIXTURES / POLICY, [path], pc.AS_OF))
    assert got[("aws_ebs_volume.copied", "air-gapped-copy", "isolated")] == P
    assert got[("aws_ebs_volume.local", "air-gapped-copy", "isolated")] == F
