"""resource-covered, scope and exclusions, several plans per resource, NOT_ASSESSED and waivers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

TWO_PLANS = """
version: 1
scope:
  resource_types: [ebs-volume, rds-instance, rds-cluster]
  exclude_tags: {backup: none}
plans:
  - name: gold
    select:
      tags: {backup: gold}
    frequency: 24h
    retention_days: 35
  - name: prod
    select:
      conditions:
        string_equals: {env: prod}
      resource_types: [ebs-volume]
    frequency: 12h
    grace: 1h
    retention_days: 7
"""


def test_resource_covered_table(estate, policy, check, h):
    gold = estate.resource("vol-gold", tags={"backup": "gold"})
    both = estate.resource("vol-both", tags={"backup": "gold", "env": "prod"})
    bare = estate.resource("vol-bare")
    excluded = estate.resource("vol-none", tags={"backup": "none", "env": "prod"})
    wrong_case = estate.resource("vol-case", tags={"backup": "Gold"})
    table = estate.resource("tbl", rtype="dynamodb-table", tags={"backup": "gold"})
    member = estate.resource(
        "aurora-1",
        rtype="rds-instance",
        tags={"backup": "gold"},
        engine="aurora-mysql",
        parent_arn="arn:aws:rds:us-east-1:111122223333:cluster:c1",
    )
    rds = estate.resource("pg-1", rtype="rds-instance", tags={"env": "prod"}, engine="postgres")
    findings = check(estate, policy(TWO_PLANS), ["resource-covered"])
    got = h.verdicts(findings, "resource-covered")
    assert got == {
        (gold, None): "PASS",
        (both, None): "PASS",
        (bare, None): "FAIL",
        (excluded, None): "NOT_APPLICABLE",
        (wrong_case, None): "FAIL",  # tags are case-sensitive
        (table, None): "NOT_APPLICABLE",  # type not in scope
        (member, None): "NOT_APPLICABLE",  # Aurora instance: protected through its cluster
        (rds, None): "FAIL",  # prod plan narrows to ebs-volume
    }
    assert (
        h.one(findings, "resource-covered", both, None)["evidence"]["matched_plans"] == "gold, prod"
    )
    assert "backup=none" in h.one(findings, "resource-covered", excluded, None)["detail"]


def test_several_plans_each_evaluated(estate, policy, check, h):
    arn = estate.resource("vol-both", tags={"backup": "gold", "env": "prod"})
    estate.backup(arn, age_hours=20)  # fine for gold (24h), too old for prod (12h + 1h)
    findings = check(estate, policy(TWO_PLANS), ["backup-recency"])
    assert h.verdicts(findings, "backup-recency") == {(arn, "gold"): "PASS", (arn, "prod"): "FAIL"}


def test_excluded_resources_get_no_plan_findings(estate, policy, check, h):
    arn = estate.resource("vol-none", tags={"backup": "none", "env": "prod"})
    findings = check(estate, policy(TWO_PLANS))
    rows = findings.frame[findings.frame["resource_arn"] == arn]
    assert list(rows["control_id"]) == ["resource-covered"]


def test_empty_select_takes_everything_in_scope(estate, policy, check, h):
    a = estate.resource("vol-a")
    b = estate.resource("vol-b", tags={"x": "y"})
    pol = policy("version: 1\nplans:\n  - name: all\n    frequency: 24h\n    retention_days: 1\n")
    assert set(
        h.verdicts(check(estate, pol, ["resource-covered"]), "resource-covered").values()
    ) == {"PASS"}
    assert {a, b} <= set(check(estate, pol, ["backup-recency"]).frame["resource_arn"])


# --- NOT_ASSESSED from the errors table ---------------------------------------------------------


@pytest.mark.parametrize(
    "error, vol_status, db_status",
    [
        (dict(affects="ebs-volume"), "NOT_ASSESSED", "FAIL"),
        (dict(affects="*"), "NOT_ASSESSED", "NOT_ASSESSED"),
        (dict(affects="rds-instance,ebs-volume"), "NOT_ASSESSED", "NOT_ASSESSED"),
        (dict(affects="ebs-volume", region="eu-west-1"), "PASS", "FAIL"),
        (dict(affects="ebs-volume", account="999999999999"), "PASS", "FAIL"),
        (dict(affects="dynamodb-table"), "PASS", "FAIL"),
    ],
)
def test_not_assessed_from_errors(estate, plan_policy, check, h, error, vol_status, db_status):
    vol = estate.resource("vol-1", tags=h.GOLD)
    estate.backup(vol, age_hours=2)
    db = estate.resource("db-1", rtype="rds-instance", tags=h.GOLD, engine="postgres")
    estate.error(**error)
    findings = check(estate, plan_policy(), ["backup-recency"])
    assert h.one(findings, "backup-recency", vol)["status"] == vol_status
    assert h.one(findings, "backup-recency", db)["status"] == db_status
    if vol_status == "NOT_ASSESSED":
        row = h.one(findings, "backup-recency", vol)
        assert "DescribeSnapshots" in row["detail"] and "AccessDenied" in row["detail"]
        assert "DescribeSnapshots" in row["evidence"]["collection_error"]


def test_failed_collection_is_a_finding_of_its_own(estate, plan_policy, check, h):
    estate.error(affects="efs-filesystem", service="efs", operation="DescribeFileSystems")
    findings = check(estate, plan_policy(), ["resource-covered"])
    rows = findings.frame[findings.frame["resource_arn"].isna()]
    assert len(rows) == 1
    row = rows.iloc[0]
    assert (row["status"], row["resource_type"], row["account_id"], row["region"]) == (
        "NOT_ASSESSED",
        "efs-filesystem",
        h.ACCOUNT,
        h.REGION,
    )
    assert "DescribeFileSystems" in row["detail"]
    assert not findings.has_failures


def test_not_applicable_stays_not_applicable_under_errors(estate, plan_policy, check, h):
    vol = estate.resource("vol-1", tags=h.GOLD)
    estate.error(affects="*")
    findings = check(estate, plan_policy(), ["cross-region-copy"])
    assert h.one(findings, "cross-region-copy", vol)["status"] == "NOT_APPLICABLE"


# --- waivers -------------------------------------------------------------------------------------

WAIVED_POLICY = """
version: 1
plans:
  - name: p
    select: {{tags: {{backup: gold}}}}
    frequency: 24h
    retention_days: 35
