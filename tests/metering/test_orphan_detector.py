"""The one orphan detector (auditor.orphans) that metering and the orphaned-backup control share."""

from __future__ import annotations

import numpy as np

from auditor.inventory import frame
from auditor.orphans import (
    ORPHAN,
    SOURCE_LISTING_FAILED,
    SOURCE_NOT_COLLECTED,
    collected_pairs,
    find_orphans,
    free_system_backups,
)


def _points(mk):
    east = f"arn:aws:ec2:us-east-1:{mk.ACCT}:volume/vol-gone"
    west = f"arn:aws:ec2:us-west-2:{mk.ACCT}:volume/vol-gone"
    other = "arn:aws:ec2:us-east-1:999999999999:volume/vol-x"
    table = f"arn:aws:dynamodb:us-east-1:{mk.ACCT}:table/gone"
    recs = [
        mk.backup("ebs-snapshot", 1, resource_arn=east),  # 0 orphan
        mk.backup("ebs-snapshot", 1, resource_arn=west, region="us-west-2"),  # 1 listing failed
        mk.backup("ebs-snapshot", 1, resource_arn=other),  # 2 account not collected
        mk.backup("ebs-snapshot", 1, resource_arn="not-an-arn"),  # 3 no account/region
        mk.backup("ebs-snapshot", 1),  # 4 source exists
        mk.backup("ebs-snapshot", 1, resource_arn=east, status="FAILED"),  # 5 not eligible
        mk.backup(
            "dynamodb-backup",
            1,
            resource_arn=table,
            recovery_point_arn=f"{table}/backup/01760000000000-abcd1234",
            created_by="automated",
        ),  # 6 SYSTEM
    ]
    return frame("recovery_points", recs)


def test_verdicts_follow_what_was_collected(mk):
    rp = _points(mk)
    source_index = np.full(len(rp), -1)
    source_index[4] = 0
    errors = frame(
        "errors",
        [dict(account_id=mk.ACCT, region="us-west-2", affects="ebs-volume", message="throttled")],
    )
    collected = collected_pairs({"accounts": [mk.ACCT], "regions": ["us-east-1", "us-west-2"]})
    eligible = (rp["status"] != "FAILED").to_numpy() & ~free_system_backups(rp)
    found = find_orphans(rp, source_index, collected, errors, eligible=eligible)
    verdicts = dict(zip(found.rows.tolist(), found.verdict.tolist()))
    assert verdicts == {
        0: ORPHAN,
        1: SOURCE_LISTING_FAILED,
        2: SOURCE_NOT_COLLECTED,
        3: SOURCE_NOT_COLLECTED,
    }
    assert found.orphans.tolist() == [0]
    assert found.error.tolist()[1] == 0


def test_a_wildcard_error_covers_every_region(mk):
    rp = _points(mk)
    errors = frame("errors", [dict(account_id=mk.ACCT, region="*", affects="*", message="denied")])
    collected = collected_pairs({"accounts": [mk.ACCT], "regions": ["us-east-1", "us-west-2"]})
    found = find_orphans(rp, np.full(len(rp), -1), collected, errors)
    assert len(found.orphans) == 0


def test_collected_pairs_come_from_the_manifest_and_the_data(mk):
    resources = frame(
        "resources",
        [dict(account_id="444455556666", region="eu-west-1", resource_type="ebs-volume")],
    )
    pairs = collected_pairs(
        {"accounts": ["1"], "regions": ["us-east-1"]}, resources, pairs=[("1", "r"), ("2", "r")]
    )
    # Backups seen in account 2 (a vault it shares through AWS RAM) do not make its resources
    # collected: the manifest does not list it.
    assert pairs == {("1", "us-east-1"), ("444455556666", "eu-west-1"), ("1", "r")}
    assert collected_pairs({}, pairs=[("2", "r")]) == {("2", "r")}  # no manifest: the data


def test_system_backups_are_recognised(mk):
    assert free_system_backups(_points(mk)).tolist() == [False] * 6 + [True]
