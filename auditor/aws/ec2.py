"""EC2: instances, the account's own AMIs, and Data Lifecycle Manager policies.

- Instances: DescribeInstances, paginated. Terminated instances stay visible for a while after
  termination ("Terminate Amazon EC2 instances", EC2 User Guide) but no longer exist: skipped.
- AMIs: DescribeImages with Owners=["self"], paginated; without an owner filter it answers every
  image the caller may launch, public ones included ("DescribeImages", EC2 API Reference). An AMI
  is the recovery point of the instance it was made from (`SourceInstanceId`, present for AMIs made
  by CreateImage, which is how AWS Backup and Data Lifecycle Manager make them). Its storage is the
  EBS snapshots in its BlockDeviceMappings, billed by EC2 as snapshot storage ("Understand AMI
  billing", https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ami-billing.html): the row lists
  them (`_image_snapshot_ids`) and normalisation counts them with the AMI, not a second time as
  snapshots of a volume.
- Data Lifecycle Manager: GetLifecyclePolicies lists summaries only; the schedules and target tags
  are in GetLifecyclePolicy, one call per policy (no bulk form; at most 100 policies a region,
  "Quotas for Amazon Data Lifecycle Manager"). A policy's schedules are the native backup schedule
  of the volumes (ResourceTypes VOLUME) or instances (INSTANCE) carrying one of its target tags
  ("Create custom policy for EBS snapshots" / "... for EBS-backed AMIs", Amazon EBS User Guide,
  https://docs.aws.amazon.com/ebs/latest/userguide/snapshot-ami-policy.html); normalisation
  applies them to the resources.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from auditor.aws.context import GONE, Context, not_found
from auditor.aws.ebs import GIB, snapshot_creator, tag_value
from auditor.aws.items import for_each

AFFECTS = ("ec2-instance", "ebs-volume")  # DLM policies are EBS volumes' native schedules too
_INSTANCES = ("ec2-instance",)
GONE_STATES = {"terminated"}
IMAGE_STATUS = {
    "available": "COMPLETED",
    "pending": "CREATING",
    "failed": "FAILED",
    "error": "FAILED",
    "invalid": "FAILED",
    "deregistered": "DELETING",
    # a disabled AMI keeps its snapshots (and their bill) until it is deregistered
    "disabled": "COMPLETED",
}
# DLM's RetainRule units as days (a month and a year at their shortest, so a retention is never
# overstated).
_RETAIN_DAYS = {"DAYS": 1, "WEEKS": 7, "MONTHS": 28, "YEARS": 365}
_POLICY_GONE = not_found("ResourceNotFoundException")


def collect(ctx: Context) -> None:
    """Instances (resources, tags), own AMIs (recovery points) and DLM policies."""
    reservations = ctx.paginate("ec2", "describe_instances", "Reservations", affects=_INSTANCES)
    instances = [i for r in reservations or () for i in r.get("Instances") or ()]
    for_each(
        ctx,
        instances,
        lambda inst: _instance(ctx, inst),
        service="ec2",
        operation="DescribeInstances",
        ident_key="InstanceId",
        affects="ec2-instance",
    )
    ctx.each_page(
        "ec2",
        "describe_images",
        "Images",
        lambda page: for_each(
            ctx,
            page,
            lambda image: ctx.add("recovery_points", **image_row(ctx, image)),
            service="ec2",
            operation="DescribeImages",
            ident_key="ImageId",
            affects="ec2-instance",
        ),
        affects=_INSTANCES,
        Owners=["self"],
    )
    summaries = ctx.call("dlm", "get_lifecycle_policies", affects=AFFECTS)
    for summary in (summaries or {}).get("Policies") or ():
        ctx.spawn(describe_policy, summary["PolicyId"])


def _instance(ctx: Context, inst: dict[str, Any]) -> None:
    if (inst.get("State") or {}).get("Name") in GONE_STATES:
        return
    arn = ctx.arn("ec2", f"instance/{inst['InstanceId']}")
    ctx.add(
        "resources",
        resource_type="ec2-instance",
        resource_arn=arn,
        resource_id=inst["InstanceId"],
        name=tag_value(inst.get("Tags"), "Name"),
        # LaunchTime is the last start; DescribeInstances has no creation time
        created_at=inst.get("LaunchTime"),
        size_basis="unknown",  # its storage is its EBS volumes, collected as volumes
        state=(inst.get("State") or {}).get("Name"),
    )
    ctx.add_tags(arn, inst.get("Tags"))


def _timestamp(value: Any) -> datetime | None:
    """DescribeImages' CreationDate is an ISO 8601 string (e.g. 2026-11-20T05:12:44.000Z)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def image_row(ctx: Context, image: dict[str, Any]) -> dict[str, Any]:
    """The `recovery_points` row of one own AMI (raises on a malformed one)."""
    ebs = [m["Ebs"] for m in image.get("BlockDeviceMappings") or () if m.get("Ebs")]
    snapshot_ids = [e["SnapshotId"] for e in ebs if e.get("SnapshotId")]
    sizes = [e.get("VolumeSize") for e in ebs]
    upper = sum(sizes) * GIB if ebs and all(s is not None for s in sizes) else None
    creator = snapshot_creator(image)
    source = image.get("SourceInstanceId")
    return dict(
        # EC2 image ARNs carry no account (IAM's resource format, and what AWS Backup lists)
        recovery_point_arn=ctx.arn("ec2", f"image/{image['ImageId']}", account=""),
        resource_arn=ctx.arn("ec2", f"instance/{source}") if source else None,
        resource_type="ec2-instance",
        backup_type="ec2-image",
        source="aws-backup" if creator == "aws-backup" else "native",
        created_by=creator,
        status=IMAGE_STATUS.get(image.get("State", ""), "FAILED"),
        created_at=_timestamp(image.get("CreationDate")),
        size_bytes=upper,
        size_basis="VolumeSize(upper-bound)" if upper is not None else None,
        storage_class="warm",
        encrypted=all(bool(e.get("Encrypted")) for e in ebs) if ebs else None,
        _size_exact=False,
        _image_snapshot_ids=json.dumps(snapshot_ids),
    )


