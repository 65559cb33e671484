"""Judge templates against the declared plans: the controls, before deployment.

For every protected resource a template creates:
- `resource-covered`: which declared plan selects it (`declared_selects`, docs/policy.md); FAIL if none;
- per selecting declared plan:
  - `backup-encrypted` (plan requires encryption): the resource's own encryption setting, since
    snapshots inherit it (DynamoDB and Storage Gateway volumes are always encrypted);
  - `backup-supported`: a plan relying on AWS Backup alone for a type it does not support (Aurora);
  - `plan-deployed`: a backup selection in the checked templates selects it (AWS semantics,
    `aws_selection_selects`; a selection naming the resource by `!GetAtt`/`!Ref`/a Terraform
    reference counts) and belongs to a plan with a rule at least as frequent (`max_interval`) and as
    long-kept; or, where the plan accepts native backups, the resource's native backups do so
    (RDS automated backups, DynamoDB point-in-time recovery);
  - with a selecting template plan: `backup-max-retention`, `cross-region-copy`,
    `cross-account-copy`, `air-gapped-copy`, `vault-lock` (a rule's logically air-gapped target
    is the vault its backups are judged in);
  - `restore-tested` (plan sets restore_test_days): a restore testing selection of the checked
    templates covers it and its restore testing plan runs often enough (auditor.plancheck.restores);
  - `deletion-protected` with a selecting template plan (auditor/plancheck/deletion.py).
Values known only at deployment give `NOT_ASSESSED` with the reason, never PASS. Templates passed
together are judged as one deployment: a selection in one file may select a resource of another
file of the same kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from auditor.plancheck.air_gapped import judge_air_gapped_copy, rule_vault
from auditor.plancheck.deletion import judge_deletion_protected
from auditor.plancheck.model import (
    UNKNOWN_ACCOUNT,
    UNKNOWN_REGION,
    DeployedPlan,
    DeployedRule,
    DeployedSelection,
    DeployedVault,
    Template,
    TemplateResource,
    Unknown,
    parse_arn,
    stand_in_arn,
)
from auditor.plancheck.native_policies import versioning_gap
from auditor.plancheck.restores import judge_restore_tested

# Records one finding for the resource and plan being judged: (control, status, detail, evidence,
# line=, file=).
_Add = Callable[..., None]

PASS, FAIL, NOT_ASSESSED, NOT_APPLICABLE, WAIVED = (
    "PASS",
    "FAIL",
    "NOT_ASSESSED",
    "NOT_APPLICABLE",
    "WAIVED",
)


def control_info() -> dict[str, tuple[str, str, str]]:
    """{control_id: (severity, pre-deployment description, full description)}.

    Derived from the control registry: the controls registered with `pre_deploy=` (the short
    description of what plan-check judges), with the registry's severity and full description, so
    plan-check and `auditor check` agree.
    """
    from auditor.controls.registry import pre_deploy_controls

    return {
        cid: (
            ctl.severity,
            str(ctl.pre_deploy),
            " ".join(ctl.description.split()) or str(ctl.pre_deploy),
        )
        for cid, ctl in pre_deploy_controls().items()
    }


@dataclass
class Context:
    """Everything the judgement of one resource needs."""

    policies: Any
    templates: list[Template]
    as_of: datetime
    info: dict[str, tuple[str, str, str]]
    selector: Any = None

    def plans(self, kind: str) -> dict[tuple[str, str], DeployedPlan]:
        """Template backup plans of one kind, by (file, key)."""
        cache = self.__dict__.setdefault("_plans", {})
        if kind not in cache:
            cache[kind] = {
                (p.file, p.key): p for t in self.templates if t.kind == kind for p in t.plans
            }
        return cache[kind]

    def selections(self, kind: str) -> list[DeployedSelection]:
        """Template backup selections of one kind."""
        return [s for t in self.templates if t.kind == kind for s in t.selections]

    def vaults(self, kind: str) -> list[DeployedVault]:
        """Template backup vaults of one kind."""
        return [v for t in self.templates if t.kind == kind for v in t.vaults]


def _days(delta: timedelta) -> str:
    if delta == timedelta.max:
        return "never again"
    hours = delta.total_seconds() / 3600
    if hours % 24 == 0:
        days = int(hours // 24)
        return f"{days} day" + ("s" if days != 1 else "")
    return f"{hours:g} hours"


def _finding(
    ctx: Context,
    res: TemplateResource,
    template: Template,
    control: str,
    status: str,
    plan: str | None,
    detail: str,
    evidence: dict | None = None,
    line: int | None = None,
    file: str | None = None,
) -> dict:
    severity = ctx.info.get(control, ("medium", "", ""))[0]
    return {
        "resource_arn": res.arn,
        "resource_type": res.resource_type or None,
        "account_id": template.account,
        "region": template.region,
        "control_id": control,
        "status": status,
        "severity": severity,
        "plan": plan,
        "detail": detail,
        "evidence": evidence or {},
        "file": file or res.file,
        "line": line or res.line,
        "template_file": res.file,
        "resource": res.logical_id,
        "template_type": res.source_type,
        "template_kind": template.kind,
    }


def _excluded(policies: Any, tags: Any) -> tuple[str, str] | None:
    """The exclude_tags entry a resource's known tags match, if any."""
    for key, value in policies.scope.exclude_tags:
        if isinstance(tags, dict) and tags.get(key) == value:
            return key, value
    return None


