"""The resource-type catalogue is complete, consistent, and the only list of resource types.

Each collected type must come with everything that makes it work end to end: a collector, prices
for its backups, IAM read actions in the published policy, plan-check template types and a sandbox
seeder. A type missing any of them fails here rather than silently (unpriced rows, AccessDenied in a
customer's account, templates that plan-check ignores).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
from pathlib import Path

import pytest
import yaml

from auditor import catalog

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "auditor"
POLICY = REPO / "policies" / "iam-readonly.json"
PRICES = PACKAGE / "data" / "prices.yaml"
COLLECTED = catalog.collected_types()

# Modules that still write out a list of resource types and are being derived from the catalogue
# by other work in flight; remove an entry once its module is derived.
PENDING_DERIVATION: set[str] = set()


def _ids(records) -> list[str]:
    return [record.type_id for record in records]


def _sample_arn(fmt: str) -> str:
    return fmt.format(
        partition="aws",
        region="eu-west-1",
        account="111122223333",
        id="example-1",
        gateway_id="sgw-12A3456B",
        table="orders",
    )


def _policy_actions() -> set[str]:
    doc = json.loads(POLICY.read_text(encoding="utf-8"))
    actions: set[str] = set()
    for statement in doc["Statement"]:
        listed = statement["Action"]
        actions.update([listed] if isinstance(listed, str) else listed)
    return actions


def test_identifiers_are_unique_and_every_backup_kind_is_catalogued():
    type_ids = _ids(catalog.RESOURCE_TYPES)
    kinds = [kind.kind for kind in catalog.BACKUP_KINDS]
    assert len(type_ids) == len(set(type_ids))
    assert len(kinds) == len(set(kinds))
    for record in catalog.RESOURCE_TYPES:
        for kind in record.backup_kinds:
            assert kind in kinds, f"{record.type_id}: backup kind {kind} has no record"


def test_the_eleven_collected_types():
    assert catalog.collected_type_ids() == (
        "ebs-volume",
        "rds-instance",
        "rds-cluster",
        "dynamodb-table",
        "efs-filesystem",
        "storagegateway-volume",
        "ec2-instance",
        "s3-bucket",
        "fsx-filesystem",
        "docdb-cluster",
        "neptune-cluster",
    )
    assert not [r.type_id for r in catalog.RESOURCE_TYPES if not r.collected]


@pytest.mark.parametrize("record", COLLECTED, ids=_ids(COLLECTED))
def test_collected_type_has_a_registered_collector_module(record):
    from auditor.aws.collect import COLLECTORS

    assert importlib.util.find_spec(f"auditor.aws.{record.collector}") is not None
    assert record.collector in COLLECTORS, f"collect.py does not run {record.collector}"
    _, affects = COLLECTORS[record.collector]
    assert record.type_id in affects, f"a crash of {record.collector} must mark the type incomplete"


@pytest.mark.parametrize("record", COLLECTED, ids=_ids(COLLECTED))
def test_collected_type_has_prices_for_its_backups_in_us_east_1(record):
    prices = yaml.safe_load(PRICES.read_text(encoding="utf-8"))["prices"]["us-east-1"]
    assert record.backup_kinds, f"{record.type_id} declares no backup kind"
    for kind in map(catalog.backup_kind, record.backup_kinds):
        assert kind.usage_types, f"{kind.kind} has no usage type"
        for owner, _, usage_type in kind.usage_types:
            # a usage type several services share (BackupUsage) is priced per billing owner
            assert usage_type in prices or f"{owner}/{usage_type}" in prices, (
                f"{kind.kind}: no us-east-1 price for {usage_type}"
            )


@pytest.mark.parametrize("record", COLLECTED, ids=_ids(COLLECTED))
def test_collected_type_has_iam_actions_in_the_published_policy(record):
    assert record.iam_actions, f"{record.type_id} lists no IAM action"
    missing = set(record.iam_actions) - _policy_actions()
    assert not missing, f"{record.type_id}: not in {POLICY.name}: {sorted(missing)}"


def test_catalogue_actions_are_a_subset_of_the_policy():
    assert catalog.iam_actions() <= _policy_actions()


def test_every_per_type_action_of_the_policy_is_in_the_catalogue():
    # The policy lists exactly what collection calls (tests/aws/test_iam_policy.py); all of it but
    # AWS Backup's own listings and entering accounts is some type's, so the catalogue names it.
    shared_prefixes = ("backup:", "sts:", "organizations:")
    account_wide = {"ec2:DescribeRegions"}  # which regions an account has enabled
    per_type = {
        a for a in _policy_actions() if not a.startswith(shared_prefixes) and a not in account_wide
    }
    assert per_type - catalog.iam_actions() == set()


@pytest.mark.parametrize("record", COLLECTED, ids=_ids(COLLECTED))
def test_collected_type_has_plan_check_types(record):
    from auditor.plancheck.model import ARN_FORMATS, CFN_RESOURCE_TYPES, TF_RESOURCE_TYPES

    # CloudFormation has no Storage Gateway volume; every type has a Terraform resource.
    assert record.terraform_types, f"{record.type_id}: no Terraform type"
    for tf in record.terraform_types:
        assert re.fullmatch(r"aws_[a-z0-9_]+", tf), tf
        assert TF_RESOURCE_TYPES[tf] == record.type_id
    for cfn in record.cloudformation_types:
        assert re.fullmatch(r"AWS::[A-Za-z0-9]+::[A-Za-z0-9]+", cfn), cfn
        assert CFN_RESOURCE_TYPES[cfn] == record.type_id
    assert ARN_FORMATS[record.type_id] == record.arn_format


def test_plan_check_recognises_only_collected_types():
    from auditor.plancheck.model import CFN_RESOURCE_TYPES, TF_RESOURCE_TYPES

    collected = set(catalog.collected_type_ids())
    assert set(CFN_RESOURCE_TYPES.values()) <= collected
    assert set(TF_RESOURCE_TYPES.values()) == collected


@pytest.mark.parametrize("record", COLLECTED, ids=_ids(COLLECTED))
def test_collected_type_has_a_sandbox_seeder(record):
    from auditor.sandbox.seeders import TypeSeeder, seeders

    assert record.seeder, f"{record.type_id} has no seeder"
    assert importlib.util.find_spec(f"auditor.sandbox.seeders.{record.seeder}") is not None
    seeder = seeders()[record.type_id]
    assert isinstance(seeder, TypeSeeder)
    assert seeder.type_id == record.type_id, f"{record.seeder}.SEEDER seeds {seeder.type_id}"
    assert seeder.base_count > 0, f"{record.type_id} would have no resources in the estate"


@pytest.mark.parametrize("record", catalog.RESOURCE_TYPES, ids=_ids(catalog.RESOURCE_TYPES))
def test_arn_regex_recognises_the_arn_format(record):
    arn = _sample_arn(record.arn_format)
    assert re.match(record.arn_regex, arn), (record.arn_regex, arn)
    # A regex that names its type matches no other type's ARN, except a type that declares the
    # same shape (DocumentDB and Neptune clusters have RDS cluster ARNs).
    if record.arn_names_type:
        for other in catalog.RESOURCE_TYPES:
            if other.arn_format != record.arn_format:
                assert not re.match(record.arn_regex, _sample_arn(other.arn_format)), other


@pytest.mark.parametrize("kind", catalog.BACKUP_KINDS, ids=[k.kind for k in catalog.BACKUP_KINDS])
def test_backup_arn_regex_recognises_the_arn_format(kind):
    arn = _sample_arn(kind.arn_format)
    assert re.match(kind.arn_regex, arn), (kind.arn_regex, arn)
    if kind.arn_names_kind:
        for other in catalog.BACKUP_KINDS:
            if other.arn_format != kind.arn_format:
                assert not re.match(kind.arn_regex, _sample_arn(other.arn_format)), other.kind


def test_storage_gateway_volume_arn_is_aws_own_shape():
    # AWS's example volume ARN (Storage Gateway API reference, DescribeCachediSCSIVolumes).
    arn = "arn:aws:storagegateway:us-east-2:111122223333:gateway/sgw-12A3456B/volume/vol-1122AABB"
    record = catalog.resource_type("storagegateway-volume")
    assert re.match(record.arn_regex, arn)
    built = record.arn_format.format(
        partition="aws",
        region="us-east-2",
        account="111122223333",
        gateway_id="sgw-12A3456B",
        id="vol-1122AABB",
    )
    assert built == arn


def test_backup_service_names_are_aws_backup_resource_types():
    # AWS Backup's ResourceType values (GetSupportedResourceTypes), as the emulator lists them.
    from auditor.sandbox.moto_ext.backup import RESOURCE_TYPES as BACKUP_RESOURCE_TYPES

    for record in catalog.RESOURCE_TYPES:
        assert record.backup_service in BACKUP_RESOURCE_TYPES, record
    assert catalog.backup_service_name("rds-cluster") == "Aurora"
    assert catalog.backup_service_name("storagegateway-volume") == "Storage Gateway"
    with pytest.raises(KeyError, match="unknown resource type"):
        catalog.backup_service_name("redshift-cluster")


def test_support_matrix_service_names_follow_the_catalogue():
    data = json.loads((PACKAGE / "policy" / "aws_backup_support.json").read_text(encoding="utf-8"))
    by_engine = {r["resource_type"] for r in data["rows"] if r.get("engine_like")}
    for row in data["rows"]:
        if row["resource_type"] in by_engine:
            continue  # RDS: the AWS Backup name depends on the engine (Aurora or RDS)
        try:
            expected = catalog.backup_service_name(row["resource_type"])
        except (KeyError, ValueError):
            continue  # a type the matrix lists ahead of the catalogue
        assert expected == row["service"], row["resource_type"]


def test_metering_tables_equal_the_catalogue():
    metering = pytest.importorskip("auditor.metering")
    backup_types = getattr(metering, "BACKUP_TYPES", None)
    usage_types = getattr(metering, "USAGE_TYPES", None)
    if backup_types is None or usage_types is None:
        pytest.skip("metering derives its tables elsewhere")
    assert backup_types == catalog.backup_billing()
    assert usage_types == catalog.usage_types()


def test_inventory_and_normalize_derive_from_the_catalogue():
    from auditor.aws.normalize import _BACKUP_TYPE_PATTERNS, _TYPE_PATTERNS
    from auditor.inventory import RESOURCE_TYPES

    assert catalog.collected_type_ids() == RESOURCE_TYPES
    assert catalog.arn_type_patterns() == _TYPE_PATTERNS
    assert catalog.backup_kind_patterns() == _BACKUP_TYPE_PATTERNS


def _type_ids_in(node: ast.AST, known: set[str]) -> set[str]:
    """Type ids written as string constants directly in a literal collection (or one level down)."""
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        elements = list(node.elts)
    elif isinstance(node, ast.Dict):
        elements = [k for k in node.keys if k is not None] + list(node.values)
    else:
        return set()
    found: set[str] = set()
    for element in elements:
        if isinstance(element, (ast.Tuple, ast.List)):
            elements_below = element.elts
        else:
            elements_below = [element]
        for item in elements_below:
            if isinstance(item, ast.Constant) and item.value in known:
                found.add(item.value)
    return found


def test_no_other_module_hard_codes_a_list_of_resource_types():
    """A literal naming three or more resource types is a per-type table: derive it instead."""
    known = set(_ids(catalog.RESOURCE_TYPES))
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        if rel == "auditor/catalog.py" or rel in PENDING_DERIVATION:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        for node in ast.walk(tree):
            found = _type_ids_in(node, known)
            if len(found) >= 3:
                offenders.append(f"{rel}:{node.lineno}: {sorted(found)}")
    assert not offenders, "derive these from auditor/catalog.py:\n" + "\n".join(offenders)


def test_the_scan_would_catch_a_hard_coded_list():
    known = set(_ids(catalog.RESOURCE_TYPES))
    source = 'X = (("^a", "ebs-volume"), ("^b", "rds-instance"), ("^c", "efs-filesystem"))'
    node = ast.parse(source).body[0].value
    assert _type_ids_in(node, known) == {"ebs-volume", "rds-instance", "efs-filesystem"}


def test_every_price_names_its_provenance():
    """Each price line says [v] DATE KEY (KEY opening an entry of `sources`) or [r] (recalled)."""
    text = PRICES.read_text(encoding="utf-8")
    keys = {
        match.group(1)
        for source in yaml.safe_load(text)["sources"]
        if (match := re.match(r"\[([A-Z0-9-]+)\]", source))
    }
    in_prices = False
    checked = 0
    for line in text.splitlines():
        if line.startswith("prices:"):
            in_prices = True
            continue
        if not in_prices or not line.startswith("    "):
            continue
        checked += 1
        mark = line.split("#", 1)[1].strip() if "#" in line else ""
        verified = re.match(r"\[v\] (\d{4}-\d{2}-\d{2}) ([A-Z0-9-]+)", mark)
        assert verified or mark.startswith("[r]"), line
        if verified:
            assert verified.group(2) in keys, f"{line}: no source [{verified.group(2)}]"
    assert checked >= 45
