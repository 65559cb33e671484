"""Requirement status rules on hand-built findings."""

from __future__ import annotations

import pytest

from auditor.frameworks import load_framework, requirement_findings, requirement_status

FRAMEWORK = """
name: Test
version: "1"
source: https://example.com/test
requirements:
  - id: BACKUP
    title: Backups
    description: Backups are recent and kept.
    controls:
      - id: backup-recency
      - id: backup-retention
  - id: CRYPTO
    title: Encryption
    description: Backups are encrypted.
    controls:
      - id: backup-encrypted
        partial: Backups only.
  - id: RESTORE
    title: Restore tests
    description: Restores are tested.
    controls: []
    gap: Restore tests.
"""


@pytest.fixture
def framework(write_framework):
    return load_framework("test", [write_framework("test", FRAMEWORK)])


def _status(framework, findings) -> dict[str, str]:
    table = requirement_status(framework, findings)
    return dict(zip(table["requirement_id"], table["status"]))


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([("backup-recency", "PASS"), ("backup-retention", "PASS")], "met"),
        ([("backup-recency", "PASS"), ("backup-retention", "FAIL")], "not met"),
        ([("backup-recency", "NOT_ASSESSED"), ("backup-retention", "PASS")], "unknown"),
        # a FAIL outweighs what could not be assessed
        ([("backup-recency", "NOT_ASSESSED"), ("backup-retention", "FAIL")], "not met"),
        # WAIVED counts as passing for the requirement
        ([("backup-recency", "WAIVED"), ("backup-retention", "PASS")], "met"),
        ([("backup-recency", "WAIVED")], "met"),
        # NOT_APPLICABLE findings are no evidence either way
        ([("backup-recency", "NOT_APPLICABLE"), ("backup-retention", "PASS")], "met"),
        ([("backup-recency", "NOT_APPLICABLE")], "not applicable"),
        ([], "not applicable"),
        # findings of controls the requirement does not list change nothing
        ([("backup-encrypted", "FAIL"), ("orphaned-backup", "FAIL")], "not applicable"),
    ],
)
def test_status_rules(framework, make_findings, rows, expected):
    assert _status(framework, make_findings(rows))["BACKUP"] == expected


def test_requirement_without_controls_is_no_evidence_never_met(framework, make_findings):
    findings = make_findings([(c, "PASS") for c in ("backup-recency", "backup-encrypted")])
    status = _status(framework, findings)
    assert status == {"BACKUP": "met", "CRYPTO": "met", "RESTORE": "no evidence"}
    assert _status(framework, make_findings([]))["RESTORE"] == "no evidence"


def test_counts_per_requirement(framework, make_findings):
    findings = make_findings(
        [
            ("backup-recency", "PASS"),
            ("backup-recency", "FAIL"),
            ("backup-retention", "WAIVED"),
            ("backup-retention", "NOT_APPLICABLE"),
            ("backup-encrypted", "NOT_ASSESSED"),
        ]
    )
    table = requirement_status(framework, findings).set_index("requirement_id")
    assert table.loc[
        "BACKUP", ["FAIL", "NOT_ASSESSED", "WAIVED", "PASS", "NOT_APPLICABLE"]
    ].tolist() == [1, 0, 1, 1, 1]
    assert table.loc["BACKUP", "total"] == 4
    assert table.loc["CRYPTO", "status"] == "unknown"
    assert table.loc["CRYPTO", "coverage"] == "partial"
    assert table.loc["BACKUP", "coverage"] == "full"
    assert table.loc["RESTORE", "total"] == 0


def test_categorical_columns_give_the_same_status(framework, make_findings):
    findings = make_findings([("backup-recency", "PASS"), ("backup-retention", "FAIL")])
    compact = findings.astype({"control_id": "category", "status": "category"})
    assert _status(framework, compact) == _status(framework, findings)


def test_listed_findings_are_failing_unknown_and_waived_worst_first(framework, make_findings):
    findings = make_findings(
        [
            ("backup-recency", "PASS"),
            ("backup-retention", "WAIVED"),
            ("backup-recency", "FAIL"),
            ("backup-encrypted", "NOT_ASSESSED"),
            ("backup-encrypted", "NOT_APPLICABLE"),
        ]
    )
    listed = requirement_findings(framework, findings)
    assert list(zip(listed["requirement_id"], listed["status"])) == [
        ("BACKUP", "FAIL"),
        ("BACKUP", "WAIVED"),
        ("CRYPTO", "NOT_ASSESSED"),
    ]
