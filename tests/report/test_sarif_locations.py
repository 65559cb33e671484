"""Audit SARIF: a code-scanning location (policy file and plan line) where one exists, the ARN always."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from auditor.findings import plan_locations
from auditor.report import render


def _plans() -> list[dict]:
    return [
        {
            "name": "gold",
            "line": 4,
            "source": "policies/backup-plans.yaml",
            "file": "policies/backup-plans.yaml",
        },
        {
            "name": "silver",
            "line": 12,
            "source": "/abs/policies/backup-plans.yaml",
            "file": "policies/backup-plans.yaml",
        },
    ]


def _log(results, strict_json) -> dict:
    with_plans = dataclasses.replace(results, extra={**results.extra, "plans": _plans()})
    return strict_json(render(with_plans, "sarif"))


def test_results_point_at_the_plan_line_of_the_policy_file(results, strict_json, sarif_errors):
    log = _log(results, strict_json)
    assert sarif_errors(log) == []
    by_plan: dict = {}
    for result in log["runs"][0]["results"]:
        by_plan.setdefault(result["properties"]["plan"], []).append(result)
    assert set(by_plan) >= {"gold", "silver", None}

    gold = by_plan["gold"][0]
    (location,) = gold["locations"]
    assert location["physicalLocation"] == {
        "artifactLocation": {"uri": "policies/backup-plans.yaml", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 4},
    }
    assert location["logicalLocations"][0]["kind"] == "resource"
    assert location["logicalLocations"][0]["fullyQualifiedName"].startswith("arn:aws:")
    (copy,) = gold["relatedLocations"]
    assert copy["physicalLocation"]["artifactLocation"] == {
        "uri": "policies/backup-plans.yaml",
        "uriBaseId": "RESULTS",
    }
    assert copy["physicalLocation"]["region"] == {"startLine": 4}

    # A path given as absolute is an absolute file URI (no base to resolve against).
    silver = by_plan["silver"][0]["locations"][0]["physicalLocation"]
    assert silver["artifactLocation"] == {"uri": "file:///abs/policies/backup-plans.yaml"}
    assert silver["region"] == {"startLine": 12}

    # No plan (e.g. a resource no plan selects): the ARN alone, no invented file.
    for result in by_plan[None]:
        assert set(result["locations"][0]) == {"logicalLocations"}
        assert "relatedLocations" not in result


def test_without_plan_locations_results_keep_the_logical_location(
    results, strict_json, sarif_errors
):
    log = strict_json(render(results, "sarif"))
    assert sarif_errors(log) == []
    for result in log["runs"][0]["results"]:
        assert "physicalLocation" not in result["locations"][0]
        assert result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]


def test_plan_locations_name_the_file_as_given_and_its_copy(tmp_path):
    from auditor.policy import load_policies

    folder = tmp_path / "repo" / "policies"
    (folder / "team").mkdir(parents=True)
    (folder / "team" / "plans.yaml").write_text(
        "version: 1\n"
        "plans:\n"
        "  - name: gold\n"
        "    select: {tags: {backup: gold}}\n"
        "    frequency: 24h\n"
        "    retention_days: 35\n"
        "\n"
        "  - name: silver\n"
        "    select: {tags: {backup: silver}}\n"
        "    frequency: 24h\n"
        "    retention_days: 7\n"
    )
    policies = load_policies(folder)
    locations = {p["name"]: p for p in plan_locations(policies, folder)}
    assert locations["gold"]["line"] == 3 and locations["silver"]["line"] == 8
    assert locations["gold"]["file"] == "policies/team/plans.yaml"
    assert Path(locations["gold"]["source"]) == folder / "team" / "plans.yaml"
    # A single file given: its copy sits directly in policies/.
    single = plan_locations(
        load_policies(folder / "team" / "plans.yaml"), folder / "team" / "plans.yaml"
    )
    assert single[0]["file"] == "policies/plans.yaml"
