"""AWS Backup operations moto lacks, added to moto's own backup backend and response class.

Added: Create/List/Get/DeleteBackupSelection, StartBackupJob, ListBackupJobs, DescribeBackupJob,
ListCopyJobs, StartCopyJob, DescribeCopyJob, ListRecoveryPointsByBackupVault, ListRecoveryPointsByResource, DescribeRecoveryPoint,
DeleteRecoveryPoint, ListProtectedResources, DescribeRegionSettings, UpdateRegionSettings.
Replaced (to page like AWS and fill fields AWS always returns): ListBackupPlans, ListBackupVaults,
DescribeBackupVault.

State lives on moto's `BackupBackend` (one per account and region), so moto's reset clears it:
- `selections`: {plan_id: {selection_id: dict in GetBackupSelection's shape}}
- `recovery_points`: {recovery_point_arn: dict in DescribeRecoveryPoint's shape}
- `backup_jobs` / `copy_jobs`: {job_id: dict in DescribeBackupJob / CopyJob shape}
- `region_settings`: {"ResourceTypeOptInPreference": {...}, "ResourceTypeManagementPreference": {...}}

Request parameters are parsed with botocore's model (moto's `parse_parameters`). Responses are
dicts in the output shape's own field names, written as REST-JSON directly (`_dump`: moto's
model-driven serializer is too slow for 100,000 recovery points); errors are moto's exceptions.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast, overload

from moto.backup import urls as backup_urls
from moto.backup.exceptions import (
    InvalidParameterValueException,
    InvalidRequestException,
    ResourceNotFoundException,
)
from moto.backup.models import BackupBackend, Plan, Vault
from moto.backup.responses import BackupResponse
from moto.core.responses import ActionResult, EmptyResult

from auditor.sandbox.moto_ext.paging import page, request_scope

DEFAULT_PAGE = 1000
MAX_PAGE = 1000

# AWS Backup's names for the resource types it protects (ResourceType in its API).
RESOURCE_TYPES = (
    "Aurora",
    "CloudFormation",
    "DocumentDB",
    "DynamoDB",
    "EBS",
    "EC2",
    "EFS",
    "FSx",
    "Neptune",
    "RDS",
    "Redshift",
    "S3",
    "SAP HANA on Amazon EC2",
    "Storage Gateway",
    "Timestream",
    "VirtualMachine",
)
# Services whose backups AWS Backup fully manages (recovery point ARNs are AWS Backup ARNs) by
# default, and the ones where full management is an opt-in (DynamoDB's "advanced features").
DEFAULT_MANAGEMENT = {"DynamoDB": False, "EFS": True}


def _now() -> datetime:
    return datetime.now(UTC)


def aws_backup_key_arn(account_id: str, region: str) -> str:
    """ARN of the AWS managed key `aws/backup` this sandbox gives a vault created without a key.

    Real AWS always encrypts a vault; without EncryptionKeyArn it uses the account's AWS managed
    key for AWS Backup. The key id is derived from (account, region) so it is stable.
    """
    key_id = uuid.uuid5(uuid.NAMESPACE_URL, f"aws/backup/{account_id}/{region}")
    return f"arn:aws:kms:{region}:{account_id}:key/{key_id}"


def resource_type_of(arn: str) -> str:
    """AWS Backup's ResourceType for a resource ARN (EBS, RDS, Aurora, DynamoDB, EFS, ...)."""
    parts = arn.split(":", 5)
    service = parts[2] if len(parts) > 2 else ""
    rest = parts[5] if len(parts) > 5 else ""
    if service == "ec2":
        return "EBS" if rest.startswith("volume/") else "EC2"
    if service == "rds":
        return _rds_cluster_service(parts) if rest.startswith("cluster:") else "RDS"
    return {
        "dynamodb": "DynamoDB",
        "elasticfilesystem": "EFS",
        "storagegateway": "Storage Gateway",
        "fsx": "FSx",
        "s3": "S3",
        "redshift": "Redshift",
    }.get(service, service)


# RDS-compatible engines AWS Backup names as services of their own (GetSupportedResourceTypes:
# "DocumentDB for Amazon DocumentDB", "Neptune for Amazon Neptune"); their clusters have RDS
# cluster ARNs, so the cluster's engine decides.
_ENGINE_SERVICES = {"docdb": "DocumentDB", "neptune": "Neptune"}


def _rds_cluster_service(parts: list[str]) -> str:
    """AWS Backup's ResourceType of an RDS cluster ARN's cluster: Aurora unless its engine says."""
    from moto.rds.models import rds_backends

    if len(parts) < 6 or not parts[3] or not parts[4]:
        return "Aurora"
    cluster = rds_backends[parts[4]][parts[3]].clusters.get(parts[5].split(":", 1)[1])
    return _ENGINE_SERVICES.get(getattr(cluster, "engine", ""), "Aurora")


def _bad_token(message: str) -> Exception:
    return InvalidParameterValueException(msg=message)


# --------------------------------------------------------------------------------------------
# backend state and operations


