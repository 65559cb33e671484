"""Verdicts on estates built through plain boto3 calls, compared by hand with the controls and policy semantics (docs/).

Each expected status below was worked out from the contract, not from the code:
  recency: newest completed accepted backup age <= frequency + grace (exact limit passes);
  retention depth: for a resource older than retention_days, oldest kept backup must be no later
  than as_of - retention_days + one frequency interval; lifecycle delete_at - created >= retention.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

import auditor.sandbox

sys.path.insert(0, str(Path(__file__).parent))
from e2e_estate import ACCOUNT, REGION, ROLE, Estate, as_of_now, collect_and_check, naive, run_cli

H = timedelta(hours=1)
D = timedelta(days=1)
S = timedelta(seconds=1)

EBS_POLICY = """
version: 1
scope:
  resource_types: [ebs-volume]
  exclude_tags: {backup: none}
plans:
  - name: gold
    select: {tags: {backup: gold}}
    frequency: 24h
    grace: 2h
    retention_days: 35
    max_retention_days: 400
    accept: [native, aws-backup]
    encrypted: true
  - name: prod
    select: {conditions: {string_equals: {env: prod}}}
    frequency: 7d
    retention_days: 7
    accept: [native]
  - name: silver
    select: {tags: {backup: silver}}
    frequency: 24h
    grace: 2h
    retention_days: 30
    accept: [aws-backup]
    vault_lock: true
    copy_to: {regions: [us-west-2]}
waivers:
  - resource: "{waived}"
    controls: [backup-recency]
    reason: decommissioning
    owner: team@example.com
    expires: "{future}"
  - resource: "{expired}"
    controls: [backup-recency]
    reason: old waiver
    owner: team@example.com
    expires: "{past}"
