"""Audit evidence bundles: a results folder zipped with a hashed manifest, and its verification.

`export_bundle(results_dir, out_zip)` writes one zip holding every file of the results folder (the
inventory, the policies as evaluated, findings, metering, reports, run and history summaries) and
`manifest.json`: program version, command, `as_of` (the instant the controls judged) and
`collected_at` (the real clock time when the AWS calls were made; the two differ whenever
`--as-of` names another instant), scope, collection statistics and the SHA-256 and size of every
file.

The zip is written canonically (entries stored uncompressed in sorted order, fixed timestamps and
attributes, no comments or extra fields), so `verify_bundle` can hold *every byte* of it to account: file contents against
the manifest's hashes (and the zip's CRCs), and the zip's own structure (local headers, central
directory, end record, layout with no gaps) against what the exporter writes. A bundle that was
changed anywhere therefore fails verification. What no hash inside a file can prove is that
nobody rebuilt the whole bundle with a new manifest: record the bundle's SHA-256 (printed by
both commands) somewhere the auditee cannot write, and give it back to `verify_bundle`
(`auditor evidence verify BUNDLE --expect-sha256 HEX`), which then also fails when the bundle's
own hash differs.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor import __version__, jsonsafe
from auditor.atomic import open_atomic
from auditor.errors import InputError, UsageError

BUNDLE_FORMAT = 1
MANIFEST = "manifest.json"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_EXTERNAL_ATTR = 0o100644 << 16
_CREATE_SYSTEM = 3  # unix
_VERSION = 20  # what zipfile writes for every entry
# Entries are stored, not deflated: deflate streams have bits a decoder ignores (e.g. padding), so a
# changed byte there would go unnoticed; stored data is covered bit for bit by the hashes.
_METHOD = zipfile.ZIP_STORED
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_EOCD = struct.Struct("<4s4H2LH")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_EXCLUDED_SUFFIXES = (".zip", ".sqlite", ".sqlite-journal", ".sqlite-wal", ".sqlite-shm", ".tmp")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass
class Verification:
    """Outcome of `verify_bundle`: `ok` only when no file and no byte of the zip changed.

    With an expected bundle hash, `ok` also needs the bundle's own SHA-256 to equal it
    (`expected_sha256`; `sha256_matches` is None when no hash was expected).
    """

    path: Path
    ok: bool
    problems: list[str] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)
    files: int = 0
    bundle_sha256: str = ""
    expected_sha256: str | None = None

    @property
    def sha256_matches(self) -> bool | None:
        """Whether the bundle's SHA-256 is the expected one (None when none was given)."""
        if self.expected_sha256 is None:
            return None
        return self.bundle_sha256 == self.expected_sha256

    def failure(self) -> str:
        """The one line that says why verification failed ("" when it did not)."""
        if self.ok:
            return ""
        parts = []
        if self.problems:
            parts.append(f"{len(self.problems)} change(s) found")
        if self.sha256_matches is False:
            parts.append(
                f"bundle SHA-256 {self.bundle_sha256} differs from the expected {self.expected_sha256}"
            )
        return f"{self.path}: verification FAILED: {'; '.join(parts)}"


def parse_sha256(value: str) -> str:
    """A SHA-256 given by the user, as 64 lowercase hex digits; UsageError (exit 2) otherwise."""
    text = str(value).strip().lower()
    if not _SHA256_HEX.fullmatch(text):
        raise UsageError(
            f"--expect-sha256 {value!r}: expected 64 hexadecimal digits "
            "(the sha256 that `auditor evidence export` printed)"
        )
    return text


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bundle_files(results_dir: str | Path) -> list[str]:
    """Relative POSIX paths of the files a bundle of `results_dir` holds, sorted.

    Left out: hidden files (temporaries), zips (earlier bundles), the SQLite history store (it
    changes with every later run; its summary for this run is history.json).
    """
    root = Path(results_dir)
    names = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if not path.is_file() or any(part.startswith(".") for part in rel.parts):
            continue
        if path.name.endswith(_EXCLUDED_SUFFIXES):
            continue
        names.append(rel.as_posix())
    return sorted(names)


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def build_manifest(results_dir: str | Path, *, command: str | None = None) -> dict[str, Any]:
    """The bundle manifest for `results_dir` (see module doc); reads and hashes every file."""
    root = Path(results_dir)
    if not root.is_dir():
        raise InputError(f"{root}: not a results folder (it does not exist)")
    if (root / "findings.json").is_file():
        findings = _load_json(root / "findings.json") or {}
    elif (root / "findings.parquet").is_file():  # `check --format jsonl` writes no findings.json
        from auditor.findings import read_parquet_head

        findings = read_parquet_head(root / "findings.parquet")
    else:
        raise InputError(
            f"{root}: not a results folder (no findings.json or findings.parquet); run `auditor audit` first"
        )
    run = _load_json(root / "run.json") or {}
    inventory = _load_json(root / "inventory" / "manifest.json") or {}
    names = bundle_files(root)
    files = {
        name: {"sha256": _sha256_file(root / name), "bytes": (root / name).stat().st_size}
        for name in names
    }
    scope = dict(run.get("scope") or {})
    scope.setdefault("accounts", inventory.get("accounts", []))
    scope.setdefault("regions", inventory.get("regions", []))
    scope.setdefault("policies", sorted(n for n in names if n.startswith("policies/")))
    errors = inventory.get("tables", {}).get("errors")
    collection = {
        "collected_at": inventory.get("collected_at"),
        "duration_seconds": inventory.get("duration_seconds"),
        "api_calls": sum((inventory.get("api_calls") or {}).values()) if inventory else None,
        "tables": inventory.get("tables"),
        "errors": errors,
        "complete": (errors == 0) if errors is not None else None,
        # the jobs window jobs.csv covers (it runs to as_of)
        "jobs_since": inventory.get("jobs_since"),
    }
    if run.get("collection"):
        collection.update(run["collection"])
    return {
        "bundle_format": BUNDLE_FORMAT,
        "program": "auditor",
        "program_version": __version__,
        "command": run.get("command"),
        "export_command": command,
        "as_of": findings.get("as_of") or run.get("as_of"),
        "collected_at": _collected_at(run, inventory),
        "scope": scope,
        "summary": findings.get("summary"),
        "collection": collection,
        "files": files,
    }