class ExtendedBackupBackend(BackupBackend):
    """moto's `BackupBackend` as seen once `install()` has added this module's state.

    Only for type checking: moto's class does not declare these attributes, so backends are cast
    to this type where the added state is used; it is never instantiated.
    """

    selections: dict[str, dict[str, dict[str, Any]]]
    recovery_points: dict[str, dict[str, Any]]
    backup_jobs: dict[str, dict[str, Any]]
    copy_jobs: dict[str, dict[str, Any]]
    region_settings: dict[str, dict[str, bool]]


def extended_backend(backend: BackupBackend) -> ExtendedBackupBackend:
    """`backend` typed with the state `install()` adds to every moto backup backend."""
    return cast(ExtendedBackupBackend, backend)


def _backend(response: BackupResponse) -> ExtendedBackupBackend:
    return extended_backend(response.backup_backend)


def _init_ext(backend: BackupBackend) -> None:
    self = extended_backend(backend)
    self.selections = {}
    self.recovery_points = {}
    self.backup_jobs = {}
    self.copy_jobs = {}
    self.region_settings = {
        "ResourceTypeOptInPreference": {t: True for t in RESOURCE_TYPES},
        "ResourceTypeManagementPreference": dict(DEFAULT_MANAGEMENT),
    }


def _vault_or_404(self: ExtendedBackupBackend, name: str) -> Vault:
    vault = self.vaults.get(name)
    if vault is None:
        raise ResourceNotFoundException(
            msg=f"Backup vault {name} does not exist in account {self.account_id}"
        )
    return vault


def _plan_or_404(self: ExtendedBackupBackend, plan_id: str) -> Plan:
    plan = self.plans.get(plan_id)
    if plan is None or plan.deletion_date is not None:
        raise ResourceNotFoundException(
            msg=f"Failed reading Backup plan with provided version: {plan_id}"
        )
    return plan


def vault_dict(self: ExtendedBackupBackend, vault: Vault) -> dict[str, Any]:
    """A vault in ListBackupVaults/DescribeBackupVault shape, with the fields real AWS always has."""
    count = sum(
        1
        for rp in self.recovery_points.values()
        if rp["BackupVaultName"] == vault.backup_vault_name and rp["Status"] not in ("DELETING",)
    )
    d: dict[str, Any] = {
        "BackupVaultName": vault.backup_vault_name,
        "BackupVaultArn": vault.backup_vault_arn,
        "VaultType": getattr(vault, "vault_type", "BACKUP_VAULT"),
        "VaultState": "AVAILABLE",
        "CreationDate": _ts(vault.creation_date),
        "EncryptionKeyArn": vault.encryption_key_arn
        or aws_backup_key_arn(self.account_id, self.region_name),
        "NumberOfRecoveryPoints": count,
        "Locked": bool(vault.locked),
    }
    if vault.creator_request_id:
        d["CreatorRequestId"] = vault.creator_request_id
    if vault.min_retention_days is not None:
        d["MinRetentionDays"] = vault.min_retention_days
    if vault.max_retention_days is not None:
        d["MaxRetentionDays"] = vault.max_retention_days
    if vault.lock_date is not None:
        d["LockDate"] = _ts(vault.lock_date)
    return d