"""


@pytest.fixture(scope="module")
def ebs(tmp_path_factory):
    """One estate of EBS volumes, each a case; collected and checked once."""
    auditor.sandbox.install()
    with mock_aws():
        as_of = as_of_now()
        e = Estate(as_of)

        def vol(name, tags, age_days=100, snaps=(), **kw):
            vid = e.volume(name, tags, age_days=age_days, **kw)
            for age in snaps:
                e.snapshot(vid, age)
            return vid

        # gold: 24h + 2h grace, 35 days kept; depth boundary is as_of - 35d + 24h = as_of - 34d.
        vol("gold_ok", {"backup": "gold"}, snaps=[34 * D, 26 * H])
        vol("gold_late", {"backup": "gold"}, snaps=[40 * D, 26 * H + S])
        vol("gold_shallow", {"backup": "gold"}, snaps=[34 * D - S, H])
        vol("gold_young", {"backup": "gold"}, age_days=5, snaps=[H])
        vol("gold_new_nobackup", {"backup": "gold"}, age_days=None)
        vol("gold_none", {"backup": "gold"})
        vol("gold_unenc", {"backup": "gold"}, age_days=2, snaps=[H], encrypted=False)
        vol("gold_too_old", {"backup": "gold"}, age_days=600, snaps=[500 * D, H])
        vol("unselected", {"backup": "bronze"})
        vol("gold_longlife", {"backup": "gold"}, age_days=None)
        vol("gone_awsb", {"backup": "bronze"}, age_days=None)
        vol("excluded", {"backup": "none", "env": "prod"})
        vol("multi_ok", {"backup": "gold", "env": "prod"}, snaps=[34 * D, H])
        vol("multi_late", {"backup": "gold", "env": "prod"}, snaps=[40 * D, 3 * D])
        vol("waived", {"backup": "gold"})
        vol("expired", {"backup": "gold"})
        gone = vol("gone", {"backup": "bronze"}, age_days=10)
        orphan_snap = e.snapshot(gone, 2 * D)
        e.ec2.delete_volume(VolumeId=gone)
        # silver: AWS Backup only; deployed plans decide plan-deployed.
        e.vault("locked", {"MinRetentionDays": 1, "MaxRetentionDays": 400})
        e.vault("plain")
        e.vault("tight", {"MinRetentionDays": 1, "MaxRetentionDays": 20})
        for name, route in (
            ("s_ok", "daily"),
            ("s_weekly", "weekly"),
            ("s_short", "short"),
            ("s_notres", "daily"),
            ("s_tight", "daily"),
            ("s_oldcopy", "daily"),
        ):
            vol(name, {"backup": "silver", "route": route}, age_days=None)
        e.deployed_plan(
            "bp-daily",
            "cron(0 5 * * ? *)",
            35,
            "locked",
            {
                "Resources": [f"arn:aws:ec2:*:{ACCOUNT}:volume/*"],
                "NotResources": [e.arns["s_notres"]],
                "Conditions": {
                    "StringEquals": [
                        {"ConditionKey": "aws:ResourceTag/route", "ConditionValue": "daily"}
                    ]
                },
            },
        )
        e.deployed_plan(
            "bp-weekly",
            "cron(0 5 ? * 1 *)",
            35,
            "locked",
            {
                "ListOfTags": [
                    {
                        "ConditionType": "STRINGEQUALS",
                        "ConditionKey": "route",
                        "ConditionValue": "weekly",
                    }
                ]
            },
        )
        e.deployed_plan(
            "bp-short",
            "cron(0 5 * * ? *)",
            7,
            "locked",
            {
                "ListOfTags": [
                    {
                        "ConditionType": "STRINGEQUALS",
                        "ConditionKey": "route",
                        "ConditionValue": "short",
                    }
                ]
            },
        )
        rp_ok = e.backup_job("s_ok", "locked", 2 * H)
        e.backup_job("gold_longlife", "plain", H, lifecycle={"DeleteAfterDays": 500})
        orphan_rp = e.backup_job("gone_awsb", "plain", H)
        e.ec2.delete_volume(VolumeId=e.arns["gone_awsb"].rsplit("/", 1)[1])
        # Copies count for vault-lock too (every vault holding its recovery points): lock this one.
        west = e.vault("dr", {"MinRetentionDays": 1, "MaxRetentionDays": 400}, region="us-west-2")
        copy_job = e.backup.start_copy_job(
            RecoveryPointArn=rp_ok,
            SourceBackupVaultName="locked",
            DestinationBackupVaultArn=west,
            IamRoleArn=ROLE,
        )["CopyJobId"]
        copy = e.backup.describe_copy_job(CopyJobId=copy_job)["CopyJob"]
        e.backdate_recovery_point(
            copy["DestinationRecoveryPointArn"], as_of - H, region="us-west-2"
        )
        e.backup_job("s_tight", "tight", 2 * H)
        old_rp = e.backup_job("s_oldcopy", "locked", 2 * H)
        old_copy = e.backup.start_copy_job(
            RecoveryPointArn=old_rp,
            SourceBackupVaultName="locked",
            DestinationBackupVaultArn=west,
            IamRoleArn=ROLE,
        )["CopyJobId"]
        e.backdate_recovery_point(
            e.backup.describe_copy_job(CopyJobId=old_copy)["CopyJob"][
                "DestinationRecoveryPointArn"
            ],
            as_of - 26 * H - S,
            region="us-west-2",
        )
        e.backup_job("s_weekly", "plain", 2 * H)
        e.backup_job("s_short", "locked", 2 * H, lifecycle={"DeleteAfterDays": 7})
        policy = (
            EBS_POLICY.replace("{waived}", e.arns["waived"])
            .replace("{expired}", e.arns["expired"])
            .replace("{future}", (as_of + 30 * D).date().isoformat())
            .replace("{past}", (as_of - 30 * D).date().isoformat())
        )
        tmp = tmp_path_factory.mktemp("ebs")
        findings = collect_and_check(tmp, policy, as_of, regions=(REGION, "us-west-2"))
    # Leave moto before the tests run: the next module-scoped estate starts from empty backends.
    return {
        "findings": findings,
        "arns": e.arns,
        "orphan_snap": orphan_snap,
        "rp_ok": rp_ok,
        "tmp": tmp,
        "copy": copy,
        "orphan_rp": orphan_rp,
    }


EBS_CASES = [
    # resource-covered
    ("gold_ok", "resource-covered", None, "PASS"),
    ("unselected", "resource-covered", None, "FAIL"),
    ("excluded", "resource-covered", None, "NOT_APPLICABLE"),
    ("multi_ok", "resource-covered", None, "PASS"),
    # backup-recency: exact boundary frequency + grace
    ("gold_ok", "backup-recency", "gold", "PASS"),
    ("gold_late", "backup-recency", "gold", "FAIL"),
    ("gold_none", "backup-recency", "gold", "FAIL"),
    ("gold_new_nobackup", "backup-recency", "gold", "PASS"),
    ("multi_late", "backup-recency", "gold", "FAIL"),
    ("multi_late", "backup-recency", "prod", "PASS"),
    ("multi_ok", "backup-recency", "prod", "PASS"),
    # backup-retention: history depth
    ("gold_ok", "backup-retention", "gold", "PASS"),
    ("gold_late", "backup-retention", "gold", "PASS"),
    ("gold_shallow", "backup-retention", "gold", "FAIL"),
    ("gold_young", "backup-retention", "gold", "PASS"),
    ("gold_none", "backup-retention", "gold", "FAIL"),
    ("gold_new_nobackup", "backup-retention", "gold", "PASS"),
    # backup-max-retention
    ("gold_too_old", "backup-max-retention", "gold", "FAIL"),
    # manual snapshots nothing expires are kept forever, past any maximum
    ("gold_ok", "backup-max-retention", "gold", "FAIL"),
    ("gold_longlife", "backup-max-retention", "gold", "FAIL"),  # lifecycle keeps it 500 days > 400
    ("gold_longlife", "backup-retention", "gold", "PASS"),
    ("gold_longlife", "backup-recency", "gold", "PASS"),
    ("multi_ok", "backup-max-retention", "prod", "NOT_APPLICABLE"),
    # backup-encrypted
    ("gold_unenc", "backup-encrypted", "gold", "FAIL"),
    ("gold_ok", "backup-encrypted", "gold", "PASS"),
    # waivers
    ("waived", "backup-recency", "gold", "WAIVED"),
    ("waived", "backup-retention", "gold", "FAIL"),
    ("expired", "backup-recency", "gold", "FAIL"),
    # plan-deployed: EBS has no native schedule; only deployed AWS Backup rules count
    ("gold_ok", "plan-deployed", "gold", "FAIL"),
    ("s_ok", "plan-deployed", "silver", "PASS"),
    ("s_weekly", "plan-deployed", "silver", "FAIL"),
    ("s_short", "plan-deployed", "silver", "FAIL"),
    ("s_notres", "plan-deployed", "silver", "FAIL"),
    # AWS Backup recovery points made through StartBackupJob
    ("s_ok", "backup-recency", "silver", "PASS"),
    (
        "s_notres",
        "backup-recency",
        "silver",
        "PASS",
    ),  # created just now: young, first backup not yet due
    ("s_short", "backup-retention", "silver", "FAIL"),  # lifecycle 7 days < 30
    ("s_ok", "backup-retention", "silver", "PASS"),
    ("s_ok", "vault-lock", "silver", "PASS"),
    ("s_weekly", "vault-lock", "silver", "FAIL"),
    ("s_notres", "vault-lock", "silver", "FAIL"),  # no recovery point in any vault
    ("s_ok", "cross-region-copy", "silver", "PASS"),  # StartCopyJob to us-west-2
    ("s_weekly", "cross-region-copy", "silver", "FAIL"),
    ("s_oldcopy", "cross-region-copy", "silver", "FAIL"),  # newest copy 26h + 1s old
    (
        "s_oldcopy",
        "backup-recency",
        "silver",
        "PASS",
    ),  # the copy does not count; the original is 2h old
    ("s_tight", "vault-lock", "silver", "FAIL"),  # locked, but at most 20 days < retention_days 30
    ("gold_ok", "cross-region-copy", "gold", "NOT_APPLICABLE"),
]


@pytest.mark.parametrize(
    "name,control,plan,expected", EBS_CASES, ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in EBS_CASES]
)
def test_ebs_verdicts(ebs, name, control, plan, expected):
    finding = ebs["findings"].get((ebs["arns"][name], control, plan))
    assert finding is not None, f"no {control} finding for {name} under {plan}"
    assert finding["status"] == expected, finding


def test_excluded_and_unselected_have_no_plan_findings(ebs):
    for name in ("excluded", "unselected"):
        rows = [k for k in ebs["findings"] if k[0] == ebs["arns"][name] and k[2] is not None]
        assert rows == []


def test_orphaned_snapshot_reported_per_backup(ebs):
    orphans = {k[0]: f for k, f in ebs["findings"].items() if k[1] == "orphaned-backup"}
    arn = f"arn:aws:ec2:{REGION}::snapshot/{ebs['orphan_snap']}"
    # One finding per backup: the AWS Backup snapshot is listed by EC2 and by AWS Backup, reported once.
    assert sorted(orphans) == sorted([arn, ebs["orphan_rp"]])
    assert {f["status"] for f in orphans.values()} == {"FAIL"}
    assert len([k for k in ebs["findings"] if k[1] == "orphaned-backup"]) == 2


def test_start_backup_job_recovery_point_collected(ebs):
    """A StartBackupJob recovery point is listed, sized, dated and owned by AWS Backup."""
    from auditor.inventory import read_inventory

    inv = read_inventory(ebs["tmp"] / "inv")
    rp = inv.recovery_points
    rows = rp[rp["recovery_point_arn"] == ebs["rp_ok"]]
    assert len(rows) >= 1
    row = rows.iloc[0]
    assert row["resource_arn"] == ebs["arns"]["s_ok"]
    assert row["created_by"] == "aws-backup"
    assert row["size_bytes"] == 8 * 1024**3
    assert row["status"] == "COMPLETED"
    assert row["vault_name"] == "locked"


def test_api_snapshot_links_to_its_volume(ebs):
    """CreateSnapshot through the API: linked to its volume by VolumeId, owned by the user, dated as backdated."""
    from auditor.inventory import read_inventory

    inv = read_inventory(ebs["tmp"] / "inv")
    rp = inv.recovery_points
    mine = rp[rp["resource_arn"] == ebs["arns"]["gold_ok"]]
    assert len(mine) == 2
    assert set(mine["created_by"].astype(str)) == {"user"}
    assert set(mine["source"].astype(str)) == {"native"}
    ages = sorted((mine["created_at"].max() - mine["created_at"]).dt.total_seconds())
    assert ages == [0.0, (34 * D - 26 * H).total_seconds()]


NATIVE_POLICY = """
version: 1
scope:
  resource_types: [rds-instance, rds-cluster, dynamodb-table, efs-filesystem]
