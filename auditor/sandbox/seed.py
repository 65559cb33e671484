"""Seed a realistic, deterministic AWS estate into moto's backends.

`seed_estate(as_of, seed=..., regions=..., account_id=..., scale=...)` fills the backends of one
account directly (no API round trips: ~100x faster than boto3 calls), and returns an `Estate`:
the ground truth a collector's output can be compared with. The same (seed, as_of, regions,
account_id, scale) always gives the same ids, names, tags, sizes and dates.

What a region holds (counts scale with `scale`; at 1.0 about 40 resources a region):
- EBS volumes, RDS instances (several engines), Aurora clusters, DynamoDB tables, EFS file systems,
  Storage Gateway gateways (cached and stored) with their volumes, EC2 instances (each with its
  root volume), S3 buckets (most versioned); one seeder module per type in
  auditor/sandbox/seeders/, in catalogue order; tags `backup`
  (gold | silver | none | absent), `env` (prod | dev), `team`, and some resources with no tag at all.
- Vaults: Default (AWS managed key), gold-vault (customer key, governance lock), silver-vault
  (AWS managed key), dr-vault (customer key, compliance lock, destination of cross-region copies).
- Plans: gold (daily + monthly with cold storage and a copy to the next region's dr-vault; selects
  ListOfTags backup=gold), silver (weekly, cold after 30 d; selects Resources "*" with Conditions
  StringEquals backup=silver and StringNotEquals env=dev, so dev silver resources are NOT covered),
  ebs-critical (daily; Resources "arn:aws:ec2:*:*:volume/*", StringLike team=pay*, NotResources one
  volume), legacy (first region only; explicit ARNs, one of a deleted resource).
- Recovery points at each rule's schedule over the ~95 days the plans have existed, within each
  rule's retention, with gaps, FAILED/EXPIRED/ABORTED jobs, PARTIAL and EXPIRED recovery points,
  cold ones, resources whose backups stopped, and cross-region copies with their copy jobs.
- Native backups: RDS automated snapshots (daily, kept for the instance's retention) and manual
  ones, Aurora cluster automated/manual snapshots, EBS manual snapshots, DynamoDB user backups and
  PITR on some tables, Storage Gateway scheduled snapshots (EBS snapshots, see `auditor.sandbox`).
- Orphans: snapshots, backups and recovery points of deleted volumes, databases, tables and file
  systems. Unencrypted volumes/databases give unencrypted snapshots.
- Restores (auditor.sandbox.seed_restores): a weekly restore testing plan whose tests restore a
  few gold volumes, a slow (6.5 h) on-demand restore, a restore test that failed validation, a
  failed restore; other gold resources are never restored.
- Protection (first region only): gold-vault's access policy denies deleting recovery points, one
  manual EBS snapshot and one manual RDS snapshot are shared with everyone (`seed_protection`).
- Data Lifecycle Manager: daily AMIs of the instances tagged snapshot=daily and daily snapshots of
  their volumes (seven kept); EC2 AMIs of AWS Backup (with their EBS snapshots) and by hand.
- S3: AWS Backup recovery points only, none for a bucket without versioning.
- Region settings: DynamoDB advanced features (full AWS Backup management) on in every region but
  the first, so DynamoDB recovery points there are AWS Backup ARNs.
"""

from __future__ import annotations

import fnmatch
import json
import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from auditor import catalog
from auditor.policy.schedule import DEFAULT_SCHEDULE
from auditor.policy.support import ADVANCED, load_support_matrix
from auditor.sandbox.moto_ext import install, native
from auditor.sandbox.moto_ext.backup import (
    ExtendedBackupBackend,
    add_recovery_point,
    aws_backup_key_arn,
    create_backup_selection,
    extended_backend,
)
from auditor.sandbox.seed_protection import seed_protection
from auditor.sandbox.seed_restores import seed_restores
from auditor.sandbox.seeders import Artifact, seeder_for, seeders
from auditor.sandbox.seeders.base import TEAMS, count

PLAN_AGE_DAYS = 95  # how long the deployed plans have existed before as_of
IAM_ROLE = "arn:aws:iam::{acct}:role/service-role/AWSBackupDefaultServiceRole"
DELETED_PER_REGION = 2  # deleted resources per region at scale 1.0, spread over the types

# Base counts per region at scale 1.0, and AWS Backup's name of each seeded type (the catalogue's).
BASE_COUNTS = {type_id: seeder.base_count for type_id, seeder in seeders().items()}
BACKUP_RESOURCE_TYPE = {type_id: catalog.backup_service_name(type_id) for type_id in seeders()}
# A backup plan to deploy: its name, its rules and its selection (AWS Backup's shapes).
_PlanSpec = tuple[str, list[dict[str, Any]], dict[str, Any]]
# The storage class of a cold recovery point by backup kind (EBS: the snapshot archive tier).
_COLD_STORAGE = catalog.cold_storage_as()


