"""The vault access policy reader: does an explicit Deny of backup:DeleteRecoveryPoint bind everyone?

Cases follow the IAM User Guide ("IAM JSON policy elements reference", "Policy evaluation logic")
and the vault access policies AWS Backup documents (AWS Backup Developer Guide, "Vault access
policies"; AWS re:Post "backup-vault-access-policy": a Deny with `StringNotEquals aws:userId`
exempting named callers).
"""

from __future__ import annotations

import json

import pytest

from auditor.iampolicy import deletion_verdict

POINTS = "arn:aws:backup:us-east-1:111122223333:recovery-point:*"


def _policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _deny(**fields) -> dict:
    return {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "backup:DeleteRecoveryPoint",
        "Resource": "*",
        **fields,
    }


@pytest.mark.parametrize(
    "document, protects, kind",
    [
        (None, False, "no-policy"),
        ("", False, "no-policy"),
        ("not json", False, "invalid"),
        (_policy(_deny()), True, "denied"),
        (_policy(_deny(Principal={"AWS": "*"})), True, "denied"),
        (_policy(_deny(Principal={"AWS": ["*"]})), True, "denied"),
        # wildcards cover the action, matched case-insensitively
        (_policy(_deny(Action="backup:*")), True, "denied"),
        (_policy(_deny(Action="*")), True, "denied"),
        (_policy(_deny(Action="backup:delete*")), True, "denied"),
        (_policy(_deny(Action=["backup:DeleteBackupVault"])), False, "not-denied"),
        # NotAction denies everything but what it names
        (
            _policy({**_deny(), "NotAction": "backup:StartRestoreJob", "Action": None}),
            True,
            "denied",
        ),
        (_policy({**_deny(), "NotAction": "backup:Delete*", "Action": None}), False, "not-denied"),
        # Resource must reach every recovery point of the vault
        (_policy(_deny(Resource="arn:aws:backup:*:*:recovery-point:*")), True, "denied"),
        (
            _policy(_deny(Resource="arn:aws:backup:us-east-1:111122223333:recovery-point:abc")),
            False,
            "not-denied",
        ),
        # an Allow never protects, a Deny aimed at one principal leaves the rest free
        (_policy({**_deny(), "Effect": "Allow"}), False, "not-denied"),
        (
            _policy(_deny(Principal={"AWS": "arn:aws:iam::111122223333:role/ops"})),
            False,
            "not-denied",
        ),
        # named exceptions (Audit Manager allows IAM role exceptions)
        (
            _policy(
                _deny(
                    Condition={"StringNotEquals": {"aws:userId": ["AROAEXAMPLE:*", "111122223333"]}}
                )
            ),
            True,
            "denied-except",
        ),
        (
            _policy(
                _deny(
                    Condition={
                        "ArnNotLike": {
                            "aws:PrincipalArn": "arn:aws:iam::111122223333:role/breakglass"
                        }
                    }
                )
            ),
            True,
            "denied-except",
        ),
        # a condition on anything else cannot be evaluated without the request
        (
            _policy(_deny(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})),
            False,
            "conditional",
        ),
        (
            _policy(
                _deny(Condition={"StringEquals": {"aws:PrincipalArn": "arn:aws:iam::1:role/x"}})
            ),
            False,
            "conditional",
        ),
    ],
)
def test_deletion_verdict(document, protects, kind):
    verdict = deletion_verdict(document, POINTS)
    assert (verdict.protects, verdict.kind) == (protects, kind), verdict.reason


def test_unconditional_deny_wins_over_a_conditional_one():
    document = _policy(
        _deny(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}), _deny(Sid="All")
    )
    verdict = deletion_verdict(document, POINTS)
    assert verdict.kind == "denied"
    assert "'All'" in verdict.reason


def test_exceptions_are_named_in_the_reason():
    role = "arn:aws:iam::111122223333:role/breakglass"
    verdict = deletion_verdict(
        _policy(_deny(Condition={"ArnNotEquals": {"aws:PrincipalArn": role}})), POINTS
    )
    assert verdict.exempt == (f"aws:PrincipalArn={role}",)
    assert role in verdict.reason


def test_not_principal_deny_exempts_the_named_principals():
    role = "arn:aws:iam::111122223333:role/ops"
    statement = _deny()
    del statement["Principal"]
    statement["NotPrincipal"] = {"AWS": role}
    verdict = deletion_verdict(_policy(statement), POINTS)
    assert verdict.kind == "denied-except" and role in verdict.reason


def test_unevaluable_condition_is_said_so():
    verdict = deletion_verdict(
        _policy(_deny(Condition={"Bool": {"aws:SecureTransport": "false"}})), POINTS
    )
    assert "cannot evaluate" in verdict.reason and "aws:SecureTransport" in verdict.reason