def _collected_at(run: dict[str, Any], inventory: dict[str, Any]) -> str | None:
    """When collection really ran: run.json's `collected_at`, else the inventory manifest's.

    Never `as_of`: that is the instant judged, which a back-dated audit sets to another time.
    """
    for value in (
        run.get("collected_at"),
        (run.get("collection") or {}).get("collected_at"),
        inventory.get("collected_at"),
    ):
        if value:
            return str(value)
    return None


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.compress_type = _METHOD
    info.create_system = _CREATE_SYSTEM
    info.external_attr = _EXTERNAL_ATTR
    return info


def export_bundle(
    results_dir: str | Path, out: str | Path, *, command: str | None = None
) -> tuple[Path, dict[str, Any], str]:
    """Zip `results_dir` with its manifest into `out` (atomically). Returns (path, manifest, bundle SHA-256)."""
    root = Path(results_dir)
    out = Path(out)
    manifest = build_manifest(root, command=command)
    with (
        open_atomic(out, "wb") as handle,
        zipfile.ZipFile(handle, "w", compression=_METHOD, allowZip64=True) as zf,
    ):
        zf.writestr(_info(MANIFEST), jsonsafe.dumps(manifest, sort_keys=True))
        for name in manifest["files"]:
            with open(root / name, "rb") as src, zf.open(_info(name), "w") as dst:
                for block in iter(lambda: src.read(1 << 20), b""):
                    dst.write(block)
    # Files that changed while being zipped would make a bundle that fails verification at once.
    check = verify_bundle(out)
    if not check.ok:
        raise InputError(
            f"{root}: files changed while the bundle was written ({check.problems[0]}); export again"
        )
    return out, manifest, check.bundle_sha256


def verify_bundle(path: str | Path, *, expect_sha256: str | None = None) -> Verification:
    """Check every file against the manifest and every byte of the zip's structure.

    With `expect_sha256` (the bundle hash recorded at export), the bundle's own SHA-256 must
    equal it too: the one check that also catches a bundle rebuilt with a new manifest.
    Raises UsageError (exit 2) for a malformed `expect_sha256`, InputError (exit 2) when `path` is
    not an evidence bundle at all (not a zip, or no manifest.json); otherwise returns a
    Verification naming each change.
    """
    expected = parse_sha256(expect_sha256) if expect_sha256 is not None else None
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such bundle file")
    try:
        zf = zipfile.ZipFile(path)
    except Exception as exc:  # zipfile raises several types for damaged central directories
        raise InputError(
            f"{path}: not an evidence bundle (not a readable zip file: {exc})"
        ) from None
    result = Verification(
        path=path, ok=False, bundle_sha256=_sha256_file(path), expected_sha256=expected
    )
    problems = result.problems
    with zf:
        names = [info.filename for info in zf.infolist()]
        if MANIFEST not in names:
            raise InputError(f"{path}: not an evidence bundle (no {MANIFEST} inside)")
        try:
            problems.extend(_structure_problems(path, zf))
        except Exception as exc:  # offsets pointing outside the file and the like
            problems.append(f"zip structure changed: {type(exc).__name__}: {exc}")
        try:
            manifest = json.loads(zf.read(MANIFEST).decode("utf-8"))
            files = manifest["files"]
            if not isinstance(files, dict):
                raise TypeError("files is not an object")
        except (
            Exception
        ) as exc:  # any damage to the manifest is a change, whatever the decoder says
            problems.append(f"changed: {MANIFEST} (unreadable: {type(exc).__name__})")
            manifest, files = {}, {}
        result.manifest = manifest
        present = set(names)
        for name, expected in sorted(files.items()):
            if name not in present:
                problems.append(f"missing: {name}")
                continue
            try:
                data = zf.read(name)
            except (
                Exception
            ) as exc:  # CRC, inflate, header or flag damage: all mean the entry changed
                problems.append(f"changed: {name} (unreadable: {type(exc).__name__}: {exc})")
                continue
            if not isinstance(expected, dict) or hashlib.sha256(data).hexdigest() != expected.get(
                "sha256"
            ):
                problems.append(f"changed: {name} (SHA-256 differs from the manifest)")
            elif len(data) != expected.get("bytes"):
                problems.append(f"changed: {name} (size differs from the manifest)")
        for name in sorted(present - set(files) - {MANIFEST}):
            if files or manifest:
                problems.append(f"added: {name} (not in the manifest)")
        result.files = len(files)
    result.ok = not problems and result.sha256_matches is not False
    return result