@dataclass
class Estate:
    """Ground truth of a seeded estate.

    - `resources`: account_id, region, resource_type, resource_arn, resource_id, name, tags (dict),
      created_at, size_bytes, encrypted, engine, parent_arn — resources that exist now.
    - `deleted_resources`: the same columns for resources deleted before as_of (their backups are
      orphans).
    - `backups`: account_id, region, recovery_point_arn, resource_arn, resource_type, backup_type,
      source (aws-backup | native), created_by (aws-backup | automated | user | storage-gateway),
      status, storage_class (warm | cold | archive), size_bytes, created_at, delete_at, encrypted,
      vault_name, copy_source_arn, orphan — one row per backup that exists (an AWS Backup-made native
      snapshot is ONE row with source aws-backup).
    - `jobs`: account_id, region, job_id, job_type (backup | copy), state, resource_arn,
      resource_type, recovery_point_arn, vault_name, created_at.
    - `plans`, `rules`, `selections`, `vaults`: what was deployed (AWS field values).
    """

    as_of: datetime
    seed: int
    account_ids: list[str]
    regions: list[str]
    resources: pd.DataFrame
    deleted_resources: pd.DataFrame
    backups: pd.DataFrame
    jobs: pd.DataFrame
    plans: pd.DataFrame
    rules: pd.DataFrame
    selections: pd.DataFrame
    vaults: pd.DataFrame
    region_settings: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def concat(cls, parts: Sequence[Estate]) -> Estate:
        """Merge estates seeded for several accounts into one ground truth."""
        first = parts[0]
        frames = {}
        for name in (
            "resources",
            "deleted_resources",
            "backups",
            "jobs",
            "plans",
            "rules",
            "selections",
            "vaults",
        ):
            frames[name] = pd.concat([getattr(p, name) for p in parts], ignore_index=True)
        settings: dict[str, dict[str, Any]] = {}
        for p in parts:
            settings.update(p.region_settings)
        return cls(
            as_of=first.as_of,
            seed=first.seed,
            account_ids=sorted({a for p in parts for a in p.account_ids}),
            regions=sorted({r for p in parts for r in p.regions}),
            region_settings=settings,
            **frames,
        )


# ---------------------------------------------------------------------------------------------
# selection semantics (AWS Backup): (Resources match OR any ListOfTags entry matches)
# AND every Condition holds AND not in NotResources.


def selects(selection: dict[str, Any], arn: str, tags: dict[str, str]) -> bool:
    """Whether an AWS Backup selection (BackupSelection shape) selects a resource."""
    hit = any(fnmatch.fnmatchcase(arn, pat) for pat in selection.get("Resources", []))
    hit = hit or any(
        tags.get(t["ConditionKey"]) == t["ConditionValue"] for t in selection.get("ListOfTags", [])
    )
    if not hit:
        return False
    cond = selection.get("Conditions") or {}
    for c in cond.get("StringEquals", []):
        if tags.get(c["ConditionKey"]) != c["ConditionValue"]:
            return False
    for c in cond.get("StringNotEquals", []):
        if tags.get(c["ConditionKey"]) == c["ConditionValue"]:
            return False
    for c in cond.get("StringLike", []):
        v = tags.get(c["ConditionKey"])
        if v is None or not fnmatch.fnmatchcase(v, c["ConditionValue"]):
            return False
    for c in cond.get("StringNotLike", []):
        v = tags.get(c["ConditionKey"])
        if v is not None and fnmatch.fnmatchcase(v, c["ConditionValue"]):
            return False
    return not any(fnmatch.fnmatchcase(arn, pat) for pat in selection.get("NotResources", []))


# ---------------------------------------------------------------------------------------------


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _naive(dt: datetime) -> datetime:
    return _utc(dt).replace(tzinfo=None)


