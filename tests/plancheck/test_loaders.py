"""Template loading: CloudFormation intrinsics, Terraform plan structure, line numbers, bad input."""

from __future__ import annotations

import json

import pytest

from auditor.errors import InputError
from auditor.plancheck import detect_kind, load_template
from auditor.plancheck.cloudformation import load_cloudformation
from auditor.plancheck.terraform import key_lines, load_terraform, split_address

# --- line numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "cfn/covered.yaml",
        "cfn/uncovered.yaml",
        "cfn/weak-schedule.json",
        "cfn/short-retention.yaml",
        "cfn/unknown.yaml",
    ],
)
def test_cloudformation_lines_are_the_logical_id_lines(pc, name):
    path = pc.FIXTURES / name
    template = load_template(path)
    items = template.resources + template.plans + template.selections + template.vaults
    assert items
    for item in items:
        key = getattr(item, "logical_id", None) or item.key
        needle = f'"{key}":' if name.endswith(".json") else f"  {key}:"
        assert item.line == pc.line_of_text(path, needle), key


@pytest.mark.parametrize("name", ["tf/covered.json", "tf/weak.json"])
def test_terraform_lines_are_the_address_lines(pc, name):
    path = pc.FIXTURES / name
    template = load_template(path)
    items = template.resources + template.plans + template.selections + template.vaults
    assert len(items) >= 5
    for item in items:
        key = getattr(item, "logical_id", None) or item.key
        assert item.line == pc.line_of_text(path, f'"address": "{key}"'), key


def test_key_lines_ignore_lookalikes_inside_strings():
    text = json.dumps(
        {
            "format_version": "1.2",
            "planned_values": {
                "root_module": {
                    "resources": [
                        {
                            "address": "aws_ebs_volume.a",
                            "values": {
                                "description": 'say "address": "aws_ebs_volume.b" here',
                                "address": None,
                            },
                        },
                        {
                            "address": "aws_ebs_volume.b",
                            "values": {"note": '\\"address\\": \\"x\\"'},
                        },
                    ]
                }
            },
        },
        indent=1,
    )
    lines = key_lines(text)
    expected_b = next(
        i
        for i, row in enumerate(text.splitlines(), 1)
        if row.strip() == '"address": "aws_ebs_volume.b",'
    )
    assert lines[("address", "aws_ebs_volume.b")] == expected_b
    assert ("address", "x") not in lines
    assert lines[("format_version", "1.2")] == 2


def test_split_address():
    assert split_address('module.a["x.y"].module.b[0].aws_ebs_volume.v["k"]') == (
        'module.a["x.y"].module.b[0]',
        "module.a.module.b",
        "aws_ebs_volume.v",
        '["k"]',
    )
    assert split_address("aws_backup_plan.p") == ("", "", "aws_backup_plan.p", "")


# --- CloudFormation values --------------------------------------------------------------------


def test_intrinsics_resolve_as_far_as_known(write):
    path = write(
        "t.yaml",
        """
Parameters:
  Env: {Type: String, Default: prod}
  Team: {Type: String, AllowedValues: [storage]}
Mappings:
  Tiers: {prod: {tag: gold}, dev: {tag: bronze}}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  AlwaysTrue: !Or [!Condition IsProd, !Not [!Equals [a, b]]]
Resources:
  A:
    Type: AWS::EC2::Volume
    Properties:
      Encrypted: !If [AlwaysTrue, true, false]
      Tags:
        - {Key: backup, Value: !FindInMap [Tiers, prod, tag]}
        - {Key: team, Value: !Ref Team}
        - {Key: name, Value: !Join ["-", [app, !Ref Team, !Select [1, [x, y]]]]}
        - {Key: sub, Value: !Sub ["${Team}-${X}", {X: !Sub "${!Literal}"}]}
  B:
    Type: AWS::EC2::Volume
    Properties:
      Tags: [{Key: backup, Value: !FindInMap [Tiers, !Ref Env, tag]}]
  C:
    Type: AWS::EC2::Volume
    Condition: IsProd
    Properties: {Tags: [{Key: backup, Value: gold}]}
""",
    )
    template = load_cloudformation(path)
    a, b, c = template.resources
    assert a.tags == {
        "backup": "gold",
        "team": "storage",
        "name": "app-storage-y",
        "sub": "storage-${Literal}",
    }
    assert a.encrypted is True  # Or with one known-true branch is true whatever Env is
    # The key is written out, only the value waits for deployment: the key stays known.
    assert b.tags == {}
    assert "parameter Env" in b.unknown_tags["backup"]
    assert "default prod" in b.unknown_tags["backup"]
    assert c.logical_id == "C"  # created or not depends on Env: still judged

    given = load_cloudformation(path, parameters={"Env": "dev"})
    assert [r.logical_id for r in given.resources] == ["A", "B"]  # C's condition is false
    assert given.resources[1].tags == {"backup": "bronze"}