def describe_policy(ctx: Context, policy_id: str) -> None:
    """One DLM policy's schedules, as a `lifecycle_policies` row."""
    answer = ctx.call(
        "dlm", "get_lifecycle_policy", affects=AFFECTS, gone=_POLICY_GONE, PolicyId=policy_id
    )
    if answer is None or answer is GONE:
        return
    policy = answer["Policy"]
    details = policy.get("PolicyDetails") or {}
    frequency, retention = schedule_figures(details.get("Schedules") or [])
    ctx.add(
        "lifecycle_policies",
        policy_id=policy["PolicyId"],
        policy_arn=policy.get("PolicyArn"),
        state=policy.get("State"),
        policy_type=details.get("PolicyType", "EBS_SNAPSHOT_MANAGEMENT"),
        resource_types=json.dumps(details.get("ResourceTypes") or []),
        target_tags=json.dumps(details.get("TargetTags") or []),
        frequency_hours=frequency,
        retention_days=retention,
    )


def schedule_figures(schedules: list[dict[str, Any]]) -> tuple[float | None, int | None]:
    """(hours between backups, days kept) of a policy: its most frequent and longest-kept schedule.

    CreateRule: Interval with IntervalUnit HOURS, a CronExpression, or Times (daily at those times;
    "CreateRule", DLM API Reference). RetainRule: Count (that many backups, so Count intervals) or
    Interval with IntervalUnit DAYS | WEEKS | MONTHS | YEARS ("RetainRule").
    """
    from auditor.policy.schedule import ScheduleError, max_interval

    frequencies: list[float] = []
    retentions: list[int] = []
    for schedule in schedules:
        create = schedule.get("CreateRule") or {}
        hours: float | None = None
        if create.get("CronExpression"):
            try:
                hours = max_interval(create["CronExpression"]).total_seconds() / 3600
            except ScheduleError:
                hours = None
        elif create.get("Interval"):
            hours = float(create["Interval"])
        elif create.get("Times"):
            hours = 24.0
        retain = schedule.get("RetainRule") or {}
        days: int | None = None
        if retain.get("Count") and hours is not None:
            days = int(retain["Count"] * hours // 24)
        elif retain.get("Interval"):
            days = int(retain["Interval"]) * _RETAIN_DAYS.get(retain.get("IntervalUnit", ""), 0)
        if hours is not None:
            frequencies.append(hours)
        if days is not None:
            retentions.append(days)
    return (min(frequencies) if frequencies else None), (max(retentions) if retentions else None)
