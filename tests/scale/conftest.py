"""Fixtures for multi-account tests: member accounts whose role exists (or not) in moto's IAM.

moto's `sts.assume_role` accepts any role ARN, even one that does not exist. Real AWS refuses with
AccessDenied when the role is missing in the target account or its trust policy does not allow the
caller (e.g. a required sts:ExternalId). `role_guard` makes moto behave like that: it checks the
role exists in the target account's own IAM backend and, when its trust policy requires an
external id, that the caller passed it. Works in-process and for the threaded sandbox server
(same process, same backends).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROLE = "OrganizationAccountAccessRole"
AS_OF = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
REGIONS = ("us-east-1", "eu-west-1")
MGMT, GOOD, BAD = "123456789012", "111111111111", "222222222222"
POLICIES = Path(__file__).resolve().parents[2] / "policies"
ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def create_role(account_id: str, role_name: str = ROLE, external_id: str | None = None) -> str:
    """Create `role_name` in `account_id`'s IAM backend (trusting the management account); its ARN."""
    from moto.iam.models import iam_backends

    condition = {"StringEquals": {"sts:ExternalId": external_id}} if external_id else {}
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{MGMT}:root"},
        "Action": "sts:AssumeRole",
    }
    if condition:
        statement["Condition"] = condition
    role = iam_backends[account_id]["global"].create_role(
        role_name=role_name,
        assume_role_policy_document=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
        path="/",
        permissions_boundary=None,
        description="member account access (test)",
        tags=[],
        max_session_duration="3600",
    )
    return role.arn


def _required_external_id(role) -> str | None:
    try:
        doc = json.loads(role.assume_role_policy_document)
    except (TypeError, ValueError):
        return None
    for statement in doc.get("Statement", []):
        value = statement.get("Condition", {}).get("StringEquals", {}).get("sts:ExternalId")
        if value:
            return value
    return None


def guard_assume_role(mp: pytest.MonkeyPatch) -> list[str]:
    """Make moto's AssumeRole fail with AccessDenied unless the role exists and its trust allows it.

    Returns the list the refused role ARNs are appended to.
    """
    from moto.iam.models import iam_backends
    from moto.sts.exceptions import STSClientError
    from moto.sts.models import STSBackend

    original = STSBackend.assume_role
    refused: list[str] = []

    def guarded(self, **kwargs):
        role_arn = kwargs["role_arn"]
        account_id = role_arn.split(":")[4]
        denied = STSClientError(
            "AccessDenied",
            f"User: arn:aws:iam::{MGMT}:user/auditor is not authorized to perform: "
            f"sts:AssumeRole on resource: {role_arn}",
        )
        try:
            role = iam_backends[account_id]["global"].get_role_by_arn(role_arn)
        except Exception:
            refused.append(role_arn)
            raise denied from None
        required = _required_external_id(role)
        if required and kwargs.get("external_id") != required:
            refused.append(role_arn)
            raise denied
        return original(self, **kwargs)

    mp.setattr(STSBackend, "assume_role", guarded)
    return refused


@pytest.fixture(scope="module")
def org_estate():
    """An Organization of three accounts (MGMT, GOOD, BAD) seeded in two regions; BAD lost its role.

    Module-scoped (seeding and moto state are shared by the module's tests, which only read).
    Yields the combined ground truth (`Estate`).
    """
    from moto import mock_aws

    import auditor.sandbox

    with pytest.MonkeyPatch.context() as mp:
        for key, value in ENV.items():
            mp.setenv(key, value)
        for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_MAX_ATTEMPTS"):
            mp.delenv(key, raising=False)
        auditor.sandbox.install()
        with mock_aws():
            guard_assume_role(mp)
            auditor.sandbox.seed_organization(AS_OF, [MGMT, GOOD, BAD])
            parts = [
                auditor.sandbox.seed_estate(
                    AS_OF, seed=seed, regions=REGIONS, account_id=account, scale=0.1
                )
                for seed, account in ((7, MGMT), (8, GOOD), (9, BAD))
            ]
            # Organizations creates the role in every member (moto too); BAD's was deleted since.
            from moto.iam.models import iam_backends

            iam_backends[BAD]["global"].delete_role(ROLE)
            yield auditor.sandbox.Estate.concat(parts)


@pytest.fixture(scope="module")
def policies():
    """The example policies, loaded."""
    from auditor.policy import load_policies

    return load_policies(POLICIES, as_of=AS_OF)


@pytest.fixture
def policies_path() -> Path:
    """The example policies folder."""
    return POLICIES


@pytest.fixture
def make_role():
    """`create_role(account_id, role_name=ROLE, external_id=None)` for a test's own member account."""
    return create_role
