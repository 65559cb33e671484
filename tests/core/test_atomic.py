"""Atomic writes leave the old file or the new one, never half of one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.atomic import open_atomic, replace_dir, write_text


def test_write_text_replaces(tmp_path: Path):
    target = tmp_path / "a" / "report.md"
    write_text(target, "one")
    write_text(target, "two")
    assert target.read_text() == "two"
    assert os.listdir(target.parent) == ["report.md"]


def test_failed_write_keeps_previous(tmp_path: Path):
    target = tmp_path / "findings.json"
    write_text(target, "previous")
    with pytest.raises(RuntimeError), open_atomic(target, "w") as handle:
        handle.write("half of a new fi")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "previous"
    assert os.listdir(tmp_path) == ["findings.json"]


def test_failed_dir_replace_keeps_previous(tmp_path: Path):
    target = tmp_path / "inv"
    with replace_dir(target) as staging:
        (staging / "x").write_text("old")
    with pytest.raises(RuntimeError), replace_dir(target) as staging:
        (staging / "x").write_text("new")
        raise RuntimeError("boom")
    assert (target / "x").read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["inv"]


def test_outputs_get_ordinary_file_modes(tmp_path: Path):
    umask = os.umask(0o022)
    os.umask(umask)
    target = write_text(tmp_path / "report.html", "<html>")
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    with replace_dir(tmp_path / "inv") as staging:
        (staging / "x").write_text("x")
    assert (tmp_path / "inv").stat().st_mode & 0o777 == 0o777 & ~umask