class Selector:
    """Which declared plans and which template selections select each template resource.

    Built once per kind of template with the policy package's vectorised masks (`declared_mask`,
    `aws_selection_mask`): one pass per plan and per selection, whatever the number of resources.
    Tags known only at deployment are read in three-valued logic (`auditor.plancheck.scenarios`):
    each resource stands for one row per possible tag set, and a verdict is True or False when all
    its rows agree, Unknown (with the reason) when the unknown value decides.
    """

    def __init__(
        self,
        policies: Any,
        items: list[tuple[Template, TemplateResource]],
        selections: list[DeployedSelection],
        by_key: dict[tuple[str, str], TemplateResource],
    ):
        import pandas as pd

        from auditor.plancheck.scenarios import candidates, expand
        from auditor.policy.selection import SelectionSpec, aws_selection_spec

        self.items = items
        self.position = {(r.file, r.logical_id): i for i, (_, r) in enumerate(items)}
        self.by_key = by_key
        self.region_of = {r.file: (t.region, t.account) for t, r in items}
        self.arns = [stand_in_arn(r, t.region, t.account) for t, r in items]
        self.bodies = {id(sel): self._body(sel) for sel in selections}
        self.exclude_spec = SelectionSpec(any_tags=tuple(policies.scope.exclude_tags))
        specs = [p.spec for p in policies.plans] + [self.exclude_spec]
        specs += [aws_selection_spec(body) for body in self.bodies.values()]
        self.expansion = expand([r for _, r in items], candidates(specs))
        owner = self.expansion.owner
        self.frame = pd.DataFrame(
            {
                "resource_arn": pd.Series([self.arns[i] for i in owner], dtype="str"),
                "resource_type": pd.Series([items[i][1].resource_type for i in owner], dtype="str"),
            }
        )
        # Tags are looked up by row through a key of our own: stand-in ARNs need not be unique
        # (two templates may name the same table), and one resource has a row per possible tag set.
        keys = [f"r{row}" for row in range(len(owner))]
        rows = [
            (keys[row], k, v)
            for row, tags in enumerate(self.expansion.tags)
            for k, v in tags.items()
        ]
        self._keys = pd.Series(keys, dtype="str")
        self._tags = pd.DataFrame(rows, columns=["arn", "key", "value"]).astype("str")
        self.view = self._new_view()
        self.plan_masks = self._plan_masks(policies)
        # No exclude_tags excludes nothing (an empty selection would select everything).
        self.excluded_verdicts: list[bool | Unknown] = (
            self._reduce(self._spec_rows(self.exclude_spec))
            if self.exclude_spec.any_tags
            else [False] * len(items)
        )
        self.selection_verdicts = {id(sel): self._verdicts(sel) for sel in selections}

    def _new_view(self) -> Any:
        from auditor.policy.selection import TagView

        return TagView(self._keys, self._tags)

    def _reduce(self, mask: Any) -> list[bool | Unknown]:
        from auditor.plancheck.scenarios import reduce

        return reduce(self.expansion, mask, len(self.items))

    def _spec_rows(self, spec: Any) -> Any:
        from auditor.policy.selection import spec_mask

        return spec_mask(spec, self.frame, self.view)

    def _plan_masks(self, policies: Any) -> dict[str, list[bool | Unknown]]:
        from auditor.policy.selection import declared_mask

        if not self.items:
            return {p.name: [] for p in policies.plans}
        return {
            p.name: self._reduce(
                declared_mask(p, self.frame, None, view=self.view).to_numpy(dtype=bool)
            )
            for p in policies.plans
        }

    def excluded(self, res: TemplateResource) -> bool | Unknown:
        """Is `res` excluded from scope by an `exclude_tags` entry? True/False or Unknown."""
        return self.excluded_verdicts[self.position[(res.file, res.logical_id)]]

    def declared(self, policies: Any, res: TemplateResource) -> list[Any]:
        """Declared plans that certainly select `res` (policy selection semantics)."""
        i = self.position[(res.file, res.logical_id)]
        return [p for p in policies.plans if self.plan_masks[p.name][i] is True]

    def declared_unknown(self, policies: Any, res: TemplateResource) -> list[tuple[Any, Unknown]]:
        """Declared plans that may select `res`, depending on a value known only at deployment."""
        i = self.position[(res.file, res.logical_id)]
        return [
            (p, v)
            for p in policies.plans
            for v in [self.plan_masks[p.name][i]]
            if isinstance(v, Unknown)
        ]

    def _body(self, sel: DeployedSelection) -> dict:
        body = dict(sel.selection)
        for key, refs in (
            ("Resources", sel.resource_refs),
            ("NotResources", sel.not_resource_refs),
        ):
            if key not in body and not refs:
                continue
            patterns = list(body.get(key) or [])
            for ref in sorted(refs):
                target = self.by_key.get((sel.file, ref))
                region, account = self.region_of.get(sel.file, (None, None))
                # A reference to something that is not a protected resource still names one
                # resource, just never one of these.
                patterns.append(
                    stand_in_arn(target, region, account) if target else f"ref:{sel.file}:{ref}"
                )
            body[key] = patterns
        return body

    def _ambiguous(self, body: dict, mask: Any) -> list[bool]:
        """Per resource: could a pattern naming a region/account change the verdict once known?"""
        import pandas as pd

        from auditor.policy.selection import aws_selection_mask

        ambiguous = [False] * len(self.items)
        owner = self.expansion.owner
        # A literal pattern naming a region/account could match once the deploy region/account is
        # known: try the resources' ARNs with the pattern's region/account in place of the stand-ins.
        for pattern in list(body.get("Resources") or []) + list(body.get("NotResources") or []):
            parts = parse_arn(pattern)
            if not parts:
                continue
            alt = list(self.arns)
            for i, (template, res) in enumerate(self.items):
                if res.arn is not None:
                    continue
                if template.region is None and "*" not in parts["region"]:
                    alt[i] = alt[i].replace(f":{UNKNOWN_REGION}:", f":{parts['region']}:", 1)
                if template.account is None and "*" not in parts["account"]:
                    alt[i] = alt[i].replace(f":{UNKNOWN_ACCOUNT}:", f":{parts['account']}:", 1)
            if alt == self.arns:
                continue
            frame = self.frame.assign(resource_arn=pd.Series([alt[i] for i in owner], dtype="str"))
            # A view of its own: a view may cache column tests of the frame it was used with.
            other = aws_selection_mask(body, frame, None, view=self._new_view()).to_numpy(
                dtype=bool
            )
            for row in np.flatnonzero(mask != other):
                ambiguous[owner[row]] = True
        return ambiguous

    def _verdicts(self, sel: DeployedSelection) -> list[bool | Unknown]:
        from auditor.policy.selection import aws_selection_mask

        if not self.items:
            return []
        body = self.bodies[id(sel)]
        mask = aws_selection_mask(body, self.frame, None, view=self.view).to_numpy(dtype=bool)
        ambiguous = self._ambiguous(body, mask)
        tagged = self._reduce(mask)
        out: list[bool | Unknown] = []
        for i, (_, res) in enumerate(self.items):
            same_file = sel.file == res.file
            if same_file and res.logical_id in sel.not_resource_refs:
                out.append(False)
            elif sel.unknown is not None:
                out.append(sel.unknown)
            elif sel.resources_unknown is not None and not (
                same_file and res.logical_id in sel.resource_refs
            ):
                out.append(sel.resources_unknown)
            elif ambiguous[i]:
                out.append(
                    Unknown(
                        f"selection {sel.key} names ARNs by region/account and the deploy region/account is not"
                        " known (pass --parameter AWS::Region=... --parameter AWS::AccountId=...)"
                    )
                )
            else:
                out.append(tagged[i])
        return out

    def selects(self, sel: DeployedSelection, res: TemplateResource) -> bool | Unknown:
        """Does template selection `sel` select `res`? True/False, or Unknown with the reason."""
        return self.selection_verdicts[id(sel)][self.position[(res.file, res.logical_id)]]