class _Region:
    """Seeds one (account, region)."""

    def __init__(self, estate: _Builder, region: str, index: int) -> None:
        self.e = estate
        self.acct = estate.account_id
        self.region = region
        self.index = index
        self.rng = random.Random(f"{estate.seed}:{self.acct}:{region}")
        self.as_of = estate.as_of
        self.resources: list[dict[str, Any]] = []  # existing and deleted, with a "deleted" flag
        self.dlm_policies: dict[str, str] = {}  # Data Lifecycle Manager policy ids, by kind
        # AWS Backup service name -> whether AWS Backup holds its recovery points itself here (types
        # whose seeder says "only with advanced features" have them on in every region but the first).
        self.managed = {
            BACKUP_RESOURCE_TYPE[type_id]: index > 0 if seeder.backup_managed is None else True
            for type_id, seeder in seeders().items()
            if seeder.backup_managed is not False
        }
        self.kms = {
            "gold": self._key_arn("gold"),
            "dr": self._key_arn("dr"),
            "data": self._key_arn("data"),
        }

    # ---- ids
    def hex(self, n: int) -> str:
        return f"{self.rng.getrandbits(4 * n):0{n}x}"

    def backends(self, region: str) -> dict[str, Any]:
        """moto's backends of this account in `region` (looked up once: BackendDict access locks)."""
        cache = self.e.backend_cache
        if region not in cache:
            from moto.backup.models import backup_backends

            cache[region] = {
                "ec2": native.ec2_backend(self.acct, region),
                "rds": native.rds_backend(self.acct, region),
                "dynamodb": native.dynamodb_backend(self.acct, region),
                "backup": backup_backends[self.acct][region],
            }
        return cache[region]

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _key_arn(self, name: str) -> str:
        kid = uuid.uuid5(uuid.NAMESPACE_URL, f"{self.e.seed}/{self.acct}/{self.region}/{name}")
        return f"arn:aws:kms:{self.region}:{self.acct}:key/{kid}"

    def created_at(self) -> datetime:
        r = self.rng.random()
        if r < 0.12:  # young: history shorter than the retention windows
            days = self.rng.uniform(8, 60)
        else:
            days = self.rng.uniform(120, 1400)
        return (self.as_of - timedelta(days=days)).replace(microsecond=0)

    def tags(self, kind: str, name: str) -> dict[str, str]:
        r = self.rng.random()
        if r < 0.08:
            return {}  # no tags at all
        tags = {"Name": name, "team": self.rng.choice(TEAMS)}
        b = self.rng.random()
        if b < 0.22:
            tags["backup"] = "gold"
        elif b < 0.52:
            tags["backup"] = "silver"
        elif b < 0.66:
            tags["backup"] = "none"
        tags["env"] = (
            "prod" if self.rng.random() < (0.75 if tags.get("backup") == "gold" else 0.5) else "dev"
        )
        return tags

    # ---- resources
    def add_resource(self, **row: Any) -> dict[str, Any]:
        row.setdefault("deleted", False)
        row.setdefault("engine", None)
        row.setdefault("parent_arn", None)
        self.resources.append(row)
        return row

    def seed_resources(self, scale: float) -> None:
        """Every seeded type's live resources, in catalogue order, then the deleted ones."""
        for seeder in seeders().values():
            seeder.seed(self, scale)
        self._deleted(count(DELETED_PER_REGION, scale))

    def _deleted(self, n: int) -> None:
        """Resources that existed and were deleted; their backups stay behind (orphans)."""
        for seeder in seeders().values():
            seeder.seed_deleted(self, n)
        for row in self.resources:
            if row["deleted"]:
                row["deleted_at"] = self.as_of - timedelta(days=self.rng.uniform(5, 40))
                row["tags"].setdefault("backup", "silver")
                row["tags"]["env"] = "prod"  # so the silver plan backed them up while they lived

    # ---- AWS Backup deployment
    def seed_backup(self) -> None:
        """The region's vaults, plans and selections: AWS Backup's side of the estate."""
        from moto.backup.models import backup_backends

        b = extended_backend(backup_backends[self.acct][self.region])
        self.bb = b
        regions = self.e.regions
        peer = regions[(self.index + 1) % len(regions)] if len(regions) > 1 else None
        for type_id, seeder in seeders().items():
            if seeder.backup_managed is None:  # a per-region choice: DynamoDB's advanced features
                service = BACKUP_RESOURCE_TYPE[type_id]
                b.region_settings["ResourceTypeManagementPreference"][service] = self.managed[
                    service
                ]
        plan_created = self.as_of - timedelta(days=PLAN_AGE_DAYS)
        self._seed_vaults(b, plan_created)
        peer_dr = f"arn:aws:backup:{peer}:{self.acct}:backup-vault:dr-vault" if peer else None
        plans = [self._gold_plan(peer_dr), self._silver_plan(), self._ebs_critical_plan()]
        if self.index == 0:
            plans.append(self._legacy_plan())
        self.deployed: list[tuple[Any, dict[str, Any], list[dict[str, Any]]]] = []
        for name, rules, selection in plans:
            self._deploy_plan(b, name, rules, selection, plan_created)

    def _seed_vaults(self, b: ExtendedBackupBackend, plan_created: datetime) -> None:
        """Default, gold-vault (governance lock), silver-vault, dr-vault (compliance lock)."""
        vault_specs = [
            ("Default", None, None),
            ("gold-vault", self.kms["gold"], "governance"),
            ("silver-vault", None, None),
            ("dr-vault", self.kms["dr"], "compliance"),
        ]
        for name, key, lock in vault_specs:
            # moto stores a None key as given (its annotation says str).
            vault = b.create_backup_vault(name, {"team": "platform"}, key, f"seed-{name}")  # type: ignore[arg-type]
            vault.creation_date = (plan_created - timedelta(days=30)).timestamp()
            if lock:
                vault.locked = True
                vault.min_retention_days = 7
                vault.max_retention_days = 400
                if lock == "compliance":
                    vault.changeable_for_days = 3
                    vault.lock_date = (plan_created - timedelta(days=20)).timestamp()
            self.e.vaults.append(
                {
                    "account_id": self.acct,
                    "region": self.region,
                    "vault_name": name,
                    "vault_arn": vault.backup_vault_arn,
                    "encryption_key_arn": key or aws_backup_key_arn(self.acct, self.region),
                    "customer_managed_key": key is not None,
                    "locked": bool(lock),
                    "lock_mode": lock,
                    "min_retention_days": 7 if lock else None,
                    "max_retention_days": 400 if lock else None,
                }
            )

    def _gold_plan(self, peer_dr: str | None) -> _PlanSpec:
        """Daily, and monthly with cold storage and a copy to the next region's dr-vault."""
        gold_rules = [
            {
                "RuleName": "gold-daily",
                "TargetBackupVaultName": "gold-vault",
                "ScheduleExpression": "cron(0 5 ? * * *)",
                "StartWindowMinutes": 60,
                "CompletionWindowMinutes": 480,
                "Lifecycle": {"DeleteAfterDays": 35},
            },
            {
                "RuleName": "gold-monthly",
                "TargetBackupVaultName": "gold-vault",
                "ScheduleExpression": "cron(0 5 1 * ? *)",
                "StartWindowMinutes": 60,
                "CompletionWindowMinutes": 480,
                "Lifecycle": {"MoveToColdStorageAfterDays": 30, "DeleteAfterDays": 365},
            },
        ]
        if peer_dr:
            gold_rules[1]["CopyActions"] = [
                {
                    "DestinationBackupVaultArn": peer_dr,
                    "Lifecycle": {"MoveToColdStorageAfterDays": 30, "DeleteAfterDays": 365},
                }
            ]
        return (
            "gold",
            gold_rules,
            {
                "SelectionName": "gold-by-tag",
                "IamRoleArn": IAM_ROLE.format(acct=self.acct),
                "ListOfTags": [
                    {
                        "ConditionType": "STRINGEQUALS",
                        "ConditionKey": "backup",
                        "ConditionValue": "gold",
                    }
                ],
            },
        )

    def _silver_plan(self) -> _PlanSpec:
        """Weekly with cold storage, for silver-tagged resources that are not dev."""
        return (
            "silver",
            [
                {
                    "RuleName": "silver-weekly",
                    "TargetBackupVaultName": "silver-vault",
                    "ScheduleExpression": "cron(0 3 ? * SUN *)",
                    "StartWindowMinutes": 480,
                    "CompletionWindowMinutes": 10080,
                    "Lifecycle": {"MoveToColdStorageAfterDays": 30, "DeleteAfterDays": 120},
                },
            ],
            {
                "SelectionName": "silver-prod-by-conditions",
                "IamRoleArn": IAM_ROLE.format(acct=self.acct),
                "Resources": ["*"],
                "Conditions": {
                    "StringEquals": [
                        {"ConditionKey": "aws:ResourceTag/backup", "ConditionValue": "silver"}
                    ],
                    "StringNotEquals": [
                        {"ConditionKey": "aws:ResourceTag/env", "ConditionValue": "dev"}
                    ],
                },
            },
        )

    def _ebs_critical_plan(self) -> _PlanSpec:
        """Daily, for the payments volumes but one (NotResources)."""
        ebs_live = [
            r for r in self.resources if r["resource_type"] == "ebs-volume" and not r["deleted"]
        ]
        return (
            "ebs-critical",
            [
                {
                    "RuleName": "ebs-critical-daily",
                    "TargetBackupVaultName": "gold-vault",
                    "ScheduleExpression": "cron(0 17 ? * * *)",
                    "StartWindowMinutes": 60,
                    "CompletionWindowMinutes": 240,
                    "Lifecycle": {"DeleteAfterDays": 7},
                },
            ],
            {
                "SelectionName": "payments-volumes",
                "IamRoleArn": IAM_ROLE.format(acct=self.acct),
                "Resources": ["arn:aws:ec2:*:*:volume/*"],
                "NotResources": [ebs_live[0]["resource_arn"]] if ebs_live else [],
                "Conditions": {
                    "StringLike": [
                        {"ConditionKey": "aws:ResourceTag/team", "ConditionValue": "pay*"}
                    ]
                },
            },
        )

    def _legacy_plan(self) -> _PlanSpec:
        """Explicit ARNs (the first region only), one of them a resource that no longer exists."""
        picks = [
            r for r in self.resources if r["resource_type"] in ("rds-instance", "efs-filesystem")
        ]
        arns = [r["resource_arn"] for r in picks[:3]]
        arns.append(f"arn:aws:rds:{self.region}:{self.acct}:db:decommissioned-db")
        return (
            "legacy",
            [
                {
                    "RuleName": "legacy-weekdays",
                    "TargetBackupVaultName": "Default",
                    "ScheduleExpression": "cron(0 2 ? * MON-FRI *)",
                    "StartWindowMinutes": 480,
                    "CompletionWindowMinutes": 10080,
                    "Lifecycle": {"DeleteAfterDays": 30},
                },
            ],
            {
                "SelectionName": "legacy-explicit",
                "IamRoleArn": IAM_ROLE.format(acct=self.acct),
                "Resources": arns,
            },
        )

    def _deploy_plan(
        self,
        b: ExtendedBackupBackend,
        name: str,
        rules: list[dict[str, Any]],
        selection: dict[str, Any],
        plan_created: datetime,
    ) -> None:
        """Create one plan and its selection, with seeded ids, and record them in the truth."""
        plan = b.create_backup_plan(
            {"BackupPlanName": name, "Rules": rules}, {"team": "platform"}, f"seed-{name}"
        )
        b.plans.pop(plan.backup_plan_id)
        plan.backup_plan_id = self.uuid()
        plan.backup_plan_arn = (
            f"arn:aws:backup:{self.region}:{self.acct}:backup-plan:{plan.backup_plan_id}"
        )
        plan.version_id = self.hex(48)
        plan.creation_date = plan_created.timestamp()
        for rule in plan.backup_plan["Rules"]:
            rule["RuleId"] = self.uuid()
        b.plans[plan.backup_plan_id] = plan
        sel = create_backup_selection(
            b,
            plan.backup_plan_id,
            selection,
            f"seed-{selection['SelectionName']}",
            creation_date=plan_created,
            selection_id=self.uuid(),
        )
        self.e.plans.append(
            {
                "account_id": self.acct,
                "region": self.region,
                "backup_plan_id": plan.backup_plan_id,
                "backup_plan_arn": plan.backup_plan_arn,
                "backup_plan_name": name,
                "version_id": plan.version_id,
                "creation_date": plan_created,
            }
        )
        for rule in plan.backup_plan["Rules"]:
            lc = rule.get("Lifecycle") or {}
            self.e.rules.append(
                {
                    "account_id": self.acct,
                    "region": self.region,
                    "backup_plan_id": plan.backup_plan_id,
                    "rule_id": rule["RuleId"],
                    "rule_name": rule["RuleName"],
                    "target_vault_name": rule["TargetBackupVaultName"],
                    "schedule_expression": rule["ScheduleExpression"],
                    "move_to_cold_after_days": lc.get("MoveToColdStorageAfterDays"),
                    "delete_after_days": lc.get("DeleteAfterDays"),
                    "copy_actions": json.dumps(rule.get("CopyActions", [])),
                }
            )
        self.e.selections.append(
            {
                "account_id": self.acct,
                "region": self.region,
                "backup_plan_id": plan.backup_plan_id,
                "selection_id": sel["SelectionId"],
                "selection_name": selection["SelectionName"],
                "backup_selection": sel["BackupSelection"],
            }
        )
        self.deployed.append((plan, sel["BackupSelection"], plan.backup_plan["Rules"]))

    # ---- schedules
    @staticmethod
    def occurrences(expr: str, start: datetime, end: datetime) -> list[datetime]:
        """Run times of the seeder's cron expressions in [start, end)."""
        fields = expr[len("cron(") : -1].split()
        minute, hour, dom, _month, dow = (
            int(fields[0]),
            int(fields[1]),
            fields[2],
            fields[3],
            fields[4],
        )
        out = []
        day = datetime(start.year, start.month, start.day, tzinfo=UTC)
        while day < end:
            ok = True
            if dom not in ("?", "*"):
                ok = day.day == int(dom)
            if dow not in ("?", "*"):
                names = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
                wd = names[day.weekday()]
                if "-" in dow:
                    a, z = dow.split("-")
                    ok = names.index(a) <= day.weekday() <= names.index(z)
                else:
                    ok = wd == dow
            t = day.replace(hour=hour, minute=minute)
            if ok and start <= t < end:
                out.append(t)
            day += timedelta(days=1)
        return out

    def seed_recovery_points(self) -> None:
        plan_created = self.as_of - timedelta(days=PLAN_AGE_DAYS)
        for r in self.resources:
            seeder = seeder_for(r["resource_type"])
            if not seeder.uses_aws_backup or not seeder.backup_possible(r):
                continue  # Aurora: native snapshots only here; a bucket without versioning
            # A few protected resources whose backups silently stopped (recency failures).
            stop = None
            if self.rng.random() < 0.08:
                stop = self.as_of - timedelta(days=self.rng.uniform(3, 12))
            end = r.get("deleted_at") or self.as_of
            if stop is not None:
                end = min(end, stop)
            for plan, selection, rules in self.deployed:
                if not selects(
                    selection,
                    r["resource_arn"],
                    {f"aws:ResourceTag/{k}": v for k, v in r["tags"].items()} | r["tags"],
                ):
                    continue
                for rule in rules:
                    self._rule_points(r, plan, rule, max(plan_created, _utc(r["created_at"])), end)

    def _rule_points(
        self, r: dict[str, Any], plan: Any, rule: dict[str, Any], start: datetime, end: datetime
    ) -> None:
        lc = rule.get("Lifecycle") or {}
        # -1 (or no value) keeps points forever (AWS Backup API reference, "Lifecycle").
        keep = lc.get("DeleteAfterDays") if (lc.get("DeleteAfterDays") or 0) > 0 else None
        cold = lc.get("MoveToColdStorageAfterDays")
        cold = cold if (cold or 0) > 0 else None
        window_start = start
        if keep:
            # Points older than the retention were deleted by the lifecycle, except a few EXPIRED.
            window_start = max(start, self.as_of - timedelta(days=keep + 3))
        # A rule without a schedule runs at AWS Backup's default (API reference, BackupRuleInput).
        schedule = rule.get("ScheduleExpression") or DEFAULT_SCHEDULE
        for t in self.occurrences(schedule, window_start, end):
            t = t + timedelta(minutes=self.rng.randint(0, 40))
            age = (self.as_of - t).days
            roll = self.rng.random()
            if roll < 0.03:
                continue  # gap: no job at all (e.g. the plan's window was missed silently)
            if roll < 0.06:
                self._job(
                    r,
                    plan,
                    rule,
                    t,
                    self.rng.choice(("FAILED", "FAILED", "EXPIRED", "ABORTED")),
                    None,
                )
                continue
            status = "COMPLETED"
            if keep and age >= keep:
                if self.rng.random() < 0.3:
                    status = "EXPIRED"
                else:
                    continue
            elif self.rng.random() < 0.01:
                status = "PARTIAL"
            in_cold = (
                cold is not None
                and age >= cold
                and self._cold_ok(
                    r["resource_type"],
                    self.managed.get(BACKUP_RESOURCE_TYPE[r["resource_type"]], False),
                )
            )
            rp = self._point(
                r,
                plan,
                rule,
                t,
                status,
                in_cold,
                vault=rule["TargetBackupVaultName"],
                region=self.region,
            )
            self._job(
                r,
                plan,
                rule,
                t,
                "COMPLETED" if status != "PARTIAL" else "PARTIAL",
                rp,
                job_id=self.last_job_id,
            )
            for action in rule.get("CopyActions", []):
                if status != "COMPLETED":
                    continue
                self._copy(r, plan, rule, rp, action, t)

    def size(self, r: dict[str, Any]) -> int:
        """A backup's size: the resource's used (else provisioned) bytes, give or take 10 %."""
        base = r.get("used_bytes") or r["size_bytes"]
        return int(base * self.rng.uniform(0.9, 1.1))

    def _point(
        self,
        r: dict[str, Any],
        plan: Any,
        rule: dict[str, Any],
        t: datetime,
        status: str,
        cold: bool,
        *,
        vault: str,
        region: str,
        lifecycle: dict[str, Any] | None = None,
        source_vault_arn: str | None = None,
        copy_source: str | None = None,
    ) -> dict[str, Any]:
        rtype = r["resource_type"]
        seeder = seeder_for(rtype)
        service = BACKUP_RESOURCE_TYPE[rtype]
        size = self.size(r)
        job_id = self.uuid().upper()
        self.last_job_id = job_id
        encrypted = bool(r["encrypted"]) or seeder.always_encrypted
        backend = self.backends(region)["backup"]
        vault_obj = backend.vaults[vault]
        key = vault_obj.encryption_key_arn or aws_backup_key_arn(self.acct, region)
        # A copy lands in another region, where AWS Backup manages every type it can manage.
        managed = (
            self.managed.get(service, False) if region == self.region else service in self.managed
        )
        made = Artifact(region, job_id, t, size, managed, encrypted, cold, copy_source is not None)
        arn = seeder.artifact(self, r, made) or (
            f"arn:aws:backup:{region}:{self.acct}:recovery-point:{self.uuid().upper()}"
        )
        lc = lifecycle if lifecycle is not None else (rule.get("Lifecycle") or {})
        rp = {
            "RecoveryPointArn": arn,
            "BackupVaultName": vault,
            "ResourceArn": r["resource_arn"],
            "ResourceType": BACKUP_RESOURCE_TYPE[rtype],
            "CreatedBy": {
                "BackupPlanId": plan.backup_plan_id,
                "BackupPlanArn": plan.backup_plan_arn,
                "BackupPlanVersion": plan.version_id,
                "BackupPlanName": plan.backup_plan["BackupPlanName"],
                "BackupRuleId": rule["RuleId"],
                "BackupRuleName": rule["RuleName"],
                "BackupRuleCron": rule.get("ScheduleExpression"),
                "BackupRuleTimezone": "Etc/UTC",
            },
            "IamRoleArn": IAM_ROLE.format(acct=self.acct),
            "Status": status,
            "CreationDate": t,
            "InitiationDate": t,
            "CompletionDate": t + timedelta(minutes=self.rng.randint(5, 90)),
            "BackupSizeInBytes": size,
            "Lifecycle": self._effective_lifecycle(lc, rtype, managed),
            "IsEncrypted": encrypted,
            "StorageClass": "COLD" if cold else "WARM",
            "ResourceName": r["name"],
        }
        if encrypted:
            rp["EncryptionKeyArn"] = (
                key if "arn:aws:backup:" in arn else (r.get("kms_key_id") or key)
            )
        if source_vault_arn:
            rp["SourceBackupVaultArn"] = source_vault_arn
        if status == "PARTIAL":
            rp["StatusMessage"] = "Backup completed with errors: some files could not be read."
        add_recovery_point(backend, rp)
        delete_at = rp.get("CalculatedLifecycle", {}).get("DeleteAt")
        backup_type = self._backup_type(rtype, arn)
        self.e.backups.append(
            {
                "account_id": self.acct,
                "region": region,
                "recovery_point_arn": arn,
                "resource_arn": r["resource_arn"],
                "resource_type": rtype,
                "backup_type": backup_type,
                "source": "aws-backup",
                "created_by": "aws-backup",
                "status": status,
                "storage_class": _COLD_STORAGE.get(backup_type, "cold") if cold else "warm",
                "size_bytes": size,
                "created_at": t,
                "delete_at": delete_at,
                "encrypted": encrypted,
                "vault_name": vault,
                "copy_source_arn": copy_source,
                "orphan": bool(r["deleted"]),
                "job_id": job_id,
            }
        )
        return rp

    @staticmethod
    def _cold_ok(rtype: str, dynamodb_managed: bool) -> bool:
        """Whether AWS Backup moves this type to cold storage (the "Feature availability by resource"
        matrix: EFS, EBS, DynamoDB when fully managed); other types ignore the rule's cold transition."""
        value = load_support_matrix().feature_value(rtype, "cold_storage")
        return dynamodb_managed if value == ADVANCED else bool(value)

    def _effective_lifecycle(self, lc: dict[str, Any], rtype: str, managed: bool) -> dict[str, Any]:
        out = dict(lc)
        if not self._cold_ok(rtype, managed):
            out.pop(
                "MoveToColdStorageAfterDays", None
            )  # so no CalculatedLifecycle.MoveToColdStorageAt
        return out

    @staticmethod
    def _backup_type(rtype: str, arn: str) -> str:
        """The backup kind of a recovery point AWS Backup made of a `rtype` resource."""
        if ":recovery-point:" in arn:
            return catalog.recovery_point_kinds().get(rtype, "aws-backup")
        return catalog.resource_type(rtype).backup_kinds[0]

    def _job(
        self,
        r: dict[str, Any],
        plan: Any,
        rule: dict[str, Any],
        t: datetime,
        state: str,
        rp: dict[str, Any] | None,
        *,
        job_id: str | None = None,
    ) -> None:
        job_id = job_id or self.uuid().upper()
        vault = self.bb.vaults[rule["TargetBackupVaultName"]]
        job = {
            "AccountId": self.acct,
            "BackupJobId": job_id,
            "BackupVaultName": vault.backup_vault_name,
            "BackupVaultArn": vault.backup_vault_arn,
            "ResourceArn": r["resource_arn"],
            "ResourceType": BACKUP_RESOURCE_TYPE[r["resource_type"]],
            "CreationDate": t,
            "State": state,
            "IamRoleArn": IAM_ROLE.format(acct=self.acct),
            "ResourceName": r["name"],
            "InitiationDate": t,
            "StartBy": t + timedelta(minutes=rule.get("StartWindowMinutes", 480)),
            "CreatedBy": {
                "BackupPlanId": plan.backup_plan_id,
                "BackupPlanArn": plan.backup_plan_arn,
                "BackupPlanVersion": plan.version_id,
                "BackupRuleId": rule["RuleId"],
            },
            "IsParent": False,
            "BackupType": "",
        }
        if rp is not None:
            job.update(
                {
                    "RecoveryPointArn": rp["RecoveryPointArn"],
                    "CompletionDate": rp["CompletionDate"],
                    "BackupSizeInBytes": rp["BackupSizeInBytes"],
                    "PercentDone": "100.0",
                    "IsEncrypted": rp["IsEncrypted"],
                    "RecoveryPointLifecycle": rp.get("Lifecycle") or {},
                }
            )
            if rp.get("EncryptionKeyArn"):
                job["EncryptionKeyArn"] = rp["EncryptionKeyArn"]
        else:
            job["StatusMessage"] = {
                "FAILED": "An internal error occurred while creating the snapshot.",
                "EXPIRED": "Backup job failed to start before the completion window ended.",
                "ABORTED": "Backup job was aborted by the service.",
            }[state]
            if state != "EXPIRED":
                job["CompletionDate"] = t + timedelta(minutes=30)
        self.bb.backup_jobs[job_id] = job
        self.e.jobs.append(
            {
                "account_id": self.acct,
                "region": self.region,
                "job_id": job_id,
                "job_type": "backup",
                "state": state,
                "resource_arn": r["resource_arn"],
                "resource_type": r["resource_type"],
                "recovery_point_arn": rp["RecoveryPointArn"] if rp else None,
                "vault_name": vault.backup_vault_name,
                "created_at": t,
            }
        )

    def _copy(
        self,
        r: dict[str, Any],
        plan: Any,
        rule: dict[str, Any],
        rp: dict[str, Any],
        action: dict[str, Any],
        t: datetime,
    ) -> None:
        if self.managed.get(BACKUP_RESOURCE_TYPE[r["resource_type"]]) is False:
            return  # cross-region copy of DynamoDB needs advanced features (full management)
        dest_arn = action["DestinationBackupVaultArn"]
        dest_region = dest_arn.split(":")[3]
        dest_vault = dest_arn.rsplit(":", 1)[1]
        copy_t = t + timedelta(hours=2)
        job_id = self.uuid().upper()
        failed = self.rng.random() < 0.05
        job = {
            "AccountId": self.acct,
            "CopyJobId": job_id,
            "SourceBackupVaultArn": rp["BackupVaultArn"],
            "SourceRecoveryPointArn": rp["RecoveryPointArn"],
            "DestinationBackupVaultArn": dest_arn,
            "ResourceArn": r["resource_arn"],
            "ResourceType": rp["ResourceType"],
            "CreationDate": copy_t,
            "State": "FAILED" if failed else "COMPLETED",
            "BackupSizeInBytes": rp["BackupSizeInBytes"],
            "IamRoleArn": rp["IamRoleArn"],
            "CreatedBy": rp["CreatedBy"],
            "ResourceName": r["name"],
            "DestinationRecoveryPointLifecycle": dict(action.get("Lifecycle") or {}),
            "IsParent": False,
        }
        copy_rp = None
        if failed:
            job["StatusMessage"] = "Copy job failed: the destination vault's key is not accessible."
        else:
            age = (self.as_of - copy_t).days
            cold_after = (action.get("Lifecycle") or {}).get("MoveToColdStorageAfterDays") or 0
            # Only reached for DynamoDB when its backups are fully managed (see above).
            cold = (
                bool(cold_after) and age >= cold_after and self._cold_ok(r["resource_type"], True)
            )
            copy_rp = self._point(
                r,
                plan,
                rule,
                copy_t,
                "COMPLETED",
                cold,
                vault=dest_vault,
                region=dest_region,
                lifecycle=dict(action.get("Lifecycle") or {}),
                source_vault_arn=rp["BackupVaultArn"],
                copy_source=rp["RecoveryPointArn"],
            )
            job["DestinationRecoveryPointArn"] = copy_rp["RecoveryPointArn"]
            job["CompletionDate"] = copy_rp["CompletionDate"]
        self.bb.copy_jobs[job_id] = job
        self.e.jobs.append(
            {
                "account_id": self.acct,
                "region": self.region,
                "job_id": job_id,
                "job_type": "copy",
                "state": job["State"],
                "resource_arn": r["resource_arn"],
                "resource_type": r["resource_type"],
                "recovery_point_arn": copy_rp["RecoveryPointArn"] if copy_rp else None,
                "vault_name": dest_vault,
                "created_at": copy_t,
            }
        )

    # ---- native backups
    def native_row(
        self,
        r: dict[str, Any],
        arn: str,
        backup_type: str,
        created_by: str,
        t: datetime,
        size: int | None,
        encrypted: bool,
        *,
        storage_class: str = "warm",
        delete_at: datetime | None = None,
    ) -> None:
        self.e.backups.append(
            {
                "account_id": self.acct,
                "region": self.region,
                "recovery_point_arn": arn,
                "resource_arn": r["resource_arn"],
                "resource_type": r["resource_type"],
                "backup_type": backup_type,
                "source": "native",
                "created_by": created_by,
                "status": "COMPLETED",
                "storage_class": storage_class,
                "size_bytes": size,
                "created_at": t,
                "delete_at": delete_at,
                "encrypted": encrypted,
                "vault_name": None,
                "copy_source_arn": None,
                "orphan": bool(r["deleted"]),
                "job_id": None,
            }
        )

    def seed_native(self) -> None:
        """Every resource's backups made outside AWS Backup, by its type's seeder."""
        for r in self.resources:
            seeder_for(r["resource_type"]).native(self, r)


