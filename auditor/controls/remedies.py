"""What to change, per situation, for plan-deployed, backup-encrypted and backup-supported.

Each function takes a control's findings frame and returns one text per row (None where the
registration's default applies); the engine keeps them for the rows that call for a change. A
text names the policy line to change, the AWS Backup selection or rule to deploy, and the AWS CLI
command where one exists, with the finding's own account, region, plan, rule and backup filled in.
Texts are built once per distinct situation (plan, place, rule), not once per row.

AWS facts used:
- BackupSelection (AWS Backup API reference, "BackupSelection"): SelectionName and IamRoleArn are
  required; ListOfTags entries (ConditionType STRINGEQUALS, ConditionKey, ConditionValue) select
  by OR; Conditions (StringEquals/StringLike/..., ConditionKey "aws:ResourceTag/KEY") all apply;
  Resources/NotResources list ARNs. `aws backup create-backup-selection --backup-plan-id ID
  --backup-selection JSON` (AWS CLI reference, "create-backup-selection").
- The default service role AWS Backup creates is `service-role/AWSBackupDefaultServiceRole`
  (AWS Backup Developer Guide, "Default service role for AWS Backup").
- `aws backup create-backup-plan --backup-plan JSON` and `aws backup update-backup-plan
  --backup-plan-id ID --backup-plan JSON` take BackupPlanInput (BackupPlanName, Rules with RuleName,
  TargetBackupVaultName, ScheduleExpression, Lifecycle.DeleteAfterDays); `get-backup-plan` returns
  the plan to edit (AWS Backup API reference, "CreateBackupPlan", "UpdateBackupPlan").
- Service opt-in: `aws backup update-region-settings --resource-type-opt-in-preference` (map of
  service name to boolean; AWS CLI reference, "update-region-settings").
- Backups of types AWS Backup does not fully manage inherit the source's encryption; fully managed
  types are encrypted with the vault's KMS key (AWS Backup Developer Guide, "Encryption for backups
  in AWS Backup"). An unencrypted EBS snapshot is encrypted by copying it with `aws ec2
  copy-snapshot --encrypted` (Amazon EBS User Guide, "Copy an Amazon EBS snapshot"); new volumes
  are encrypted with `aws ec2 enable-ebs-encryption-by-default` (Amazon EBS User Guide,
  "Encryption by default"); an RDS snapshot with `aws rds copy-db-snapshot --kms-key-id` (or
  `copy-db-cluster-snapshot`), and an instance is encrypted by restoring such a copy (Amazon RDS
  User Guide, "Encrypting Amazon RDS resources": an unencrypted DB instance cannot be encrypted in
  place).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from auditor.arrow_take import take_series
from auditor.controls import frames as fr
from auditor.controls.text import by_code
from auditor.controls.verdicts import FAIL, WAIVED

if TYPE_CHECKING:
    from auditor.controls.context import Context

__all__ = [
    "deployed_remediation",
    "encrypted_remediation",
    "schedule_for",
    "selection_document",
    "supported_remediation",
]

DEFAULT_ROLE = "arn:aws:iam::{account}:role/service-role/AWSBackupDefaultServiceRole"


def _acting(frame: pd.DataFrame) -> np.ndarray:
    """Rows that need a change (FAIL, or waived but still failing)."""
    return np.isin(fr.status_of(frame), (FAIL, WAIVED))


def _resource_column(frame: pd.DataFrame, ctx: Context, column: str) -> np.ndarray:
    ridx = frame["ridx"].to_numpy()
    values = np.full(len(frame), None, dtype=object)
    if ctx.n:
        has = ridx >= 0
        # the rows' values only: converting the whole column costs a pass over every resource
        values[has] = take_series(ctx.res[column], ridx[has]).astype(object).to_numpy()
    return values


def schedule_for(plan: Any) -> str:
    """An AWS Backup ScheduleExpression at least as frequent as `plan` asks."""
    if str(plan.frequency).strip().lower().startswith("cron("):
        return str(plan.frequency).strip()
    hours = plan.interval.total_seconds() / 3600
    if hours >= 168:
        return "cron(0 5 ? * 1 *)"  # weekly, Sunday 05:00 UTC
    if hours >= 24:
        return "cron(0 5 ? * * *)"  # daily, 05:00 UTC
    step = max(d for d in (1, 2, 3, 4, 6, 8, 12) if d <= max(hours, 1))
    return f"cron(0 0/{step} * * ? *)"


def selection_document(
    plan: Any, account: str, resource_arn: str | None, spec: Any = None
) -> dict[str, Any]:
    """A BackupSelection picking what declared `plan` selects (its tags and conditions), or the
    one resource by ARN when the plan selects by something AWS Backup cannot express. `spec` is
    the plan's normalised selection when the caller has it already."""
    spec = plan.spec if spec is None else spec
    doc: dict[str, Any] = {
        "SelectionName": f"{plan.name}"[:40].replace(" ", "-") + "-selection",
        "IamRoleArn": DEFAULT_ROLE.format(account=account),
    }
    if spec.any_tags:
        doc["ListOfTags"] = [
            {"ConditionType": "STRINGEQUALS", "ConditionKey": k, "ConditionValue": v}
            for k, v in spec.any_tags
        ]
    if spec.conditions:
        conditions: dict[str, list[dict[str, str]]] = {}
        for op, key, value in spec.conditions:
            conditions.setdefault(op, []).append(
                {"ConditionKey": f"aws:ResourceTag/{key}", "ConditionValue": value}
            )
        doc["Conditions"] = conditions
    if spec.resources:
        doc["Resources"] = list(spec.resources)
    if not (spec.any_tags or spec.conditions or spec.resources) and resource_arn:
        doc["Resources"] = [resource_arn]
    return doc