plans:
  - {name: db7, select: {tags: {backup: db7}}, frequency: 24h, grace: 2h, retention_days: 7, accept: [native, aws-backup]}
  - {name: db14, select: {tags: {backup: db14}}, frequency: 24h, grace: 2h, retention_days: 14, accept: [native, aws-backup]}
  - {name: ddb, select: {tags: {backup: ddb}}, frequency: 24h, grace: 2h, retention_days: 35, accept: [native, aws-backup]}
  - {name: aurora-awsb, select: {tags: {backup: aurora}}, frequency: 24h, grace: 2h, retention_days: 7, accept: [aws-backup]}
  - {name: aurora-any, select: {tags: {backup: aurora2}}, frequency: 24h, grace: 2h, retention_days: 7, accept: [native, aws-backup]}
  - name: efs
    select: {tags: {backup: efs}}
    frequency: 24h
    grace: 2h
    retention_days: 30
    accept: [aws-backup]
    encrypted: true
    vault_lock: true
"""


@pytest.fixture(scope="module")
def native(tmp_path_factory):
    """RDS, Aurora, DynamoDB and EFS created through the API; native schedules and AWS Backup jobs."""
    auditor.sandbox.install()
    with mock_aws():
        as_of = as_of_now()
        e = Estate(as_of)
        arns = e.arns

        def db(name, tag, retention):
            out = e.rds.create_db_instance(
                DBInstanceIdentifier=name,
                DBInstanceClass="db.t3.micro",
                Engine="postgres",
                AllocatedStorage=20,
                MasterUsername="u",
                MasterUserPassword="password123",
                BackupRetentionPeriod=retention,
                Tags=[{"Key": "backup", "Value": tag}],
            )
            arns[name] = out["DBInstance"]["DBInstanceArn"]

        db("db-a", "db7", 7)
        db("db-b", "db14", 7)
        db("db-c", "db14", 14)
        db("db-off", "db7", 0)  # automated backups disabled: no snapshot at all
        from moto.rds.models import rds_backends

        off = rds_backends[ACCOUNT][REGION].databases["db-off"]
        off.created = off.instance_create_time = naive(as_of - 100 * D)
        for name, tag in (("aur-a", "aurora"), ("aur-b", "aurora2")):
            out = e.rds.create_db_cluster(
                DBClusterIdentifier=name,
                Engine="aurora-postgresql",
                MasterUsername="u",
                MasterUserPassword="password123",
                BackupRetentionPeriod=7,
                Tags=[{"Key": "backup", "Value": tag}],
            )
            arns[name] = out["DBCluster"]["DBClusterArn"]

        def table(name, pitr_days=None, backup=False):
            out = e.ddb.create_table(
                TableName=name,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                Tags=[{"Key": "backup", "Value": "ddb"}],
            )
            arns[name] = out["TableDescription"]["TableArn"]
            if pitr_days:
                e.ddb.update_continuous_backups(
                    TableName=name,
                    PointInTimeRecoverySpecification={
                        "PointInTimeRecoveryEnabled": True,
                        "RecoveryPeriodInDays": pitr_days,
                    },
                )
            if backup:
                e.ddb.create_backup(TableName=name, BackupName=f"{name}-manual")

        table("t-pitr", 35)
        table("t-pitr-short", 10)
        table("t-nopitr", backup=True)

        e.vault("locked", {"MinRetentionDays": 1, "MaxRetentionDays": 400})
        e.vault("plain")
        for name in ("efs-locked", "efs-plain"):
            fs = e.efs.create_file_system(
                CreationToken=name, Tags=[{"Key": "backup", "Value": "efs"}]
            )
            arns[name] = fs["FileSystemArn"]
        e.deployed_plan(
            "bp-efs",
            "cron(0 5 * * ? *)",
            35,
            "locked",
            {
                "ListOfTags": [
                    {
                        "ConditionType": "STRINGEQUALS",
                        "ConditionKey": "backup",
                        "ConditionValue": "efs",
                    }
                ]
            },
        )
        e.backup_job("efs-locked", "locked", 3 * H)
        e.backup_job("efs-plain", "plain", 3 * H)
        rp_ddb = e.backup_job("t-pitr-short", "plain", 3 * H)
        # Orphans of each kind: a DynamoDB backup, an EFS recovery point, a manual DB snapshot.
        table("t-gone", backup=True)
        gone_backup = e.ddb.list_backups(TableName="t-gone")["BackupSummaries"][0]["BackupArn"]
        e.ddb.delete_table(TableName="t-gone")
        fs = e.efs.create_file_system(
            CreationToken="efs-gone", Tags=[{"Key": "backup", "Value": "efs"}]
        )
        arns["efs-gone"] = fs["FileSystemArn"]
        gone_rp = e.backup_job("efs-gone", "plain", H)
        e.efs.delete_file_system(FileSystemId=fs["FileSystemId"])
        db("db-gone", "db7", 1)
        gone_snap = e.rds.create_db_snapshot(
            DBInstanceIdentifier="db-gone", DBSnapshotIdentifier="manual-1"
        )["DBSnapshot"]["DBSnapshotArn"]
        e.rds.delete_db_instance(DBInstanceIdentifier="db-gone", SkipFinalSnapshot=True)
        tmp = tmp_path_factory.mktemp("native")
        findings = collect_and_check(tmp, NATIVE_POLICY, as_of)
    return {
        "findings": findings,
        "arns": arns,
        "tmp": tmp,
        "rp_ddb": rp_ddb,
        "orphans": sorted([gone_backup, gone_rp, gone_snap]),
    }


NATIVE_CASES = [
    # plan-deployed: native schedules accepted when at least as frequent and as long-kept
    ("db-a", "plan-deployed", "db7", "PASS"),
    ("db-b", "plan-deployed", "db14", "FAIL"),
    ("db-c", "plan-deployed", "db14", "PASS"),
    ("t-pitr", "plan-deployed", "ddb", "PASS"),
    ("t-pitr-short", "plan-deployed", "ddb", "FAIL"),
    ("t-nopitr", "plan-deployed", "ddb", "FAIL"),
    ("efs-locked", "plan-deployed", "efs", "PASS"),
    # backup-supported: Aurora with an aws-backup-only plan (supported since 2020)
    ("aur-a", "backup-supported", "aurora-awsb", "PASS"),
    ("aur-b", "backup-supported", "aurora-any", "PASS"),
    ("db-a", "backup-supported", "db7", "PASS"),
    ("aur-b", "plan-deployed", "aurora-any", "PASS"),  # its automated backups: 24h, 7 days
    ("aur-a", "plan-deployed", "aurora-awsb", "FAIL"),
    # recency from what the API made: RDS's automated snapshot at creation, a DynamoDB backup, jobs
    ("db-a", "backup-recency", "db7", "PASS"),
    ("db-off", "backup-recency", "db7", "FAIL"),  # retention 0: no automated snapshot, 100 days old
    ("db-off", "plan-deployed", "db7", "FAIL"),
    ("t-nopitr", "backup-recency", "ddb", "PASS"),
    ("t-pitr-short", "backup-recency", "ddb", "PASS"),
    ("efs-locked", "backup-recency", "efs", "PASS"),
    # vault lock and encryption of AWS Backup recovery points
    ("efs-locked", "vault-lock", "efs", "PASS"),
    ("efs-plain", "vault-lock", "efs", "FAIL"),
    ("efs-locked", "backup-encrypted", "efs", "PASS"),
]


@pytest.mark.parametrize(
    "name,control,plan,expected", NATIVE_CASES, ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in NATIVE_CASES]
)
def test_native_verdicts(native, name, control, plan, expected):
    finding = native["findings"].get((native["arns"][name], control, plan))
    assert finding is not None, f"no {control} finding for {name} under {plan}"
    assert finding["status"] == expected, finding


def test_orphans_of_every_kind(native):
    orphans = {
        k[0]: f["status"] for k, f in native["findings"].items() if k[1] == "orphaned-backup"
    }
    assert orphans == {arn: "FAIL" for arn in native["orphans"]}


def test_dynamodb_backup_job_is_an_aws_backup_recovery_point(native):
    from auditor.inventory import read_inventory

    rp = read_inventory(native["tmp"] / "inv").recovery_points
    row = rp[rp["recovery_point_arn"] == native["rp_ddb"]].iloc[0]
    assert row["resource_arn"] == native["arns"]["t-pitr-short"]
    assert row["created_by"] == "aws-backup" and row["status"] == "COMPLETED"


def test_copy_job_lands_in_destination_region(ebs):
    from auditor.inventory import read_inventory

    copy = ebs["copy"]
    assert copy["State"] == "COMPLETED" and ":us-west-2:" in copy["DestinationBackupVaultArn"]
    rp = read_inventory(ebs["tmp"] / "inv").recovery_points
    row = rp[rp["recovery_point_arn"] == copy["DestinationRecoveryPointArn"]]
    assert len(row) >= 1
    assert set(row["region"].astype(str)) == {"us-west-2"}
    assert set(row["resource_arn"].astype(str)) == {ebs["arns"]["s_ok"]}
    assert set(row["copy_source_arn"].astype(str)) == {ebs["rp_ok"]}


DENY_POLICY = """
version: 1
scope: {resource_types: [ebs-volume]}
plans:
  - {name: gold, select: {tags: {backup: gold}}, frequency: 24h, grace: 2h, retention_days: 7}