class _Builder:
    def __init__(self, as_of: datetime, seed: int, account_id: str, regions: Sequence[str]) -> None:
        self.as_of = _utc(as_of)
        self.seed = seed
        self.account_id = account_id
        self.regions = list(regions)
        self.backups: list[dict[str, Any]] = []
        self.jobs: list[dict[str, Any]] = []
        self.plans: list[dict[str, Any]] = []
        self.rules: list[dict[str, Any]] = []
        self.selections: list[dict[str, Any]] = []
        self.vaults: list[dict[str, Any]] = []
        self.backend_cache: dict[str, dict[str, Any]] = {}


_RESOURCE_COLUMNS = [
    "account_id",
    "region",
    "resource_type",
    "resource_arn",
    "resource_id",
    "name",
    "tags",
    "created_at",
    "size_bytes",
    "encrypted",
    "engine",
    "parent_arn",
]
_BACKUP_COLUMNS = [
    "account_id",
    "region",
    "recovery_point_arn",
    "resource_arn",
    "resource_type",
    "backup_type",
    "source",
    "created_by",
    "status",
    "storage_class",
    "size_bytes",
    "created_at",
    "delete_at",
    "encrypted",
    "vault_name",
    "copy_source_arn",
    "orphan",
    "job_id",
]


def _frame(rows: list[dict[str, Any]], columns: list[str] | None = None) -> pd.DataFrame:
    df = (
        pd.DataFrame.from_records(rows, columns=columns)
        if columns
        else pd.DataFrame.from_records(rows)
    )
    for col in ("created_at", "delete_at", "creation_date"):
        if col in df.columns:
            df[col] = pd.to_datetime(df[col], utc=True)
    return df


