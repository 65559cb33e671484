"""AWS Backup selection semantics, vectorised masks and their scalar forms (one code path)."""

from __future__ import annotations

import json
import random

import pandas as pd
import pytest

from auditor.policy.selection import (
    aws_selection_mask,
    aws_selection_selects,
    declared_mask,
    declared_selects,
)

VOL = "arn:aws:ec2:us-east-1:111122223333:volume/vol-1"
DB = "arn:aws:rds:us-east-1:111122223333:db:orders"


def tags_eq(key, value):
    return {"ConditionType": "STRINGEQUALS", "ConditionKey": key, "ConditionValue": value}


def cond(key, value):
    return {"ConditionKey": f"aws:ResourceTag/{key}", "ConditionValue": value}


@pytest.mark.parametrize(
    "selection, arn, tags, expected",
    [
        # ListOfTags: any entry matches
        (
            {"ListOfTags": [tags_eq("backup", "gold"), tags_eq("tier", "1")]},
            VOL,
            {"tier": "1"},
            True,
        ),
        ({"ListOfTags": [tags_eq("backup", "gold")]}, VOL, {"backup": "silver"}, False),
        (
            {"ListOfTags": [tags_eq("backup", "gold")]},
            VOL,
            {"backup": "GOLD"},
            False,
        ),  # case-sensitive
        ({"ListOfTags": [tags_eq("Backup", "gold")]}, VOL, {"backup": "gold"}, False),  # keys too
        (
            {"ListOfTags": [tags_eq("aws:ResourceTag/backup", "gold")]},
            VOL,
            {"backup": "gold"},
            True,
        ),
        # Resources: ARNs with wildcards, any matches
        ({"Resources": ["arn:aws:ec2:*:*:volume/*"]}, VOL, {}, True),
        ({"Resources": ["arn:aws:ec2:*:*:volume/*"]}, DB, {}, False),
        ({"Resources": ["*"]}, DB, {}, True),
        ({"Resources": [VOL]}, VOL, {}, True),
        ({"Resources": ["arn:aws:rds:us-east-1:111122223333:db:ord*"]}, DB, {}, True),
        # Resources OR ListOfTags: one union
        (
            {"Resources": [DB], "ListOfTags": [tags_eq("backup", "gold")]},
            VOL,
            {"backup": "gold"},
            True,
        ),
        ({"Resources": [DB], "ListOfTags": [tags_eq("backup", "gold")]}, DB, {}, True),
        # NotResources excludes
        ({"Resources": ["*"], "NotResources": [VOL]}, VOL, {}, False),
        (
            {"ListOfTags": [tags_eq("backup", "gold")], "NotResources": ["arn:aws:ec2:*"]},
            VOL,
            {"backup": "gold"},
            False,
        ),
        # Conditions: all must hold
        (
            {
                "Resources": ["*"],
                "Conditions": {"StringEquals": [cond("backup", "gold"), cond("env", "prod")]},
            },
            VOL,
            {"backup": "gold", "env": "prod"},
            True,
        ),
        (
            {
                "Resources": ["*"],
                "Conditions": {"StringEquals": [cond("backup", "gold"), cond("env", "prod")]},
            },
            VOL,
            {"backup": "gold", "env": "dev"},
            False,
        ),
        (
            {"Resources": ["*"], "Conditions": {"StringNotEquals": [cond("env", "dev")]}},
            VOL,
            {"env": "prod"},
            True,
        ),
        (
            {"Resources": ["*"], "Conditions": {"StringNotEquals": [cond("env", "dev")]}},
            VOL,
            {"env": "dev"},
            False,
        ),
        (
            {"Resources": ["*"], "Conditions": {"StringNotEquals": [cond("env", "dev")]}},
            VOL,
            {},
            True,
        ),  # missing tag
        (
            {"Resources": ["*"], "Conditions": {"StringLike": [cond("team", "pay*")]}},
            VOL,
            {"team": "payments"},
            True,
        ),
        (
            {"Resources": ["*"], "Conditions": {"StringLike": [cond("team", "*ment*")]}},
            VOL,
            {"team": "payments"},
            True,
        ),
        (
            {"Resources": ["*"], "Conditions": {"StringLike": [cond("team", "pay*")]}},
            VOL,
            {"team": "Payments"},
            False,
        ),
        (
            {"Resources": ["*"], "Conditions": {"StringLike": [cond("team", "pay*")]}},
            VOL,
            {},
            False,
        ),
        (
            {"Resources": ["*"], "Conditions": {"StringNotLike": [cond("team", "pay*")]}},
            VOL,
            {"team": "search"},
            True,
        ),
        (
            {"Resources": ["*"], "Conditions": {"StringNotLike": [cond("team", "pay*")]}},
            VOL,
            {"team": "payroll"},
            False,
        ),
        (
            {"Resources": ["*"], "Conditions": {"StringNotLike": [cond("team", "pay*")]}},
            VOL,
            {},
            True,
        ),
        # literal characters are literal (no regex leaks)
        (
            {"Resources": ["*"], "Conditions": {"StringLike": [cond("team", "a.c")]}},
            VOL,
            {"team": "abc"},
            False,
        ),
        # empty lists and conditions: "all supported resources"
        (
            {
                "Resources": [],
                "ListOfTags": [],
                "NotResources": [],
                "Conditions": {"StringEquals": []},
            },
            VOL,
            {},
            True,
        ),
        ({"Conditions": {"StringEquals": [cond("env", "prod")]}}, VOL, {"env": "prod"}, True),
    ],
)
def test_aws_semantics(selection, arn, tags, expected):
    rtype = "ebs-volume" if ":volume/" in arn else "rds-instance"
    assert aws_selection_selects(selection, arn, rtype, tags) is expected
    # the inventory's row shape (JSON strings) gives the same answer through the vectorised mask
    row = {
        "resources": json.dumps(selection.get("Resources", [])),
        "not_resources": json.dumps(selection.get("NotResources", [])),
        "list_of_tags": json.dumps(selection.get("ListOfTags", [])),
        "conditions": json.dumps(selection.get("Conditions", {})),
    }
    resources = pd.DataFrame({"resource_arn": [arn], "resource_type": [rtype]})
    tag_frame = pd.DataFrame(
        {"arn": [arn] * len(tags), "key": list(tags), "value": list(tags.values())}
    )
    assert aws_selection_mask(row, resources, tag_frame).tolist() == [expected]