def _interval(rule: DeployedRule, as_of: datetime) -> timedelta | Unknown:
    """The longest gap between the rule's runs, in its time zone; no schedule = AWS's default."""
    from auditor.policy.schedule import DEFAULT_SCHEDULE, ScheduleError, max_interval

    schedule, zone = rule.schedule, rule.timezone
    if isinstance(schedule, Unknown):
        return Unknown(f"schedule: {schedule.reason}")
    if isinstance(zone, Unknown):
        return Unknown(f"schedule time zone: {zone.reason}")
    if not schedule:
        schedule = DEFAULT_SCHEDULE  # AWS Backup API reference, BackupRuleInput.ScheduleExpression
    try:
        return max_interval(str(schedule), start=as_of, timezone=zone or None)
    except (ScheduleError, ValueError) as exc:
        return Unknown(f"schedule {schedule!s} cannot be read ({exc})")


def _rule_facts(rule: DeployedRule, plan: DeployedPlan, as_of: datetime) -> dict:
    interval = _interval(rule, as_of)
    return {
        "backup_plan": plan.key
        if plan.name is None or isinstance(plan.name, Unknown)
        else str(plan.name),
        "rule": rule.name,
        "schedule": None
        if isinstance(rule.schedule, Unknown)
        else str(rule.schedule or "cron(0 5 ? * * *) (AWS Backup's default)"),
        "timezone": rule.timezone if isinstance(rule.timezone, str) else None,
        "max_interval_hours": None
        if isinstance(interval, Unknown) or interval == timedelta.max
        else interval.total_seconds() / 3600,
        "delete_after_days": rule.delete_after_days
        if not isinstance(rule.delete_after_days, Unknown)
        else None,
        "file": plan.file,
        "line": plan.line,
    }


def evaluate(policies: Any, templates: list[Template], as_of: datetime) -> list[dict]:
    """Findings (findings.json fields plus file/line/resource) for every protected resource in `templates`."""
    ctx = Context(policies, templates, as_of, control_info())
    by_key = {(r.file, r.logical_id): r for t in templates for r in t.resources}
    findings: list[dict] = []
    scope_types = set(policies.scope.resource_types or ())
    judged: dict[str, list[tuple[Template, TemplateResource]]] = {}
    for template in templates:
        for res in template.resources:
            if not res.resource_type:  # e.g. Fn::ForEach: not expanded here
                findings.append(
                    _finding(
                        ctx,
                        res,
                        template,
                        "resource-covered",
                        NOT_ASSESSED,
                        None,
                        f"{res.logical_id}: {res.tags.reason if isinstance(res.tags, Unknown) else 'not read'}.",
                    )
                )
                continue
            if scope_types and res.resource_type not in scope_types:
                continue
            judged.setdefault(template.kind, []).append((template, res))
    for kind, items in judged.items():
        ctx.selector = Selector(policies, items, ctx.selections(kind), by_key)
        for template, res in items:
            findings.extend(_cover(ctx, policies, template, res))
    return _apply_waivers(policies, findings, as_of)


