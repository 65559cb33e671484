"""Restore testing in templates, and `restore-tested` judged before deployment.

Read from CloudFormation `AWS::Backup::RestoreTestingPlan` / `AWS::Backup::RestoreTestingSelection`
(AWS CloudFormation Template Reference) and Terraform `aws_backup_restore_testing_plan` /
`aws_backup_restore_testing_selection` (Terraform AWS provider). A selection names one AWS Backup
resource type (`ProtectedResourceType`) and either explicit ARNs or `*` narrowed by tag conditions
(`ProtectedResourceConditions`: StringEquals / StringNotEquals on `aws:ResourceTag/<key>`, AWS
Backup Developer Guide, "Restore testing"); its plan runs on `ScheduleExpression`.

A template resource whose declared plan sets `restore_test_days: N` PASSes when a restore testing
selection of its type covers it and that selection's plan runs at least every N days; FAILs when no
selection of the template covers it (or only plans that run less often do); and is unknown when
something deciding that is known only at deployment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from auditor import catalog
from auditor.plancheck.model import Template, TemplateResource, Unknown, stand_in_arn

# The condition key prefix of restore testing selections' tag conditions.
TAG_PREFIX = "aws:ResourceTag/"


@dataclass
class RestoreTestingPlan:
    """A restore testing plan a template deploys."""

    file: str
    line: int
    key: str  # logical id / address
    name: str | Unknown | None
    schedule: str | Unknown | None
    timezone: str | Unknown | None = None


@dataclass
class RestoreTestingSelection:
    """A restore testing selection a template deploys."""

    file: str
    line: int
    key: str
    plan_ref: str | None  # key of the template plan it belongs to
    plan_name: str | Unknown | None  # the plan's name as written, when not a reference
    resource_type: str | Unknown | None  # AWS Backup's ProtectedResourceType
    arns: list[str] = field(default_factory=list)  # literal ProtectedResourceArns ("*" allowed)
    resource_refs: set[str] = field(default_factory=set)  # template resources named there
    # {"StringEquals": [(key, value)], "StringNotEquals": [(key, value)]}, keys without the prefix
    conditions: dict[str, list[tuple[str, str]]] | Unknown = field(default_factory=dict)
    unknown: Unknown | None = None  # ARNs known only at deployment


def restore_testing(
    template: Template,
) -> tuple[list[RestoreTestingPlan], list[RestoreTestingSelection]]:
    """The restore testing plans and selections a loaded template holds."""
    return template.restore_plans, template.restore_selections


def _text(value: Any) -> str | Unknown | None:
    if value is None or isinstance(value, str | Unknown):
        return value
    return Unknown(f"{value!s} is known only after deployment")


def _conditions(raw: Any, key_name: str, value_name: str) -> dict | Unknown:
    if raw is None:
        return {}
    if isinstance(raw, Unknown):
        return raw
    if not isinstance(raw, dict):
        return Unknown("ProtectedResourceConditions is not a mapping")
    out: dict[str, list[tuple[str, str]]] = {}
    for op, names in (
        ("StringEquals", ("StringEquals", "string_equals")),
        ("StringNotEquals", ("StringNotEquals", "string_not_equals")),
    ):
        for name in names:
            for item in raw.get(name) or []:
                if not isinstance(item, dict):
                    return Unknown("a tag condition is not a mapping")
                key, value = item.get(key_name), item.get(value_name)
                if not isinstance(key, str) or not isinstance(value, str):
                    return Unknown("a tag condition is known only at deployment")
                out.setdefault(op, []).append((key.removeprefix(TAG_PREFIX), value))
    return out


def tf_conditions(raw: Any) -> dict | Unknown:
    """Terraform's protected_resource_conditions block ({string_equals: [{key, value}], ...})."""
    return _conditions(raw, "key", "value")


def cfn_plan(path: str, line: int, lid: str, props: dict) -> RestoreTestingPlan:
    """`AWS::Backup::RestoreTestingPlan` (properties resolved by the CloudFormation resolver)."""
    return RestoreTestingPlan(
        path,
        line,
        lid,
        _text(props.get("RestoreTestingPlanName")),
        _text(props.get("ScheduleExpression")),
        _text(props.get("ScheduleExpressionTimezone")),
    )