"""


@pytest.mark.parametrize(
    "service,operation,expected",
    [
        # DescribeSnapshots denied: what reads snapshots is NOT_ASSESSED; coverage and plan-deployed are not
        (
            "ec2",
            "DescribeSnapshots",
            {
                "resource-covered": "PASS",
                "plan-deployed": "FAIL",
                "backup-supported": "PASS",
                "backup-recency": "NOT_ASSESSED",
                "backup-retention": "NOT_ASSESSED",
            },
        ),
        # ListBackupPlans denied: deployed plans unknown, backups known
        (
            "backup",
            "ListBackupPlans",
            {"resource-covered": "PASS", "plan-deployed": "NOT_ASSESSED", "backup-recency": "PASS"},
        ),
    ],
)
def test_denied_call_is_not_assessed(tmp_path, service, operation, expected):
    """A denied call (AccessDenied, as an IAM deny answers) makes only what it would gather NOT_ASSESSED."""
    from botocore.exceptions import ClientError

    from auditor.aws import CollectOptions, collect_inventory
    from auditor.inventory import write_inventory

    def factory(**kwargs):
        session = boto3.Session(**kwargs)

        def deny(**_):
            raise ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "explicit deny"}}, operation
            )

        session.events.register(f"before-call.{service}.{operation}", deny)
        return session

    auditor.sandbox.install()
    with mock_aws():
        as_of = as_of_now()
        e = Estate(as_of)
        vid = e.volume("v", {"backup": "gold"}, age_days=30)
        e.snapshot(vid, 3 * H)
        e.snapshot(vid, 10 * D)
        inv = collect_inventory(
            CollectOptions(regions=[REGION], session_factory=factory, as_of=as_of)
        )
    assert len(inv.errors) == 1
    write_inventory(inv, tmp_path / "inv")
    (tmp_path / "p.yaml").write_text(DENY_POLICY)
    code, out = run_cli(
        [
            "check",
            "--inventory",
            str(tmp_path / "inv"),
            "--policies",
            str(tmp_path / "p.yaml"),
            "--out",
            str(tmp_path / "out"),
            "--as-of",
            as_of.isoformat(),
            "--no-fail",
            "-q",
        ]
    )
    assert code == 1, out  # an incomplete collection exits 1 even with --no-fail
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    mine = {
        (f["control_id"]): f["status"] for f in doc["findings"] if f["resource_arn"] == e.arns["v"]
    }
    assert {k: mine[k] for k in expected} == expected


SGW_POLICY = """
version: 1
scope: {resource_types: [storagegateway-volume, ebs-volume]}
plans:
  - {name: sgw, select: {tags: {backup: sgw}}, frequency: 24h, grace: 2h, retention_days: 7, accept: [native]}
  - {name: sgw-awsb, select: {tags: {backup: sgw-awsb}}, frequency: 24h, grace: 2h, retention_days: 7, accept: [aws-backup],
     copy_to: {regions: [us-west-2]}}