@overload
def _ts(value: None) -> None: ...
@overload
def _ts(value: datetime | float | str) -> datetime: ...
def _ts(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(float(value), tz=UTC)


def create_backup_selection(
    self: ExtendedBackupBackend,
    plan_id: str,
    selection: dict[str, Any],
    creator_request_id: str | None,
    *,
    creation_date: datetime | None = None,
    selection_id: str | None = None,
) -> dict[str, Any]:
    """Store a selection (GetBackupSelection shape) under its plan and return it."""
    _plan_or_404(self, plan_id)
    if not selection.get("SelectionName") or not selection.get("IamRoleArn"):
        raise InvalidParameterValueException(msg="SelectionName and IamRoleArn are required")
    existing = self.selections.setdefault(plan_id, {})
    if any(
        s["BackupSelection"]["SelectionName"] == selection["SelectionName"]
        for s in existing.values()
    ):
        raise InvalidParameterValueException(
            msg=f"Selection {selection['SelectionName']} already exists"
        )
    sid = selection_id or str(uuid.uuid4())
    stored = {
        "BackupSelection": _clean_selection(selection),
        "SelectionId": sid,
        "BackupPlanId": plan_id,
        "CreationDate": creation_date or _now(),
    }
    if creator_request_id:
        stored["CreatorRequestId"] = creator_request_id
    existing[sid] = stored
    return stored


def _clean_selection(selection: dict[str, Any]) -> dict[str, Any]:
    # AWS echoes back every list field (empty when not given) and all four condition lists.
    cond = selection.get("Conditions") or {}
    return {
        "SelectionName": selection["SelectionName"],
        "IamRoleArn": selection["IamRoleArn"],
        "Resources": list(selection.get("Resources") or []),
        "ListOfTags": [dict(t) for t in selection.get("ListOfTags") or []],
        "NotResources": list(selection.get("NotResources") or []),
        "Conditions": {
            k: [dict(c) for c in cond.get(k) or []]
            for k in ("StringEquals", "StringNotEquals", "StringLike", "StringNotLike")
        },
    }


def backup_encrypted(account_id: str, region: str, resource_arn: str, managed: bool) -> bool:
    """Whether AWS Backup's backup of `resource_arn` is encrypted.

    "Backups of resource types that are not fully managed by AWS Backup typically inherit the
    encryption settings from their source resource" (AWS Backup developer guide, "Encryption for
    backups in AWS Backup"): an unencrypted EBS volume or RDS database gives an unencrypted
    snapshot. Fully managed types (EFS; DynamoDB with advanced features) are encrypted with the
    vault's key whatever the source.
    """
    from auditor.sandbox.moto_ext import native

    if managed or resource_type_of(resource_arn) == "EFS":
        return True
    return native.resource_encrypted(account_id, region, resource_arn)


def add_recovery_point(self: ExtendedBackupBackend, rp: dict[str, Any]) -> dict[str, Any]:
    """Register a recovery point (DescribeRecoveryPoint shape) in this region; fills defaults."""
    vault = _vault_or_404(self, rp["BackupVaultName"])
    rp.setdefault("BackupVaultArn", vault.backup_vault_arn)
    rp.setdefault("ResourceType", resource_type_of(rp["ResourceArn"]))
    rp.setdefault("Status", "COMPLETED")
    rp.setdefault("StorageClass", "WARM")
    rp.setdefault("IsEncrypted", True)
    if rp["IsEncrypted"]:
        rp.setdefault(
            "EncryptionKeyArn",
            vault.encryption_key_arn or aws_backup_key_arn(self.account_id, self.region_name),
        )
    rp.setdefault("VaultType", getattr(vault, "vault_type", "BACKUP_VAULT"))
    rp.setdefault("IsParent", False)
    rp.setdefault(
        "IamRoleArn",
        f"arn:aws:iam::{self.account_id}:role/service-role/AWSBackupDefaultServiceRole",
    )
    created = rp.setdefault("CreationDate", _now())
    rp.setdefault("InitiationDate", created)
    if rp["Status"] in ("COMPLETED", "EXPIRED", "PARTIAL", "AVAILABLE"):
        rp.setdefault("CompletionDate", created + timedelta(minutes=20))
    lifecycle = rp.get("Lifecycle") or {}
    calc = {}
    # AWS Backup API reference, "Lifecycle": -1 (or no value) keeps the point indefinitely, and
    # types that cannot move to cold storage ignore MoveToColdStorageAfterDays.
    cold_days = lifecycle.get("MoveToColdStorageAfterDays")
    if cold_days and int(cold_days) > 0 and _can_go_cold(self, rp):
        calc["MoveToColdStorageAt"] = created + timedelta(days=int(cold_days))
    delete_days = lifecycle.get("DeleteAfterDays")
    if delete_days and int(delete_days) > 0:
        calc["DeleteAt"] = created + timedelta(days=int(delete_days))
    if calc:
        rp.setdefault("CalculatedLifecycle", calc)
    self.recovery_points[rp["RecoveryPointArn"]] = rp
    return rp


def _can_go_cold(self: ExtendedBackupBackend, rp: dict[str, Any]) -> bool:
    """Does AWS Backup move this recovery point's type (EBS, Aurora, DynamoDB, ...) to cold storage?

    From the same "Feature availability by resource" matrix the controls use. DynamoDB only with its
    advanced features on: a point with an AWS Backup ARN was made with them; otherwise the region's
    ResourceTypeManagementPreference says.
    """
    from auditor.policy.support import ADVANCED, load_support_matrix

    resource_type = rp["ResourceType"]
    matrix = load_support_matrix()
    row = next((r for r in matrix.rows if r.get("service") == resource_type), None)
    value = row.get("cold_storage", False) if row else False
    if value == ADVANCED:
        return str(rp["RecoveryPointArn"]).startswith("arn:aws:backup:") or bool(
            self.region_settings["ResourceTypeManagementPreference"].get(resource_type)
        )
    return bool(value)


def _created_by(
    self: ExtendedBackupBackend, plan_id: str | None, rule_id: str | None
) -> dict[str, Any] | None:
    if not plan_id:
        return None
    plan = self.plans.get(plan_id)
    d: dict[str, Any] = {"BackupPlanId": plan_id}
    if plan is not None:
        d["BackupPlanArn"] = plan.backup_plan_arn
        d["BackupPlanVersion"] = plan.version_id
        d["BackupPlanName"] = plan.backup_plan.get("BackupPlanName")
        for rule in plan.backup_plan.get("Rules", []):
            if rule.get("RuleId") == rule_id:
                d["BackupRuleName"] = rule.get("RuleName")
                d["BackupRuleCron"] = rule.get("ScheduleExpression")
                d["BackupRuleTimezone"] = rule.get("ScheduleExpressionTimezone")
    if rule_id:
        d["BackupRuleId"] = rule_id
    return d


def start_backup_job(self: ExtendedBackupBackend, params: dict[str, Any]) -> dict[str, Any]:
    """StartBackupJob: the job completes at once and leaves a recovery point in the vault.

    EBS volumes, RDS instances and DynamoDB tables (without advanced features) get a native
    snapshot/backup marked as AWS Backup marks it (see auditor.sandbox.moto_ext.native); every
    other type gets an AWS Backup recovery point ARN.
    """
    from auditor.sandbox.moto_ext import native

    vault = _vault_or_404(self, params["BackupVaultName"])
    resource_arn = params["ResourceArn"]
    job_id = str(uuid.uuid4()).upper()
    now = _now()
    rtype = resource_type_of(resource_arn)
    size = native.resource_size_bytes(self.account_id, self.region_name, resource_arn)
    if size is None:
        raise ResourceNotFoundException(msg=f"Resource {resource_arn} was not found")
    managed = self.region_settings["ResourceTypeManagementPreference"].get(rtype, False)
    encrypted = backup_encrypted(self.account_id, self.region_name, resource_arn, managed)
    rp_arn = native.create_backup_artifact(
        self.account_id,
        self.region_name,
        resource_arn,
        job_id=job_id,
        created=now,
        size_bytes=size,
        managed=managed,
        encrypted=encrypted,
    )
    lifecycle = params.get("Lifecycle") or None
    rp = {
        "RecoveryPointArn": rp_arn,
        "BackupVaultName": vault.backup_vault_name,
        "ResourceArn": resource_arn,
        "ResourceType": rtype,
        "IamRoleArn": params["IamRoleArn"],
        "Status": "COMPLETED",
        "CreationDate": now,
        "BackupSizeInBytes": size,
        "ResourceName": resource_arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1],
        "IsEncrypted": encrypted,
    }
    if lifecycle:
        rp["Lifecycle"] = lifecycle
    add_recovery_point(self, rp)
    job = {
        "AccountId": self.account_id,
        "BackupJobId": job_id,
        "BackupVaultName": vault.backup_vault_name,
        "BackupVaultArn": vault.backup_vault_arn,
        "RecoveryPointArn": rp_arn,
        "ResourceArn": resource_arn,
        "ResourceType": rtype,
        "CreationDate": now,
        "CompletionDate": rp["CompletionDate"],
        "State": "COMPLETED",
        "PercentDone": "100.0",
        "BackupSizeInBytes": size,
        "IamRoleArn": params["IamRoleArn"],
        "CreatedBy": {},
        "BackupType": "",
        "IsParent": False,
        "InitiationDate": now,
    }
    if lifecycle:
        job["RecoveryPointLifecycle"] = lifecycle
    self.backup_jobs[job_id] = job
    return {
        "BackupJobId": job_id,
        "RecoveryPointArn": rp_arn,
        "CreationDate": now,
        "IsParent": False,
    }


