"""What `auditor demo` writes is what CI systems and auditors parse without reading it.

One demo run (the installed console script, as a user runs it) is checked for: strict JSON in
every JSON file, inside the evidence bundle too; SARIF valid against the OASIS 2.1.0 schema with
locations a code-scanning UI can open; JUnit that parses with unique (classname, name) pairs; an
evidence manifest that keeps the instant judged and the collection time as two fields.
"""

from __future__ import annotations

import collections
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

JSON_SUFFIXES = (".json", ".sarif")


def _console_script() -> list[str]:
    script = Path(sys.executable).parent / "auditor"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "auditor"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "results"
    done = subprocess.run(
        [*_console_script(), "demo", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return out


def _json_documents(demo: Path) -> dict[str, bytes]:
    """Every JSON file the demo wrote, and every JSON file inside its evidence bundle."""
    found = {
        p.relative_to(demo).as_posix(): p.read_bytes()
        for p in sorted(demo.rglob("*"))
        if p.is_file() and p.suffix in JSON_SUFFIXES
    }
    with zipfile.ZipFile(demo / "evidence.zip") as zf:
        for name in zf.namelist():
            if name.endswith(JSON_SUFFIXES):
                found[f"evidence.zip!{name}"] = zf.read(name)
    return found


def test_every_json_output_is_strict_json(demo, strict_json):
    documents = _json_documents(demo)
    expected = {
        "findings.json",
        "report.sarif",
        "metering.json",
        "run.json",
        "history.json",
        "inventory/manifest.json",
        "evidence.zip!manifest.json",
        "evidence.zip!findings.json",
        "evidence.zip!report.sarif",
        "evidence.zip!inventory/manifest.json",
    }
    assert expected <= set(documents)
    for name, data in documents.items():
        try:
            strict_json(data.decode("utf-8"))
        except ValueError as exc:
            pytest.fail(f"{name}: not strict JSON: {exc}")


def test_audit_sarif_is_valid_and_points_at_the_plan_lines(demo, strict_json, sarif_errors):
    log = strict_json((demo / "report.sarif").read_text(encoding="utf-8"))
    assert sarif_errors(log) == []
    results = log["runs"][0]["results"]
    assert results
    with_file = 0
    for result in results:
        (location,) = result["locations"]
        arn = location["logicalLocations"][0]["fullyQualifiedName"]
        assert arn.startswith("arn:aws:")
        plan = result["properties"]["plan"]
        if plan is None:
            assert "physicalLocation" not in location
            continue
        with_file += 1
        # The copy of the policy file in the results folder, at the line declaring the plan.
        (related,) = result["relatedLocations"]
        copy = related["physicalLocation"]
        assert copy["artifactLocation"]["uriBaseId"] == "RESULTS"
        lines = (demo / copy["artifactLocation"]["uri"]).read_text().splitlines()
        line = lines[copy["region"]["startLine"] - 1]
        assert line.strip() == f"- name: {plan}", line
        # The file as given on the command line, at the same line.
        given = location["physicalLocation"]
        assert given["region"] == copy["region"]
        assert given["artifactLocation"]["uri"].endswith(copy["artifactLocation"]["uri"])
    assert with_file  # the demo has findings judged against a plan


def test_junit_parses_and_names_each_finding_once(demo):
    root = ET.parse(demo / "junit.xml").getroot()
    cases = [(c.get("classname"), c.get("name")) for c in root.iter("testcase")]
    findings = json.loads((demo / "findings.json").read_text())["findings"]
    assert len(cases) == len(findings)
    repeated = [pair for pair, n in collections.Counter(cases).items() if n > 1]
    assert repeated == []


def test_evidence_manifest_has_as_of_and_collected_at(demo):
    with zipfile.ZipFile(demo / "evidence.zip") as zf:
        manifest = json.loads(zf.read("manifest.json"))
    run = json.loads((demo / "run.json").read_text())
    assert manifest["as_of"] == run["as_of"]
    expected = run.get("collected_at") or run["collection"]["collected_at"]
    assert manifest["collected_at"] == expected and manifest["collected_at"]
