"""Policy loading and linting: FILE:LINE messages naming the plan, merging, hostile input."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta

import pytest

from auditor.errors import PolicyError
from auditor.policy import lint_policies, load_policies

GOOD = """\
version: 1
scope:
  resource_types: [ebs-volume, rds-instance]
  exclude_tags: {backup: none}
plans:
  - name: gold
    select:
      tags: {backup: gold}
      conditions:
        string_equals: {env: prod}
      resource_types: [ebs-volume]
    frequency: cron(0 5 ? * * *)
    grace: 2h
    retention_days: 120
    max_retention_days: 400
    accept: [aws-backup, native]
    encrypted: true
    vault_lock: false
    copy_to: {regions: [us-west-2], accounts: ["222233334444"]}
    cold_after_days: 30
waivers:
  - resource: arn:aws:ec2:us-east-1:111122223333:volume/vol-0abc
    controls: [backup-recency]
    reason: decommissioning in December
    owner: storage-team@example.com
    expires: 2027-01-31
"""
AS_OF = datetime(2026, 11, 26, tzinfo=UTC)


def write(tmp_path, text, name="p.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_full_example_loads(tmp_path):
    path = write(tmp_path, GOOD)
    policy = load_policies(path)
    plan = policy.plan("gold")
    assert plan.interval == timedelta(hours=24) and plan.grace == timedelta(hours=2)
    assert plan.allowed_age == timedelta(hours=26)
    assert (plan.retention_days, plan.max_retention_days, plan.cold_after_days) == (120, 400, 30)
    assert plan.accept == ("aws-backup", "native") and plan.encrypted and not plan.vault_lock
    assert plan.copy_to.regions == ("us-west-2",) and plan.copy_to.accounts == ("222233334444",)
    assert plan.source_file == str(path) and plan.source_line == 6
    assert policy.scope.resource_types == ("ebs-volume", "rds-instance")
    assert policy.scope.exclude_tags == (("backup", "none"),)
    waiver = policy.waivers[0]
    assert waiver.controls == ("backup-recency",)
    assert waiver.active(datetime(2027, 1, 31, 23, 59, tzinfo=UTC))
    assert not waiver.active(datetime(2027, 2, 1, tzinfo=UTC))
    assert lint_policies(path, as_of=AS_OF) == []


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (
            "    grace: 2h\n",
            "    grace: 2h\n    frequncy: 1h\n",
            ":14: plan 'gold': unknown field 'frequncy'",
        ),
        (
            "    retention_days: 120\n",
            "",
            ":6: plan 'gold': missing required field 'retention_days'",
        ),
        (
            "    retention_days: 120\n",
            "    retention_days: thirty\n",
            ":14: plan 'gold': 'retention_days' must be integer",
        ),
        (
            "    retention_days: 120\n",
            "    retention_days: 0\n",
            ":14: plan 'gold': 'retention_days' must be >= 1",
        ),
        (
            "    encrypted: true\n",
            "    encrypted: maybe\n",
            ":17: plan 'gold': 'encrypted' must be boolean",
        ),
        (
            "tags: {backup: gold}",
            "tags: {backup: yes}",
            ":8: plan 'gold': 'backup': tag values must be strings (quote",
        ),
        (
            "accept: [aws-backup, native]",
            "accept: [aws-backup, tape]",
            ":16: plan 'gold': 'accept' must be one of aws-backup, native",
        ),
        ("grace: 2h", "grace: soon", ":13: plan 'gold': 'grace': must be a duration"),
        (
            "frequency: cron(0 5 ? * * *)",
            "frequency: cron(0 5 30 2 ? *)",
            ":12: plan 'gold': frequency: 'cron(0 5 30 2 ? *)' never fires",
        ),
        (
            "frequency: cron(0 5 ? * * *)",
            "frequency: sometimes",
            ":12: plan 'gold': frequency: 'sometimes' is not a schedule",
        ),
        (
            "max_retention_days: 400",
            "max_retention_days: 30",
            ":15: plan 'gold': max_retention_days (30) is below retention_days (120)",
        ),
        (
            "cold_after_days: 30",
            "cold_after_days: 0",
            ":20: plan 'gold': 'cold_after_days' must be >= 1",
        ),
        (
            "resource_types: [ebs-volume]",
            "resource_types: [ebs-volumes]",
            ":11: plan 'gold': unknown resource type 'ebs-volumes'",
        ),
        (
            "resource_types: [ebs-volume, rds-instance]",
            "resource_types: [ebs-snapshot]",
            ":3: scope: unknown resource type 'ebs-snapshot'",
        ),
        (
            'accounts: ["222233334444"]',
            "accounts: [222233334444]",
            ":19: plan 'gold': 'accounts' must be a string, got 222233334444 (quote it)",
        ),
        (
            "controls: [backup-recency]",
            "controls: [backup-freshness]",
            ":23: waiver #1 (arn:aws:ec2:us-east-1:111122223333:volume/vol-0abc): unknown control 'backup-freshness'",
        ),
        (
            "expires: 2027-01-31",
            "expires: next year",
            ":26: waiver #1: 'expires': 'expires' must be a date",
        ),
        ("version: 1", "version: 2", ":1: 'version' must be 1"),
        (
            "  - name: gold\n",
            "  - name: gold plan\n",
            ":6: plan 'gold plan': 'name': a plan name is",
        ),
    ],
)
def test_errors_name_file_line_and_plan(tmp_path, old, new, expected):
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(PolicyError) as err:
        load_policies(path, as_of=AS_OF)
    message = str(err.value)
    assert message.startswith(f"{path}{expected}"), message
    assert "\n" not in message
    assert err.value.exit_code == 2


def test_cold_storage_needs_90_days_before_deletion(tmp_path):
    path = write(
        tmp_path,
        GOOD.replace("cold_after_days: 30", "cold_after_days: 60", 1).replace(
            "retention_days: 120", "retention_days: 149"
        ),
    )
    with pytest.raises(
        PolicyError,
        match=r":20: plan 'gold': cold_after_days \(60\) must be at least 90 days before deletion",
    ):
        load_policies(path)
    path = write(tmp_path, GOOD)
    assert load_policies(path).plan("gold").cold_after_days == 30


def test_lint_reports_every_problem_and_warnings(tmp_path):
    text = GOOD.replace("expires: 2027-01-31", "expires: 2026-01-31").replace(
        "max_retention_days: 400", "max_retention_days: 30"
    )
    text += "  - {resource: 'arn:aws:rds:*', reason: old, expires: 2025-05-01}\n"
    messages = lint_policies(write(tmp_path, text), as_of=AS_OF)
    assert sorted((m.level, m.line) for m in messages) == [
        ("error", 15),
        ("warning", 26),
        ("warning", 27),
    ], [str(m) for m in messages]
    assert any(
        "expired on 2026-01-31" in str(m) and str(m).count("warning: ") == 1 for m in messages
    )


def test_folder_merges_and_skips_other_yaml(tmp_path):
    write(tmp_path, GOOD, "a.yaml")
    write(
        tmp_path,
        "version: 1\nplans:\n  - name: silver\n    frequency: 7d\n    retention_days: 90\n",
        "b.yml",
    )
    write(tmp_path, "version: 1\ncurrency: USD\nprices: {us-east-1: {x: 1}}\n", "prices.yaml")
    policy = load_policies(tmp_path)
    assert [p.name for p in policy.plans] == ["gold", "silver"]
    assert len(policy.source_files) == 2 and policy.scope.exclude_tags == (("backup", "none"),)


def test_duplicate_plan_across_files(tmp_path):
    write(tmp_path, GOOD, "a.yaml")
    b = write(
        tmp_path,
        "version: 1\nplans:\n  - name: silver\n    frequency: 7d\n    retention_days: 9\n"
        "  - name: gold\n    frequency: 7d\n    retention_days: 9\n",
        "b.yaml",
    )
    with pytest.raises(PolicyError) as err:
        load_policies(tmp_path)
    assert str(err.value).startswith(
        f"{b}:6: plan 'gold': plan name used twice (first at {tmp_path / 'a.yaml'}:6)"
    )


def test_scope_defined_twice(tmp_path):
    write(tmp_path, GOOD, "a.yaml")
    b = write(tmp_path, "version: 1\nscope: {resource_types: [ebs-volume]}\n", "b.yaml")
    with pytest.raises(PolicyError, match=f"{b}:2: scope: scope is already defined"):
        load_policies(tmp_path)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("version: 1\nplans:\n  - name: a\n    frequency: [24h\n", ":5: invalid YAML"),
        ("version: 1\nplans: []\nplans: []\n", ":3: duplicate key 'plans'"),
        ("- just\n- a list\n", ":1: a policy file must be a mapping"),
        ("", ":1: a policy file must be a mapping"),
        (
            "version: 1\nwaivers:\n  - {resource: x, reason: r, expires: 2027-01-31, extra: 1}\n",
            ":3: waiver #1: unknown field 'extra'",
        ),
    ],
)
def test_malformed_files(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(PolicyError) as err:
        load_policies(path)
    assert str(err.value).startswith(f"{path}{expected}"), str(err.value)


def test_yaml_bomb_and_huge_file_refused(tmp_path):
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
    prev = "a"
    for level in "bcdefghij":
        bomb += f"{level}: &{level} [" + ",".join([f"*{prev}"] * 9) + "]\n"
        prev = level
    with pytest.raises(PolicyError, match="YAML bomb"):
        load_policies(write(tmp_path, bomb, "bomb.yaml"))
    huge = write(tmp_path, "version: 1\n" + "#" * (1 << 20) + "\n", "huge.yaml")
    with pytest.raises(PolicyError, match="limited to 1048576 bytes"):
        load_policies(huge)


def test_missing_path_and_empty_folder(tmp_path):
    with pytest.raises(PolicyError, match="no such file or folder"):
        load_policies(tmp_path / "nope.yaml")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PolicyError, match="no policy files found"):
        load_policies(tmp_path / "empty")


def test_lint_lists_problems_of_every_plan(tmp_path):
    path = write(
        tmp_path,
        "version: 1\nplans:\n  - name: x\n    frequency: 24h\n    retention_days: 3\n    frequncy: 1\n"
        "  - name: y\n    frequency: 24h\n    retention_days: 30\n    max_retention_days: 2\n",
    )
    messages = lint_policies(path)
    assert [(m.line, m.subject) for m in messages] == [(6, "plan 'x'"), (10, "plan 'y'")]
