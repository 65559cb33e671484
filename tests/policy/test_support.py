"""The AWS Backup support matrix: AWS's feature table today, the founding guide's profile, overrides.

Expected values come from AWS's pages, not from the data file: "Feature availability by resource"
(AWS Backup Developer Guide), "Lifecycle" (API reference: types without cold storage ignore the
setting), "Copy a backup" (no copies of Multi-AZ DB cluster snapshots), "Working with supported
services" (explicit assignment skips the opt-in except for Aurora, Neptune and DocumentDB).
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest

from auditor.policy import lint_policies, load_policies
from auditor.policy.support import ADVANCED, load_support_matrix


@pytest.mark.parametrize(
    "rtype, engine, feature, expected",
    [
        ("rds-cluster", "aurora-postgresql", "backup", True),  # supported since 2020
        ("rds-cluster", "aurora-mysql", "cold_storage", False),
        ("rds-cluster", "aurora-mysql", "full_management", False),
        ("rds-cluster", "aurora-mysql", "continuous_backup", True),
        ("rds-cluster", "postgres", "cross_region_copy", False),  # Multi-AZ DB cluster
        ("rds-instance", "postgres", "continuous_backup", True),
        ("efs-filesystem", None, "cold_storage", True),
        ("efs-filesystem", None, "full_management", True),
        ("dynamodb-table", None, "cold_storage", ADVANCED),
        ("dynamodb-table", None, "cross_account_copy", ADVANCED),
        ("dynamodb-table", None, "continuous_backup", False),
        ("storagegateway-volume", None, "cold_storage", False),
        ("storagegateway-volume", None, "restore_testing", False),
        ("s3-bucket", None, "continuous_backup", True),
        ("docdb-cluster", None, "backup", True),
        ("neptune-cluster", None, "cold_storage", False),
        ("unknown-type", None, "backup", False),
    ],
)
def test_aws_profile_follows_the_feature_table(rtype, engine, feature, expected):
    assert load_support_matrix().feature_value(rtype, feature, engine) == expected


def test_guide_profile_drops_aurora_only():
    guide = load_support_matrix(profile="guide")
    assert not guide.is_supported("rds-cluster", "aurora-postgresql")
    assert "Aurora" in guide.reason_lacking("rds-cluster", "backup", "aurora-postgresql")
    assert guide.is_supported("rds-cluster", "postgres")
    assert guide.is_supported("efs-filesystem")


def test_override_rules_come_before_the_profile():
    matrix = load_support_matrix(
        [{"resource_type": "rds-cluster", "engine_like": "aurora*", "supported": True}],
        profile="guide",
    )
    assert matrix.is_supported("rds-cluster", "aurora-mysql")


def test_column_forms_agree_with_scalars():
    frame = pd.DataFrame(
        {
            "resource_type": ["rds-cluster", "rds-cluster", "dynamodb-table", "dynamodb-table"],
            "engine": ["aurora-mysql", "postgres", None, None],
        }
    )
    matrix = load_support_matrix()
    cold, reason = matrix.feature_mask(frame, "cold_storage", np.array([False, False, True, False]))
    assert list(cold) == [False, False, True, False]  # DynamoDB: only with advanced features on
    assert "advanced" in reason[3]
    assert list(matrix.service_of(frame)) == ["Aurora", "RDS", "DynamoDB", "DynamoDB"]
    assert list(matrix.opt_in_always_applies(frame)) == [True, False, False, False]


def _write(tmp_path, text):
    path = tmp_path / "p.yaml"
    path.write_text(textwrap.dedent(text))
    return path


PLAN = """\
version: 1
scope:
  resource_types: [rds-cluster, efs-filesystem]
{profile}
plans:
  - name: archive
    select: {{tags: {{backup: archive}}}}
    frequency: 24h
    retention_days: 365
    accept: [aws-backup]
{extra}
"""


def test_policy_selects_the_profile(tmp_path):
    policy = load_policies(_write(tmp_path, PLAN.format(profile="", extra="")))
    assert policy.support.profile == "aws"
    policy = load_policies(
        _write(tmp_path, PLAN.format(profile="aws_backup_support_profile: guide", extra=""))
    )
    assert policy.support.profile == "guide"
    assert not policy.support.is_supported("rds-cluster", "aurora-mysql")


def test_unknown_profile_is_a_policy_error(tmp_path):
    messages = lint_policies(
        _write(tmp_path, PLAN.format(profile="aws_backup_support_profile: latest", extra=""))
    )
    assert any(m.level == "error" and "aws_backup_support_profile" in str(m) for m in messages)


def test_validate_warns_about_features_the_types_lack(tmp_path):
    path = _write(tmp_path, PLAN.format(profile="", extra="    cold_after_days: 30"))
    warnings = [str(m) for m in lint_policies(path) if m.level == "warning"]
    # Aurora and Multi-AZ clusters have no cold storage; EFS does.
    assert len(warnings) == 1
    assert "plan 'archive'" in warnings[0] and "cold_after_days" in warnings[0]
    assert "Aurora" in warnings[0] and "EFS" not in warnings[0]


def test_validate_warns_about_aurora_under_the_guide_profile(tmp_path):
    path = _write(tmp_path, PLAN.format(profile="aws_backup_support_profile: guide", extra=""))
    warnings = [str(m) for m in lint_policies(path) if m.level == "warning"]
    assert len(warnings) == 1 and "Aurora" in warnings[0] and "accept" in warnings[0]
    assert lint_policies(_write(tmp_path, PLAN.format(profile="", extra=""))) == []


def test_no_warning_when_native_backups_count(tmp_path):
    text = PLAN.format(profile="", extra="    cold_after_days: 30").replace(
        "accept: [aws-backup]", "accept: [aws-backup, native]"
    )
    assert lint_policies(_write(tmp_path, text)) == []


def test_pair_gaps_from_plans_and_deployed_rules():
    from types import SimpleNamespace

    from auditor.policy.support import pair_feature_gaps

    frame = pd.DataFrame(
        {
            "resource_type": ["rds-instance", "efs-filesystem", "dynamodb-table", "rds-cluster"],
            "engine": ["postgres", None, None, "aurora-mysql"],
        }
    )
    cold = SimpleNamespace(
        accept=("aws-backup",), cold_after_days=30, copy_to=SimpleNamespace(regions=(), accounts=())
    )
    plain = SimpleNamespace(
        accept=("aws-backup",),
        cold_after_days=None,
        copy_to=SimpleNamespace(regions=(), accounts=()),
    )
    lacking, reason = pair_feature_gaps(
        load_support_matrix(),
        frame,
        [cold, plain],
        np.array([0, 1, 2, 2, 3]),
        np.array([0, 0, 0, 1, 1]),
        full_management=np.array([False, False, True, False]),
        deployed_needs={"cold_storage": np.array([False, False, False, True])},
    )
    # RDS: no cold storage; EFS: yes; DynamoDB: yes with advanced features on; a deployed rule
    # moving Aurora to cold storage asks what Aurora lacks.
    assert list(lacking) == [True, False, False, False, True]
    assert reason[0].startswith("cold_after_days:") and reason[4].startswith("deployed rule:")