def seed_estate(
    as_of: datetime,
    *,
    seed: int = 7,
    regions: Iterable[str] = ("us-east-1", "eu-west-1"),
    account_id: str = "123456789012",
    scale: float = 1.0,
) -> Estate:
    """Build a deterministic estate for `account_id` into the active moto backends; return its truth.

    Works inside `mock_aws()` and under a `SandboxServer` (same process). Seed each account once:
    seeding the same account twice adds a second copy of everything.
    """
    install()
    regions = list(regions)
    if not regions:
        raise ValueError("seed_estate needs at least one region")
    if scale <= 0:
        raise ValueError("scale must be positive")
    b = _Builder(as_of, seed, account_id, regions)
    seeders = [_Region(b, region, i) for i, region in enumerate(regions)]
    for s in seeders:
        s.seed_resources(scale)
    for s in seeders:  # vaults everywhere first: copies land in the next region's dr-vault
        s.seed_backup()
    for s in seeders:
        s.seed_recovery_points()
        s.seed_native()
    for s in seeders:  # restores of the recovery points, on a random stream of their own
        seed_restores(s.bb, b.as_of, s.resources, random.Random(f"{seed}/restores/{s.region}"))
    # A vault that denies deletion, and backups anyone can restore (auditor/sandbox/seed_protection.py).
    seed_protection(account_id, regions)
    resources: list[dict[str, Any]] = []
    deleted: list[dict[str, Any]] = []
    for s in seeders:
        for r in s.resources:
            row = {c: r.get(c) for c in _RESOURCE_COLUMNS if c not in ("account_id", "region")}
            row.update(account_id=account_id, region=s.region)
            (deleted if r["deleted"] else resources).append(row)
    settings = {
        f"{account_id}/{s.region}": {k: dict(v) for k, v in s.bb.region_settings.items()}
        for s in seeders
    }
    return Estate(
        as_of=b.as_of,
        seed=seed,
        account_ids=[account_id],
        regions=regions,
        resources=_frame(resources, _RESOURCE_COLUMNS),
        deleted_resources=_frame(deleted, _RESOURCE_COLUMNS),
        backups=_frame(b.backups, _BACKUP_COLUMNS),
        jobs=_frame(b.jobs),
        plans=_frame(b.plans),
        rules=_frame(b.rules),
        selections=_frame(b.selections),
        vaults=_frame(b.vaults),
        region_settings=settings,
    )