def start_copy_job(self: ExtendedBackupBackend, params: dict[str, Any]) -> dict[str, Any]:
    """StartCopyJob: the copy completes at once into the destination vault (any region or account
    of this sandbox), as a recovery point with `SourceBackupVaultArn` set and the same ResourceArn;
    the copy job is recorded in THIS (the source) region, where ListCopyJobs lists it.

    An EBS copy is also an EBS snapshot in the destination region (like a copied AWS Backup
    snapshot); other types get an AWS Backup recovery point ARN there.
    """
    from moto.backup.models import backup_backends

    from auditor.sandbox.moto_ext import air_gapped, native

    source_vault = _vault_or_404(self, params["SourceBackupVaultName"])
    source = self.recovery_points.get(params["RecoveryPointArn"])
    if source is None or source["BackupVaultName"] != source_vault.backup_vault_name:
        raise ResourceNotFoundException(
            msg=f"Recovery point {params['RecoveryPointArn']} was not found"
        )
    dest_arn = params["DestinationBackupVaultArn"]
    parts = dest_arn.split(":")
    if len(parts) < 7 or parts[2] != "backup" or parts[5] != "backup-vault":
        raise InvalidParameterValueException(msg=f"Invalid destination vault ARN {dest_arn}")
    dest_region, dest_account, dest_name = parts[3], parts[4], parts[6]
    dest = extended_backend(backup_backends[dest_account][dest_region])
    if not hasattr(dest, "recovery_points"):
        _init_ext(dest)
    dest_vault = _vault_or_404(dest, dest_name)
    job_id = str(uuid.uuid4()).upper()
    now = _now()
    size = int(source.get("BackupSizeInBytes") or 0)
    if air_gapped.vault_type(dest_vault) == air_gapped.LAG:
        # An air-gapped vault holds AWS Backup's own recovery points, not native snapshots.
        rp_arn = air_gapped.recovery_point_arn(dest_account, dest_region)
    else:
        rp_arn = native.create_backup_artifact(
            dest_account,
            dest_region,
            source["ResourceArn"],
            job_id=job_id,
            created=now,
            size_bytes=size,
            managed=dest.region_settings["ResourceTypeManagementPreference"].get(
                source["ResourceType"], False
            ),
            encrypted=True,
        )
    rp = {
        "RecoveryPointArn": rp_arn,
        "BackupVaultName": dest_vault.backup_vault_name,
        "SourceBackupVaultArn": source_vault.backup_vault_arn,
        "ResourceArn": source["ResourceArn"],
        "ResourceType": source["ResourceType"],
        "IamRoleArn": params["IamRoleArn"],
        "Status": "COMPLETED",
        "CreationDate": now,
        "BackupSizeInBytes": size,
        "ResourceName": source.get("ResourceName"),
    }
    if params.get("Lifecycle"):
        rp["Lifecycle"] = params["Lifecycle"]
    add_recovery_point(dest, rp)
    job = {
        "AccountId": self.account_id,
        "CopyJobId": job_id,
        "SourceBackupVaultArn": source_vault.backup_vault_arn,
        "SourceRecoveryPointArn": source["RecoveryPointArn"],
        "DestinationBackupVaultArn": dest_vault.backup_vault_arn,
        "DestinationRecoveryPointArn": rp_arn,
        "ResourceArn": source["ResourceArn"],
        "ResourceType": source["ResourceType"],
        "CreationDate": now,
        "CompletionDate": rp["CompletionDate"],
        "State": "COMPLETED",
        "BackupSizeInBytes": size,
        "IamRoleArn": params["IamRoleArn"],
        "CreatedBy": {},
        "ResourceName": source.get("ResourceName"),
        "IsParent": False,
    }
    if params.get("Lifecycle"):
        job["DestinationRecoveryPointLifecycle"] = params["Lifecycle"]
    self.copy_jobs[job_id] = job
    return {"CopyJobId": job_id, "CreationDate": now, "IsParent": False}


