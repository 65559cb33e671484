"""`auditor audit --framework NAME` on the emulated estate (moto in-process)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from moto import mock_aws
from typer.testing import CliRunner

import auditor.sandbox
from auditor.cli import app

AS_OF = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
POLICIES = Path(__file__).resolve().parents[2] / "policies"


def test_unknown_framework_fails_before_collecting(tmp_path):
    done = CliRunner().invoke(
        app,
        ["audit", "--policies", str(POLICIES), "--out", str(tmp_path / "r"), "--framework", "x"],
    )
    assert done.exit_code == 2, done.output
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_audit_with_framework_writes_the_view(tmp_path, monkeypatch, strict_json):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    auditor.sandbox.install()
    out = tmp_path / "results"
    with mock_aws():
        auditor.sandbox.seed_estate(AS_OF, regions=("us-east-1",), scale=0.3)
        done = CliRunner().invoke(
            app,
            [
                "audit",
                "--policies",
                str(POLICIES),
                "--region",
                "us-east-1",
                "--out",
                str(out),
                "--as-of",
                "2026-11-26T12:00:00Z",
                "--no-history",
                "--format",
                "html,json",
                "--framework",
                "nist-800-53-r5",
            ],
        )
    assert done.exit_code in (0, 3), done.output
    doc = strict_json((out / "framework-nist-800-53-r5.json").read_text(encoding="utf-8"))
    statuses = {r["id"]: r["status"] for r in doc["requirements"]}
    # CP-9(1) (backups tested) is judged by restore-tested now: the demo's gold plan asks for it.
    assert statuses["CP-9(1)"] != "no evidence"
    assert not (out / "framework-nist-800-53-r5.md").exists()  # md was not asked for
    assert 'data-framework="nist-800-53-r5"' in (out / "report.html").read_text(encoding="utf-8")
