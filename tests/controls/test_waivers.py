"""One waiver rule everywhere: `Waiver.matches` in the engine, plan-check, `validate` and the report.

The documented expiry: ``expires: 2027-01-31`` applies through the end of that day UTC; a time
applies until that instant, exclusive.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from auditor.plancheck.evaluate import _apply_waivers
from auditor.policy.loader import lint_policies
from auditor.report.model import waivers_from_policies

NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SECOND_BEFORE = datetime(2026, 11, 26, 11, 59, 59, tzinfo=UTC)


def _waiver_text(h, expires: str, extra: str = "") -> str:
    return h.plan_text() + (
        "waivers:\n  - resource: 'arn:aws:ec2:*:volume/vol-*'\n    controls: [backup-recency]\n"
        f"    reason: migration\n    expires: {expires}\n{extra}"
    )


@pytest.mark.parametrize(
    "expires,as_of,active",
    [
        ("2026-11-26", datetime(2026, 11, 26, 23, 59, 59, tzinfo=UTC), True),
        ("2026-11-26", datetime(2026, 11, 27, 0, 0, tzinfo=UTC), False),
        ("'2026-11-26T12:00:00Z'", SECOND_BEFORE, True),
        ("'2026-11-26T12:00:00Z'", NOON, False),
    ],
)
def test_expiry_boundary_agrees_everywhere(
    tmp_path, estate, policy, check, h, expires, as_of, active
):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.backup(arn, age_hours=100)
    text = _waiver_text(h, expires)
    pol = policy(text)
    waiver = pol.waivers[0]
    assert waiver.active(as_of) is active
    assert waiver.matches(arn, "backup-recency", as_of) is active
    # engine
    row = h.one(check(estate, pol, ["backup-recency"], as_of=as_of), "backup-recency", arn)
    assert row["status"] == ("WAIVED" if active else "FAIL")
    if not active:
        assert row["evidence"]["expired_waiver"].startswith("expired")
    # validate
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "p.yaml").write_text(text)
    warned = [m for m in lint_policies(tmp_path / "policies", as_of=as_of) if "expired" in str(m)]
    assert bool(warned) is not active
    # the report's waiver list
    listed = waivers_from_policies(tmp_path / "policies", as_of.isoformat().replace("+00:00", "Z"))
    assert [w["active"] for w in listed] == [active]
    # plan-check
    finding = {
        "status": "FAIL",
        "control_id": "backup-recency",
        "resource_arn": arn,
        "detail": "x",
        "evidence": {},
    }
    assert _apply_waivers(pol, [finding], as_of)[0]["status"] == ("WAIVED" if active else "FAIL")


def test_matches_resource_control_and_plan(policy, h):
    pol = policy(_waiver_text(h, "2030-01-01", "    plan: p\n"))
    waiver = pol.waivers[0]
    arn = "arn:aws:ec2:us-east-1:111122223333:volume/vol-9"
    assert waiver.matches(arn, "backup-recency", NOON, "p")
    assert not waiver.matches(arn, "backup-recency", NOON, "other")
    # A waiver naming a plan covers only findings about that plan (not resource-covered's).
    assert not waiver.matches(arn, "backup-recency", NOON, None)
    assert not waiver.matches(arn, "backup-retention", NOON, "p")
    # `*` is the only wildcard: `?` and `[` are literal, as in AWS Backup's resource ARNs.
    assert not waiver.matches(
        "arn:aws:ec2:us-east-1:111122223333:snapshot/x", "backup-recency", NOON, "p"
    )
    literal = policy(
        h.plan_text()
        + "waivers:\n  - {resource: 'arn:aws:ec2:us-east-1:1:volume/v?', reason: r, expires: 2030-01-01}\n"
    ).waivers[0]
    assert literal.matches("arn:aws:ec2:us-east-1:1:volume/v?", "backup-recency", NOON)
    assert not literal.matches("arn:aws:ec2:us-east-1:1:volume/v1", "backup-recency", NOON)


def test_plan_check_waiver_for_a_plan_leaves_planless_findings(policy, h):
    pol = policy(_waiver_text(h, "2030-01-01", "    plan: p\n").replace("[backup-recency]", "[]"))
    findings = [
        {
            "status": "FAIL",
            "control_id": "resource-covered",
            "resource": "Vol",
            "file": "t.yaml",
            "resource_arn": "arn:aws:ec2:us-east-1:1:volume/vol-1",
            "detail": "x",
            "evidence": {},
        },
        {
            "status": "FAIL",
            "control_id": "plan-deployed",
            "plan": "p",
            "resource": "Vol",
            "file": "t.yaml",
            "resource_arn": "arn:aws:ec2:us-east-1:1:volume/vol-1",
            "detail": "x",
            "evidence": {},
        },
    ]
    out = _apply_waivers(pol, findings, NOON)
    assert [f["status"] for f in out] == ["FAIL", "WAIVED"]