def test_efs_filesystem_tags_and_rds_defaults(write):
    path = write(
        "t.yaml",
        """
Resources:
  Fs:
    Type: AWS::EFS::FileSystem
    Properties: {FileSystemTags: [{Key: backup, Value: gold}]}
  Db:
    Type: AWS::RDS::DBInstance
    Properties: {Engine: mysql, DBInstanceIdentifier: Orders, Tags: [{Key: backup, Value: silver}]}
  Member:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: t1
      PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 10}
""",
    )
    fs, db, table = load_cloudformation(path).resources
    assert (
        fs.tags == {"backup": "gold"}
        and fs.encrypted is False
        and fs.resource_type == "efs-filesystem"
    )
    assert (
        db.name == "orders" and db.native["retention_days"] == 1
    )  # CloudFormation's default retention
    assert table.native == {
        "kind": "dynamodb-pitr",
        "enabled": True,
        "interval_hours": 0,
        "retention_days": 10,
    }
    assert table.encrypted is None and table.tags == {}


def test_selection_references_and_plan_links(pc):
    template = load_template(pc.FIXTURES / "cfn/weak-schedule.json")
    (selection,) = template.selections
    assert selection.plan_ref == "WeeklyPlan"
    assert selection.resource_refs == {"LogsVolume"}  # from !Sub ".../volume/${LogsVolume}"
    (plan,) = template.plans
    assert plan.rules[0].target_vault_ref == "Vault"


def test_fn_foreach_is_not_assessed(write, pc):
    path = write(
        "t.yaml",
        """
Transform: AWS::LanguageExtensions
Resources:
  Fn::ForEach::Volumes:
    - Name
    - [a, b]
    - Vol${Name}:
        Type: AWS::EC2::Volume
        Properties: {Size: 1}
""",
    )
    from auditor.plancheck import plan_check

    result = plan_check(pc.POLICIES, [path], pc.AS_OF)
    assert [(f["status"], f["line"]) for f in result.findings] == [("NOT_ASSESSED", 4)]


# --- Terraform structure ------------------------------------------------------------------------


def test_terraform_child_modules_unknowns_and_deletes(pc, tmp_path):
    doc = json.loads((pc.FIXTURES / "tf/covered.json").read_text())
    gone = {
        "address": "aws_ebs_volume.old",
        "mode": "managed",
        "type": "aws_ebs_volume",
        "name": "old",
        "change": {
            "actions": ["delete"],
            "before": {"tags": {}},
            "after": None,
            "after_unknown": {},
        },
    }
    doc["resource_changes"].append(gone)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc, indent=2))
    template = load_terraform(path)
    addresses = [r.logical_id for r in template.resources]
    assert addresses == ["aws_ebs_volume.data", "module.db.aws_db_instance.main"]
    db = template.resources[1]
    assert (
        db.module == "module.db"
        and db.tags == {"backup": "silver"}
        and db.native["retention_days"] == 7
    )
    vol = template.resources[0]
    assert vol.tags == {
        "backup": "gold",
        "team": "storage",
    }  # tags_all (provider default_tags) wins
    (plan,) = template.plans
    rule = plan.rules[0]
    assert rule.schedule == "cron(0 5 * * ? *)" and rule.delete_after_days == 35
    assert rule.copies[0].region == "us-west-2" and rule.copies[0].account == "same"
    assert template.region == "us-east-1"
    (selection,) = template.selections
    assert selection.plan_ref == "aws_backup_plan.gold"
    assert selection.selection["ListOfTags"] == [
        {"ConditionType": "STRINGEQUALS", "ConditionKey": "backup", "ConditionValue": "gold"}
    ]
    vaults = {v.key: v for v in template.vaults}
    assert (
        vaults["aws_backup_vault.main"].locked is True
        and vaults["aws_backup_vault.main"].lock_max_days == 365
    )
    assert vaults["aws_backup_vault.dr"].locked is False


def test_detect_kind():
    assert detect_kind('{"format_version": "1.2", "planned_values": {}}') == "terraform"
    assert detect_kind('{"Resources": {}}') == "cloudformation"
    assert detect_kind("Resources: {}\n") == "cloudformation"


# --- bad input: one line naming the file and line, exit 2 ------------------------------------------


@pytest.mark.parametrize(
    "name, line, words",
    [
        ("cfn/bad-yaml.yaml", 7, "not valid YAML"),
        ("cfn/bad-intrinsic.yaml", 10, "unknown intrinsic function Fn::Lookup"),
        ("cfn/bad-json.json", 5, "not valid JSON"),
        ("tf/format-v2.json", 2, "format_version 2.0 is not supported"),
    ],
)
def test_bad_fixture_input(pc, name, line, words):
    with pytest.raises(InputError) as err:
        load_template(pc.FIXTURES / name)
    message = str(err.value)
    assert message.startswith(f"{pc.FIXTURES / name}:{line}: ") and words in message
    assert "\n" not in message and err.value.exit_code == 2


