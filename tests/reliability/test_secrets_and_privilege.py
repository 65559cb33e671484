"""Least privilege and no secrets out, over a whole `auditor audit` run (collect, check, meter,
report, history, evidence): every AWS request any part of the program sends is recorded at moto's
stub (so calls made outside the collectors' sessions are seen too); each must be a read-only action
listed in policies/iam-readonly.json. Distinctive fake credentials in the environment -- echoed by
an injected SignatureDoesNotMatch error, as AWS echoes the canonical request -- must appear in no
output file, no Parquet cell, no evidence bundle member, no history row and no console line."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path

import botocore.session
import pytest
from moto.core.botocore_stubber import BotocoreStubber

import auditor.aws.session
from auditor.aws.session import iam_action
from auditor.inventory import read_inventory

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "iam-readonly.json"
READ_ONLY = ("Describe", "List", "Get")
ENTER_ACCOUNTS = {"sts:AssumeRole", "organizations:ListAccounts"}

ACCESS_KEY = "ASIAH7FAKEACCESSKEY9"
SECRET_KEY = "h7/FakeSecretAccessKey+NeverWrittenAnywhere0"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEH7FakeSessionTokenNeverWritten//////////wEaCXVzLWVhc3QtMSJH"
SECRETS = (ACCESS_KEY, SECRET_KEY, SESSION_TOKEN)


def _policy_actions() -> set[str]:
    doc = json.loads(POLICY.read_text())
    actions: set[str] = set()
    for statement in doc["Statement"]:
        listed = statement["Action"]
        actions.update([listed] if isinstance(listed, str) else listed)
    return actions


def _service_names() -> dict[str, str]:
    """botocore service id (as in event names) -> service name."""
    session = botocore.session.get_session()
    return {
        session.get_service_model(name).service_id.hyphenize(): name
        for name in (
            "ec2",
            "rds",
            "sts",
            "dynamodb",
            "backup",
            "efs",
            "storagegateway",
            "resourcegroupstaggingapi",
            "organizations",
            "iam",
            "pricing",
            "ce",
            "s3",
            "cur",
        )
    }


@pytest.fixture
def requests_seen(monkeypatch):
    """Every request sent to moto from any boto3 session in this process, as IAM actions."""
    seen: list[str] = []
    names = _service_names()
    original = BotocoreStubber.__call__

    def record(self, event_name, request, **kwargs):
        _, service_id, operation = event_name.split(".", 2)
        seen.append(iam_action(names.get(service_id, service_id), operation))
        return original(self, event_name, request, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", record)
    return seen


@pytest.fixture
def audited(estate, requests_seen, injector, h, tmp_path_factory, monkeypatch):
    """`auditor audit` + `auditor evidence export` with fake credentials in the environment."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    # (shortened: the token must fall inside the 300 characters an errors row keeps)
    canonical = (
        f"Signature mismatch. Canonical String: 'POST / x-amz-security-token:{SESSION_TOKEN} "
        f"Credential={ACCESS_KEY}/20261126/eu-west-1/ec2/aws4_request'"
    )
    injector.fail(
        "ec2",
        "DescribeVolumes",
        "SignatureDoesNotMatch",
        status=403,
        region="eu-west-1",
        message=canonical,
    )
    monkeypatch.setattr(auditor.aws.session, "default_session_factory", injector)
    base = tmp_path_factory.mktemp("secrets")
    out, history, bundle = base / "results", base / "history.sqlite", base / "evidence.zip"
    audit = h.invoke(
        [
            "audit",
            "--policies",
            h.POLICIES,
            "--region",
            "us-east-1",
            "--region",
            "eu-west-1",
            "--out",
            out,
            "--history",
            history,
            "--as-of",
            "2026-11-26T12:00:00Z",
        ]
    )
    export = h.invoke(["evidence", "export", "--results", out, "--out", bundle])
    return {
        "audit": audit,
        "export": export,
        "out": out,
        "history": history,
        "bundle": bundle,
        "requests": list(requests_seen),
    }


def test_audit_makes_only_listed_read_only_calls(audited):
    assert audited["audit"].exit_code == 1, audited[
        "audit"
    ].stderr  # the injected failure: incomplete
    made = set(audited["requests"])
    listed = _policy_actions()
    assert made, "no request was recorded"
    assert not made - listed, f"called but missing from {POLICY.name}: {sorted(made - listed)}"
    for action in made:
        assert action.split(":", 1)[1].startswith(READ_ONLY) or action in ENTER_ACCOUNTS, (
            f"not read-only: {action}"
        )
    # a single-account audit uses every listed action but those that enter other accounts (and the
    # stored-volume description, which only a gateway with stored volumes needs, and the sharing of
    # manual cluster snapshots, asked only when one exists: this small estate has neither)
    assert listed - made <= ENTER_ACCOUNTS | {
        "storagegateway:DescribeStorediSCSIVolumes",
        "rds:DescribeDBClusterSnapshotAttributes",
    }, sorted(listed - made)


def test_no_credentials_in_any_output(audited):
    audit, export = audited["audit"], audited["export"]
    assert export.exit_code == 0, export.stderr
    out: Path = audited["out"]
    # the injected error reached the outputs (with its credentials removed)
    errors = read_inventory(out / "inventory").errors
    message = errors.loc[errors["error_code"] == "SignatureDoesNotMatch", "message"].iloc[0]
    assert "x-amz-security-token:[redacted]" in message
    assert "SignatureDoesNotMatch" in (out / "report.html").read_text()

    blobs: dict[str, bytes] = {f"out/{name}": data for name, data in _files(out).items()}
    blobs["history.sqlite"] = audited["history"].read_bytes()
    with zipfile.ZipFile(audited["bundle"]) as bundle:
        for name in bundle.namelist():
            blobs[f"evidence.zip/{name}"] = bundle.read(name)
    blobs["evidence.zip"] = audited["bundle"].read_bytes()
    blobs["console"] = (audit.stdout + audit.stderr + export.stdout + export.stderr).encode()
    # Parquet may compress text: search the decoded cells too
    inventory = read_inventory(out / "inventory")
    for name, table in inventory.tables.items():
        blobs[f"inventory cells/{name}"] = table.astype("string").to_csv(index=False).encode()
    with sqlite3.connect(audited["history"]) as db:
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall():
            rows = db.execute(f'SELECT * FROM "{table}"').fetchall()
            blobs[f"history rows/{table}"] = repr(rows).encode()

    assert len(blobs) > 20
    for name, data in blobs.items():
        for secret in SECRETS:
            for form in (secret.encode(), secret.encode("utf-16-le"), json.dumps(secret).encode()):
                assert form not in data, f"{name} contains a credential ({secret[:8]}...)"


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
