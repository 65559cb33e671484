"""Atomic, lossless outputs: a run killed (SIGKILL) in the middle of writing a file, or whose writer
raises half-way, leaves every earlier output intact -- each visible file is byte-identical to either
its previous version or its complete new version, never half of one -- and leaves no temporary that
looks like an output (temporaries are hidden `.NAME.*.tmp` files, which evidence bundles skip).

The kill is deterministic: the child process pauses inside `auditor.atomic`'s fsync of the chosen
file's temporary (its bytes written, not yet renamed into place) and the test kills it there.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from auditor.evidence import bundle_files
from auditor.report import sample

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-11-26T12:00:00Z"

# Runs the CLI; when the temporary of file PAUSE_AT is fsynced (fully written, not yet renamed),
# writes MARKER and sleeps until killed.
CHILD = textwrap.dedent("""
    import os, sys, time
    import auditor.atomic as atomic
    pause_at, marker = os.environ["PAUSE_AT"], os.environ["MARKER"]
    real_fsync = os.fsync

    class _OS:
        def __getattr__(self, name):
            return getattr(os, name)

        @staticmethod
        def fsync(fd):
            real_fsync(fd)
            name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
            if name.startswith("." + pause_at + ".") and name.endswith(".tmp"):
                open(marker, "w").close()
                time.sleep(120)

    atomic.os = _OS()
    from auditor.cli import app
    sys.argv = ["auditor", *sys.argv[1:]]
    app()
