"""An estate built the way an outside checker builds one: plain boto3 calls against the sandbox
(moto in-process after `auditor.sandbox.install()`), backdated by editing moto's backend objects
(no clock library), then `auditor collect` and `auditor check --as-of` through the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
from typer.testing import CliRunner

import auditor.sandbox  # noqa: F401  (sets MOTO_EC2_LOAD_DEFAULT_AMIS before moto loads)
from auditor.cli import app

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/AWSBackupDefaultServiceRole"


def as_of_now() -> datetime:
    """The check's "now": five minutes ahead of the wall clock, to the second.

    Objects created through the API carry the wall clock; building the estate must finish before
    `as_of`, or what it made would be in the future (and rightly not counted)."""
    return datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)


def naive(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(tzinfo=None)


class Estate:
    """boto3 clients on the sandbox plus backdating of what they created (moto backend edits)."""

    def __init__(self, as_of: datetime) -> None:
        self.as_of = as_of
        self.ec2 = boto3.client("ec2", region_name=REGION)
        self.backup = boto3.client("backup", region_name=REGION)
        self.rds = boto3.client("rds", region_name=REGION)
        self.ddb = boto3.client("dynamodb", region_name=REGION)
        self.efs = boto3.client("efs", region_name=REGION)
        self.arns: dict[str, str] = {}

    # --- building ------------------------------------------------------------------------------

    def volume(
        self,
        name: str,
        tags: dict[str, str],
        *,
        age_days: float | None = None,
        encrypted: bool = True,
    ) -> str:
        tag_list = [{"Key": k, "Value": v} for k, v in {"Name": name, **tags}.items()]
        vid = self.ec2.create_volume(
            AvailabilityZone=f"{REGION}a",
            Size=8,
            Encrypted=encrypted,
            TagSpecifications=[{"ResourceType": "volume", "Tags": tag_list}],
        )["VolumeId"]
        if age_days is not None:
            self._ec2().volumes[vid].create_time = naive(self.as_of - timedelta(days=age_days))
        self.arns[name] = f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/{vid}"
        return vid

    def snapshot(self, volume_id: str, age: timedelta) -> str:
        sid = self.ec2.create_snapshot(VolumeId=volume_id, Description="manual")["SnapshotId"]
        self._ec2().snapshots[sid].start_time = self.as_of - age
        return sid

    def backup_job(
        self, name: str, vault: str, age: timedelta, lifecycle: dict | None = None
    ) -> str:
        """StartBackupJob, then backdate its recovery point, job and native artifact."""
        kw = {"Lifecycle": lifecycle} if lifecycle else {}
        out = self.backup.start_backup_job(
            BackupVaultName=vault, ResourceArn=self.arns[name], IamRoleArn=ROLE, **kw
        )
        self.backdate_recovery_point(out["RecoveryPointArn"], self.as_of - age)
        return out["RecoveryPointArn"]

    def backdate_recovery_point(self, rp_arn: str, when: datetime, region: str = REGION) -> None:
        from moto.backup.models import backup_backends
        from moto.ec2.models import ec2_backends

        be = backup_backends[ACCOUNT][region]
        rp = be.recovery_points[rp_arn]
        shift = when - rp["CreationDate"]
        for key in ("CreationDate", "InitiationDate", "CompletionDate"):
            if rp.get(key):
                rp[key] = rp[key] + shift
        for key, value in list((rp.get("CalculatedLifecycle") or {}).items()):
            rp["CalculatedLifecycle"][key] = value + shift
        for job in be.backup_jobs.values():
            if job["RecoveryPointArn"] == rp_arn:
                for key in ("CreationDate", "InitiationDate", "CompletionDate"):
                    job[key] = job[key] + shift
        if ":snapshot/" in rp_arn:  # EBS: the native snapshot AWS Backup left
            ec2_backends[ACCOUNT][region].snapshots[rp_arn.rsplit("/", 1)[1]].start_time = when

    def _ec2(self):
        from moto.ec2.models import ec2_backends

        return ec2_backends[ACCOUNT][REGION]

    def vault(self, name: str, lock: dict | None = None, region: str = REGION) -> str:
        client = boto3.client("backup", region_name=region)
        arn = client.create_backup_vault(BackupVaultName=name)["BackupVaultArn"]
        if lock:
            client.put_backup_vault_lock_configuration(BackupVaultName=name, **lock)
        return arn

    def deployed_plan(
        self, name: str, schedule: str, keep_days: int, vault: str, selection: dict
    ) -> str:
        plan_id = self.backup.create_backup_plan(
            BackupPlan={
                "BackupPlanName": name,
                "Rules": [
                    {
                        "RuleName": "r",
                        "TargetBackupVaultName": vault,
                        "ScheduleExpression": schedule,
                        "Lifecycle": {"DeleteAfterDays": keep_days},
                    }
                ],
            }
        )["BackupPlanId"]
        self.backup.create_backup_selection(
            BackupPlanId=plan_id,
            BackupSelection={"SelectionName": f"{name}-sel", "IamRoleArn": ROLE, **selection},
        )
        return plan_id


def run_cli(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, args)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def collect_and_check(
    tmp: Path, policy: str, as_of: datetime, regions=(REGION,)
) -> dict[tuple[str, str, str | None], dict]:
    """`auditor collect` then `auditor check --as-of`; findings keyed (resource_arn, control_id, plan)."""
    (tmp / "policy.yaml").write_text(policy)
    code, out = run_cli(
        ["collect", *[a for r in regions for a in ("--region", r)], "--out", str(tmp / "inv"), "-q"]
    )
    assert code == 0, out
    code, out = run_cli(
        [
            "check",
            "--inventory",
            str(tmp / "inv"),
            "--policies",
            str(tmp / "policy.yaml"),
            "--out",
            str(tmp / "out"),
            "--as-of",
            as_of.isoformat(),
            "--no-fail",
            "-q",
        ]
    )
    assert code == 0, out
    doc = json.loads((tmp / "out" / "findings.json").read_text())
    keyed = {(f["resource_arn"], f["control_id"], f["plan"]): f for f in doc["findings"]}
    # One finding per (resource or backup, control, plan); null ARNs are failed collections.
    named = [f for f in doc["findings"] if f["resource_arn"] is not None]
    assert len({(f["resource_arn"], f["control_id"], f["plan"]) for f in named}) == len(named)
    return keyed
