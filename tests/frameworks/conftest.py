"""Helpers for the framework tests: hand-built findings and small framework files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.report.model import findings_frame


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON (RFC 8259 has no NaN or Infinity)")


@pytest.fixture
def strict_json():
    """`strict_json(text)`: json.loads refusing NaN and Infinity, as JSON.parse does."""
    return lambda text: json.loads(text, parse_constant=_refuse_constant)


@pytest.fixture
def make_findings():
    """`make_findings([(control_id, status), ...])`: a findings frame, one resource per row."""

    def build(rows):
        return findings_frame(
            [
                {
                    "resource_arn": f"arn:aws:ec2:us-east-1:123456789012:volume/vol-{i:04d}",
                    "resource_type": "ebs-volume",
                    "account_id": "123456789012",
                    "region": "us-east-1",
                    "control_id": control,
                    "status": status,
                    "severity": "high",
                    "plan": "gold",
                    "detail": f"{control} {status}",
                    "evidence": {},
                }
                for i, (control, status) in enumerate(rows)
            ]
        )

    return build


@pytest.fixture
def write_framework(tmp_path):
    """`write_framework(name, text)`: a framework file in a user folder; returns the folder."""
    folder = tmp_path / "frameworks"
    folder.mkdir(exist_ok=True)

    def write(name: str, text: str) -> Path:
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
        return folder

    return write