def _tag_evidence(res: TemplateResource) -> dict[str, Any]:
    """The tags as far as they are known (unknown values listed by key)."""
    if isinstance(res.tags, Unknown):
        return {"tags_unknown": res.tags.reason}
    out: dict[str, Any] = {"tags": dict(res.tags)}
    if res.unknown_tags:
        out["tags_unknown"] = dict(res.unknown_tags)
    return out


def _cover(ctx: Context, policies: Any, template: Template, res: TemplateResource) -> list[dict]:
    """resource-covered for one resource, then the controls of each plan that certainly selects it."""

    def finding(status: str, plan: str | None, detail: str, evidence: dict) -> dict:
        return _finding(ctx, res, template, "resource-covered", status, plan, detail, evidence)

    excluded = ctx.selector.excluded(res)
    if isinstance(excluded, Unknown):
        return [
            finding(
                NOT_ASSESSED,
                None,
                f"{res.logical_id}: whether exclude_tags take it out of scope is unknown before deployment ({excluded.reason}).",
                {**_tag_evidence(res), "reason": excluded.reason},
            )
        ]
    if excluded:
        key, value = _excluded(policies, res.tags) or ("", "")
        return [
            finding(
                NOT_APPLICABLE,
                None,
                f"{res.logical_id} is excluded from scope by its tag {key}={value}.",
                _tag_evidence(res),
            )
        ]
    selected = ctx.selector.declared(policies, res)
    maybe = ctx.selector.declared_unknown(policies, res)
    out: list[dict] = []
    if not selected and not maybe:
        return [
            finding(
                FAIL,
                None,
                f"{res.logical_id} ({res.resource_type}) matches no declared plan; tag it for one of: "
                + ", ".join(p.name for p in policies.plans)
                + ".",
                _tag_evidence(res),
            )
        ]
    if selected:
        names = [p.name for p in selected]
        out.append(
            finding(
                PASS,
                names[0] if len(names) == 1 else None,
                f"{res.logical_id} is selected by declared plan(s) {', '.join(names)}.",
                {**_tag_evidence(res), "plans": names},
            )
        )
    for plan, why in maybe:
        out.append(
            finding(
                NOT_ASSESSED,
                plan.name,
                f"{res.logical_id}: whether declared plan {plan.name} selects it is unknown before deployment ({why.reason}).",
                {**_tag_evidence(res), "reason": why.reason},
            )
        )
    for plan in selected:
        out.extend(_judge_plan(ctx, template, res, plan))
    return out


def _judge_plan(ctx: Context, template: Template, res: TemplateResource, plan: Any) -> list[dict]:
    out: list[dict] = []

    def add(
        control: str,
        status: str,
        detail: str,
        evidence: dict | None = None,
        line: int | None = None,
        file: str | None = None,
    ) -> None:
        out.append(
            _finding(ctx, res, template, control, status, plan.name, detail, evidence, line, file)
        )

    if plan.encrypted:
        _judge_encrypted(add, res, plan)
    restore = judge_restore_tested(ctx.templates, template, res, plan, ctx.as_of)
    if restore is not None:
        status, detail, evidence = restore
        add("restore-tested", NOT_ASSESSED if status == "UNKNOWN" else status, detail, evidence)

    # backup-supported: what the plan asks of AWS Backup for this type (the support matrix).
    engine = res.engine if isinstance(res.engine, str) else None
    supported = _supported(ctx.policies, res.resource_type, engine)
    uses_backup = "aws-backup" in plan.accept
    uses_native = "native" in plan.accept
    prerequisite = versioning_gap(res) if supported else None
    if prerequisite:
        supported = False
        add(
            "backup-supported",
            PASS if uses_native else FAIL,
            f"{prerequisite}; plan {plan.name} "
            + ("also accepts native backups." if uses_native else "accepts only AWS Backup."),
            {"versioning": res.versioning},
        )
    elif not supported and uses_native:
        add(
            "backup-supported",
            PASS,
            f"AWS Backup does not support {engine or res.resource_type}; plan {plan.name} accepts native backups.",
            {"engine": engine},
        )
    elif uses_backup and not uses_native:
        _judge_features(add, ctx, res, plan, engine)

    native = _native(res, plan, ctx.as_of) if uses_native else None
    found = _deployment(ctx, template, res, uses_backup and supported, native)
    _judge_deployed(add, ctx, res, plan, found)

    if not found.rules:
        return out
    _judge_rules(add, template, res, plan, found.rules, ctx)
    return out


def _judge_encrypted(add: _Add, res: TemplateResource, plan: Any) -> None:
    """backup-encrypted: snapshots and recovery points inherit the source's encryption."""
    if res.encrypted is None:
        add("backup-encrypted", PASS, f"{res.resource_type} is always encrypted at rest.", {})
    elif isinstance(res.encrypted, Unknown):
        add(
            "backup-encrypted",
            NOT_ASSESSED,
            f"{res.logical_id}: encryption is unknown before deployment ({res.encrypted.reason}).",
            {"reason": res.encrypted.reason},
        )
    elif res.encrypted:
        add(
            "backup-encrypted",
            PASS,
            f"{res.logical_id} is encrypted, so are its backups.",
            {"encrypted": True},
        )
    else:
        add(
            "backup-encrypted",
            FAIL,
            f"{res.logical_id} is not encrypted, so its snapshots would not be; plan {plan.name} requires encryption.",
            {"encrypted": False},
        )


