"""policies/iam-readonly.json lists exactly what the collectors call, and nothing they call writes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import boto3
import botocore.session

from auditor.aws.session import IAM_ACTION_NAMES, iam_action

POLICY = Path(__file__).resolve().parents[2] / "policies" / "iam-readonly.json"
READ_PREFIXES = ("Describe", "List", "Get")
# The one non-read action: entering another account (no AWS state changes).
ALLOWED_NON_READ = {"sts:AssumeRole"}


def _policy_actions() -> set[str]:
    doc = json.loads(POLICY.read_text(encoding="utf-8"))
    assert doc["Version"] == "2012-10-17"
    actions: set[str] = set()
    for statement in doc["Statement"]:
        assert statement["Effect"] == "Allow"
        listed = statement["Action"]
        actions.update([listed] if isinstance(listed, str) else listed)
    return actions


def _operations_made(hooks) -> set[str]:
    return {iam_action(service, op) for service, op, _ in hooks.calls}


def test_policy_lists_exactly_the_actions_collection_calls(aws, collect, hooks):
    from auditor.sandbox import seed_estate

    as_of = datetime(2026, 11, 26, tzinfo=UTC)
    seed_estate(as_of, regions=("us-east-1",))
    inv = collect(regions=["us-east-1"], session_factory=hooks, as_of=as_of)
    assert inv.errors.empty, inv.errors
    # And the multi-account path: an Organization's accounts entered by role.
    org = boto3.client("organizations", "us-east-1")
    org.create_organization(FeatureSet="ALL")
    org.create_account(AccountName="member", Email="member@example.com")
    inv = collect(regions=["us-east-1"], org=True, session_factory=hooks, as_of=as_of)
    assert inv.errors.empty, inv.errors

    made = _operations_made(hooks)
    listed = _policy_actions()
    assert not made - listed, f"called but missing from {POLICY.name}: {sorted(made - listed)}"
    assert not listed - made, f"listed in {POLICY.name} but never called: {sorted(listed - made)}"
    # the manifest counts the same actions the hook saw
    assert set(inv.manifest["api_calls"]) <= listed


def test_every_operation_is_read_only(aws, collect, hooks):
    collect(regions=["us-east-1"], session_factory=hooks)
    for service, op, _ in hooks.calls:
        action = iam_action(service, op)
        assert op.startswith(READ_PREFIXES) or action in ALLOWED_NON_READ, action
    for action in _policy_actions() - ALLOWED_NON_READ:
        assert action.split(":", 1)[1].startswith(READ_PREFIXES), action


def test_policy_actions_exist_in_botocore():
    session = botocore.session.get_session()
    services = {"elasticfilesystem": "efs", "tag": "resourcegroupstaggingapi"}
    # IAM names a few actions apart from their operation (s3:ListAllMyBuckets is ListBuckets)
    operations = {(s, action): op for (s, op), action in IAM_ACTION_NAMES.items()}
    for action in _policy_actions():
        prefix, name = action.split(":", 1)
        service = services.get(prefix, prefix)
        model = session.get_service_model(service)
        assert operations.get((service, name), name) in model.operation_names, action
