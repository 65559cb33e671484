"""Evidence bundles: export writes a hashed manifest; verify passes untouched bundles only."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor import __version__
from auditor.cli import app
from auditor.errors import InputError, UsageError
from auditor.evidence import bundle_files, export_bundle, verify_bundle
from auditor.report.sample import AS_OF, write_results_folder


@pytest.fixture
def results_dir(tmp_path) -> Path:
    return write_results_folder(tmp_path / "results")


@pytest.fixture
def bundle(tmp_path, results_dir) -> Path:
    path, _, _ = export_bundle(
        results_dir, tmp_path / "evidence.zip", command="auditor evidence export"
    )
    return path


def test_manifest_lists_every_file_with_its_hash(results_dir, bundle):
    with zipfile.ZipFile(bundle) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        names = set(zf.namelist())
        for name, entry in manifest["files"].items():
            data = zf.read(name)
            assert (
                hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["bytes"]
            )
            assert data == (results_dir / name).read_bytes()
    assert names == set(manifest["files"]) | {"manifest.json"}
    assert {
        "findings.json",
        "metering.json",
        "run.json",
        "history.json",
        "policies/waivers.yaml",
        "inventory/manifest.json",
    } <= names
    assert any(n.startswith("inventory/recovery_points/") and n.endswith(".parquet") for n in names)
    assert manifest["program_version"] == __version__
    assert manifest["as_of"] == AS_OF
    assert manifest["command"] == "auditor audit --policies policies"
    assert manifest["export_command"] == "auditor evidence export"
    assert manifest["scope"]["accounts"] == ["111122223333", "444455556666"]
    assert manifest["collection"]["errors"] == 1 and manifest["collection"]["complete"] is False


def test_bundle_leaves_out_history_store_zips_and_temporaries(results_dir):
    for name in ("history.sqlite", "old.zip", ".report.html.123.tmp"):
        (results_dir / name).write_text("x")
    names = bundle_files(results_dir)
    assert not any(n.endswith((".sqlite", ".zip", ".tmp")) for n in names)


def test_export_is_deterministic(tmp_path, results_dir, bundle):
    again, _, _ = export_bundle(
        results_dir, tmp_path / "again.zip", command="auditor evidence export"
    )
    assert again.read_bytes() == bundle.read_bytes()


def test_untouched_bundle_verifies(bundle):
    check = verify_bundle(bundle)
    assert (
        check.ok
        and check.problems == []
        and check.files == len(bundle_files(bundle.parent / "results"))
    )
    assert check.bundle_sha256 == hashlib.sha256(bundle.read_bytes()).hexdigest()


def _rewrite(bundle: Path, change) -> None:
    """Rebuild the zip entry by entry (same metadata), letting `change(name, data)` alter contents."""
    src = zipfile.ZipFile(io.BytesIO(bundle.read_bytes()))
    with zipfile.ZipFile(bundle, "w", compression=zipfile.ZIP_STORED) as out:
        for info in src.infolist():
            data = change(info.filename, src.read(info.filename))
            if data is not None:
                out.writestr(info, data)


def test_a_changed_file_is_named(bundle):
    _rewrite(
        bundle,
        lambda name, data: data.replace(b'"FAIL"', b'"PASS"') if name == "findings.json" else data,
    )
    check = verify_bundle(bundle)
    assert not check.ok
    assert check.problems == ["changed: findings.json (SHA-256 differs from the manifest)"]


def test_a_removed_and_an_added_file_are_named(bundle):
    _rewrite(bundle, lambda name, data: None if name == "report.html" else data)
    with zipfile.ZipFile(bundle, "a") as zf:
        zf.writestr("extra.txt", "sneaked in")
    problems = verify_bundle(bundle).problems
    assert "added: extra.txt (not in the manifest)" in problems
    _rewrite(bundle, lambda name, data: None if name == "run.json" else data)
    assert "missing: run.json" in verify_bundle(bundle).problems


def test_every_single_byte_change_fails_verification(tmp_path):
    """Flip one bit of each byte of a small bundle in turn: verification never passes."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "findings.json").write_text(
        json.dumps({"schema_version": 1, "as_of": AS_OF, "summary": {}, "findings": []})
    )
    (folder / "run.json").write_text('{"command": "auditor audit"}')
    path, _, _ = export_bundle(folder, tmp_path / "tiny.zip")
    raw = path.read_bytes()
    target = tmp_path / "flipped.zip"
    passed, not_a_bundle = [], 0
    for i in range(len(raw)):
        for bit in (0x01, 0x80) if i % 7 == 0 else (0x01,):
            changed = bytearray(raw)
            changed[i] ^= bit
            target.write_bytes(bytes(changed))
            try:
                if verify_bundle(target).ok:
                    passed.append((i, bit))
            except InputError:  # so damaged it is no longer a zip: also a failure (exit 2)
                not_a_bundle += 1
    assert passed == [], f"undetected changes at byte offsets {passed[:10]}"
    assert not_a_bundle < len(raw) // 4  # most changes are named as changes, not as "not a bundle"