""")


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _visible(files: dict[str, bytes]) -> dict[str, bytes]:
    return {
        k: v for k, v in files.items() if not any(part.startswith(".") for part in k.split("/"))
    }


def _kill_while_writing(args: list[str], pause_at: str, tmp_path: Path) -> None:
    marker = tmp_path / "paused"
    env = dict(os.environ, PAUSE_AT=pause_at, MARKER=str(marker))
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, *map(str, args)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            if proc.poll() is not None:
                pytest.fail(
                    f"the child ended before writing {pause_at}: {proc.stderr.read().decode()[-2000:]}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"the child never wrote {pause_at}")
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()


def _assert_old_or_new(
    after: dict[str, bytes], before: dict[str, bytes], complete: dict[str, bytes], target: str
):
    assert after[target] == before[target], (
        f"{target} changed although the run was killed before renaming it"
    )
    for name, data in _visible(after).items():
        assert data in (before.get(name), complete.get(name)), (
            f"{name} is neither its old nor its new version"
        )
    leftovers = sorted(set(after) - set(_visible(after)))
    assert leftovers, "the kill was expected to leave the hidden temporary"
    for name in leftovers:
        base = name.rsplit("/", 1)[-1]
        assert base.startswith(".") and ".tmp" in name, name


@pytest.fixture
def results(tmp_path) -> Path:
    """A results folder with reports rendered once (the 'previous outputs')."""
    folder = sample.write_results_folder(tmp_path / "results")
    from auditor.report import load_results, write_reports

    write_reports(load_results(folder), folder, ["html", "md", "junit", "sarif"], source=folder)
    return folder


def _change_findings(folder: Path) -> None:
    """Make the next render differ from the previous one."""
    doc = json.loads((folder / "findings.json").read_text())
    doc["findings"][0]["detail"] = "changed since the previous run"
    (folder / "findings.json").write_text(json.dumps(doc))


@pytest.mark.parametrize("target", ["report.html", "report.sarif"])
def test_report_killed_mid_write_keeps_previous_reports(results, tmp_path, target):
    _change_findings(results)
    complete_dir = tmp_path / "complete"
    shutil.copytree(results, complete_dir)
    args = ["report", "--results", "{}", "--format", "html,md,junit,sarif"]
    res = subprocess.run(
        [sys.executable, "-m", "auditor", *[a.format(complete_dir) for a in args]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    complete = _files(complete_dir)
    before = _files(results)
    assert complete[target] != before[target]  # the killed run was about to change it

    _kill_while_writing([a.format(results) for a in args], target, tmp_path)
    after = _files(results)
    _assert_old_or_new(after, before, complete, target)
    # an evidence bundle of the folder ignores the leftover temporary
    assert all(not n.split("/")[-1].startswith(".") for n in bundle_files(results))


def test_check_killed_mid_write_keeps_previous_findings(tmp_path):
    """`auditor check` killed while writing findings.csv: findings.json/csv stay a matching old pair
    or findings.json alone is new -- never a half file."""
    from auditor.inventory import write_inventory
    from auditor.report.sample import inventory

    inv = write_inventory(_clean(inventory()), tmp_path / "inv")
    out = tmp_path / "out"
    policies = ROOT / "policies"
    base = [
        "check",
        "--inventory",
        inv,
        "--policies",
        policies,
        "--out",
        out,
        "--as-of",
        AS_OF,
        "-q",
    ]
    out.mkdir()
    (out / "findings.json").write_text('{"previous": "run"}\n')  # what an earlier run left
    (out / "findings.csv").write_text("previous,run\n")
    before = _files(out)
    complete_dir = tmp_path / "complete"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "auditor",
            "check",
            "--inventory",
            str(inv),
            "--policies",
            str(policies),
            "--out",
            str(complete_dir),
            "--as-of",
            AS_OF,
            "-q",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode in (0, 3), res.stderr
    complete = _files(complete_dir)

    _kill_while_writing(base, "findings.csv", tmp_path)
    _assert_old_or_new(_files(out), before, complete, "findings.csv")


def _clean(inv):
    """The sample inventory without its collection error (so `check` exits 0/3, not 1)."""
    from auditor.inventory import Inventory, empty_frame

    tables = dict(inv.tables)
    tables["errors"] = empty_frame("errors")
    return Inventory(tables=tables, manifest=dict(inv.manifest))


def test_writer_raising_half_way_leaves_no_trace(results, h, monkeypatch):
    """A renderer that raises after other reports were written, and a disk that fills up half-way
    through a file: one error line, the previous version of the file stays, no temporary is left."""
    import auditor.atomic
    import auditor.report.markdown

    _change_findings(results)
    before = _files(results)

    def broken(_results, *a, **k):
        raise RuntimeError("renderer bug")

    monkeypatch.setattr(auditor.report.markdown, "render", broken)
    import auditor.report as report_pkg

    monkeypatch.setitem(report_pkg.RENDERERS, report_pkg.Format("md"), broken)
    result = h.invoke(["report", "--results", results, "--format", "html,md,sarif"])
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    after = _files(results)
    assert set(after) == set(before), "a temporary was left behind"
    assert after["report.md"] == before["report.md"]
    assert after["report.html"] != before["report.html"]  # written completely before the failure

    monkeypatch.undo()
    real_fsync = os.fsync

    def disk_full(fd):
        if os.path.basename(os.readlink(f"/proc/self/fd/{fd}")).startswith(".report.sarif."):
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    class _OS:
        def __getattr__(self, name):
            return getattr(os, name)

        fsync = staticmethod(disk_full)

    monkeypatch.setattr(auditor.atomic, "os", _OS())
    before = _files(results)
    result = h.invoke(["report", "--results", results, "--format", "sarif"])
    assert result.exit_code == 1 and "No space left on device" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert _files(results) == before


def test_folder_is_replaced_in_one_step(tmp_path, monkeypatch):
    """An inventory folder is swapped with its replacement in one rename (no instant without it)."""
    import auditor.atomic as atomic

    probe_a, probe_b = tmp_path / "a", tmp_path / "b"
    probe_a.mkdir()
    probe_b.mkdir()
    if not atomic.exchange(probe_a, probe_b):
        pytest.skip(
            "renameat2(RENAME_EXCHANGE) is not available here; the two-rename fallback is used"
        )
    target = tmp_path / "inventory"
    with atomic.replace_dir(target) as staging:
        (staging / "manifest.json").write_text("old")
    moved_away = []
    real_replace = os.replace

    def spy(src, dst):
        if Path(src) == target:
            moved_away.append(dst)  # the two-step path: target gone until the second rename
        return real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", spy)
    with atomic.replace_dir(target) as staging:
        (staging / "manifest.json").write_text("new")
    assert not moved_away
    assert (target / "manifest.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "inventory"]  # no leftovers
