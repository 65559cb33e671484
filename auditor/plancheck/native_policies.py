"""Backup facts a template states outside the protected resource itself, and how they apply.

- Data Lifecycle Manager policies (`AWS::DLM::LifecyclePolicy`, Terraform
  `aws_dlm_lifecycle_policy`): an ENABLED policy is the native schedule of the EBS volumes
  (ResourceTypes VOLUME) or EC2 instances (INSTANCE) carrying one of its target tags ("Create custom
  policy for EBS snapshots" / "... for EBS-backed AMIs", Amazon EBS User Guide,
  https://docs.aws.amazon.com/ebs/latest/userguide/snapshot-ami-policy.html). Only policies in the
  checked templates are known: one deployed elsewhere is for `auditor check` to see.
- S3 versioning (`VersioningConfiguration`, Terraform `aws_s3_bucket_versioning`): AWS Backup backs
  up only buckets with versioning enabled ("Amazon S3 backups", AWS Backup Developer Guide,
  https://docs.aws.amazon.com/aws-backup/latest/devguide/s3-backups.html).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from auditor.plancheck.model import TemplateResource, Unknown

DLM_CLOUDFORMATION_TYPE = "AWS::DLM::LifecyclePolicy"
DLM_TERRAFORM_TYPE = "aws_dlm_lifecycle_policy"
S3_VERSIONING_TERRAFORM_TYPE = "aws_s3_bucket_versioning"
_DLM_TARGETS = {"VOLUME": "ebs-volume", "INSTANCE": "ec2-instance"}


@dataclass
class DlmPolicy:
    """One lifecycle policy a template creates, in the DLM API's terms."""

    logical_id: str
    enabled: bool | Unknown
    resource_types: list[str]
    target_tags: dict[str, str]
    schedules: list[dict[str, Any]] = field(default_factory=list)


def apply_dlm_policies(resources: list[TemplateResource], policies: list[DlmPolicy]) -> None:
    """Give each volume or instance without a native schedule the best policy that targets it."""
    from auditor.aws.ec2 import schedule_figures

    for res in resources:
        if res.native or not isinstance(res.tags, dict):
            continue
        best: tuple[float, int, DlmPolicy] | None = None
        for policy in policies:
            types = {_DLM_TARGETS.get(t) for t in policy.resource_types}
            if res.resource_type not in types:
                continue
            if not any(res.tags.get(k) == v for k, v in policy.target_tags.items()):
                continue
            hours, days = schedule_figures(policy.schedules)
            if hours is None:
                continue
            rank = (hours, -(days or 0), policy)
            if best is None or rank[:2] < best[:2]:
                best = (hours, -(days or 0), policy)
        if best is not None:
            hours, neg_days, policy = best
            res.native = {
                "kind": "dlm",
                "policy": policy.logical_id,
                "enabled": policy.enabled,
                "interval_hours": hours,
                "retention_days": -neg_days,
            }


def dlm_from_cloudformation(lid: str, props: dict[str, Any]) -> DlmPolicy:
    """An AWS::DLM::LifecyclePolicy's properties (State, PolicyDetails as the DLM API has them)."""
    raw_details = props.get("PolicyDetails")
    details: dict[str, Any] = raw_details if isinstance(raw_details, dict) else {}
    state = props.get("State", "ENABLED")
    raw_tags = details.get("TargetTags")
    tags: list[Any] = raw_tags if isinstance(raw_tags, list) else []
    return DlmPolicy(
        logical_id=lid,
        enabled=state if isinstance(state, Unknown) else state == "ENABLED",
        resource_types=[t for t in details.get("ResourceTypes") or [] if isinstance(t, str)],
        target_tags={
            str(t.get("Key")): str(t.get("Value"))
            for t in tags
            if isinstance(t, dict) and isinstance(t.get("Key"), str)
        },
        schedules=[s for s in details.get("Schedules") or [] if isinstance(s, dict)],
    )


def _first(block: Any) -> dict[str, Any]:
    """Terraform's nested blocks are lists of one object."""
    if isinstance(block, list) and block and isinstance(block[0], dict):
        return block[0]
    return block if isinstance(block, dict) else {}


def dlm_from_terraform(address: str, values: dict[str, Any]) -> DlmPolicy:
    """An aws_dlm_lifecycle_policy's planned values, in the DLM API's shape."""
    details = _first(values.get("policy_details"))
    schedules = []
    for block in details.get("schedule") or []:
        create, retain = _first(block.get("create_rule")), _first(block.get("retain_rule"))
        schedules.append(
            {
                "CreateRule": {
                    "Interval": create.get("interval"),
                    "IntervalUnit": create.get("interval_unit"),
                    "Times": create.get("times"),
                    "CronExpression": create.get("cron_expression"),
                },
                "RetainRule": {
                    "Count": retain.get("count"),
                    "Interval": retain.get("interval"),
                    "IntervalUnit": retain.get("interval_unit"),
                },
            }
        )
    raw_tags = details.get("target_tags")
    tags: dict[str, Any] = raw_tags if isinstance(raw_tags, dict) else {}
    return DlmPolicy(
        logical_id=address,
        enabled=values.get("state", "ENABLED") == "ENABLED",
        resource_types=[t for t in details.get("resource_types") or [] if isinstance(t, str)],
        target_tags={str(k): str(v) for k, v in tags.items()},
        schedules=schedules,
    )


def versioning_gap(res: TemplateResource) -> str | None:
    """Why AWS Backup cannot back the resource up as the template states it (S3 without versioning)."""
    if res.resource_type != "s3-bucket" or res.versioning is None:
        return None
    if isinstance(res.versioning, Unknown) or res.versioning == "Enabled":
        return None
    return (
        f"AWS Backup cannot back up {res.logical_id}: S3 Versioning is not enabled on it "
        "(a prerequisite of AWS Backup for S3)"
    )
