"""Every shipped framework file is valid: the JSON Schema, control ids that exist, unique ids."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from auditor.controls import CONTROL_IDS, REGISTRY
from auditor.errors import InputError, UsageError
from auditor.frameworks import (
    SHIPPED_DIR,
    available_frameworks,
    load_framework,
    parse_framework,
)

SHIPPED = sorted(p.stem for p in SHIPPED_DIR.glob("*.yaml"))
SCHEMA = json.loads((SHIPPED_DIR / "schema.json").read_text(encoding="utf-8"))


def test_the_six_frameworks_are_shipped():
    assert set(SHIPPED) == {
        "soc2",
        "iso27001-2022",
        "nist-800-53-r5",
        "hipaa",
        "pci-dss-4.0",
        "aws-backup-audit-manager",
    }
    assert available_frameworks() == SHIPPED


def test_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_file_matches_the_schema(name):
    doc = yaml.safe_load((SHIPPED_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    errors = list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(doc))
    assert errors == [], [e.message for e in errors]
    assert doc["source"].startswith("https://")


@pytest.mark.parametrize("name", SHIPPED)
def test_every_control_id_exists_and_ids_are_unique(name):
    doc = yaml.safe_load((SHIPPED_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    ids = [r["id"] for r in doc["requirements"]]
    assert len(ids) == len(set(ids)), "requirement ids must be unique"
    for req in doc["requirements"]:
        controls = [c["id"] for c in req["controls"]]
        assert len(controls) == len(set(controls)), req["id"]
        for control in controls:
            assert control in REGISTRY, f"{name} {req['id']}: unknown control {control}"
            assert control in CONTROL_IDS
        if not controls:
            # nothing to show for it yet: the file must say what evidence is missing
            assert req.get("gap"), f"{name} {req['id']}: controls: [] needs a gap note"
    framework = load_framework(name)
    assert [r.id for r in framework.requirements] == ids


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("soc2", {"A1.2", "A1.3", "CC6.1", "CC7.5", "CC9.1", "C1.2"}),
        (
            "iso27001-2022",
            {"A.5.29", "A.5.30", "A.5.33", "A.8.10", "A.8.13", "A.8.14", "A.8.24"},
        ),
        (
            "nist-800-53-r5",
            {"CP-6", "CP-6(1)", "CP-9", "CP-9(1)", "CP-9(8)", "CP-10", "SC-28", "SI-12"},
        ),
        (
            "hipaa",
            {
                "164.308(a)(7)(ii)(A)",
                "164.308(a)(7)(ii)(B)",
                "164.308(a)(7)(ii)(D)",
                "164.310(d)(2)(iv)",
                "164.312(a)(2)(iv)",
                "164.312(c)(1)",
            },
        ),
        ("pci-dss-4.0", {"3.2.1", "3.5.1", "9.4.1.1", "12.10.1"}),
    ],
)
def test_frameworks_name_the_requirements_auditors_ask_about(name, expected):
    ids = {r.id for r in load_framework(name).requirements}
    assert expected <= ids


def test_aws_backup_audit_manager_maps_its_ten_controls_one_to_one():
    # Control names as CreateFramework takes them (AWS Backup Developer Guide, "Choosing your
    # controls" and "Creating frameworks using the AWS Backup API").
    framework = load_framework("aws-backup-audit-manager")
    assert {r.id for r in framework.requirements} == {
        "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN",
        "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK",
        "BACKUP_RECOVERY_POINT_MANUAL_DELETION_DISABLED",
        "BACKUP_RECOVERY_POINT_ENCRYPTED",
        "BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK",
        "BACKUP_RESOURCES_PROTECTED_BY_CROSS_REGION",
        "BACKUP_RESOURCES_PROTECTED_BY_CROSS_ACCOUNT",
        "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_VAULT_LOCK",
        "BACKUP_LAST_RECOVERY_POINT_CREATED",
        "RESTORE_TIME_FOR_RESOURCES_MEET_TARGET",
    }
    by_id = {r.id: r for r in framework.requirements}
    assert [c.id for c in by_id["RESTORE_TIME_FOR_RESOURCES_MEET_TARGET"].controls] == [
        "restore-time-target"
    ]
    assert [c.id for c in by_id["BACKUP_RECOVERY_POINT_ENCRYPTED"].controls] == ["backup-encrypted"]


def test_requirements_served_by_no_control_have_no_coverage():
    for name in SHIPPED:
        for req in load_framework(name).requirements:
            assert (req.coverage == "none") == (not req.controls)


VALID = """
name: Mine
version: "1"
source: https://example.com/mine
requirements:
  - id: R1
    title: Backups exist
    description: Recent backups exist.
    controls:
      - id: backup-recency
"""


def test_a_user_folder_adds_a_framework_and_overrides_a_shipped_one(write_framework):
    folder = write_framework("mine", VALID)
    write_framework("soc2", VALID.replace("Mine", "My SOC 2"))
    assert "mine" in available_frameworks([folder])
    assert load_framework("mine", [folder]).name == "Mine"
    assert load_framework("soc2", [folder]).name == "My SOC 2"
    assert load_framework("soc2").name == "SOC 2"


def test_unknown_framework_is_a_usage_error():
    with pytest.raises(UsageError, match=r"'nope' is not one of .*soc2"):
        load_framework("nope")


def test_missing_frameworks_folder_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="not a folder"):
        load_framework("soc2", [tmp_path / "absent"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (VALID.replace("backup-recency", "restore-drill"), "unknown control 'restore-drill'"),
        (VALID + VALID.split("requirements:\n")[1], "requirement R1 is listed twice"),
        (VALID.replace("source: https://example.com/mine\n", ""), "'source' is a required"),
        (
            VALID.replace("      - id: backup-recency\n", "      - backup-recency\n"),
            "at requirements/0/controls/0",
        ),
        (
            VALID + "      - id: backup-recency\n",
            "requirement R1 lists a control twice",
        ),
        ("name: [unclosed", "not a readable YAML file"),
    ],
)
def test_invalid_framework_files_name_the_file_and_the_problem(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message) as caught:
        parse_framework(path)
    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)