def test_not_a_bundle(tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_text("not a zip at all")
    with pytest.raises(InputError, match="not an evidence bundle"):
        verify_bundle(junk)
    plain = tmp_path / "plain.zip"
    with zipfile.ZipFile(plain, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(InputError, match=r"no manifest\.json"):
        verify_bundle(plain)
    with pytest.raises(InputError, match="no such bundle"):
        verify_bundle(tmp_path / "missing.zip")


def test_export_refuses_a_folder_without_findings(tmp_path):
    with pytest.raises(InputError, match=r"no findings\.json"):
        export_bundle(tmp_path, tmp_path / "b.zip")


def test_cli_exit_codes(tmp_path, results_dir):
    runner = CliRunner()
    out = tmp_path / "cli.zip"
    res = runner.invoke(
        app, ["evidence", "export", "--results", str(results_dir), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "sha256" in res.output
    res = runner.invoke(app, ["evidence", "verify", str(out)])
    assert res.exit_code == 0 and "OK" in res.output
    raw = bytearray(out.read_bytes())
    offset = raw.index(b'"schema_version": 1')  # inside findings.json's stored bytes
    raw[offset + 2] ^= 0x20
    out.write_bytes(bytes(raw))
    res = runner.invoke(app, ["evidence", "verify", str(out)])
    assert res.exit_code == 1
    assert "changed: findings.json" in res.output and "verification FAILED" in res.output
    (tmp_path / "nope.zip").write_text("nope")
    res = runner.invoke(app, ["evidence", "verify", str(tmp_path / "nope.zip")])
    assert res.exit_code == 2 and "not an evidence bundle" in res.output


def test_manifest_keeps_the_instant_judged_and_the_collection_time_apart(tmp_path, results_dir):
    # A back-dated audit: judged as of AS_OF, but the AWS calls were made days later.
    run = json.loads((results_dir / "run.json").read_text())
    run["collected_at"] = "2026-11-30T09:15:02Z"
    (results_dir / "run.json").write_text(json.dumps(run))
    path, manifest, _ = export_bundle(results_dir, tmp_path / "b.zip")
    assert manifest["as_of"] == AS_OF
    assert manifest["collected_at"] == "2026-11-30T09:15:02Z"
    with zipfile.ZipFile(path) as zf:
        inside = json.loads(zf.read("manifest.json"))
    assert (inside["as_of"], inside["collected_at"]) == (AS_OF, "2026-11-30T09:15:02Z")


def test_manifest_falls_back_to_the_inventory_collection_time(tmp_path, results_dir):
    inventory = json.loads((results_dir / "inventory" / "manifest.json").read_text())
    inventory["collected_at"] = "2026-11-29T08:00:00Z"
    (results_dir / "inventory" / "manifest.json").write_text(json.dumps(inventory))
    (results_dir / "run.json").write_text(json.dumps({"command": "auditor check", "as_of": AS_OF}))
    _, manifest, _ = export_bundle(results_dir, tmp_path / "b.zip")
    assert manifest["collected_at"] == "2026-11-29T08:00:00Z"
    assert manifest["as_of"] == AS_OF


def test_verify_against_the_recorded_bundle_hash(tmp_path, results_dir):
    path, _, digest = export_bundle(results_dir, tmp_path / "b.zip")
    assert verify_bundle(path, expect_sha256=digest).ok
    assert verify_bundle(path, expect_sha256=f"  {digest.upper()} ").ok  # as copied from a log
    other = hashlib.sha256(b"another bundle").hexdigest()
    check = verify_bundle(path, expect_sha256=other)
    # Every file still matches its manifest: only the bundle's own hash tells the difference.
    assert not check.ok and check.problems == [] and check.sha256_matches is False
    assert check.failure() == (
        f"{path}: verification FAILED: bundle SHA-256 {digest} differs from the expected {other}"
    )
    with pytest.raises(UsageError, match="64 hexadecimal digits"):
        verify_bundle(path, expect_sha256="abc123")


def test_cli_expect_sha256(tmp_path, results_dir):
    import subprocess
    import sys

    path, _, digest = export_bundle(results_dir, tmp_path / "b.zip")

    def verify(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "auditor", "evidence", "verify", str(path), *extra],
            capture_output=True,
            text=True,
            timeout=120,
        )

    ok = verify("--expect-sha256", digest)
    assert ok.returncode == 0, ok.stderr
    assert digest in ok.stderr
    wrong = verify("--expect-sha256", "0" * 64)
    assert wrong.returncode == 1
    assert wrong.stderr.strip().splitlines() == [
        f"auditor: error: {path}: verification FAILED: bundle SHA-256 {digest} differs from the"
        f" expected {'0' * 64}"
    ]
    malformed = verify("--expect-sha256", "not-a-hash")
    assert malformed.returncode == 2
    assert "--expect-sha256 'not-a-hash': expected 64 hexadecimal digits" in malformed.stderr
    assert "Traceback" not in malformed.stderr
