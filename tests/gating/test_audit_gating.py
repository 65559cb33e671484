"""`auditor audit` with --fail-on, --skip-control and --baseline, through the console script
against the emulator served over HTTP (AWS_ENDPOINT_URL)."""

from __future__ import annotations

import json

import boto3
import pytest

import auditor.sandbox

pytestmark = pytest.mark.slow
ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_MAX_ATTEMPTS": "1",
}


@pytest.fixture(scope="module")
def endpoint():
    """An estate of one untagged EBS volume: no declared plan selects it (resource-covered, high)."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in ENV.items():
            mp.setenv(key, value)
        mp.delenv("AWS_PROFILE", raising=False)
        with auditor.sandbox.SandboxServer() as server:
            ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=server.endpoint_url)
            ec2.create_volume(AvailabilityZone="us-east-1a", Size=8)
            yield server.endpoint_url


def test_audit_gating_exit_codes(tmp_path, endpoint, policy_file, g):
    env = {**ENV, "AWS_ENDPOINT_URL": endpoint}
    common = ["audit", "--policies", policy_file, "--region", "us-east-1", "--as-of", g.AS_OF]
    common += ["--format", "json", "--no-history", "-q"]
    first = g.run_cli([*common, "--out", tmp_path / "a"], env)
    assert first.returncode == 3, first.stderr
    run = json.loads((tmp_path / "a" / "run.json").read_text())
    assert run["gating"]["failures"] == run["gating"]["failures_counted"] > 0

    graver = g.run_cli([*common, "--out", tmp_path / "b", "--fail-on", "critical"], env)
    assert graver.returncode == 0, graver.stderr
    assert json.loads((tmp_path / "b" / "run.json").read_text())["gating"]["fail_on"] == "critical"

    skipped = g.run_cli(
        [*common, "--out", tmp_path / "c", "--skip-control", "resource-covered"], env
    )
    assert skipped.returncode == 0, skipped.stderr
    assert "skipped controls: resource-covered" in skipped.stderr
    run = json.loads((tmp_path / "c" / "run.json").read_text())
    assert run["gating"]["skipped_controls"] == ["resource-covered"] and run["exit_code"] == 0
    findings = json.loads((tmp_path / "c" / "findings.json").read_text())
    assert findings["summary"]["skipped_controls"] == ["resource-covered"]

    baseline = tmp_path / "a" / "findings.json"
    known = g.run_cli([*common, "--out", tmp_path / "d", "--baseline", baseline], env)
    assert known.returncode == 0, known.stderr
    assert "already in the baseline" in known.stderr

    unknown = g.run_cli([*common, "--out", tmp_path / "e", "--skip-control", "nope"], env)
    assert unknown.returncode == 2 and "--skip-control 'nope'" in unknown.stderr
    assert not (tmp_path / "e").exists()