@dataclass
class _Deployment:
    """How one resource is backed up: what the checked templates deploy for it (selections,
    their plans and rules), and its own native backups judged against the declared plan."""

    selections: list[DeployedSelection]  # every template selection of the resource's kind
    selecting: list[DeployedSelection]  # those that certainly select it
    maybe: list[tuple[DeployedSelection, Unknown]]  # those that may, once deployed
    outside: list[DeployedSelection]  # selecting, with a plan not in the checked templates
    rules: list[tuple[DeployedPlan, DeployedRule]]
    unknown_plans: list[DeployedPlan]
    backup_selects: bool  # AWS Backup may select it (the plan accepts it, and supports the type)
    native: tuple[str, str, dict] | None  # (status, detail, evidence) of its native backups


def _deployment(
    ctx: Context,
    template: Template,
    res: TemplateResource,
    judge_selections: bool,
    native: tuple[str, str, dict] | None,
) -> _Deployment:
    """Which template selections select the resource, and the rules of their plans."""
    selecting: list[DeployedSelection] = []
    maybe: list[tuple[DeployedSelection, Unknown]] = []
    selections = ctx.selections(template.kind)
    if judge_selections:
        for sel in selections:
            verdict = ctx.selector.selects(sel, res)
            if verdict is True:
                selecting.append(sel)
            elif isinstance(verdict, Unknown):
                maybe.append((sel, verdict))

    deployed = _plans_of(ctx, template.kind, selecting)
    outside = [
        s
        for s in selecting
        if s.plan_ref is None or (s.file, s.plan_ref) not in ctx.plans(template.kind)
    ]
    rules = [(p, r) for p in deployed for r in p.rules]
    unknown_plans = [p for p in deployed if p.unknown is not None]
    return _Deployment(
        selections, selecting, maybe, outside, rules, unknown_plans, judge_selections, native
    )


def _judge_deployed(
    add: _Add, ctx: Context, res: TemplateResource, plan: Any, found: _Deployment
) -> None:
    """plan-deployed: a deployed rule, or the resource's native backups, meet the declared plan."""
    rules, native = found.rules, found.native
    good = [(p, r) for p, r in rules if _rule_satisfies(r, plan, ctx.as_of) is True]
    evidence = {
        "selections": [f"{s.file}:{s.line} {s.key}" for s in found.selecting],
        "rules": [_rule_facts(r, p, ctx.as_of) for p, r in rules],
    }
    if good:
        p, r = good[0]
        add(
            "plan-deployed",
            PASS,
            f"backup plan {_name(p)} rule {r.name} selects {res.logical_id} and meets plan {plan.name}.",
            evidence,
            line=p.line,
            file=p.file,
        )
    elif native is not None and native[0] == PASS:
        add("plan-deployed", PASS, native[1], {**evidence, "native": native[2]})
    else:
        _judge_not_deployed(add, ctx, res, plan, found, evidence)


def _judge_not_deployed(
    add: _Add, ctx: Context, res: TemplateResource, plan: Any, found: _Deployment, evidence: dict
) -> None:
    """plan-deployed when no deployed rule is known to meet the plan: unknown, or why it fails."""
    rules, maybe, selections, native = found.rules, found.maybe, found.selections, found.native
    reasons = [
        u for _, r in rules for u in [_rule_satisfies(r, plan, ctx.as_of)] if isinstance(u, Unknown)
    ]
    reasons += [p.unknown for p in found.unknown_plans if p.unknown is not None]
    reasons += [
        Unknown(s.plan_unknown or "its backup plan is not in the checked templates")
        for s in found.outside
    ]
    native_note = f" ({native[1]})" if native is not None and native[0] == FAIL else ""
    if reasons:  # a rule that cannot be read yet might meet the plan
        add(
            "plan-deployed",
            NOT_ASSESSED,
            f"{res.logical_id}: whether the deployed backup rule meets plan {plan.name} is unknown before deployment ({reasons[0].reason}).",
            {**evidence, "reason": reasons[0].reason},
        )
    elif maybe:  # a selection that cannot be judged yet might select it
        sel, why = maybe[0]
        add(
            "plan-deployed",
            NOT_ASSESSED,
            f"{res.logical_id}: whether backup selection {sel.key} selects it is unknown before deployment ({why.reason}).",
            {**evidence, "selection": f"{sel.file}:{sel.line} {sel.key}", "reason": why.reason},
        )
    elif rules:
        p = rules[0][0]
        add(
            "plan-deployed",
            FAIL,
            _weaker(rules, plan, ctx.as_of, res),
            evidence,
            line=p.line,
            file=p.file,
        )
    elif native is not None and native[0] == NOT_ASSESSED:
        add("plan-deployed", NOT_ASSESSED, native[1], {"native": native[2]})
    elif native is not None and native[0] == FAIL and not found.backup_selects:
        add("plan-deployed", FAIL, f"{native[1]}.", {"native": native[2]})
    elif not selections:
        add(
            "plan-deployed",
            NOT_ASSESSED,
            f"{res.logical_id}: no AWS Backup selection is defined in the checked templates; a plan deployed elsewhere may select it by tag (`auditor check` verifies the live account){native_note}.",
            {"selections": [], **({"native": native[2]} if native else {})},
        )
    else:
        add(
            "plan-deployed",
            FAIL,
            f"no backup selection in the checked templates selects {res.logical_id} for plan {plan.name}{native_note}.",
            {
                "selections_checked": [f"{s.file}:{s.line} {s.key}" for s in selections],
                **({"native": native[2]} if native else {}),
            },
        )