def _in_range(value: datetime | None, after: datetime | None, before: datetime | None) -> bool:
    if after is None and before is None:
        return True
    if value is None:
        return False
    value, after, before = _ts(value), _ts(after), _ts(before)
    if after is not None and value < after:
        return False
    return not (before is not None and value > before)


# --------------------------------------------------------------------------------------------
# response handlers (names are botocore operation names in snake_case; moto dispatches on them)


def _p(self: BackupResponse) -> dict[str, Any]:
    """The request's parameters, parsed with botocore's model (uri, querystring and body)."""
    self.parse_parameters(self.normalized_request)
    return dict(self.params)


def _scope(params: dict[str, Any]) -> str:
    return request_scope(params, ("NextToken", "MaxResults"))


def _paged(params: dict[str, Any], items: list[Any]) -> tuple[list[Any], str | None]:
    return page(
        items,
        params.get("NextToken"),
        params.get("MaxResults"),
        default=DEFAULT_PAGE,
        maximum=MAX_PAGE,
        scope=_scope(params),
        bad_token=_bad_token,
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return round(_ts(value).timestamp(), 3)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _dump(body: dict[str, Any]) -> str:
    """REST-JSON body written directly (timestamps as epoch seconds, the protocol's default).

    moto's model-driven serializer costs ~0.5 ms a recovery point, too slow for the benchmark
    estate; keys outside the output shape are ignored by botocore, like unknown fields from AWS.
    """
    return json.dumps(body, default=_json_default, separators=(",", ":"))


def _result(body: dict[str, Any], token: str | None) -> str:
    if token:
        body["NextToken"] = token
    return _dump(body)


def r_create_backup_selection(self: BackupResponse) -> ActionResult | str:
    p = _p(self)
    stored = create_backup_selection(
        _backend(self), p["BackupPlanId"], p["BackupSelection"], p.get("CreatorRequestId")
    )
    return ActionResult(
        {
            "SelectionId": stored["SelectionId"],
            "BackupPlanId": stored["BackupPlanId"],
            "CreationDate": stored["CreationDate"],
        }
    )


def r_get_backup_selection(self: BackupResponse) -> ActionResult | str:
    p = _p(self)
    backend = _backend(self)
    _plan_or_404(backend, p["BackupPlanId"])
    sel = backend.selections.get(p["BackupPlanId"], {}).get(p["SelectionId"])
    if sel is None:
        raise ResourceNotFoundException(msg=f"Backup selection {p['SelectionId']} not found")
    return _dump(sel)


def r_list_backup_selections(self: BackupResponse) -> ActionResult | str:
    p = _p(self)
    backend = _backend(self)
    _plan_or_404(backend, p["BackupPlanId"])
    rows = [
        {
            "SelectionId": s["SelectionId"],
            "SelectionName": s["BackupSelection"]["SelectionName"],
            "BackupPlanId": s["BackupPlanId"],
            "CreationDate": s["CreationDate"],
            "CreatorRequestId": s.get("CreatorRequestId"),
            "IamRoleArn": s["BackupSelection"]["IamRoleArn"],
        }
        for s in backend.selections.get(p["BackupPlanId"], {}).values()
    ]
    chunk, token = _paged(p, rows)
    return _result({"BackupSelectionsList": chunk}, token)


def r_delete_backup_selection(self: BackupResponse) -> EmptyResult:
    p = _p(self)
    backend = _backend(self)
    _plan_or_404(backend, p["BackupPlanId"])
    if backend.selections.get(p["BackupPlanId"], {}).pop(p["SelectionId"], None) is None:
        raise ResourceNotFoundException(msg=f"Backup selection {p['SelectionId']} not found")
    return EmptyResult()


def r_list_backup_plans(self: BackupResponse) -> ActionResult | str:
    p = _p(self)
    plans = _backend(self).list_backup_plans(include_deleted=p.get("IncludeDeleted"))
    rows = []
    for plan in plans:
        d = plan.to_list_dict()
        for key in ("CreationDate", "DeletionDate", "LastExecutionDate"):
            if d.get(key) is not None:
                d[key] = _ts(d[key])
        rows.append(d)
    chunk, token = _paged(p, rows)
    return _result({"BackupPlansList": chunk}, token)


def r_list_backup_vaults(self: BackupResponse) -> ActionResult | str:
    p = _p(self)
    backend = _backend(self)
    rows = [vault_dict(backend, v) for v in backend.vaults.values()]
    if p.get("ByVaultType"):
        rows = [r for r in rows if r["VaultType"] == p["ByVaultType"]]
    chunk, token = _paged(p, rows)
    return _result({"BackupVaultList": chunk}, token)


def r_describe_backup_vault(self: BackupResponse) -> ActionResult | str:
    p = _p(self)
    backend = _backend(self)
    return _dump(vault_dict(backend, _vault_or_404(backend, p["BackupVaultName"])))


# ListRecoveryPointsByBackupVault filters that compare one recovery point field for equality
# (AWS Backup API reference, ListRecoveryPointsByBackupVault request parameters).
_VAULT_RECOVERY_POINT_FILTERS = {
    "ByResourceArn": "ResourceArn",
    "ByResourceType": "ResourceType",
    "ByBackupPlanId": "CreatedBy.BackupPlanId",
    "ByParentRecoveryPointArn": "ParentRecoveryPointArn",
}


def _field(item: dict, path: str) -> Any:
    """`item`'s value at a dotted `path` (None where a level is missing)."""
    value: Any = item
    for part in path.split("."):
        value = (value or {}).get(part)
    return value


def _filter_by(items: Any, p: dict, equal_filters: dict[str, str]) -> list[dict]:
    """The items whose field equals the request's value for every equality filter given."""
    wanted = {field: p[param] for param, field in equal_filters.items() if p.get(param)}
    return [i for i in items if all(_field(i, f) == v for f, v in wanted.items())]


def _shaped(rows: list[dict[str, Any]], shape: str) -> list[dict[str, Any]]:
    """`rows` with only the members of AWS Backup's `shape` (a listing returns fewer fields than
    DescribeRecoveryPoint: e.g. no StorageClass in ListRecoveryPointsByBackupVault)."""
    from auditor.sandbox.moto_ext.paging import model_members

    members = model_members("backup", shape)
    return [{k: v for k, v in row.items() if k in members} for row in rows]


def r_list_recovery_points_by_backup_vault(self: BackupResponse) -> ActionResult | str:
    p = _p(self)
    backend = _backend(self)
    vault = _vault_or_404(backend, p["BackupVaultName"])
    rows = _filter_by(
        (
            rp
            for rp in backend.recovery_points.values()
            if rp["BackupVaultName"] == vault.backup_vault_name
        ),
        p,
        _VAULT_RECOVERY_POINT_FILTERS,
    )
    rows = [
        rp
        for rp in rows
        if _in_range(rp["CreationDate"], p.get("ByCreatedAfter"), p.get("ByCreatedBefore"))
    ]
    chunk, token = _paged(p, rows)
    return _result({"RecoveryPoints": _shaped(chunk, "RecoveryPointByBackupVault")}, token)


def r_list_recovery_points_by_resource(self: BackupResponse) -> ActionResult | str:
    p = _p(self)
    backend = _backend(self)
    rows = []
    for rp in backend.recovery_points.values():
        if rp["ResourceArn"] != p["ResourceArn"]:
            continue
        if p.get("ManagedByAWSBackupOnly") and ":recovery-point:" not in rp["RecoveryPointArn"]:
            continue
        row = dict(rp)
        row["BackupSizeBytes"] = rp.get("BackupSizeInBytes")
        rows.append(row)
    chunk, token = _paged(p, rows)
    return _result({"RecoveryPoints": _shaped(chunk, "RecoveryPointByResource")}, token)


def r_describe_recovery_point(self: BackupResponse) -> ActionResult | str:
    p = _p(self)
    backend = _backend(self)
    vault = _vault_or_404(backend, p["BackupVaultName"])
    rp = backend.recovery_points.get(p["RecoveryPointArn"])
    if rp is None or rp["BackupVaultName"] != vault.backup_vault_name:
        raise ResourceNotFoundException(msg=f"Recovery point {p['RecoveryPointArn']} not found")
    return _dump(rp)


def r_delete_recovery_point(self: BackupResponse) -> EmptyResult:
    p = _p(self)
    backend = _backend(self)
    vault = _vault_or_404(backend, p["BackupVaultName"])
    rp = backend.recovery_points.get(p["RecoveryPointArn"])
    if rp is None or rp["BackupVaultName"] != vault.backup_vault_name:
        raise ResourceNotFoundException(msg=f"Recovery point {p['RecoveryPointArn']} not found")
    if vault.locked and vault.min_retention_days:
        age = _now() - rp["CreationDate"]
        if age < timedelta(days=vault.min_retention_days):
            raise InvalidRequestException(
                msg="Recovery point cannot be deleted: the vault lock's minimum retention has not passed"
            )
    del backend.recovery_points[p["RecoveryPointArn"]]
    return EmptyResult()


def r_list_protected_resources(self: BackupResponse) -> ActionResult | str:
    p = _p(self)
    latest: dict[str, dict[str, Any]] = {}
    for rp in _backend(self).recovery_points.values():
        if rp["Status"] not in ("COMPLETED", "PARTIAL", "AVAILABLE"):
            continue
        cur = latest.get(rp["ResourceArn"])
        if cur is None or rp["CreationDate"] > cur["LastBackupTime"]:
            latest[rp["ResourceArn"]] = {
                "ResourceArn": rp["ResourceArn"],
                "ResourceType": rp["ResourceType"],
                "LastBackupTime": rp["CreationDate"],
                "ResourceName": rp.get("ResourceName"),
                "LastBackupVaultArn": rp["BackupVaultArn"],
                "LastRecoveryPointArn": rp["RecoveryPointArn"],
            }
    chunk, token = _paged(p, list(latest.values()))
    return _result({"Results": chunk}, token)


def r_start_backup_job(self: BackupResponse) -> ActionResult | str:
    p = _p(self)
    return ActionResult(start_backup_job(_backend(self), p))


def r_describe_backup_job(self: BackupResponse) -> ActionResult | str:
    p = _p(self)
    job = _backend(self).backup_jobs.get(p["BackupJobId"])
    if job is None:
        raise ResourceNotFoundException(msg=f"Backup job {p['BackupJobId']} not found")
    return _dump(job)


# ListBackupJobs / ListCopyJobs filters that compare one job field for equality, as AWS documents them.
_BACKUP_JOB_FILTERS = {
    "ByResourceArn": "ResourceArn",
    "ByState": "State",
    "ByBackupVaultName": "BackupVaultName",
    "ByResourceType": "ResourceType",
    "ByAccountId": "AccountId",
}
_COPY_JOB_FILTERS = {
    "ByResourceArn": "ResourceArn",
    "ByState": "State",
    "ByResourceType": "ResourceType",
    "ByDestinationVaultArn": "DestinationBackupVaultArn",
    "BySourceRecoveryPointArn": "SourceRecoveryPointArn",
    "ByAccountId": "AccountId",
}


def _filter_jobs(jobs: Any, p: dict, equal_filters: dict[str, str]) -> list[dict]:
    """The jobs that pass every given equality filter and both time ranges (created, completed)."""
    return [
        job
        for job in _filter_by(jobs, p, equal_filters)
        if _in_range(job["CreationDate"], p.get("ByCreatedAfter"), p.get("ByCreatedBefore"))
        and _in_range(
            job.get("CompletionDate"), p.get("ByCompleteAfter"), p.get("ByCompleteBefore")
        )
    ]


def r_list_backup_jobs(self: BackupResponse) -> ActionResult | str:
    p = _p(self)
    rows = _filter_jobs(_backend(self).backup_jobs.values(), p, _BACKUP_JOB_FILTERS)
    chunk, token = _paged(p, rows)
    return _result({"BackupJobs": chunk}, token)


def r_start_copy_job(self: BackupResponse) -> ActionResult | str:
    return ActionResult(start_copy_job(_backend(self), _p(self)))


def r_describe_copy_job(self: BackupResponse) -> ActionResult | str:
    job_id = _p(self).get("CopyJobId") or self.path.rstrip("/").rsplit("/", 1)[-1]
    job = _backend(self).copy_jobs.get(job_id)
    if job is None:
        raise ResourceNotFoundException(msg=f"Copy job {job_id} not found")
    return _dump({"CopyJob": job})


def r_list_copy_jobs(self: BackupResponse) -> ActionResult | str:
    p = _p(self)
    rows = _filter_jobs(_backend(self).copy_jobs.values(), p, _COPY_JOB_FILTERS)
    chunk, token = _paged(p, rows)
    return _result({"CopyJobs": chunk}, token)


def r_describe_region_settings(self: BackupResponse) -> ActionResult | str:
    _p(self)
    rs = _backend(self).region_settings
    return ActionResult({k: dict(v) for k, v in rs.items()})


def r_update_region_settings(self: BackupResponse) -> EmptyResult:
    p = _p(self)
    rs = _backend(self).region_settings
    for key in ("ResourceTypeOptInPreference", "ResourceTypeManagementPreference"):
        for rtype, value in (p.get(key) or {}).items():
            if key == "ResourceTypeManagementPreference" and rtype not in ("DynamoDB", "EFS"):
                raise InvalidParameterValueException(
                    msg=f"Full management is not available for {rtype}"
                )
            rs[key][rtype] = bool(value)
    return EmptyResult()


def r_create_logically_air_gapped_backup_vault(self: BackupResponse) -> ActionResult | str:
    """CreateLogicallyAirGappedBackupVault (AWS Backup API reference): a vault of type
    LOGICALLY_AIR_GAPPED_BACKUP_VAULT, locked from creation with the given Min/MaxRetentionDays
    (both required), its key owned by AWS Backup. AWS reports VaultState CREATING until it is
    ready; the emulator makes it AVAILABLE at once."""
    from auditor.sandbox.moto_ext.air_gapped import create_air_gapped_vault

    p = _p(self)
    name = p.get("BackupVaultName") or self.path.rstrip("/").rsplit("/", 1)[-1]
    # moto's Vault has no vault type; vault_dict reads the sandbox-only attribute set there.
    vault = create_air_gapped_vault(
        _backend(self),
        name,
        p["MinRetentionDays"],
        p["MaxRetentionDays"],
        p.get("BackupVaultTags") or {},
    )
    return ActionResult(
        {
            "BackupVaultName": name,
            "BackupVaultArn": vault.backup_vault_arn,
            "CreationDate": _ts(vault.creation_date),
            "VaultState": "AVAILABLE",
        }
    )


# Extra URL patterns, written with exactly the trailing slash (or none) of the real API paths:
# moto's server turns them into Flask rules, where `/?` would be dropped and a request ending in
# `/` would 404. ARNs inside paths are percent-encoded by botocore; the server may decode `%2F`,
# hence `.+` for them.
EXTRA_URL_PATHS = {
    "{0}/backup/plans/$": BackupResponse.dispatch,
    "{0}/backup/plans/(?P<plan>[^/]+)/selections/$": BackupResponse.dispatch,
    "{0}/backup/plans/(?P<plan>[^/]+)/selections/(?P<sel>[^/]+)$": BackupResponse.dispatch,
    "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/$": BackupResponse.dispatch,
    "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/(?P<arn>.+)$": BackupResponse.dispatch,
    "{0}/backup-jobs$": BackupResponse.dispatch,
    "{0}/backup-jobs/$": BackupResponse.dispatch,
    "{0}/backup-jobs/(?P<job>[^/]+)$": BackupResponse.dispatch,
    "{0}/copy-jobs$": BackupResponse.dispatch,
    "{0}/copy-jobs/$": BackupResponse.dispatch,
    "{0}/copy-jobs/(?P<job>[^/]+)$": BackupResponse.dispatch,
    "{0}/resources/$": BackupResponse.dispatch,
    "{0}/resources/(?P<arn>.+)/recovery-points/$": BackupResponse.dispatch,
    "{0}/account-settings$": BackupResponse.dispatch,
    "{0}/logically-air-gapped-backup-vaults/(?P<name>[^/]+)$": BackupResponse.dispatch,
}

_HANDLERS = {
    "create_backup_selection": r_create_backup_selection,
    "get_backup_selection": r_get_backup_selection,
    "list_backup_selections": r_list_backup_selections,
    "delete_backup_selection": r_delete_backup_selection,
    "list_backup_plans": r_list_backup_plans,
    "list_backup_vaults": r_list_backup_vaults,
    "describe_backup_vault": r_describe_backup_vault,
    "list_recovery_points_by_backup_vault": r_list_recovery_points_by_backup_vault,
    "list_recovery_points_by_resource": r_list_recovery_points_by_resource,
    "describe_recovery_point": r_describe_recovery_point,
    "delete_recovery_point": r_delete_recovery_point,
    "list_protected_resources": r_list_protected_resources,
    "start_backup_job": r_start_backup_job,
    "describe_backup_job": r_describe_backup_job,
    "list_backup_jobs": r_list_backup_jobs,
    "list_copy_jobs": r_list_copy_jobs,
    "start_copy_job": r_start_copy_job,
    "describe_copy_job": r_describe_copy_job,
    "describe_region_settings": r_describe_region_settings,
    "update_region_settings": r_update_region_settings,
    "create_logically_air_gapped_backup_vault": r_create_logically_air_gapped_backup_vault,
}


def install() -> None:
    """Patch moto's backup backend and response class (idempotent)."""
    if getattr(BackupBackend, "_auditor_ext", False):
        return
    original_init = BackupBackend.__init__

    def __init__(self: BackupBackend, region_name: str, account_id: str) -> None:
        original_init(self, region_name, account_id)
        _init_ext(self)

    BackupBackend.__init__ = __init__  # type: ignore[method-assign]
    for name, fn in _HANDLERS.items():
        setattr(BackupResponse, name, fn)
    # Backends created before install() (e.g. inside an active mock) get the new state too.
    from moto.backup.models import backup_backends

    for _acct, _region, backend in backup_backends.iter_backends():
        if not hasattr(backend, "recovery_points"):
            _init_ext(cast(BackupBackend, backend))
    for pattern, handler in EXTRA_URL_PATHS.items():
        backup_urls.url_paths.setdefault(pattern, handler)
    from auditor.sandbox.moto_ext import air_gapped

    air_gapped.install()
    BackupBackend._auditor_ext = True  # type: ignore[attr-defined]