"""


def test_storage_gateway_over_http(tmp_path, monkeypatch):
    """The whole path over HTTP (SandboxServer + AWS_ENDPOINT_URL): Storage Gateway volumes and their
    snapshots made through the emulated API, StartBackupJob and StartCopyJob on them, collect, check."""
    from moto.backup.models import backup_backends

    with auditor.sandbox.SandboxServer() as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint_url)
        as_of = as_of_now()
        e = Estate(as_of)
        sgw = boto3.client("storagegateway", region_name=REGION)
        gw = sgw.activate_gateway(
            ActivationKey="AAAAA-BBBBB-CCCCC-DDDDD-EEEEE",
            GatewayName="gw",
            GatewayTimezone="GMT",
            GatewayRegion=REGION,
            GatewayType="CACHED",
        )["GatewayARN"]
        vols = {}
        for i, tag in enumerate(("sgw", "sgw", "sgw-awsb")):
            vols[i] = sgw.create_cached_iscsi_volume(
                GatewayARN=gw,
                VolumeSizeInBytes=100 * 1024**3,
                TargetName=f"t{i}",
                NetworkInterfaceId="10.0.0.1",
                ClientToken=f"token-{i}",
                Tags=[{"Key": "backup", "Value": tag}],
            )["VolumeARN"]
        recent = sgw.create_snapshot(VolumeARN=vols[0], SnapshotDescription="nightly")["SnapshotId"]
        stale = sgw.create_snapshot(VolumeARN=vols[1], SnapshotDescription="nightly")["SnapshotId"]
        e._ec2().snapshots[recent].start_time = as_of - 26 * H
        e._ec2().snapshots[stale].start_time = as_of - 26 * H - S
        e.arns["awsb"] = vols[2]
        e.vault("v")
        west = e.vault("dr", region="us-west-2")
        rp = e.backup_job("awsb", "v", 3 * H)
        copy_id = e.backup.start_copy_job(
            RecoveryPointArn=rp,
            SourceBackupVaultName="v",
            DestinationBackupVaultArn=west,
            IamRoleArn=ROLE,
        )["CopyJobId"]
        dest = e.backup.describe_copy_job(CopyJobId=copy_id)["CopyJob"][
            "DestinationRecoveryPointArn"
        ]
        assert dest in backup_backends[ACCOUNT]["us-west-2"].recovery_points
        e.backdate_recovery_point(dest, as_of - 2 * H, region="us-west-2")
        findings = collect_and_check(tmp_path, SGW_POLICY, as_of, regions=(REGION, "us-west-2"))
    expected = {
        (vols[0], "resource-covered", None): "PASS",
        (vols[0], "backup-recency", "sgw"): "PASS",  # exactly frequency + grace
        (vols[1], "backup-recency", "sgw"): "FAIL",  # one second more
        (vols[2], "backup-recency", "sgw-awsb"): "PASS",
        (vols[2], "cross-region-copy", "sgw-awsb"): "PASS",
    }
    assert {k: findings[k]["status"] for k in expected} == expected
    assert not [k for k, f in findings.items() if k[1] == "orphaned-backup"]


def test_detail_just_past_the_limit_reads_right(ebs):
    detail = ebs["findings"][(ebs["arns"]["gold_late"], "backup-recency", "gold")]["detail"]
    assert (
        detail
        == "Newest completed backup is 26.0003 hours old, more than the 26 hours the plan allows."
    )