def _plan_document(plan: Any) -> dict[str, Any]:
    return {
        "BackupPlanName": plan.name,
        "Rules": [
            {
                "RuleName": f"{plan.name}-rule",
                "TargetBackupVaultName": "Default",
                "ScheduleExpression": schedule_for(plan),
                "Lifecycle": {"DeleteAfterDays": int(plan.retention_days)},
            }
        ],
    }


def _quoted(doc: dict[str, Any]) -> str:
    return "'" + json.dumps(doc, separators=(",", ":")).replace("'", "'\\''") + "'"


def _adequate_plans(ctx: Context) -> dict[tuple[str, str, int], tuple[str, str]]:
    """{(account, region, declared plan): (backup_plan_id, name)} of a deployed AWS Backup plan
    with a rule as frequent and as long-kept as the declared plan (a selection can be added to it).
    Kept on the context: findings may be materialised more than once."""
    cached = ctx.__dict__.get("_adequate_plans")
    if cached is None:
        cached = ctx.__dict__["_adequate_plans"] = _find_adequate_plans(ctx)
    return cached


def _find_adequate_plans(ctx: Context) -> dict[tuple[str, str, int], tuple[str, str]]:
    from auditor.controls.deployed import rule_table

    rules = ctx.inventory["backup_rules"]
    if not len(rules):
        return {}
    table = rule_table(ctx)
    plans = ctx.inventory["backup_plans"]
    names = {
        (p.account_id, p.region, p.backup_plan_id): p.backup_plan_name
        for p in plans.itertuples(index=False)
    }
    out: dict[tuple[str, str, int], tuple[str, str]] = {}
    for p, plan in enumerate(ctx.plans):
        ok = (table["interval_s"] <= plan.interval.total_seconds() + 1e-6) & (
            table["keep_days"] >= plan.retention_days
        )
        for row in table[ok].itertuples(index=False):
            key = (str(row.account_id), str(row.region), p)
            name = names.get((row.account_id, row.region, row.backup_plan_id), row.backup_plan_id)
            out.setdefault(key, (str(row.backup_plan_id), str(name)))
    return out


def _rule_fix(rule: Any, plan_name: str, plan: Any) -> str:
    """Change the deployed rule that selects the resource so it meets `plan`."""
    region = rule["region"]
    plan_id = rule["backup_plan_id"]
    return (
        f"AWS Backup plan '{plan_name}' already selects it, but its rule '{rule['rule_name']}'"
        f" runs less often or keeps backups for less than plan {plan.name} needs: set the rule's"
        f" ScheduleExpression to {schedule_for(plan)} (or more often) and Lifecycle.DeleteAfterDays"
        f" to at least {plan.retention_days}: `aws backup get-backup-plan --region {region}"
        f" --backup-plan-id {plan_id}` to fetch the plan, edit the rule, then `aws backup"
        f" update-backup-plan --region {region} --backup-plan-id {plan_id} --backup-plan"
        " file://plan.json`."
    )


