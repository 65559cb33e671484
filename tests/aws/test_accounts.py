"""Several accounts: the caller's own, named ones and an Organization's, entered by assuming a role."""

from __future__ import annotations

import boto3

MGMT = "123456789012"


def _org_with_members(n: int) -> list[str]:
    org = boto3.client("organizations", "us-east-1")
    org.create_organization(FeatureSet="ALL")
    ids = []
    for i in range(n):
        status = org.create_account(AccountName=f"member{i}", Email=f"m{i}@example.com")[
            "CreateAccountStatus"
        ]
        ids.append(status["AccountId"])
    return ids


def _session_in(account: str) -> boto3.Session:
    creds = boto3.client("sts", "us-east-1").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="seed"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def test_org_accounts_are_entered_and_a_failed_one_is_recorded(aws, collect, hooks):
    a, b = _org_with_members(2)
    vol = (
        _session_in(a)
        .client("ec2", "us-east-1")
        .create_volume(Size=5, AvailabilityZone="us-east-1a")["VolumeId"]
    )
    boto3.client("ec2", "us-east-1").create_volume(
        Size=1, AvailabilityZone="us-east-1a"
    )  # management's own
    hooks.deny("sts", "AssumeRole", match=lambda p: f":{b}:" in p["body"]["RoleArn"])
    inv = collect(org=True, session_factory=hooks, external_id="xid-1", role_name="AuditRole")

    res = inv.resources
    assert set(res["account_id"]) == {MGMT, a}
    assert res.loc[res["account_id"] == a, "resource_arn"].tolist() == [
        f"arn:aws:ec2:us-east-1:{a}:volume/{vol}"
    ]
    err = inv.errors
    assert len(err) == 1
    row = err.iloc[0]
    assert (row["account_id"], row["service"], row["operation"], row["affects"]) == (
        b,
        "sts",
        "AssumeRole",
        "*",
    )
    assert inv.manifest["accounts"] == sorted([MGMT, a, b]) and inv.manifest["accounts_failed"] == [
        b
    ]
    assumed = [p["body"] for s, op, p in hooks.params if op == "AssumeRole"]
    assert {p["RoleArn"] for p in assumed} == {f"arn:aws:iam::{x}:role/AuditRole" for x in (a, b)}
    assert all(p["ExternalId"] == "xid-1" for p in assumed)
    assert inv.manifest["api_calls"]["organizations:ListAccounts"] == 1


def test_named_accounts_only(aws, collect):
    a, _ = _org_with_members(2)
    _session_in(a).client("ec2", "eu-west-1").create_volume(Size=5, AvailabilityZone="eu-west-1a")
    boto3.client("ec2", "eu-west-1").create_volume(Size=1, AvailabilityZone="eu-west-1a")
    inv = collect(regions=["eu-west-1"], accounts=[a], max_workers=2)
    assert inv.errors.empty, inv.errors
    assert set(inv.resources["account_id"]) == {a}
    assert inv.manifest["accounts"] == [a]
