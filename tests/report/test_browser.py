"""Real-browser check: report.html opened in headless Chromium answers at a glance, pages over every
finding (the last of 100,000 included), says how many match a filter, and never scrolls sideways at
1400 px or 390 px; the page's own self-test drives filter, sort and a details row."""

from __future__ import annotations

import html as html_lib
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from auditor.report import findings_frame, render
from auditor.report.model import ordered
from auditor.report.sample import FINDINGS

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
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


def _dom(tmp_path: Path, url: str, *args: str) -> str:
    result = _chromium(tmp_path, *args, "--dump-dom", url)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def _root_tag(html: str) -> str:
    """The `<html ...>` start tag, where the page records readiness and script errors."""
    match = re.search(r"<html[^>]*>", html)
    assert match, html[:500]
    return match.group(0)


def _text(fragment: str) -> str:
    """Visible text of an HTML fragment, whitespace collapsed."""
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _element(html: str, element_id: str) -> str:
    """The text of the element with that id (up to the next card/section boundary)."""
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</div></div>', html, re.S)
    assert match, element_id
    return _text(match.group(1))


@pytest.fixture
def page(tmp_path, results) -> Path:
    results.metering_info["totals"] = {
        "estimated_cost_usd": 11.33,
        "upper_bound_cost_usd": 40.5,
        "verified_price_share": 0.5,
    }
    path = tmp_path / "report.html"
    path.write_text(render(results, "html"), encoding="utf-8")
    return path


def test_report_renders_in_chromium(tmp_path, page):
    html = _dom(tmp_path, page.as_uri())
    root = _root_tag(html)
    assert 'data-report-ready="1"' in root, "the page's script did not finish"
    assert "data-report-error" not in root and '<div id="script-error" hidden=""></div>' in html
    rows = re.findall(r'<tr class="row" data-index="\d+">', html)
    assert len(rows) == 8  # every finding of the sample, drawn by the script
    first = re.search(r'<tr class="row" data-index="\d+"><td class="st st-(\w+)"', html).group(1)
    assert first == "FAIL"


def test_at_a_glance(tmp_path, page):
    html = _dom(tmp_path, page.as_uri())
    glance = html[html.index('id="at-a-glance"') : html.index('id="findings"')]
    assert ">42.9%<" in glance
    # The sample fails vol-0002 (critical), vol-0001 (high) and fs-01 (medium): 3 of 5 resources.
    assert _element(html, "glance-fails") == "3 FAILs by severity 1 critical 1 high 1 medium"
    assert _element(html, "glance-resources").startswith("3 / 5 resources with a FAIL")
    not_assessed = _element(html, "glance-not-assessed")
    assert not_assessed.startswith("1 not assessed because 1 call(s) failed: AccessDeniedException")
    assert "ListBackups" in not_assessed
    cost = _element(html, "glance-cost")
    assert cost.startswith("$11.33 – $40.50 backup storage / month")
    assert "50 % of prices verified" in cost
    matrix = re.search(r'<table class="matrix" id="matrix">(.*?)</table>', html, re.S).group(1)
    assert "111122223333" in matrix and "444455556666" in matrix
    backup_retention = re.search(r"<td>backup-retention</td>(.*?)</tr>", matrix, re.S).group(1)
    # one FAIL, in account 444455556666 only
    assert [_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", backup_retention)] == [
        "1 FAIL · 0.0%",
        "—",
        "1 FAIL · 0.0%",
    ]


