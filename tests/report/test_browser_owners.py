"""Real-browser check of the owner facet: findings carrying owner tags (tag_<key> columns) can be
filtered by owner, each value listed with its count of findings, and the page with the owner
facet and the per-owner tables still fits 390 px."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.report import render
from auditor.report.sample import make_results

CHROMIUM = shutil.which("chromium") or (
    Path("/usr/bin/chromium") if Path("/usr/bin/chromium").exists() else None
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed"),
]


def _dom(tmp_path: Path, url: str, *args: str) -> str:
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
    cmd += ["--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}", *args]
    result = subprocess.run([*cmd, "--dump-dom", url], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.fixture
def page(tmp_path) -> Path:
    results = make_results()
    findings = results.findings
    # the first three findings' resources belong to team "payments", the rest carry no team tag
    findings["tag_team"] = ["payments"] * 3 + [None] * (len(findings) - 3)
    path = tmp_path / "report.html"
    path.write_text(render(results, "html"), encoding="utf-8")
    return path


def test_owner_facet_filters_and_counts(tmp_path, page):
    html = _dom(tmp_path, page.as_uri() + "#owners")
    root = re.search(r"<html[^>]*>", html).group(0)
    assert "data-report-error" not in root
    test = re.search(r'data-owner-test="([^"]*)"', root).group(1)
    # the most frequent value first: untagged findings (5), then payments (3)
    assert test == "team = (no team) (5) | showing 1–5 of 5 matching (of 8) · page 1/1"
    assert re.search(r'<optgroup label="team">', html)
    assert "team = payments (3)" in html
    assert 'data-dimension="tag_team"' in html  # the compliance-by-owner table


def test_owner_facet_fits_390_px(tmp_path, page):
    frame = tmp_path / "frame.html"
    frame.write_text(
        f'<!DOCTYPE html><html><body style="margin:0"><iframe id="f" src="{page.name}" '
        'style="width:390px;height:1500px;border:0"></iframe><script>'
        'document.getElementById("f").addEventListener("load", function () {'
        "var d = this.contentDocument.documentElement;"
        'document.body.setAttribute("data-measured", d.scrollWidth + " " + this.contentWindow.innerWidth'
        ' + " " + d.getAttribute("data-report-ready"));});</script></body></html>',
        encoding="utf-8",
    )
    html = _dom(
        tmp_path, frame.as_uri(), "--allow-file-access-from-files", "--window-size=1500,900"
    )
    scroll, inner, ready = re.search(r'data-measured="(\d+) (\d+) (\d)"', html).groups()
    assert int(inner) == 390 and ready == "1"
    assert int(scroll) <= 390, "page scrolls sideways at 390 px"