def _judge_features(
    add: Any, ctx: Context, res: TemplateResource, plan: Any, engine: str | None
) -> None:
    """backup-supported for a plan relying on AWS Backup alone: every feature it asks is offered."""
    from auditor.policy.support import ADVANCED, plan_feature_needs

    matrix = ctx.policies.support
    gaps, pending = [], []
    for feature, field_name in plan_feature_needs(plan):
        value = matrix.feature_value(res.resource_type, feature, engine)
        if value == ADVANCED:
            pending.append(
                f"{field_name}: {matrix.reason_lacking(res.resource_type, feature, engine)}"
            )
        elif not value:
            gaps.append(
                f"{field_name}: {matrix.reason_lacking(res.resource_type, feature, engine)}"
            )
    evidence = {"engine": engine, "profile": matrix.profile}
    if gaps:
        add(
            "backup-supported",
            FAIL,
            f"{res.logical_id} ({engine or res.resource_type}): plan {plan.name} accepts only AWS Backup, and "
            + "; ".join(gaps)
            + ".",
            {**evidence, "lacking": gaps},
        )
    elif pending:
        add(
            "backup-supported",
            NOT_ASSESSED,
            f"{res.logical_id}: whether the region has AWS Backup's advanced DynamoDB features on is unknown before deployment ("
            + "; ".join(pending)
            + ").",
            {**evidence, "reason": pending[0]},
        )


def _supported(policies: Any, resource_type: str, engine: str | None) -> bool:
    """The policy's support matrix for one resource (its override rules first, then its profile)."""
    return policies.support.is_supported(resource_type, engine)


def _name(plan: DeployedPlan) -> str:
    return str(plan.name) if isinstance(plan.name, str) else plan.key


def _plans_of(ctx: Context, kind: str, selecting: list[DeployedSelection]) -> list[DeployedPlan]:
    plans = ctx.plans(kind)
    seen: dict[tuple[str, str], DeployedPlan] = {}
    for sel in selecting:
        if sel.plan_ref is not None and (sel.file, sel.plan_ref) in plans:
            seen[(sel.file, sel.plan_ref)] = plans[(sel.file, sel.plan_ref)]
    return list(seen.values())


def _rule_satisfies(rule: DeployedRule, plan: Any, as_of: datetime) -> bool | Unknown:
    interval = _interval(rule, as_of)
    if isinstance(interval, Unknown):
        return interval
    if isinstance(rule.delete_after_days, Unknown):
        return Unknown(f"retention: {rule.delete_after_days.reason}")
    if interval > plan.interval:
        return False
    return rule.delete_after_days is None or rule.delete_after_days >= plan.retention_days


def _weaker(
    rules: list[tuple[DeployedPlan, DeployedRule]],
    plan: Any,
    as_of: datetime,
    res: TemplateResource,
) -> str:
    problems = []
    for p, r in rules:
        interval = _interval(r, as_of)
        parts = []
        if not isinstance(interval, Unknown) and interval > plan.interval:
            parts.append(
                f"leaves gaps of up to {_days(interval)} between backups, plan {plan.name} needs one every {_days(plan.interval)}"
            )
        if isinstance(r.delete_after_days, int) and r.delete_after_days < plan.retention_days:
            parts.append(
                f"keeps backups {r.delete_after_days} days, plan {plan.name} needs {plan.retention_days}"
            )
        problems.append(f"backup plan {_name(p)} rule {r.name} " + " and ".join(parts))
    return (
        f"{res.logical_id} is selected, but no rule meets plan {plan.name}: "
        + "; ".join(problems)
        + "."
    )


def _native(res: TemplateResource, plan: Any, as_of: datetime) -> tuple[str, str, dict] | None:
    """Native backups of the resource against the plan: (status, detail, evidence), or None."""
    native = res.native
    if not native:
        return None
    enabled = native.get("enabled")
    retention = native.get("retention_days")
    kind = native.get("kind")
    label = native.get("label") or {
        "rds-automated": "RDS automated backups",
        "dlm": f"Data Lifecycle Manager policy {native.get('policy')}'s backups",
    }.get(str(kind), "DynamoDB point-in-time recovery")
    evidence = {
        "kind": kind,
        "retention_days": retention if not isinstance(retention, Unknown) else None,
    }
    if isinstance(enabled, Unknown):
        return (
            NOT_ASSESSED,
            f"{res.logical_id}: whether {label} are on is unknown before deployment ({enabled.reason}).",
            evidence,
        )
    if not enabled:
        return FAIL, f"{label} are off for {res.logical_id}", evidence
    if isinstance(retention, Unknown):
        return (
            NOT_ASSESSED,
            f"{res.logical_id}: {label} retention is unknown before deployment ({retention.reason}).",
            evidence,
        )
    interval = timedelta(hours=native.get("interval_hours") or 0)
    if interval > plan.interval:
        return (
            FAIL,
            f"{label} of {res.logical_id} run every {_days(interval)}, plan {plan.name} needs every {_days(plan.interval)}",
            evidence,
        )
    if retention is not None and int(retention) < plan.retention_days:
        return (
            FAIL,
            f"{label} of {res.logical_id} keep {retention} days, plan {plan.name} needs {plan.retention_days}",
            evidence,
        )
    return (
        PASS,
        f"{label} of {res.logical_id} (kept {retention} days) meet plan {plan.name}.",
        evidence,
    )