@pytest.mark.parametrize(
    "select, rtype, tags, expected",
    [
        ({"tags": {"backup": "gold"}}, "ebs-volume", {"backup": "gold"}, True),
        ({"tags": {"backup": ["gold", "silver"]}}, "ebs-volume", {"backup": "silver"}, True),
        ({"tags": {"backup": "gold", "tier": "1"}}, "ebs-volume", {"tier": "1"}, True),  # any entry
        (
            {"tags": {"backup": "gold"}, "conditions": {"string_equals": {"env": "prod"}}},
            "ebs-volume",
            {"backup": "gold", "env": "dev"},
            False,
        ),
        (
            {"tags": {"backup": "gold"}, "resource_types": ["rds-instance"]},
            "ebs-volume",
            {"backup": "gold"},
            False,
        ),
        ({"conditions": {"string_not_like": {"team": "pay*"}}}, "ebs-volume", {}, True),
        ({}, "efs-filesystem", {}, True),
    ],
)
def test_declared_semantics(select, rtype, tags, expected):
    assert declared_selects({"select": select}, rtype, tags) is expected


def test_vectorised_mask_equals_scalar_form():
    rng = random.Random(3)
    values = {
        "backup": ["gold", "silver", "none"],
        "env": ["prod", "dev"],
        "team": ["payments", "search", "pay"],
    }
    arns, types, tag_rows, tag_dicts = [], [], [], []
    for i in range(300):
        rtype = rng.choice(["ebs-volume", "rds-instance"])
        arn = (
            f"arn:aws:ec2:us-east-1:1:volume/vol-{i}"
            if rtype == "ebs-volume"
            else f"arn:aws:rds:us-east-1:1:db:db{i}"
        )
        tags = {k: rng.choice(v) for k, v in values.items() if rng.random() < 0.7}
        arns.append(arn)
        types.append(rtype)
        tag_dicts.append(tags)
        tag_rows += [{"arn": arn, "key": k, "value": v} for k, v in tags.items()]
    resources = pd.DataFrame({"resource_arn": arns, "resource_type": types})
    tag_frame = pd.DataFrame(tag_rows)
    selection = {
        "Resources": ["arn:aws:ec2:*"],
        "ListOfTags": [tags_eq("backup", "gold")],
        "NotResources": ["arn:aws:ec2:us-east-1:1:volume/vol-1*"],
        "Conditions": {
            "StringNotEquals": [cond("env", "dev")],
            "StringLike": [cond("team", "pay*")],
        },
    }
    mask = aws_selection_mask(selection, resources, tag_frame).tolist()
    scalar = [aws_selection_selects(selection, a, t, d) for a, t, d in zip(arns, types, tag_dicts)]
    assert mask == scalar and 10 < sum(mask) < 290
    plan = {
        "select": {
            "tags": {"backup": ["gold", "silver"]},
            "conditions": {"string_equals": {"env": "prod"}},
            "resource_types": ["ebs-volume"],
        }
    }
    mask = declared_mask(plan, resources, tag_frame).tolist()
    scalar = [declared_selects(plan, t, d) for t, d in zip(types, tag_dicts)]
    assert mask == scalar and 5 < sum(mask) < 295
