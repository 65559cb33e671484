"""A control added as one new module, through the `auditor.controls` entry point, with no other edit.

The plug-in lives in a temporary folder as a fake installed distribution (a module and its
``.dist-info`` with ``entry_points.txt``); `auditor` runs in a fresh process with that folder on
``PYTHONPATH``, so discovery finds it exactly as it would find a pip-installed package. The estate
is built through the AWS API on the emulator.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

import auditor.sandbox

sys.path.insert(0, str(Path(__file__).parent))
from e2e_estate import REGION, Estate, as_of_now

H = timedelta(hours=1)
D = timedelta(days=1)
CONTROL = "two-backups"
SERVICES = ("ebs", "backup")  # what this estate uses: quicker collections

PLUGIN = '''
"""Test plug-in: a resource must have at least two completed backups of an accepted kind."""

import numpy as np

from auditor.controls import frames as fr
from auditor.controls.registry import control
from auditor.controls.verdicts import FAIL, PASS, Part


def _describe(frame, ctx):
    return fr.select([(fr.status_of(frame) == PASS, "Two backups or more.")], "Fewer than two backups.")


@control(
    "two-backups",
    "At least two backups",
    "low",
    reads=("recovery_points",),
    remediation="Take another backup.",
)
def two_backups(ctx):
    """A resource selected by a plan must have two completed backups; FAIL when it has fewer."""
    count = ctx.combine("count_all", "sum", 0)
    status = np.where(count >= 2, PASS, FAIL)
    return Part("two-backups", fr.pair_frame(ctx, status, backups=count), _describe)
'''

POLICY = """
version: 1
scope: {resource_types: [ebs-volume]}
plans:
  - {name: gold, select: {tags: {backup: gold}}, frequency: 24h, grace: 2h, retention_days: 7,
     accept: [native]}
"""


@pytest.fixture
def plugin_path(tmp_path) -> Path:
    """A folder holding a fake distribution whose entry point names the plug-in module."""
    root = tmp_path / "site"
    root.mkdir()
    (root / "auditor_two_backups.py").write_text(textwrap.dedent(PLUGIN))
    info = root / "auditor_two_backups-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: auditor-two-backups\nVersion: 0.1\n"
    )
    (info / "entry_points.txt").write_text(
        "[auditor.controls]\ntwo-backups = auditor_two_backups\n"
    )
    return root


def _auditor(args: list[str], plugin: Path | None, **env: str) -> subprocess.CompletedProcess:
    """`auditor ARGS` in a fresh process (this worktree first on the path, then the plug-in)."""
    here = str(Path(__file__).resolve().parents[2])
    path = [here] + ([str(plugin)] if plugin else [])
    full_env = {**os.environ, "PYTHONPATH": os.pathsep.join(path), **env}
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _findings(out: Path) -> dict[tuple[str, str], dict]:
    doc = json.loads((out / "findings.json").read_text())
    return {(f["resource_arn"], f["control_id"]): f for f in doc["findings"]}


def _build(e: Estate) -> None:
    one = e.volume("one", {"backup": "gold"}, age_days=30)
    e.snapshot(one, 3 * H)
    two = e.volume("two", {"backup": "gold"}, age_days=30)
    e.snapshot(two, 3 * H)
    e.snapshot(two, 2 * D)


def _check(tmp: Path, inventory, name: str, plugin: Path | None, as_of) -> tuple[int, dict]:
    from auditor.inventory import write_inventory

    write_inventory(inventory, tmp / f"{name}-inv")
    (tmp / "p.yaml").write_text(POLICY)
    args = ["check", "--inventory", str(tmp / f"{name}-inv"), "--policies", str(tmp / "p.yaml")]
    args += ["--out", str(tmp / name), "--as-of", as_of.isoformat(), "--no-fail", "-q"]
    done = _auditor(args, plugin)
    assert (tmp / name / "findings.json").is_file(), done.stderr[-2000:]
    return done.returncode, _findings(tmp / name)


def test_plugin_control_in_check_and_not_assessed_when_its_data_failed(tmp_path, plugin_path):
    from botocore.exceptions import ClientError

    from auditor.aws import CollectOptions, collect_inventory

    def denying(**kwargs):
        session = boto3.Session(**kwargs)

        def deny(**_):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "deny"}}, "op")

        session.events.register("before-call.ec2.DescribeSnapshots", deny)
        return session

    auditor.sandbox.install()
    with mock_aws():
        as_of = as_of_now()
        e = Estate(as_of)
        _build(e)
        whole = collect_inventory(CollectOptions(regions=[REGION], as_of=as_of, services=SERVICES))
        partial = collect_inventory(
            CollectOptions(
                regions=[REGION], session_factory=denying, as_of=as_of, services=SERVICES
            )
        )
    one, two = e.arns["one"], e.arns["two"]

    code, found = _check(tmp_path, whole, "whole", plugin_path, as_of)
    assert code == 0  # --no-fail: FAIL findings do not change the exit code
    assert found[(one, CONTROL)]["status"] == "FAIL"
    assert found[(one, CONTROL)]["severity"] == "low"
    assert found[(two, CONTROL)]["status"] == "PASS"
    assert found[(two, CONTROL)]["evidence"]["backups"] == 2
    doc = json.loads((tmp_path / "whole" / "findings.json").read_text())
    assert doc["controls"][-1]["id"] == CONTROL  # plug-ins rank after the built-in controls

    # ec2:DescribeSnapshots failed: the plug-in reads recovery points, so it is NOT_ASSESSED; a
    # built-in control that reads only resources and tags keeps its verdict.
    code, found = _check(tmp_path, partial, "partial", plugin_path, as_of)
    assert code == 1  # incomplete collection
    for arn in (one, two):
        assert found[(arn, CONTROL)]["status"] == "NOT_ASSESSED"
        assert "DescribeSnapshots" in found[(arn, CONTROL)]["detail"]
        assert found[(arn, "resource-covered")]["status"] == "PASS"

    # Without the plug-in on the path, the control does not exist.
    _, found = _check(tmp_path, whole, "plain", None, as_of)
    assert not [k for k in found if k[1] == CONTROL]


def test_plugin_control_under_dask(tmp_path, plugin_path, monkeypatch):
    pytest.importorskip("distributed")
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    with auditor.sandbox.SandboxServer() as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint_url)
        as_of = as_of_now()
        e = Estate(as_of)
        _build(e)
        (tmp_path / "p.yaml").write_text(POLICY)
        args = ["audit", "--policies", str(tmp_path / "p.yaml"), "--region", REGION]
        args += ["--out", str(tmp_path / "out"), "--as-of", as_of.isoformat(), "--format", "json"]
        args += ["--no-history", "--no-fail", "-q", "--dask", "local:2"]
        done = _auditor(args, plugin_path, AWS_ENDPOINT_URL=server.endpoint_url)
    assert done.returncode == 0, done.stderr[-2000:]
    found = _findings(tmp_path / "out")
    assert found[(e.arns["one"], CONTROL)]["status"] == "FAIL"
    assert found[(e.arns["two"], CONTROL)]["status"] == "PASS"