def deployed_remediation(frame: pd.DataFrame, ctx: Context) -> pa.Array:
    """plan-deployed: per failing row, what to deploy (see the module doc for the calls).

    Rows are grouped by what their text depends on (the situation, plan, place, rule, native
    schedule), as integer codes; each group's text is made once, from its first row, and spread
    over the group's rows as Arrow (null for rows that need none).
    """
    acting = np.flatnonzero(_acting(frame))
    plan_of = frame["plan"].to_numpy().astype(np.int64)
    rows = acting[plan_of[acting] >= 0]
    if not len(rows):
        return pa.nulls(len(frame), pa.string())
    situation, key = _deployed_keys(frame, ctx, rows)
    inverse = _group_numbers(key)
    first = np.unique(inverse, return_index=True)[1]  # group g's first row is first[g]
    native = fr.col(frame.iloc[rows[first]], "native_schedule")
    ridx = frame["ridx"].to_numpy()[rows[first]]
    place = {
        c: _resource_values(ctx, c, ridx)
        for c in ("account_id", "region", "resource_arn", "resource_type")
    }
    service = _services(ctx)[np.maximum(ridx, 0)] if ctx.n else np.full(len(first), None, object)
    rules = ctx.inventory["backup_rules"].reset_index(drop=True)
    plan_names = ctx.memo(
        "backup_plan_names",
        lambda: {
            (p.account_id, p.region, p.backup_plan_id): p.backup_plan_name
            for p in ctx.inventory["backup_plans"].itertuples(index=False)
        },
    )
    specs = [plan.spec for plan in ctx.plans]  # a property that builds the spec: once per plan
    selector = [bool(s.any_tags or s.conditions or s.resources) for s in specs]
    nearest = _nearest_rules(frame)
    texts = np.empty(len(first), dtype=object)
    made: dict[tuple, str] = ctx.memo("deployed_remediation_texts", dict)
    for row, i in enumerate(rows[first]):
        p = int(plan_of[i])
        plan = ctx.plans[p]
        account, region = place["account_id"][row], place["region"][row]
        kind = _SITUATIONS[situation[first[row]]]
        group_key: tuple
        if kind == "native":
            group_key = ("native", p, native[row])
        elif kind == "unsupported":
            group_key = ("unsupported", p, place["resource_type"][row])
        elif kind == "opt-in":
            group_key = ("opt-in", service[row], region, account)
        elif kind == "rule":
            group_key = ("rule", p, int(nearest[i]))
        else:
            by_arn = None if selector[p] else place["resource_arn"][row]
            group_key = ("select", p, account, region, by_arn)
        # the same situations recur in every batch of findings: each text is made once a check
        cached = made.get((group_key, p, native[row]))
        if cached is None:
            cached = _deployed_text(group_key, plan, rules, plan_names, ctx, specs[p])
            if native[row] and "native" in plan.accept and kind != "native":
                cached += (
                    f" Or make its native schedule ({native[row]}) run at least every"
                    f" {plan.interval.total_seconds() / 3600:g}h keeping {plan.retention_days} days."
                )
            made[(group_key, p, native[row])] = cached
        texts[row] = cached
    codes = np.full(len(frame), -1, dtype=np.int64)
    codes[rows] = inverse
    return by_code(list(texts), codes)


def _group_numbers(key: np.ndarray) -> np.ndarray:
    """Per row of an integer matrix, a group number (rows with equal values share one), folded
    column by column so the combined code never exceeds the row count."""
    group = np.zeros(len(key), dtype=np.int64)
    for column in key.T:
        shifted = column - column.min() if len(column) else column
        group = pd.factorize(group * (int(shifted.max(initial=0)) + 1) + shifted)[0]
    return np.asarray(group, dtype=np.int64)


# The situations of a failing plan-deployed row, in the order they are tested.
_SITUATIONS = ("native", "unsupported", "opt-in", "rule", "select")


def _nearest_rules(frame: pd.DataFrame) -> np.ndarray:
    return (
        frame["nearest_rule"].to_numpy()
        if "nearest_rule" in frame
        else np.full(len(frame), -1, np.int64)
    )


