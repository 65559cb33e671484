"""plan-check judges deletion-protected before deployment, for CloudFormation and Terraform.

A vault protects its recovery points when its lock turns to compliance mode (ChangeableForDays /
changeable_for_days: AWS Backup Developer Guide, "AWS Backup Vault Lock") or its access policy
denies backup:DeleteRecoveryPoint to everyone (CloudFormation AWS::Backup::BackupVault AccessPolicy,
Terraform aws_backup_vault_policy). A governance-mode lock can be removed by users with the IAM
permission, and a Deny under a network condition binds only some callers.
"""

from __future__ import annotations

import pytest

P, F, NA = "PASS", "FAIL", "NOT_ASSESSED"


@pytest.mark.parametrize(
    "fixture, expected",
    [
        (
            "cfn/deletion.yaml",
            {
                "DeniedVolume": P,
                "ComplianceVolume": P,
                "GovernanceVolume": F,
                "ConditionalVolume": F,
            },
        ),
        (
            "tf/deletion.json",
            {
                "aws_ebs_volume.denied": P,
                "aws_ebs_volume.compliance": P,
                "aws_ebs_volume.governance": F,
                # the policy is known only after apply: never PASS
                "aws_ebs_volume.unknown": NA,
            },
        ),
    ],
)
def test_deletion_protected_before_deployment(pc, fixture, expected):
    result = pc.check(fixture, policies=pc.FIXTURES / "policies-deletion")
    got = {
        f["resource"]: f["status"]
        for f in result.findings
        if f["control_id"] == "deletion-protected" and f["plan"] == "protected"
    }
    assert got == expected


def test_findings_point_at_the_policy_or_lock_and_say_why(pc):
    path = pc.FIXTURES / "cfn/deletion.yaml"
    result = pc.check("cfn/deletion.yaml", policies=pc.FIXTURES / "policies-deletion")
    found = {f["resource"]: f for f in result.findings if f["control_id"] == "deletion-protected"}
    denied = found["DeniedVolume"]
    assert "statement 'DenyDeletes'" in denied["detail"]
    assert denied["line"] == pc.line_of_text(path, "AccessPolicy:")
    assert "governance mode" in found["GovernanceVolume"]["detail"]
    assert "cannot evaluate" in found["ConditionalVolume"]["detail"]
    assert "aws:SourceIp" in found["ConditionalVolume"]["detail"]


def test_plan_without_deletion_protection_is_not_judged(pc):
    result = pc.check("cfn/covered.yaml")
    assert not [f for f in result.findings if f["control_id"] == "deletion-protected"]