def cfn_selection(
    path: str, line: int, lid: str, props: dict, ref_of: Any
) -> RestoreTestingSelection:
    """`AWS::Backup::RestoreTestingSelection`; `ref_of(value)` gives the logical id a resolved value
    refers to (Ref / Fn::GetAtt), else None."""
    plan = props.get("RestoreTestingPlanName")
    plan_ref = ref_of(plan)
    sel = RestoreTestingSelection(
        path,
        line,
        lid,
        plan_ref,
        None if plan_ref else _text(plan),
        _text(props.get("ProtectedResourceType")),
        conditions=_conditions(props.get("ProtectedResourceConditions"), "Key", "Value"),
    )
    arns = props.get("ProtectedResourceArns")
    if isinstance(arns, Unknown):
        sel.unknown = arns
    for arn in arns if isinstance(arns, list) else []:
        ref = ref_of(arn)
        if ref:
            sel.resource_refs.add(ref)
        elif isinstance(arn, str):
            sel.arns.append(arn)
        else:
            sel.unknown = sel.unknown or Unknown("a protected resource ARN is known at deployment")
    return sel


def _interval(schedule: str | Unknown | None, as_of: datetime) -> timedelta | Unknown:
    from auditor.policy.schedule import ScheduleError, max_interval

    if isinstance(schedule, Unknown):
        return schedule
    if not schedule:
        return Unknown("the restore testing plan has no schedule")
    try:
        return max_interval(schedule, start=as_of)
    except ScheduleError as exc:
        return Unknown(f"schedule {schedule!r}: {exc}")


def _covers(
    sel: RestoreTestingSelection, res: TemplateResource, template: Template
) -> bool | Unknown:
    """Does `sel` select `res` (its type, and its ARN or `*` with tag conditions that hold)?"""
    wanted = catalog.backup_service_name(res.resource_type)
    if isinstance(sel.resource_type, Unknown):
        return sel.resource_type
    if sel.resource_type != wanted:
        return False
    if res.logical_id in sel.resource_refs:
        return True
    arn = stand_in_arn(res, template.region, template.account)
    if "*" not in sel.arns:
        if arn in sel.arns:
            return True
        return sel.unknown or False
    if isinstance(sel.conditions, Unknown):
        return sel.conditions
    if isinstance(res.tags, Unknown):
        return res.tags
    for op, pairs in sel.conditions.items():
        for key, value in pairs:
            if key in res.unknown_tags:
                return Unknown(f"tag {key}: {res.unknown_tags[key]}")
            equal = res.tags.get(key) == value
            if equal != (op == "StringEquals"):
                return False
    return True


def judge_restore_tested(
    templates: list[Template], template: Template, res: TemplateResource, plan: Any, as_of: datetime
) -> tuple[str, str, dict[str, Any]] | None:
    """(status PASS | FAIL | UNKNOWN, detail, evidence) for `res` of `template` under declared
    `plan`, judged over the restore testing of every template of its kind; None when the plan asks
    for no restore tests."""
    days = getattr(plan, "restore_test_days", None)
    if not days:
        return None
    plans: list[RestoreTestingPlan] = []
    selections: list[RestoreTestingSelection] = []
    for other in templates:
        if other.kind == template.kind:
            found_plans, found_selections = restore_testing(other)
            plans += found_plans
            selections += found_selections
    by_key = {p.key: p for p in plans}
    by_name = {p.name: p for p in plans if isinstance(p.name, str)}
    unknown: Unknown | None = None
    slower: list[str] = []
    for sel in selections:
        covered = _covers(sel, res, template)
        if covered is False:
            continue
        rtp = by_key.get(sel.plan_ref or "") or (
            by_name.get(sel.plan_name) if isinstance(sel.plan_name, str) else None
        )
        if rtp is None:
            unknown = unknown or Unknown(f"restore testing selection {sel.key}'s plan is elsewhere")
            continue
        interval = _interval(rtp.schedule, as_of)
        if isinstance(interval, Unknown):
            unknown = unknown or interval
            continue
        if isinstance(covered, Unknown):
            # A plan that runs too rarely cannot satisfy the policy, whether it covers it or not.
            if interval <= timedelta(days=days):
                unknown = unknown or covered
            continue
        evidence = {
            "restore_testing_plan": rtp.key,
            "restore_testing_selection": sel.key,
            "schedule": rtp.schedule,
            "restore_test_days": days,
        }
        if interval <= timedelta(days=days):
            return (
                "PASS",
                f"Restore testing plan {rtp.key} (selection {sel.key}) restores it "
                f"{rtp.schedule}, at least every {days} days.",
                evidence,
            )
        slower.append(f"{rtp.key} ({rtp.schedule})")
    if unknown is not None:
        return (
            "UNKNOWN",
            f"Whether it is restore-tested is known only at deployment: {unknown.reason}.",
            {"restore_test_days": days},
        )
    if slower:
        return (
            "FAIL",
            f"Only restore testing plans {', '.join(slower)} restore it, less often than every "
            f"{days} days.",
            {"restore_test_days": days, "slower_plans": slower},
        )
    return (
        "FAIL",
        f"No restore testing plan in the template restores it; the plan asks for a restore every "
        f"{days} days.",
        {"restore_test_days": days},
    )