waivers:
  - resource: {resource}
    controls: {controls}
    reason: decommissioning in December
    owner: storage@example.com
    expires: {expires}
"""


@pytest.mark.parametrize(
    "resource, controls, expires, as_of, expected",
    [
        (
            "arn:aws:ec2:us-east-1:111122223333:volume/vol-1",
            "[backup-recency]",
            "2027-01-31",
            None,
            "WAIVED",
        ),
        (
            "arn:aws:ec2:us-east-1:111122223333:volume/vol-1",
            "[backup-recency]",
            "2026-11-25",
            None,
            "FAIL",
        ),
        # a date expires at the end of that day (UTC)
        (
            "arn:aws:ec2:us-east-1:111122223333:volume/vol-1",
            "[backup-recency]",
            "2026-11-26",
            None,
            "WAIVED",
        ),
        (
            "arn:aws:ec2:us-east-1:111122223333:volume/vol-1",
            "[backup-recency]",
            "2026-11-26",
            datetime(2026, 11, 27, tzinfo=UTC),
            "FAIL",
        ),
        (
            "arn:aws:ec2:us-east-1:111122223333:volume/vol-1",
            "[backup-retention]",
            "2027-01-31",
            None,
            "FAIL",
        ),
        ("arn:aws:ec2:*:*:volume/*", "[backup-recency]", "2027-01-31", None, "WAIVED"),
        (
            "arn:aws:ec2:us-east-1:111122223333:volume/vol-2",
            "[backup-recency]",
            "2027-01-31",
            None,
            "FAIL",
        ),
        (
            "arn:aws:ec2:us-east-1:111122223333:volume/vol-1",
            "[]",
            "2027-01-31",
            None,
            "WAIVED",
        ),  # every control
    ],
)
def test_waivers(estate, policy, check, h, resource, controls, expires, as_of, expected):
    arn = estate.resource("vol-1", tags=h.GOLD)
    pol = policy(WAIVED_POLICY.format(resource=resource, controls=controls, expires=expires))
    findings = check(estate, pol, ["backup-recency"], as_of=as_of or h.AS_OF)
    row = h.one(findings, "backup-recency", arn)
    assert row["status"] == expected
    if expected == "WAIVED":
        assert row["evidence"]["waiver"]["reason"] == "decommissioning in December"
        assert "Waived until" in row["detail"]
    elif controls == "[backup-recency]" and resource.endswith("vol-1"):
        assert "expired" in row["evidence"]["expired_waiver"]


def test_waiver_never_hides_a_pass(estate, policy, check, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.backup(arn, age_hours=1)
    pol = policy(
        WAIVED_POLICY.format(resource=arn, controls="[backup-recency]", expires="2027-01-31")
    )
    assert h.one(check(estate, pol, ["backup-recency"]), "backup-recency", arn)["status"] == "PASS"


def test_summary_counts(estate, policy, check, h):
    estate.resource("vol-gold", tags={"backup": "gold"})
    estate.resource("vol-bare")
    findings = check(estate, policy(TWO_PLANS), ["resource-covered", "backup-recency"])
    s = findings.summary
    assert s["by_status"] == {"FAIL": 2, "PASS": 1}
    assert s["by_control"]["resource-covered"] == {"PASS": 1, "FAIL": 1}
    assert s["by_plan"] == {"gold": {"FAIL": 1}}
    assert s["by_account"] == {h.ACCOUNT: {"PASS": 1, "FAIL": 2}}
    assert s["by_region"] == {h.REGION: {"PASS": 1, "FAIL": 2}}
    assert findings.has_failures


def test_scope_accounts_and_regions(estate, policy, check, h):
    here = estate.resource("vol-here", tags=h.GOLD)
    west = estate.resource("vol-west", tags=h.GOLD, region="eu-west-1")
    other = estate.resource("vol-other", tags=h.GOLD, account=h.OTHER_ACCOUNT)
    text = h.plan_text().replace(
        "plans:", "scope:\n  accounts: ['111122223333']\n  regions: [us-east-1]\nplans:"
    )
    findings = check(estate, policy(text), ["resource-covered"])
    assert h.verdicts(findings, "resource-covered") == {
        (here, None): "PASS",
        (west, None): "NOT_APPLICABLE",
        (other, None): "NOT_APPLICABLE",
    }
    assert (
        "region is not in the policy's scope"
        in h.one(findings, "resource-covered", west, None)["detail"]
    )


def test_uncovered_resource_evidence_shows_its_tags_as_aws_keeps_them(estate, policy, check, h):
    """The tags shown with an uncovered resource: ordered by key, the last value of a key set
    twice (a later page of the listing wins), quotes kept, an empty value as "", at most
    MAX_TAGS_SHOWN of them; a resource without tags shows none."""
    from auditor.controls.why_not import MAX_TAGS_SHOWN

    odd = estate.resource("vol-odd", tags={"zone": "b", "Team": 'web "blue"', "empty": ""})
    estate.rows["tags"].append(
        dict(account_id=h.ACCOUNT, region=h.REGION, arn=odd, key="zone", value="c")
    )
    many = estate.resource("vol-many", tags={f"k{i:03d}": str(i) for i in range(99, -1, -1)})
    bare = estate.resource("vol-bare")
    findings = check(estate, policy(TWO_PLANS), ["resource-covered"])
    shown = h.one(findings, "resource-covered", odd, None)["evidence"]["tags"]
    assert list(shown.items()) == [("Team", 'web "blue"'), ("empty", ""), ("zone", "c")]
    many_shown = h.one(findings, "resource-covered", many, None)["evidence"]["tags"]
    assert list(many_shown) == [f"k{i:03d}" for i in range(MAX_TAGS_SHOWN)]
    assert "tags" not in h.one(findings, "resource-covered", bare, None)["evidence"]
