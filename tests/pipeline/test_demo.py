"""`auditor demo --out DIR` end to end, as a user runs it (one subprocess for the whole module)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.sandbox.demo import DEMO_AS_OF


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.run(
        [sys.executable, "-m", "auditor", "demo", "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return out, proc


def test_demo_exits_0_and_says_where_the_report_is(demo):
    out, proc = demo
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert f"open {(out / 'report.html').resolve()}" in proc.stderr
    assert "evidence bundle" in proc.stderr and "(verified;" in proc.stderr


def test_demo_writes_every_output(demo):
    out, _ = demo
    for name in (
        "report.html",
        "report.md",
        "findings.json",
        "findings.csv",
        "metering.json",
        "metering.csv",
        "junit.xml",
        "report.sarif",
        "run.json",
        "history.json",
        "history.sqlite",
        "evidence.zip",
        "inventory/manifest.json",
        "policies/backup-plans.yaml",
    ):
        assert (out / name).is_file(), name
    findings = json.loads((out / "findings.json").read_text())
    assert findings["as_of"].startswith(DEMO_AS_OF.strftime("%Y-%m-%dT%H:%M"))
    statuses = {f["status"] for f in findings["findings"]}
    assert {"PASS", "FAIL"} <= statuses  # the demo estate is meant to show both
    html = (out / "report.html").read_text()
    assert 'id="findings-table"' in html
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', html)  # self-contained


def test_demo_evidence_verifies_and_a_changed_byte_fails(demo, tmp_path):
    out, _ = demo
    runner = CliRunner()
    res = runner.invoke(app, ["evidence", "verify", str(out / "evidence.zip")])
    assert res.exit_code == 0, res.output
    raw = bytearray((out / "evidence.zip").read_bytes())
    raw[len(raw) // 2] ^= 0x01
    changed = tmp_path / "changed.zip"
    changed.write_bytes(bytes(raw))
    res = runner.invoke(app, ["evidence", "verify", str(changed)])
    assert res.exit_code == 1, res.output
    assert "changed:" in res.output or "zip structure changed" in res.output


def test_demo_results_render_again(demo, tmp_path):
    out, _ = demo
    res = CliRunner().invoke(
        app, ["report", "--results", str(out), "--out", str(tmp_path), "--format", "md,sarif"]
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "report.md").read_text() == (out / "report.md").read_text()
    assert (tmp_path / "report.sarif").read_text() == (out / "report.sarif").read_text()


def test_demo_html_opens_in_chromium(demo, tmp_path):
    import shutil

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("headless Chromium is not installed")
    out, _ = demo
    proc = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            (out / "report.html").resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    root = proc.stdout[: proc.stdout.find(">", proc.stdout.find("<html")) + 1]
    assert 'data-report-ready="1"' in root and "data-report-error" not in root