def _dos(date_time: tuple[int, ...]) -> tuple[int, int]:
    y, mo, d, h, mi, s = date_time
    return (h << 11) | (mi << 5) | (s // 2), ((y - 1980) << 9) | (mo << 5) | d


def _structure_problems(path: Path, zf: zipfile.ZipFile) -> list[str]:
    """Differences between the zip's bytes and the canonical layout `export_bundle` writes."""
    problems: list[str] = []
    infos = zf.infolist()
    seen: set[str] = set()
    dos_time, dos_date = _dos(_FIXED_TIME)
    size = path.stat().st_size
    expected_offset = 0
    central_size = 0
    with open(path, "rb") as handle:
        for info in sorted(infos, key=lambda i: i.header_offset):
            name = info.filename
            if name in seen:
                problems.append(f"zip structure changed: duplicate entry {name}")
            seen.add(name)
            flags = 0x800 if not name.isascii() else 0
            canonical = (
                info.date_time == _FIXED_TIME
                and info.compress_type == _METHOD
                and info.create_system == _CREATE_SYSTEM
                and info.create_version == _VERSION
                and info.extract_version == _VERSION
                and info.reserved == 0
                and info.flag_bits == flags
                and info.volume == 0
                and info.internal_attr == 0
                and info.external_attr == _EXTERNAL_ATTR
                and info.extra == b""
                and info.comment == b""
            )
            if not canonical:
                problems.append(f"zip structure changed: central directory entry of {name}")
            if info.header_offset != expected_offset:
                problems.append(f"zip structure changed: unexpected bytes before {name}")
            handle.seek(info.header_offset)
            raw = handle.read(_LOCAL.size)
            try:
                fields = _LOCAL.unpack(raw)
            except struct.error:
                problems.append(f"zip structure changed: local header of {name} is cut short")
                break
            name_bytes = handle.read(fields[10])
            local_extra = handle.read(fields[11])
            expected_local = (
                b"PK\x03\x04",
                _VERSION,
                0,
                flags,
                _METHOD,
                dos_time,
                dos_date,
                info.CRC,
                info.compress_size,
                info.file_size,
                len(info.orig_filename.encode("utf-8")),
                0,
            )
            if (
                fields != expected_local
                or name_bytes != info.orig_filename.encode("utf-8")
                or local_extra
            ):
                problems.append(f"zip structure changed: local header of {name}")
            expected_offset = (
                info.header_offset + _LOCAL.size + fields[10] + fields[11] + info.compress_size
            )
            central_size += (
                46 + len(info.orig_filename.encode("utf-8")) + len(info.extra) + len(info.comment)
            )
        handle.seek(max(size - _EOCD.size, 0))
        tail = handle.read(_EOCD.size)
        # zipfile tolerates name/extra/comment lengths that run past the directory; the raw walk does not.
        handle.seek(expected_offset)
        directory = handle.read(max(size - _EOCD.size - expected_offset, 0))
    names = [info.orig_filename.encode("utf-8") for info in infos]
    pos, index = 0, 0
    while pos + _CENTRAL.size <= len(directory) and directory[pos : pos + 4] == b"PK\x01\x02":
        fields = _CENTRAL.unpack_from(directory, pos)
        name_len, extra_len, comment_len = fields[12], fields[13], fields[14]
        if index >= len(names) or name_len != len(names[index]) or extra_len or comment_len:
            problems.append("zip structure changed: central directory entry lengths")
            break
        pos += _CENTRAL.size + name_len
        index += 1
    if pos != len(directory) or index != len(names):
        problems.append("zip structure changed: central directory size")
    start_dir = getattr(zf, "start_dir", None)
    if start_dir is not None and start_dir != expected_offset:
        problems.append("zip structure changed: unexpected bytes before the central directory")
    try:
        sig, disk, disk_cd, count_disk, count, size_cd, offset_cd, comment_len = _EOCD.unpack(tail)
    except struct.error:
        return problems + ["zip structure changed: end of central directory record is cut short"]
    if (
        sig != b"PK\x05\x06"
        or disk != 0
        or disk_cd != 0
        or count_disk != len(infos)
        or count != len(infos)
        or size_cd != central_size
        or offset_cd != expected_offset
        or comment_len != 0
        or size != offset_cd + size_cd + _EOCD.size
    ):
        problems.append("zip structure changed: end of central directory record")
    return problems


__all__ = [
    "BUNDLE_FORMAT",
    "Verification",
    "build_manifest",
    "bundle_files",
    "export_bundle",
    "parse_sha256",
    "verify_bundle",
]
