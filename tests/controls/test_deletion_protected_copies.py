"""deletion-protected over every vault that holds a resource's recovery points, copies included.

A copy kept in another region's vault counts like the original: deleting it early is as harmful.
When that vault's access policy could not be read, the verdict is NOT_ASSESSED (never PASS, and not
FAIL either: nothing says it is unprotected).
"""

from __future__ import annotations

import json

POLICY = """
version: 1
scope: {resource_types: [ebs-volume]}
plans:
  - name: p
    select: {tags: {backup: gold}}
    frequency: 24h
    retention_days: 7
    accept: [aws-backup]
    deletion_protected: true
"""
DENY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "backup:DeleteRecoveryPoint",
                "Resource": "*",
            }
        ],
    }
)
DR_REGION = "us-west-2"


def _estate(estate, h, dr_policy):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.vault("vault-a", locked=False)
    estate.vault("dr", locked=False, region=DR_REGION)
    estate.add(
        "vault_policies",
        account_id=h.ACCOUNT,
        region=h.REGION,
        vault_name="vault-a",
        has_policy=True,
        policy=DENY,
    )
    if dr_policy is not None:
        estate.add(
            "vault_policies",
            account_id=h.ACCOUNT,
            region=DR_REGION,
            vault_name="dr",
            has_policy=dr_policy is not False,
            policy=dr_policy or None,
        )
    source = estate.backup(arn, age_hours=2)
    estate.backup(arn, age_hours=1, vault="dr", region=DR_REGION, copy_of=source)
    return arn


def test_every_vault_denies_deletion(estate, policy, check, h):
    arn = _estate(estate, h, DENY)
    row = h.one(check(estate, policy(POLICY)), "deletion-protected", arn)
    assert row["status"] == "PASS", row["detail"]


def test_a_copy_in_an_open_vault_fails(estate, policy, check, h):
    arn = _estate(estate, h, False)
    row = h.one(check(estate, policy(POLICY)), "deletion-protected", arn)
    assert row["status"] == "FAIL"
    assert "dr (us-west-2)" in row["detail"] and "no access policy" in row["detail"]


def test_a_copy_whose_vault_policy_was_not_collected_is_not_assessed(estate, policy, check, h):
    arn = _estate(estate, h, None)
    row = h.one(check(estate, policy(POLICY)), "deletion-protected", arn)
    assert row["status"] == "NOT_ASSESSED"
    assert "access policy of vault dr (us-west-2) was not collected" in row["detail"]
