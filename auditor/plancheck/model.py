"""What a template declares, reduced to the facts plan-check judges (both CloudFormation and Terraform).

The loaders (`cloudformation.py`, `terraform.py`) turn a file into a `Template`; `evaluate.py` judges a
list of them against the declared policies. A value that cannot be known before deployment is an
`Unknown` carrying the reason, so that no verdict is ever built on a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from auditor import catalog

# Template resource types in scope, mapped to the inventory's resource_type values, and how each
# resource_type's ARN is shaped (to build a stand-in ARN for a resource that does not exist yet, so
# that wildcard ARN patterns in a backup selection, `arn:aws:ec2:*:*:volume/*`, are judged with
# AWS's own matching). All three come from the resource-type catalogue.
CFN_RESOURCE_TYPES = catalog.cloudformation_types()
TF_RESOURCE_TYPES = catalog.terraform_types()
ARN_FORMATS = catalog.arn_formats()

# Stand-ins for the deploy region/account when the caller did not give them (`--parameter
# AWS::Region=...`). They never equal a real region or account, so a pattern naming a specific one
# does not match by accident; evaluate.py then reports the verdict as unknown rather than FAIL.
UNKNOWN_REGION = "deploy-region"
UNKNOWN_ACCOUNT = "deploy-account"


@dataclass(frozen=True)
class Unknown:
    """A value known only at deployment; `reason` says why (one short phrase)."""

    reason: str
    partial: str | None = None  # for strings: the text with the unknown parts still as ${...}

    def __str__(self) -> str:
        return f"<unknown: {self.reason}>"


def first_unknown(value: Any) -> Unknown | None:
    """The first `Unknown` found in `value` (depth first), or None."""
    if isinstance(value, Unknown):
        return value
    items = (
        value.values()
        if isinstance(value, dict)
        else value
        if isinstance(value, (list, tuple))
        else ()
    )
    for item in items:
        found = first_unknown(item)
        if found is not None:
            return found
    return None


@dataclass
class TemplateResource:
    """One protected-type resource a template creates (or keeps), with its tags and encryption."""

    file: str
    line: int
    logical_id: str  # CloudFormation logical id, or Terraform resource address
    source_type: str  # AWS::EC2::Volume / aws_ebs_volume
    resource_type: str  # a catalogue type id
    tags: dict[str, str] | Unknown  # Unknown: even the keys are known only at deployment
    encrypted: bool | Unknown | None  # None: the type is always encrypted at rest by AWS
    arn: str | None = None  # known only for Terraform resources that already exist
    name: str | None = (
        None  # a known physical name that is part of the ARN (table name, DB identifier)
    )
    engine: str | Unknown | None = None
    native: dict[str, Any] = field(default_factory=dict)  # native backup settings, see loaders
    module: str = ""  # Terraform module address ("" for root); CloudFormation: ""
    # Tags whose key is known and whose value is known only at deployment: {key: reason}.
    unknown_tags: dict[str, str] = field(default_factory=dict)
    # S3: Enabled | Suspended | Disabled (never enabled), Unknown before deployment; None otherwise
    versioning: str | Unknown | None = None


@dataclass
class DeployedRule:
    """One rule of a backup plan in a template."""

    name: str
    schedule: str | Unknown | None
    # None: kept until deleted by hand (no DeleteAfterDays, or -1: AWS Backup API reference,
    # "Lifecycle": specify -1 ... to keep your recovery points indefinitely)
    delete_after_days: int | Unknown | None
    target_vault: str | Unknown | None  # vault name, or a template vault's key
    target_vault_ref: str | None  # logical id / address of a template vault it names
    copies: list[CopyAction] = field(default_factory=list)
    continuous: bool = False
    timezone: str | Unknown | None = None  # ScheduleExpressionTimezone (None: UTC)
    # TargetLogicallyAirGappedBackupVaultArn: supported resources back up straight into this
    # logically air-gapped vault (AWS Backup API reference, BackupRule); as written, and the
    # template vault it names
    air_gapped_target: str | Unknown | None = None
    air_gapped_target_ref: str | None = None


@dataclass
class CopyAction:
    """A copy action: destination region/account as far as they are known."""

    destination: str | Unknown  # the ARN as written (or resolved)
    region: str | Unknown  # "same" = the source's region (a vault of the same stack)
    account: str | Unknown  # "same" = the source's account
    delete_after_days: int | Unknown | None = None
    destination_ref: str | None = None  # key of the template vault it names, when traced


@dataclass
class DeployedPlan:
    """An AWS Backup plan a template deploys."""

    file: str
    line: int
    key: str  # logical id / address
    name: str | Unknown | None
    rules: list[DeployedRule]
    unknown: Unknown | None = None  # the rules (or some) are known only at deployment


@dataclass
class DeployedSelection:
    """A backup selection a template deploys, in AWS BackupSelection shape plus what refers where."""

    file: str
    line: int
    key: str
    plan_ref: str | None  # key of the template plan it belongs to; None if outside the template
    plan_unknown: str | None  # why its plan cannot be found, when plan_ref is None
    selection: dict[str, Any]  # AWS shape; Resources/NotResources contain only literal strings here
    resource_refs: set[str] = field(default_factory=set)  # template resources named in Resources
    not_resource_refs: set[str] = field(default_factory=set)  # ... in NotResources
    unknown: Unknown | None = None  # tags/conditions/NotResources known only at deployment
    resources_unknown: Unknown | None = None  # Resources entries not traced to a template resource


@dataclass
class DeployedVault:
    """A backup vault a template deploys, with its lock settings."""

    file: str
    line: int
    key: str
    name: str | Unknown | None
    kms_key: str | Unknown | None
    locked: bool | Unknown = False
    lock_min_days: int | Unknown | None = None
    lock_max_days: int | Unknown | None = None
    lock_line: int | None = None
    # A logically air-gapped vault: locked in compliance mode from creation (AWS Backup Developer
    # Guide, "Logically air-gapped vault")
    air_gapped: bool = False
    # Days after which the lock becomes compliance mode (immutable); None: governance mode only.
    lock_changeable_days: int | Unknown | None = None
    # The vault access policy (a parsed JSON document or its text), None when none is set.
    access_policy: dict | str | Unknown | None = None
    policy_line: int | None = None


@dataclass
class Template:
    """Everything one file declares that plan-check judges."""

    path: str
    kind: str  # "cloudformation" | "terraform"
    resources: list[TemplateResource] = field(default_factory=list)
    plans: list[DeployedPlan] = field(default_factory=list)
    selections: list[DeployedSelection] = field(default_factory=list)
    vaults: list[DeployedVault] = field(default_factory=list)
    # AWS Backup restore testing plans and selections (auditor.plancheck.restores types).
    restore_plans: list[Any] = field(default_factory=list)
    restore_selections: list[Any] = field(default_factory=list)
    # Data Lifecycle Manager policies (auditor/plancheck/native_policies.py's DlmPolicy)
    dlm_policies: list[Any] = field(default_factory=list)
    region: str | None = None  # deploy region when known (parameter or Terraform provider)
    account: str | None = None


def parse_arn(arn: str) -> dict[str, str] | None:
    """Split an ARN into partition/service/region/account/resource; None when it is not an ARN."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return {
        "partition": parts[1],
        "service": parts[2],
        "region": parts[3],
        "account": parts[4],
        "resource": parts[5],
    }


def stand_in_arn(resource: TemplateResource, region: str | None, account: str | None) -> str:
    """The resource's ARN if known, else one of the right shape with a placeholder id."""
    if resource.arn:
        return resource.arn
    ident = resource.name or "plancheck-" + resource.logical_id.replace("*", "_").replace(
        "?", "_"
    ).replace("[", "_")
    return ARN_FORMATS[resource.resource_type].format(
        partition="aws",
        region=region or UNKNOWN_REGION,
        account=account or UNKNOWN_ACCOUNT,
        id=ident,
        gateway_id=ident,  # a Storage Gateway volume's ARN also names its gateway
    )