def seed_organization(
    as_of: datetime, accounts: Sequence[str], *, management_account: str | None = None
) -> dict[str, Any]:
    """Create an AWS Organization whose members are `accounts` (ids kept as given).

    The first account (or `management_account`) is the management account; the others are created
    as member accounts with the role `OrganizationAccountAccessRole` (trusting the management
    account), so `sts.assume_role` into `arn:aws:iam::<id>:role/OrganizationAccountAccessRole`
    reaches that account's own backends (seed them with `seed_estate(account_id=<id>)`). Returns
    {"organization_id", "management_account", "accounts", "role_name"}.
    """
    install()
    from unittest import mock

    from moto.organizations import models as org_models

    accounts = list(accounts)
    mgmt = management_account or accounts[0]
    backend = org_models.organizations_backends[mgmt]["aws"]
    org = backend.create_organization(region="us-east-1", FeatureSet="ALL")
    created = _utc(as_of) - timedelta(days=400)
    for acct in accounts:
        if acct == mgmt:
            continue
        # moto draws member account ids at random; the estate needs the ids it was seeded with.
        with mock.patch.object(org_models.utils, "make_random_account_id", return_value=acct):
            backend.create_account(AccountName=f"workload-{acct}", Email=f"aws+{acct}@example.com")
    for account in backend.accounts:
        account.create_time = _naive(created)
    return {
        "organization_id": org["Organization"]["Id"],
        "management_account": mgmt,
        "accounts": accounts,
        "role_name": "OrganizationAccountAccessRole",
    }
