"""plan-check judges restore-tested from the restore testing plans/selections a template deploys.

A restore testing selection names one AWS Backup resource type and either ARNs or `*` narrowed by
tag conditions on `aws:ResourceTag/<key>`; its plan restores on its ScheduleExpression (AWS Backup
Developer Guide, "Restore testing"). The policy asks for a restore every 7 days.
"""

from __future__ import annotations

P, F, NA = "PASS", "FAIL", "NOT_ASSESSED"


def _restore_verdicts(pc, name: str, parameters: dict | None = None) -> dict[str, str]:
    result = pc.check(name, parameters=parameters, policies=pc.FIXTURES / "policies-restore")
    return {
        f["resource"]: f["status"] for f in result.findings if f["control_id"] == "restore-tested"
    }


def test_cloudformation_restore_testing(pc):
    got = _restore_verdicts(
        pc,
        "cfn/restore-testing.yaml",
        {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"},
    )
    assert got == {
        "TestedVolume": P,  # weekly selection, its tag condition holds
        "UntaggedVolume": F,  # the tag condition leaves it out
        "MonthlyDb": F,  # named by ARN, but restored monthly only
    }


def test_cloudformation_unknown_account_is_not_assessed(pc):
    # Without the deploy account the monthly selection's ARN cannot be matched: never a guess.
    got = _restore_verdicts(pc, "cfn/restore-testing.yaml")
    assert got["TestedVolume"] == P
    assert got["MonthlyDb"] == F  # found by neither ARN nor tags: no selection covers it


def test_terraform_restore_testing(pc):
    got = _restore_verdicts(pc, "tf/restore-testing.json")
    assert got == {
        "aws_ebs_volume.tested": P,
        "aws_ebs_volume.untagged": F,
        "aws_ebs_volume.monthly": F,  # traced by reference, but its plan runs monthly
    }


def test_detail_names_the_plan(pc):
    result = pc.check("tf/restore-testing.json", policies=pc.FIXTURES / "policies-restore")
    tested = next(
        f
        for f in result.findings
        if f["control_id"] == "restore-tested" and f["resource"] == "aws_ebs_volume.tested"
    )
    assert "aws_backup_restore_testing_plan.weekly" in tested["detail"]
    assert tested["evidence"]["restore_test_days"] == 7
