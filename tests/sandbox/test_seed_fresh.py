"""seed_estate in fresh mocks: determinism, several accounts, an organization, and a larger scale."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pandas as pd
from moto import mock_aws

from auditor.sandbox import install, seed_estate, seed_organization

AS_OF = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _seed(**kwargs):
    install()
    with mock_aws():
        return seed_estate(AS_OF, **kwargs)


def test_same_seed_and_as_of_give_the_same_estate():
    a, b = _seed(seed=3), _seed(seed=3)
    for name in ("resources", "deleted_resources", "backups", "jobs", "plans", "rules", "vaults"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_like=False)
    c = _seed(seed=4)
    assert set(c.resources.resource_arn) != set(a.resources.resource_arn)


def test_the_demo_air_gapped_copy_is_the_same_in_every_run():
    # `auditor demo` is seeded: its shared air-gapped vault's copy must not get a new id per run
    from auditor.sandbox.air_gapped_demo import seed_air_gapped

    def copy_arn() -> str:
        install()
        with mock_aws():
            seed_estate(AS_OF, seed=3, regions=["us-east-1"])
            made = seed_air_gapped(AS_OF, "123456789012", "us-east-1")
        return made["copy"]["RecoveryPointArn"]

    first = copy_arn()
    assert first == copy_arn()
    assert first.startswith("arn:aws:backup:us-east-1:210987654321:recovery-point:")


def test_several_accounts_and_an_organization():
    install()
    accounts = ["123456789012", "111122223333"]
    with mock_aws():
        org = seed_organization(AS_OF, accounts)
        parts = [
            seed_estate(AS_OF, account_id=a, regions=["us-east-1"], scale=0.5) for a in accounts
        ]
        listed = {
            a["Id"]
            for a in boto3.client("organizations", region_name="us-east-1").list_accounts()[
                "Accounts"
            ]
        }
        assert listed == set(accounts)
        creds = boto3.client("sts", region_name="us-east-1").assume_role(
            RoleArn=f"arn:aws:iam::{accounts[1]}:role/{org['role_name']}", RoleSessionName="auditor"
        )["Credentials"]
        member = boto3.client(
            "backup",
            region_name="us-east-1",
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
        arns = {v["BackupVaultArn"] for v in member.list_backup_vaults()["BackupVaultList"]}
        assert arns and all(f":{accounts[1]}:" in a for a in arns)
    merged = type(parts[0]).concat(parts)
    assert set(merged.resources.account_id) == set(accounts)
    # an S3 bucket's ARN has no account field: the seeded bucket name carries it
    assert all(
        f":{acct}:" in arn or (arn.startswith("arn:aws:s3:::") and acct in arn)
        for acct, arn in zip(merged.resources.account_id, merged.resources.resource_arn)
    )


def test_scaled_estate_builds():
    e = _seed(scale=2.5, regions=("us-east-1", "eu-west-1", "us-west-2"))
    assert len(e.resources) >= 250 and len(e.backups) >= 3_000
    assert set(e.resources.region) == {"us-east-1", "eu-west-1", "us-west-2"}