def _judge_rules(
    add: _Add,
    template: Template,
    res: TemplateResource,
    plan: Any,
    rules: list[tuple[DeployedPlan, DeployedRule]],
    ctx: Context,
) -> None:
    """Max retention, copies and vault lock over the rules of the plans that select the resource."""
    if plan.max_retention_days:
        _judge_max_retention(add, plan, rules, ctx.as_of)
    _judge_copies(add, plan, rules)
    judge_air_gapped_copy(add, plan, rules, ctx.vaults(template.kind))
    if plan.vault_lock:
        _judge_vault_lock(add, plan, rules, ctx.vaults(template.kind))
    if plan.deletion_protected:
        judge_deletion_protected(add, plan, rules, ctx.vaults(template.kind), template.region)


def _judge_max_retention(
    add: _Add, plan: Any, rules: list[tuple[DeployedPlan, DeployedRule]], as_of: datetime
) -> None:
    """backup-max-retention: no deployed rule keeps backups past the plan's maximum."""
    first_plan = rules[0][0]
    facts = [_rule_facts(r, p, as_of) for p, r in rules]
    too_long = [
        (p, r)
        for p, r in rules
        if r.delete_after_days is None
        or (isinstance(r.delete_after_days, int) and r.delete_after_days > plan.max_retention_days)
    ]
    unknown = [r.delete_after_days for _, r in rules if isinstance(r.delete_after_days, Unknown)]
    if too_long:
        p, r = too_long[0]
        kept = (
            "forever (no DeleteAfterDays)"
            if r.delete_after_days is None
            else f"{r.delete_after_days} days"
        )
        add(
            "backup-max-retention",
            FAIL,
            f"backup plan {_name(p)} rule {r.name} keeps backups {kept}, past plan {plan.name}'s max of {plan.max_retention_days} days.",
            {"rules": facts},
            line=p.line,
            file=p.file,
        )
    elif unknown:
        add(
            "backup-max-retention",
            NOT_ASSESSED,
            f"retention of a deployed rule is unknown before deployment ({unknown[0].reason}).",
            {"rules": facts},
            line=first_plan.line,
            file=first_plan.file,
        )
    else:
        add(
            "backup-max-retention",
            PASS,
            f"every deployed rule keeps backups at most {plan.max_retention_days} days.",
            {"rules": facts},
            line=first_plan.line,
            file=first_plan.file,
        )


def _judge_copies(add: _Add, plan: Any, rules: list[tuple[DeployedPlan, DeployedRule]]) -> None:
    """cross-region-copy and cross-account-copy: a copy action reaches every required target."""
    first_plan = rules[0][0]
    copies = [(p, r, c) for p, r in rules for c in r.copies]
    copy_facts = [
        {
            "backup_plan": _name(p),
            "rule": r.name,
            "destination": str(c.destination),
            "region": c.region if isinstance(c.region, str) else None,
            "account": c.account if isinstance(c.account, str) else None,
        }
        for p, r, c in copies
    ]
    for control, required, attr in (
        ("cross-region-copy", plan.copy_to.regions, "region"),
        ("cross-account-copy", plan.copy_to.accounts, "account"),
    ):
        if not required:
            continue
        missing: list[str] = []
        undetermined: list[tuple[str, Unknown]] = []
        for target in required:
            values = [getattr(c, attr) for _, _, c in copies]
            if any(v == str(target) for v in values):
                continue
            pending = [v for v in values if isinstance(v, Unknown)]
            if pending:
                undetermined.append((str(target), pending[0]))
            else:
                missing.append(str(target))
        evidence = {"required": [str(t) for t in required], "copies": copy_facts}
        where = {"line": first_plan.line, "file": first_plan.file}
        if missing:
            add(
                control,
                FAIL,
                f"no copy action to {attr} {', '.join(missing)} as plan {plan.name} requires"
                + (
                    f" (copies go to: {', '.join(str(f[attr] or '?') for f in copy_facts)})"
                    if copy_facts
                    else ""
                )
                + ".",
                evidence,
                **where,
            )
        elif undetermined:
            add(
                control,
                NOT_ASSESSED,
                f"the {attr} of a copy action is unknown before deployment ({undetermined[0][1].reason}).",
                evidence,
                **where,
            )
        else:
            add(
                control,
                PASS,
                f"copies go to every required {attr}: {', '.join(str(t) for t in required)}.",
                evidence,
                **where,
            )