def _deployed_keys(
    frame: pd.DataFrame, ctx: Context, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For `rows`: the situation number (`_SITUATIONS`), and one row of integer codes per row that
    equal exactly when the remediation texts are equal."""
    plan = frame["plan"].to_numpy().astype(np.int64)[rows]
    accepts_aws = np.array(["aws-backup" in p.accept for p in ctx.plans], dtype=bool)[plan]
    supported = frame["ev.aws_backup_supports_type"].to_numpy(dtype=bool, na_value=True)[rows]
    opted = frame["ev.region_opted_in"].to_numpy(dtype=bool, na_value=True)[rows]
    nearest = _nearest_rules(frame)[rows]
    situation = np.select([~accepts_aws, ~supported, ~opted, nearest >= 0], [0, 1, 2, 3], 4).astype(
        np.int64
    )
    ridx = frame["ridx"].to_numpy()[rows]
    native = _codes(frame["ev.native_schedule"]) if "ev.native_schedule" in frame else None
    native_code = native[rows] if native is not None else np.full(len(rows), -1, np.int64)
    unused = np.full(len(rows), -2, dtype=np.int64)

    def resource(column: str) -> np.ndarray:
        codes = ctx.memo("codes:" + column, lambda: _codes(ctx.res[column]))
        return np.where(ridx >= 0, codes[np.maximum(ridx, 0)] if ctx.n else -1, -1)

    account, region = resource("account_id"), resource("region")
    selector = np.array(
        [bool(s.any_tags or s.conditions or s.resources) for s in (p.spec for p in ctx.plans)],
        dtype=bool,
    )[plan]
    services = ctx.memo("codes:service_of_resources", lambda: _codes(pd.Series(_services(ctx))))
    service = np.where(ridx >= 0, services[np.maximum(ridx, 0)] if ctx.n else -1, -1)
    key = np.stack(
        [
            situation,
            plan,
            native_code,
            np.where(situation == 1, resource("resource_type"), unused),
            np.where(situation == 2, service, unused),
            np.where((situation == 2) | (situation == 4), account, unused),
            np.where((situation == 2) | (situation == 4), region, unused),
            np.where(situation == 3, nearest, unused),
            # a plan that selects by nothing AWS Backup can express names the resource by ARN
            np.where((situation == 4) & ~selector, ridx, unused),
        ],
        axis=1,
    )
    return situation, key


def _codes(values: pd.Series) -> np.ndarray:
    """Integer codes of a column's values (-1 for missing)."""
    return np.asarray(pd.factorize(values, use_na_sentinel=True)[0], dtype=np.int64)


def _services(ctx: Context) -> np.ndarray:
    """Every resource's AWS Backup service name (objects), made once per check."""
    return ctx.memo(
        "service_of_resources",
        lambda: ctx.policies.support.service_of(ctx.res).to_numpy(dtype=object),
    )


def _resource_values(ctx: Context, column: str, ridx: np.ndarray) -> np.ndarray:
    """A resource column's values (objects) of resources `ridx` (None for -1)."""
    values = np.full(len(ridx), None, dtype=object)
    has = ridx >= 0
    if ctx.n and has.any():
        values[has] = take_series(ctx.res[column], ridx[has]).astype(object).to_numpy()
    return values


def _deployed_text(
    key: tuple, plan: Any, rules: pd.DataFrame, plan_names: dict, ctx: Context, spec: Any
) -> str:
    kind = key[0]
    every = f"{plan.interval.total_seconds() / 3600:g}h"
    if kind == "native":
        schedule = f" (now: {key[2]})" if key[2] else ""
        return (
            f"Plan {plan.name} accepts only native backups: give the resource its service's own"
            f" schedule{schedule} at least every {every} keeping {plan.retention_days} days (RDS"
            " automated backups, DynamoDB point-in-time recovery, an Amazon Data Lifecycle"
            " Manager policy for EBS), or add aws-backup to the plan's `accept:` list and deploy"
            " an AWS Backup plan."
        )
    if kind == "unsupported":
        return (
            f"AWS Backup does not back up {key[2]}: add native to plan {plan.name}'s `accept:`"
            f" list (policy line `accept: [aws-backup, native]`) and schedule native backups at"
            f" least every {every} keeping {plan.retention_days} days, or leave the type out of"
            " the plan's selection (`resource_types`)."
        )
    if kind == "opt-in":
        _, service, region, account = key
        preference = json.dumps({str(service): True}, separators=(",", ":"))
        return (
            f"Opt {service} in to AWS Backup in {region} (account {account}): `aws backup"
            f" update-region-settings --region {region} --resource-type-opt-in-preference"
            f" '{preference}'` (console: AWS Backup > Settings > Service opt-in), or name the"
            " resource by ARN in the selection's Resources."
        )
    if kind == "rule":
        # one dict per rule, made once a check (a DataFrame row lookup costs ~0.5 ms)
        rule = ctx.memo("backup_rules_records", lambda: rules.to_dict("records"))[key[2]]
        name = plan_names.get(
            (rule["account_id"], rule["region"], rule["backup_plan_id"]), rule["backup_plan_id"]
        )
        return _rule_fix(rule, str(name), plan)
    _, p, account, region, arn = key
    selection = _quoted(selection_document(plan, str(account), arn, spec))
    found = _adequate_plans(ctx).get((str(account), str(region), p))
    if found is not None:
        plan_id, name = found
        return (
            f"No AWS Backup selection picks it. AWS Backup plan '{name}' already has a rule that"
            f" meets plan {plan.name}: assign the resource to it with `aws backup"
            f" create-backup-selection --region {region} --backup-plan-id {plan_id}"
            f" --backup-selection {selection}`."
        )
    return (
        f"No deployed AWS Backup plan in {region} (account {account}) meets plan {plan.name}:"
        f" create one with a rule at least every {every} keeping {plan.retention_days} days,"
        f" `aws backup create-backup-plan --region {region} --backup-plan"
        f" {_quoted(_plan_document(plan))}`, then assign the resource with `aws backup"
        f" create-backup-selection --region {region} --backup-plan-id PLAN_ID"
        f" --backup-selection {selection}` (PLAN_ID: the BackupPlanId the first call returns)."
    )


def _encrypt_text(rtype: str | None, example: str | None, region: str | None, plan: Any) -> str:
    """How to get encrypted backups of a resource of type `rtype` (one unencrypted backup named)."""
    region = region or "REGION"
    policy = (
        f" If plan {plan.name} does not need encrypted backups of it, set `encrypted: false`"
        " in that plan (or waive the finding)."
    )
    name = (example or "").rsplit("/", 1)[-1].rsplit(":", 1)[-1] or "SNAPSHOT"
    if rtype == "ebs-volume":
        return (
            "EBS snapshots inherit the volume's encryption: encrypt the volume by creating it"
            f" again from an encrypted copy (`aws ec2 copy-snapshot --region {region}"
            f" --source-region {region} --source-snapshot-id {name} --encrypted --kms-key-id KEY`,"
            f" then `aws ec2 create-volume --snapshot-id NEW_SNAPSHOT ...`), turn on"
            f" `aws ec2 enable-ebs-encryption-by-default --region {region}` for new volumes, and"
            " copy or delete the unencrypted snapshots." + policy
        )
    if rtype == "rds-instance":
        return (
            "RDS snapshots inherit the instance's encryption, which cannot be turned on in place:"
            f" copy a snapshot encrypted (`aws rds copy-db-snapshot --region {region}"
            f" --source-db-snapshot-identifier {example or 'SNAPSHOT_ARN'}"
            " --target-db-snapshot-identifier NAME-encrypted --kms-key-id KEY`), restore the"
            " instance from it (`aws rds restore-db-instance-from-db-snapshot`) and switch to it."
            + policy
        )
    if rtype == "rds-cluster":
        return (
            "Cluster snapshots inherit the cluster's encryption, which cannot be turned on in"
            f" place: `aws rds copy-db-cluster-snapshot --region {region}"
            f" --source-db-cluster-snapshot-identifier {example or 'SNAPSHOT_ARN'}"
            " --target-db-cluster-snapshot-identifier NAME-encrypted --kms-key-id KEY`, restore"
            " the cluster from the copy (`aws rds restore-db-cluster-from-snapshot`) and switch"
            " to it." + policy
        )
    if rtype == "storagegateway-volume":
        return (
            "Gateway volume snapshots inherit the volume's KMS setting: create the volume with"
            " KMS encryption (Storage Gateway console: Create volume > Encryption, or"
            " `--kms-encrypted --kms-key` on `aws storagegateway create-cached-iscsi-volume`)"
            " and move the data to it." + policy
        )
    return (
        "Back the resource up into an AWS Backup vault with a KMS key (for types AWS Backup"
        " fully manages the vault's key encrypts the recovery points), or turn on its service's"
        " own encryption; then delete the unencrypted backups." + policy
    )


def encrypted_remediation(frame: pd.DataFrame, ctx: Context) -> np.ndarray:
    """backup-encrypted: per failing row, how to get encrypted backups for its resource type."""
    out = np.full(len(frame), None, dtype=object)
    acting = np.flatnonzero(_acting(frame))
    if not len(acting):
        return out
    rtype = _resource_column(frame, ctx, "resource_type")
    region = _resource_column(frame, ctx, "region")
    example = fr.rp_arns(ctx, frame["example_row"].to_numpy())
    plan_of = frame["plan"].to_numpy().astype(np.int64)
    for i in acting:
        if plan_of[i] >= 0:
            out[i] = _encrypt_text(rtype[i], example[i], region[i], ctx.plans[plan_of[i]])
    return out


def _gap_text(segment: str, plan: Any, rule: str | None, rule_row: Any = None) -> str:
    """What to change for one reason of backup-supported ("FIELD: why")."""
    field, _, why = segment.partition(": ")
    if field == "deployed rule":
        where = f" ({rule})" if rule else ""
        target = "--backup-plan-id ID"
        if rule_row is not None:
            target = f"--region {rule_row['region']} --backup-plan-id {rule_row['backup_plan_id']}"
        return (
            f"The AWS Backup rule that selects it{where} uses a feature AWS Backup does not offer"
            f" for this type ({why}): remove it from the rule (MoveToColdStorageAfterDays,"
            f" EnableContinuousBackup) with `aws backup get-backup-plan {target}` then `aws backup"
            f" update-backup-plan {target} --backup-plan file://plan.json`, or exclude the"
            " resource from that selection (NotResources)."
        )
    return (
        f"Plan {plan.name} asks AWS Backup for what it does not offer for this type ({why}):"
        f" drop `{field}` from the plan for this type (a separate plan for it without"
        f" `{field}`), or add native to the plan's `accept:` list."
    )


def supported_remediation(frame: pd.DataFrame, ctx: Context) -> np.ndarray:
    """backup-supported: per failing row, the policy line or deployed rule to change."""
    out = np.full(len(frame), None, dtype=object)
    acting = np.flatnonzero(_acting(frame))
    if not len(acting):
        return out
    reason = fr.col(frame, "reason")
    supported = frame["ev.supported"].to_numpy(dtype=bool, na_value=True)
    plan_of = frame["plan"].to_numpy().astype(np.int64)
    nearest = (
        frame["nearest_rule"].to_numpy()
        if "nearest_rule" in frame
        else np.full(len(frame), -1, np.int64)
    )
    labels = list(ctx.deployed["labels"])
    rules = ctx.inventory["backup_rules"].reset_index(drop=True)  # rows as `labels` lists them
    cache: dict[tuple, str] = {}
    for i in acting:
        if plan_of[i] < 0:
            continue
        plan = ctx.plans[plan_of[i]]
        rule = labels[nearest[i]] if 0 <= nearest[i] < len(labels) else None
        # by rule row, not label: plans deployed under one name in several regions share labels
        key = (plan_of[i], bool(supported[i]), reason[i], int(nearest[i]))
        text = cache.get(key)
        if text is None:
            if not supported[i]:
                text = (
                    f"{reason[i] or 'AWS Backup does not back up this type'}: add native to plan"
                    f" {plan.name}'s `accept:` list (policy line `accept: [aws-backup, native]`)"
                    " and protect it with its service's own backups, or leave the type out of"
                    " the plan (`resource_types`)."
                )
            else:
                segments = [s for s in str(reason[i] or "").split("; ") if s]
                row = rules.iloc[nearest[i]] if 0 <= nearest[i] < len(rules) else None
                text = " ".join(_gap_text(s, plan, rule, row) for s in segments) or ""
            cache[key] = text
        out[i] = text or None
    return out
