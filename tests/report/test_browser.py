"""Real-browser check: report.html opened in headless Chromium renders the summary and the findings
table with no script error; the page's own self-test drives filter, sort and a details row."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.report import render

CHROMIUM = shutil.which("chromium") or (
    Path("/usr/bin/chromium") if Path("/usr/bin/chromium").exists() else None
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="headless Chromium is not installed (CI installs Debian's chromium)",
    ),
]


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [
        str(CHROMIUM),
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
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90)


def _root_tag(html: str) -> str:
    """The `<html ...>` start tag, where the page records readiness and script errors."""
    match = re.search(r"<html[^>]*>", html)
    assert match, html[:500]
    return match.group(0)


@pytest.fixture
def page(tmp_path, results) -> Path:
    path = tmp_path / "report.html"
    path.write_text(render(results, "html"), encoding="utf-8")
    return path


def test_report_renders_in_chromium(tmp_path, page):
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    root = _root_tag(html)
    assert 'data-report-ready="1"' in root, "the page's script did not finish"
    assert "data-report-error" not in root and '<div id="script-error" hidden=""></div>' in html
    assert 'id="summary"' in html and ">42.9%<" in html
    rows = re.findall(r'<tr class="row" data-index="\d+">', html)
    assert len(rows) == 8  # every finding of the sample, drawn by the script
    first = re.search(r'<tr class="row" data-index="\d+"><td class="st st-(\w+)">', html).group(1)
    assert first == "FAIL"

    shot = tmp_path / "report.png"
    result = _chromium(
        tmp_path,
        "--window-size=1400,2200",
        "--hide-scrollbars",
        f"--screenshot={shot}",
        page.as_uri(),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_report_interactions_in_chromium(tmp_path, page):
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri() + "#selftest")
    assert dom.returncode == 0, dom.stderr[-2000:]
    root = _root_tag(dom.stdout)
    assert "data-report-error" not in root
    selftest = re.search(r'data-selftest="([^"]*)"', root)
    assert selftest, "self-test did not run"
    # 8 rows, 3 failing after the status filter, one details row opened with its backups timeline
    # and the restore paths of the volume's newest backup, an EBS snapshot AWS Backup made: an EBS
    # volume, a gateway cached or stored volume, and an AWS Backup restore job.
    assert selftest.group(1) == "rows=8 failing=3 details=1 timelines=1 restore_paths=4"
    html = dom.stdout
    commands = re.findall(r'<pre class="cli">([^<]*)</pre>', html)
    assert any(
        c.startswith("aws ec2 create-volume") and "--snapshot-id snap-" in c for c in commands
    )
    assert any(c.startswith("aws storagegateway create-cached-iscsi-volume") for c in commands)
    assert any(c.startswith("aws backup start-restore-job") for c in commands)


def test_a_script_error_is_detected(tmp_path, page):
    """The detector itself works: a page whose script throws is reported as such."""
    broken = page.read_text(encoding="utf-8").replace(
        "var rows = data.rows", "var rows = data.rows.nope.nope", 1
    )
    page.write_text(broken, encoding="utf-8")
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri())
    root = _root_tag(dom.stdout)
    assert 'data-report-error="1"' in root and 'data-report-ready="0"' in root