def _judge_vault_lock(
    add: _Add,
    plan: Any,
    rules: list[tuple[DeployedPlan, DeployedRule]],
    vaults: list[DeployedVault],
) -> None:
    """vault-lock: the worst verdict over the vaults the rules write to."""
    verdicts = []
    for p, r in rules:
        verdicts.append((p, r, _vault_verdict(r, p, plan, vaults)))
    fails = [v for v in verdicts if v[2][0] == FAIL]
    undecided = [v for v in verdicts if v[2][0] == NOT_ASSESSED]
    chosen = fails[0] if fails else undecided[0] if undecided else verdicts[0]
    p, r, (status, detail, vault) = chosen
    add(
        "vault-lock",
        status,
        detail,
        {
            "vault": vault.key
            if vault
            else (str(r.target_vault) if not isinstance(r.target_vault, Unknown) else None),
            "lock_min_days": vault.lock_min_days
            if vault and isinstance(vault.lock_min_days, int)
            else None,
            "lock_max_days": vault.lock_max_days
            if vault and isinstance(vault.lock_max_days, int)
            else None,
        },
        line=(vault.lock_line or vault.line) if vault else p.line,
        file=vault.file if vault else p.file,
    )


def _vault_verdict(
    rule: DeployedRule, plan: DeployedPlan, declared: Any, vaults: list[DeployedVault]
) -> tuple[str, str, DeployedVault | None]:
    target = rule.target_vault
    # A rule with an air-gapped target backs up into that vault: its lock is what protects them.
    vault = rule_vault(rule, plan, vaults)
    if vault is None and rule.air_gapped_target is not None:
        target = rule.air_gapped_target
    if vault is None and isinstance(target, Unknown) and rule.target_vault_ref is None:
        return (
            NOT_ASSESSED,
            f"the vault of rule {rule.name} is unknown before deployment ({target.reason}).",
            None,
        )
    for candidate in vaults if vault is None and rule.air_gapped_target is None else ():
        if candidate.file != plan.file and rule.target_vault_ref is not None:
            continue
        if (rule.target_vault_ref is not None and candidate.key == rule.target_vault_ref) or (
            rule.target_vault_ref is None
            and isinstance(candidate.name, str)
            and candidate.name == target
        ):
            vault = candidate
    if vault is None:
        return (
            NOT_ASSESSED,
            f"vault {target!s} of rule {rule.name} is not defined in the checked templates, so its lock is unknown.",
            None,
        )
    if isinstance(vault.locked, Unknown):
        return (
            NOT_ASSESSED,
            f"whether vault {vault.key} is locked is unknown before deployment ({vault.locked.reason}).",
            vault,
        )
    if not vault.locked:
        return (
            FAIL,
            f"vault {vault.key} (rule {rule.name}) has no vault lock; plan {declared.name} requires one.",
            vault,
        )
    retention = rule.delete_after_days
    for bound in (vault.lock_min_days, vault.lock_max_days):
        if isinstance(bound, Unknown):
            return (
                NOT_ASSESSED,
                f"vault {vault.key}'s lock bounds are unknown before deployment ({bound.reason}).",
                vault,
            )
    if isinstance(retention, Unknown):
        return (
            NOT_ASSESSED,
            f"retention of rule {rule.name} is unknown before deployment ({retention.reason}).",
            vault,
        )
    if isinstance(vault.lock_max_days, int) and vault.lock_max_days < declared.retention_days:
        return (
            FAIL,
            f"vault {vault.key}'s lock allows at most {vault.lock_max_days} days, below plan {declared.name}'s {declared.retention_days}-day retention.",
            vault,
        )
    if isinstance(vault.lock_max_days, int) and (
        retention is None or retention > vault.lock_max_days
    ):
        kept = "forever" if retention is None else f"{retention} days"
        return (
            FAIL,
            f"rule {rule.name} keeps backups {kept}, beyond vault {vault.key}'s lock maximum of {vault.lock_max_days} days (its jobs would fail).",
            vault,
        )
    if (
        isinstance(vault.lock_min_days, int)
        and retention is not None
        and retention < vault.lock_min_days
    ):
        return (
            FAIL,
            f"rule {rule.name} keeps backups {retention} days, below vault {vault.key}'s lock minimum of {vault.lock_min_days} days (its jobs would fail).",
            vault,
        )
    return PASS, f"vault {vault.key} is locked with bounds that fit rule {rule.name}.", vault


def _apply_waivers(policies: Any, findings: list[dict], as_of: datetime) -> list[dict]:
    """FAIL -> WAIVED where an active waiver names the resource (ARN, logical id or address) and control."""
    waivers = [w for w in getattr(policies, "waivers", []) if w.active(as_of)]
    if not waivers:
        return findings
    for finding in findings:
        if finding["status"] != FAIL:
            continue
        names = [
            n
            for n in (
                finding.get("resource_arn"),
                finding.get("resource"),
                f"{finding.get('file')}#{finding.get('resource')}",
            )
            if n
        ]
        for waiver in waivers:
            control, plan = finding["control_id"], finding.get("plan")
            if any(waiver.matches(n, control, as_of, plan) for n in names):
                finding["status"] = WAIVED
                finding["evidence"] = {
                    **finding["evidence"],
                    "waiver": {
                        "reason": waiver.reason,
                        "owner": waiver.owner,
                        "expires": waiver.expires_text,
                    },
                }
                finding["detail"] = (
                    f"{finding['detail']} Waived until {waiver.expires_text}: {waiver.reason}"
                )
                break
    return findings


def summarize(findings: Iterable[dict]) -> dict:
    """Counts per status (every status present, zero when none)."""
    counts = {s: 0 for s in (PASS, FAIL, WAIVED, NOT_APPLICABLE, NOT_ASSESSED)}
    for finding in findings:
        counts[finding["status"]] = counts.get(finding["status"], 0) + 1
    counts["total"] = sum(v for k, v in counts.items())
    return counts
