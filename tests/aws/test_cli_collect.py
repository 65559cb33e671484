"""`auditor collect`: thin CLI over collect_inventory — exit codes and one-line messages."""

from __future__ import annotations

import boto3
from typer.testing import CliRunner

import auditor.aws.session as aws_session
from auditor.cli import app
from auditor.inventory import read_inventory


def _run(*args):
    return CliRunner().invoke(app, ["collect", *args])


def test_unknown_region_is_a_usage_error(tmp_path):
    result = _run(
        "--region", "us-east-1", "--region", "mars-north-1", "--out", str(tmp_path / "inv")
    )
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [lines[0]] and lines[0].startswith(
        "auditor: error: unknown region 'mars-north-1'"
    )
    assert not (tmp_path / "inv").exists()


def test_success_prints_one_summary_line(aws, tmp_path):
    boto3.client("ec2", "us-east-1").create_volume(Size=1, AvailabilityZone="us-east-1a")
    result = _run("--region", "us-east-1", "--out", str(tmp_path / "inv"))
    assert result.exit_code == 0, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"collected 1 resources and 0 backups in 1 region(s) into {tmp_path / 'inv'}"
    ]
    assert len(read_inventory(tmp_path / "inv").resources) == 1


def test_denied_call_exits_1_names_the_call_and_keeps_the_rest(aws, tmp_path, hooks, monkeypatch):
    boto3.client("ec2", "eu-west-1").create_volume(Size=1, AvailabilityZone="eu-west-1a")
    hooks.deny("backup", "ListBackupJobs", region="eu-west-1")
    monkeypatch.setattr(aws_session, "default_session_factory", hooks)
    out = tmp_path / "inv"
    result = _run("--region", "us-east-1", "--region", "eu-west-1", "--out", str(out))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in result.stderr
    # the failed call: account, region, call, error code and message
    assert lines[0].startswith(
        "auditor: failed: account 123456789012 region eu-west-1 backup:ListBackupJobs AccessDenied: "
    )
    assert lines[1].startswith("auditor: error: collection incomplete: collected 1 resources")
    assert "1 call(s) failed" in lines[1]
    inv = read_inventory(out)
    assert len(inv.resources) == 1 and len(inv.errors) == 1
    assert inv.errors.iloc[0]["affects"] == "*"


def test_many_failed_calls_show_ten_then_a_count(aws, tmp_path, hooks, monkeypatch):
    hooks.deny("*", "*", region="eu-west-1", code="UnrecognizedClientException", status=400)
    hooks.deny("*", "*", region="eu-central-1", code="UnrecognizedClientException", status=400)
    monkeypatch.setattr(aws_session, "default_session_factory", hooks)
    out = tmp_path / "inv"
    args = ["--region", "us-east-1", "--region", "eu-west-1", "--region", "eu-central-1"]
    result = _run(*args, "--out", str(out))
    assert result.exit_code == 1
    failed = len(read_inventory(out).errors)
    assert failed > 10
    lines = result.stderr.strip().splitlines()
    assert [line.startswith("auditor: failed: ") for line in lines[:10]] == [True] * 10
    assert lines[10] == f"auditor: ... and {failed - 10} more (see the inventory's errors table)"
    assert len(lines) == 12


def test_unreachable_endpoint_stops_at_once_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: connection refused
    result = _run("--region", "us-east-1", "--out", str(tmp_path / "inv"))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "auditor: error: sts:GetCallerIdentity EndpointConnection: "
    )
    assert not (tmp_path / "inv").exists()


def test_no_credentials_names_the_call(tmp_path, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    result = _run("--region", "us-east-1", "--out", str(tmp_path / "inv"))
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "auditor: error: sts:GetCallerIdentity NoCredentials: Unable to locate credentials"
    ]
    assert not (tmp_path / "inv").exists()


def test_unknown_profile_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    result = _run("--profile", "nope", "--region", "us-east-1", "--out", str(tmp_path / "inv"))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "auditor: error: AWS profile 'nope' not found in the AWS config files"
    ]