def test_report_interactions_in_chromium(tmp_path, page):
    html = _dom(tmp_path, page.as_uri() + "#selftest")
    root = _root_tag(html)
    assert "data-report-error" not in root
    selftest = re.search(r'data-selftest="([^"]*)"', root)
    assert selftest, "self-test did not run"
    # 8 rows, 3 failing after the status filter, one details row opened with its backups timeline
    # and the restore paths of the volume's newest backup, an EBS snapshot AWS Backup made: an EBS
    # volume, a gateway cached or stored volume, and an AWS Backup restore job.
    assert selftest.group(1) == "rows=8 failing=3 details=1 timelines=1 restore_paths=4"
    info = re.search(r'data-selftest-info="([^"]*)"', root).group(1)
    assert info == "showing 1–3 of 3 matching (of 8) · page 1/1"
    commands = re.findall(r'<pre class="cli">([^<]*)</pre>', html)
    assert any(
        c.startswith("aws ec2 create-volume") and "--snapshot-id snap-" in c for c in commands
    )
    assert any(c.startswith("aws storagegateway create-cached-iscsi-volume") for c in commands)
    assert any(c.startswith("aws backup start-restore-job") for c in commands)


def test_last_of_100000_findings_is_reachable(tmp_path):
    from auditor.report.sample import make_results

    n = 100_000
    base = pd.DataFrame(FINDINGS)
    big = base.loc[base.index.repeat(n // len(base) + 1)].head(n).reset_index(drop=True)
    big["resource_arn"] = big["resource_arn"] + "-" + pd.Series(range(n)).astype(str)
    results = make_results()
    results.findings = findings_frame(big)
    last = ordered(results.findings).iloc[-1]
    path = tmp_path / "big.html"
    path.write_text(render(results, "html"), encoding="utf-8")
    html = _dom(tmp_path, path.as_uri() + "#last")
    assert 'data-report-ready="1"' in _root_tag(html)
    info = _text(re.search(r'<span id="p-info"[^>]*>(.*?)</span>', html, re.S).group(1))
    assert info == "showing 99,951–100,000 of 100,000 matching · page 2,000/2,000"
    rows = re.findall(r'<tr class="row" data-index="(\d+)">(.*?)</tr>', html, re.S)
    assert len(rows) == 50 and rows[-1][0] == str(n - 1)
    cells = _text(rows[-1][1])
    assert cells.startswith(last["status"].replace("_", " ") + " " + last["severity"])
    assert f"{last['control_id']} {last['resource_arn']} " in cells


@pytest.mark.parametrize("width", [1400, 390])
def test_no_horizontal_overflow(tmp_path, page, width):
    """The page fits its width: measured inside an iframe of exactly `width` px (headless windows
    have a minimum width), and screenshotted at that width."""
    frame = tmp_path / f"frame-{width}.html"
    frame.write_text(
        f'<!DOCTYPE html><html><body style="margin:0"><iframe id="f" src="{page.name}" '
        f'style="width:{width}px;height:1500px;border:0"></iframe><script>'
        'document.getElementById("f").addEventListener("load", function () {'
        "var d = this.contentDocument.documentElement;"
        'document.body.setAttribute("data-measured", d.scrollWidth + " " + this.contentWindow.innerWidth'
        ' + " " + d.getAttribute("data-report-ready"));});</script></body></html>',
        encoding="utf-8",
    )
    html = _dom(
        tmp_path, frame.as_uri(), "--allow-file-access-from-files", "--window-size=1500,900"
    )
    scroll_width, inner_width, ready = re.search(r'data-measured="(\d+) (\d+) (\d)"', html).groups()
    assert int(inner_width) == width and ready == "1"
    assert int(scroll_width) <= int(inner_width), f"page scrolls sideways at {width} px"

    shot = tmp_path / f"report-{width}.png"
    result = _chromium(
        tmp_path,
        f"--window-size={width},2200",
        "--hide-scrollbars",
        f"--screenshot={shot}",
        page.as_uri(),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(png[16:20], "big") == width


def test_a_script_error_is_detected(tmp_path, page):
    """The detector itself works: a page whose script throws is reported as such."""
    broken = page.read_text(encoding="utf-8").replace(
        "var F = data.findings", "var F = data.findings.nope.nope", 1
    )
    page.write_text(broken, encoding="utf-8")
    root = _root_tag(_dom(tmp_path, page.as_uri()))
    assert 'data-report-error="1"' in root and 'data-report-ready="0"' in root