@pytest.mark.parametrize(
    "text, words",
    [
        ("[1, 2]\n", "not a CloudFormation template"),
        ("Description: x\n", "no Resources mapping"),
        ("Resources:\n  A: {Properties: {}}\n", "has no Type"),
        (
            "Resources:\n  A:\n    Type: AWS::EC2::Volume\n    Properties: {Size: !Ref Nope}\n",
            "Ref to Nope",
        ),
        (
            "Resources:\n  A:\n    Type: AWS::EC2::Volume\n    Properties: {Size: !GetAtt Nope.Arn}\n",
            "Nope",
        ),
        ('{"format_version": "1.0", "values": {}}', "a Terraform state"),
        ('{"format_version": "one", "planned_values": {}}', "format_version"),
        (
            '{"format_version": "1.2", "planned_values": {"root_module": {"resources": [}}}',
            "not valid JSON",
        ),
        ("Resources:\n  A: &a\n    Type: AWS::EC2::Volume\n  B: *a\n  A: x\n", "Duplicate"),
        ("\x00\x01", "not valid"),
    ],
)
def test_bad_input_is_one_line(write, text, words):
    path = write("bad.txt", text)
    with pytest.raises(InputError) as err:
        load_template(path)
    message = str(err.value)
    assert message.startswith(f"{path}:") and words in message and "\n" not in message


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_template(tmp_path / "nope.yaml")
    with pytest.raises(InputError, match="folder"):
        load_template(tmp_path)


# --- hostile input: any mutation of a fixture gives a result or one InputError line, never a crash ---

_JUNK = [
    None,
    1,
    "x",
    [],
    {},
    True,
    [1],
    {"a": 1},
    "cron(bad)",
    -5,
    {"Ref": "X"},
    {"Fn::GetAtt": ["A"]},
    {"Fn::Sub": 3},
    [None],
    {"Fn::If": [1, 2]},
]


def _mutate(node, rng, rate):
    if isinstance(node, dict):
        for key in list(node):
            if rng.random() < rate:
                node[key] = rng.choice(_JUNK)
            else:
                _mutate(node[key], rng, rate)
    elif isinstance(node, list):
        for index in range(len(node)):
            if rng.random() < rate:
                node[index] = rng.choice(_JUNK)
            else:
                _mutate(node[index], rng, rate)


def _plain(node):
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return str(node) if isinstance(node, str) else node


@pytest.mark.parametrize(
    "name", ["cfn/covered.yaml", "cfn/short-retention.yaml", "tf/covered.json", "tf/weak.json"]
)
def test_mutated_templates_never_crash(pc, tmp_path, name):
    import random

    from cfnlint.decode import decode_str

    from auditor.plancheck import plan_check

    text = (pc.FIXTURES / name).read_text()
    original = json.loads(text) if name.endswith(".json") else _plain(decode_str(text)[0])
    for seed in range(20):
        rng = random.Random(seed)
        doc = json.loads(json.dumps(original))
        _mutate(doc, rng, 0.1)
        path = tmp_path / f"m{seed}.json"
        path.write_text(json.dumps(doc, indent=1))
        try:
            plan_check(pc.POLICIES, [path], pc.AS_OF)
        except InputError as err:
            assert str(err).startswith(f"{path}:") and "\n" not in str(err)


@pytest.mark.parametrize(
    "name, text",
    [
        (
            "deep.yaml",
            "Resources:\n  V:\n    Type: AWS::EC2::Volume\n    Properties:\n      Size: "
            + "[" * 900
            + "]" * 900
            + "\n",
        ),
        (
            "deep-cfn.json",
            '{"Resources":{"V":{"Type":"AWS::EC2::Volume","Properties":{"Size":'
            + "[" * 800
            + "]" * 800
            + "}}}}",
        ),
        (
            "deep-plan.json",
            '{"format_version":"1.2","planned_values":{"root_module":{"resources":[{"address":"a.b",'
            '"type":"aws_ebs_volume","values":{"tags":' + "[" * 700 + "]" * 700 + "}}]}}}",
        ),
        (
            "bomb.yaml",
            "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
            "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
            "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
            "Resources: {V: {Type: AWS::EC2::Volume, Properties: {Size: *f}}}\n",
        ),
    ],
)
def test_hostile_documents_are_refused_in_one_line(write, name, text):
    path = write(name, text)
    with pytest.raises(InputError) as err:
        load_template(path)
    assert str(err.value).startswith(f"{path}:") and "\n" not in str(err.value)
