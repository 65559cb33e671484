"""The controls of DESIGN §5, one function each, over a prepared `Context`.

Each function returns a `Part`: one row per resource (resource-covered), per (resource, plan) pair,
or per backup (orphaned-backup), with a status code and the evidence it used. Nothing here loops
over resources; loops run over plans, regions or accounts only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditor.controls.engine import (
    FAIL,
    KINDS,
    NEVER_TS,
    NONE_TS,
    NOT_APPLICABLE,
    NOT_ASSESSED,
    PASS,
    US_PER_DAY,
    US_PER_HOUR,
    WAIVED,
    Context,
    Part,
    _ts_us,
    us_to_ts,
)
from auditor.controls.registry import control
from auditor.inventory import RESOURCE_TYPES
from auditor.policy.columns import arrow_of, codes_of, encode, index_in

__all__: list[str] = []


# --- helpers ----------------------------------------------------------------------------------------


def _pair_frame(ctx: Context, status: np.ndarray, **evidence) -> pd.DataFrame:
    data = {"ridx": ctx.pair_ridx, "plan": ctx.pair_plan, "status": status.astype(np.int8)}
    for name, values in evidence.items():
        # Evidence is kept until findings are written: narrow types halve its memory on big estates.
        if isinstance(values, np.ndarray) and values.dtype == np.float64:
            values = values.astype(np.float32)
        elif isinstance(values, np.ndarray) and values.dtype == np.int64:
            values = values.astype(np.int32)
        data["ev." + name.replace("__", ".")] = values
    return pd.DataFrame(data)


def _hours(us: np.ndarray, missing: np.ndarray) -> np.ndarray:
    out = us.astype(float) / US_PER_HOUR
    out[missing] = np.nan
    return out


def _days(us: np.ndarray, missing: np.ndarray) -> np.ndarray:
    out = us.astype(float) / US_PER_DAY
    out[missing] = np.nan
    return out


def _fmt(values: np.ndarray, digits: int = 1) -> np.ndarray:
    """Numbers as short text ('26', '30.5'); NaN -> '?'."""
    return np.array(
        ["?" if v != v else f"{round(float(v), digits):g}" for v in values], dtype=object
    )


def _col(frame: pd.DataFrame, name: str) -> np.ndarray:
    return (
        frame["ev." + name].to_numpy(dtype=object, na_value=None)
        if "ev." + name in frame
        else np.full(len(frame), None, dtype=object)
    )


def _num(frame: pd.DataFrame, name: str) -> np.ndarray:
    return frame["ev." + name].to_numpy(dtype=float, na_value=np.nan)


def _ts_text(frame: pd.DataFrame, name: str) -> np.ndarray:
    col = frame["ev." + name]
    return col.dt.strftime("%Y-%m-%d %H:%M UTC").to_numpy(dtype=object, na_value="never")


def _status(frame: pd.DataFrame) -> np.ndarray:
    return frame["status"].to_numpy()


def _select(conditions: list[tuple[np.ndarray, object]], default) -> np.ndarray:
    out = np.full(len(conditions[0][0]) if conditions else 0, None, dtype=object)
    done = np.zeros(len(out), dtype=bool)
    for cond, value in conditions:
        take = cond & ~done
        out[take] = value[take] if isinstance(value, np.ndarray) else value
        done |= take
    rest = ~done
    out[rest] = default[rest] if isinstance(default, np.ndarray) else default
    return out


def _cat(values: np.ndarray) -> pd.Categorical:
    return pd.Categorical(values)


def _plan_attr(frame: pd.DataFrame, ctx: Context, getter) -> np.ndarray:
    table = np.array([getter(p) for p in ctx.plans] + [None], dtype=object)
    return table[frame["plan"].to_numpy().astype(np.int64)]


def _bits_to_labels(bits: np.ndarray, names: list[str]) -> pd.Categorical:
    """Per row, the names whose bit is set, comma-joined (None when no bit is set)."""
    uniq, inverse = np.unique(bits, return_inverse=True)
    labels = [", ".join(n for i, n in enumerate(names[:62]) if (u >> i) & 1) or None for u in uniq]
    return _categorical(inverse.reshape(-1), labels)


def _categorical(codes: np.ndarray, labels: list) -> pd.Categorical:
    """A Categorical from integer codes into `labels` (None labels and codes < 0 become null)."""
    uniq = sorted({l for l in labels if l is not None})
    remap = np.array(
        [uniq.index(l) if l is not None else -1 for l in labels] + [-1], dtype=np.int64
    )
    codes = np.asarray(codes, dtype=np.int64)
    return pd.Categorical.from_codes(
        remap[np.where(codes >= 0, codes, len(labels))], categories=uniq
    )


# --- resource-covered -------------------------------------------------------------------------------


def _describe_covered(frame: pd.DataFrame, ctx: Context) -> pd.Series:
    s = _status(frame)
    plans = _col(frame, "matched_plans")
    reason = _col(frame, "out_of_scope")
    text = _select(
        [
            (
                s == PASS,
                np.array([f"Selected by declared plan(s) {p}." for p in plans], dtype=object),
            ),
            (
                s == NOT_APPLICABLE,
                np.array([f"Not in the policy's scope: {r}." for r in reason], dtype=object),
            ),
        ],
        "In the policy's scope but no declared plan selects it.",
    )
    return pd.Series(text)


@control("resource-covered", "Resource is covered by a declared plan", "high", per="resource")
def resource_covered(ctx: Context) -> Part:
    """A resource in the policy's scope must be selected by at least one declared plan.

    FAIL when a resource in scope matches no plan's selection (tags any-of, conditions all-of,
    resource types). Resources outside the scope (type not listed, an `exclude_tags` tag, an Aurora
    instance protected through its cluster) are NOT_APPLICABLE.
    """
    n = ctx.n
    bits = np.zeros(n, dtype=np.int64)
    count = np.zeros(n, dtype=np.int64)
    for p, mask in enumerate(ctx.plan_masks):
        count += mask
        if p < 62:
            bits |= mask.astype(np.int64) << p
    uniq, inverse = np.unique(bits, return_inverse=True)
    labels = [
        ", ".join(pl.name for p, pl in enumerate(ctx.plans) if (u >> p) & 1) or None for u in uniq
    ]
    names = np.array(labels, dtype=object)[inverse] if n else np.empty(0, dtype=object)
    status = np.where(ctx.in_scope, np.where(count > 0, PASS, FAIL), NOT_APPLICABLE)
    frame = pd.DataFrame(
        {
            "ridx": np.arange(n, dtype=np.int64),
            "plan": np.full(n, -1, dtype=np.int16),
            "status": status.astype(np.int8),
            "ev.matched_plans": pd.Categorical(names),
            "ev.plans_matched": count,
            "ev.out_of_scope": pd.Categorical(ctx.scope_reason),
        }
    )
    # Collections that failed outright (no resources to speak of) are findings of their own.
    errors = ctx.errors
    if len(errors):
        extra = pd.DataFrame(
            {
                "ridx": np.full(len(errors), -1, dtype=np.int64),
                "plan": np.full(len(errors), -1, dtype=np.int16),
                "status": np.full(len(errors), NOT_ASSESSED, dtype=np.int8),
                "resource_arn": None,
                "resource_type": errors["affects"].astype(object).fillna("*").to_numpy(),
                "account_id": errors["account_id"].astype(object).to_numpy(),
                "region": errors["region"].astype(object).to_numpy(),
                "na_error": np.arange(len(errors), dtype=np.int64),
            }
        )
        frame = pd.concat([frame, extra], ignore_index=True)
        if "na_error" in frame:
            frame["na_error"] = frame["na_error"].fillna(-1).astype(np.int64)
    return Part("resource-covered", frame, _describe_covered)


# --- plan-deployed ----------------------------------------------------------------------------------


def _describe_deployed(frame: pd.DataFrame, ctx: Context) -> pd.Series:
    s = _status(frame)
    rule = _col(frame, "aws_rule")
    nearest = _col(frame, "selected_by")
    native = _col(frame, "native_schedule")
    every = _fmt(_num(frame, "required_every_hours"))
    keep = _fmt(_num(frame, "required_retention_days"), 0)
    supported = frame["ev.aws_backup_supports_type"].to_numpy(dtype=bool, na_value=True)
    opted = frame["ev.region_opted_in"].to_numpy(dtype=bool, na_value=True)
    texts = []
    for i in range(len(frame)):
        if s[i] == PASS:
            texts.append(
                f"In force: {rule[i]}." if rule[i] else f"In force: native schedule {native[i]}."
            )
            continue
        need = f"at least every {every[i]}h keeping {keep[i]} days"
        if not supported[i]:
            why = "AWS Backup does not support this resource type"
        elif not opted[i]:
            why = "its service is not opted in to AWS Backup in this region"
        elif nearest[i]:
            why = f"{nearest[i]} selects it but runs less often or keeps backups for less than required ({need})"
        else:
            why = f"no deployed AWS Backup plan selects it with a rule {need}"
        if native[i]:
            why += f", and its native schedule {native[i]} does not meet the plan"
        texts.append(f"Not in force: {why}.")
    return pd.Series(texts, dtype=object)


@control("plan-deployed", "Declared plan is deployed", "high")
def plan_deployed(ctx: Context) -> Part:
    """The declared plan must really be in force for the resource.

    PASS when a deployed AWS Backup selection picks the resource (AWS semantics: Resources and
    NotResources ARNs with wildcards, ListOfTags any-of, Conditions all-of, same account and region)
    and its backup plan has a rule at least as frequent (the longest gap of its schedule is no longer
    than the plan's frequency) and keeping backups at least `retention_days` — for a type AWS Backup
    supports and a service opted in for the region — or, where the plan accepts native backups, when
    the resource's own native schedule (RDS automated backups, DynamoDB PITR, a DLM policy) runs at
    least as often and keeps backups as long. FAIL otherwise.
    """
    d = ctx.deployed
    aws_ok = d["aws_ok"] & ctx.accepts("aws-backup")
    res = ctx.res
    sched = res["native_schedule"].to_numpy(dtype=object, na_value=None)[ctx.pair_ridx]
    freq_h = res["native_frequency_hours"].to_numpy(dtype=float, na_value=np.nan)[ctx.pair_ridx]
    keep_d = res["native_retention_days"].to_numpy(dtype=float, na_value=np.nan)[ctx.pair_ridx]
    need_h = ctx.plan_values(lambda p: p.interval.total_seconds() / 3600)
    need_d = ctx.plan_values(lambda p: p.retention_days)
    has_native = (
        np.array([v is not None for v in sched], dtype=bool)
        if len(sched) < 4096
        else pd.notna(sched)
    )
    native_ok = ctx.accepts("native") & has_native & (freq_h <= need_h + 1e-9) & (keep_d >= need_d)
    status = np.where(aws_ok | native_ok, PASS, FAIL)
    labels = np.array(list(d["labels"]) + [None], dtype=object)
    frame = _pair_frame(
        ctx,
        status,
        aws_rule=pd.Categorical(
            labels[d["match"]] if len(labels) > 1 else np.full(len(status), None, object)
        ),
        selected_by=pd.Categorical(
            np.where(d["match"] >= 0, None, labels[d["nearest"]])
            if len(labels) > 1
            else np.full(len(status), None, object)
        ),
        aws_backup_supports_type=d["supported"],
        region_opted_in=d["opted_in"],
        native_schedule=pd.Categorical(sched),
        native_frequency_hours=freq_h,
        native_retention_days=keep_d,
        required_every_hours=need_h,
        required_retention_days=need_d.astype(float),
    )
    return Part("plan-deployed", frame, _describe_deployed)


# --- backup-recency ---------------------------------------------------------------------------------


def _describe_recency(frame: pd.DataFrame, ctx: Context) -> pd.Series:
    s = _status(frame)
    hours = _num(frame, "age_hours")
    age = _fmt(hours)
    allowed = _fmt(_num(frame, "allowed_hours"))
    created_age = _fmt(_num(frame, "resource_age_hours"))
    has = frame["ev.last_backup"].notna().to_numpy()
    # Just past the limit, one decimal reads "170 hours old, more than the 170 hours": show more.
    close = np.flatnonzero((s == FAIL) & has & (age == allowed))
    age[close] = [f"{hours[i]:.4f}".rstrip("0").rstrip(".") for i in close]
    accept = _plan_attr(frame, ctx, lambda p: " or ".join(p.accept))
    texts = np.where(
        has,
        np.where(
            s == PASS,
            "Newest completed backup is "
            + age
            + " hours old; the plan allows "
            + allowed
            + " hours.",
            "Newest completed backup is "
            + age
            + " hours old, more than the "
            + allowed
            + " hours the plan allows.",
        ),
        np.where(
            s == PASS,
            "No completed backup yet, but the resource is only "
            + created_age
            + " hours old (first backup due within "
            + allowed
            + " hours).",
            "No completed " + accept.astype(str) + " backup of this resource exists.",
        ),
    )
    return pd.Series(texts, dtype=object)


@control("backup-recency", "Newest backup is recent enough", "high")
def backup_recency(ctx: Context) -> Part:
    """The newest completed backup must be no older than the plan's frequency plus its grace.

    Only COMPLETED backups of the kinds the plan accepts count (`accept`: aws-backup and/or native; a
    native snapshot AWS Backup created counts as aws-backup); copies in other regions or accounts do
    not. FAIL when the newest is older than frequency + grace (exactly at the limit passes), or when
    there is none and the resource is older than frequency + grace.
    """
    newest = ctx.combine("newest", "max", NONE_TS)
    count = ctx.combine("count", "sum", 0)
    has = newest != NONE_TS
    allowed = ctx.plan_values(lambda p: p.allowed_age.total_seconds() * 1e6)
    age = np.where(has, ctx.now - newest, 0)
    created = _res_created(ctx)[ctx.pair_ridx]
    created_known = created != NONE_TS
    res_age = np.where(created_known, ctx.now - created, 0)
    ok = np.where(has, age <= allowed, created_known & (res_age <= allowed))
    status = np.where(ok, PASS, FAIL)
    frame = _pair_frame(
        ctx,
        status,
        last_backup=us_to_ts(np.where(has, newest, NONE_TS)),
        age_hours=_hours(age, ~has),
        allowed_hours=allowed / US_PER_HOUR,
        backups_counted=count,
        resource_age_hours=_hours(res_age, ~created_known),
    )
    return Part("backup-recency", frame, _describe_recency, evidence_hook=_failed_jobs)


def _failed_jobs(frame: pd.DataFrame, ctx: Context) -> dict:
    """The resource's most recent backup job that did not complete (AWS Backup's own record)."""
    jobs = ctx.inventory["backup_jobs"]
    if not len(jobs) or not len(frame):
        return {}
    bad = (
        jobs["state"]
        .isin(["FAILED", "EXPIRED", "ABORTED", "PARTIAL"])
        .to_numpy(dtype=bool, na_value=False)
    )
    bad = bad & (jobs["job_type"] != "copy").to_numpy(dtype=bool, na_value=True)
    jobs = jobs[bad]
    if not len(jobs):
        return {}
    ridx = index_in(jobs["resource_arn"], ctx.res["resource_arn"])
    created = _ts_us(jobs["created_at"])
    keep = (ridx >= 0) & (created != NONE_TS) & (created <= ctx.now)
    order = np.argsort(created[keep], kind="stable")
    latest = pd.DataFrame(
        {
            "ridx": ridx[keep][order],
            "at": created[keep][order],
            "state": jobs["state"].to_numpy(dtype=object, na_value=None)[keep][order],
        }
    )
    latest = latest.drop_duplicates("ridx", keep="last").set_index("ridx")
    rows = frame["ridx"].to_numpy()
    at = latest["at"].reindex(rows).to_numpy(dtype=float, na_value=np.nan)
    has = ~np.isnan(at)
    return {
        "last_failed_job.state": latest["state"]
        .reindex(rows)
        .to_numpy(dtype=object, na_value=None),
        "last_failed_job.at": us_to_ts(np.where(has, np.nan_to_num(at).astype(np.int64), NONE_TS)),
    }


def _res_created(ctx: Context) -> np.ndarray:
    from auditor.controls.engine import _ts_us

    if "_created" not in ctx.__dict__:
        ctx.__dict__["_created"] = _ts_us(ctx.res["created_at"]) if ctx.n else np.empty(0, np.int64)
    return ctx.__dict__["_created"]


# --- backup-retention -------------------------------------------------------------------------------


def _describe_retention(frame: pd.DataFrame, ctx: Context) -> pd.Series:
    s = _status(frame)
    keep = _fmt(_num(frame, "retention_days"), 0)
    shortest = _fmt(_num(frame, "shortest_lifecycle_days"))
    history = _fmt(_num(frame, "history_days"))
    life_fail = frame["ev.expires_too_soon"].to_numpy(dtype=bool, na_value=False)
    has = frame["ev.oldest_backup"].notna().to_numpy()
    young = frame["ev.younger_than_window"].to_numpy(dtype=bool, na_value=False)
    texts = np.where(
        s == PASS,
        np.where(
            young,
            "Backups are kept at least "
            + keep
            + " days; the resource is younger than the retention window.",
            "Backups are kept at least "
            + keep
            + " days and history reaches back "
            + history
            + " days.",
        ),
        np.where(
            life_fail,
            "A backup is set to expire after "
            + shortest
            + " days, before the "
            + keep
            + " days the plan requires.",
            np.where(
                has,
                "Backup history reaches back only "
                + history
                + " days of the "
                + keep
                + " days the plan requires.",
                "No backup history at all, though the resource is older than the "
                + keep
                + "-day retention window.",
            ),
        ),
    )
    return pd.Series(texts, dtype=object)


@control("backup-retention", "Backups are kept long enough", "medium")
def backup_retention(ctx: Context) -> Part:
    """Backups must be kept for `retention_days`, and the history must really reach back that far.

    FAIL when a completed backup the plan accepts is set to be deleted (lifecycle `delete_at`) less
    than `retention_days` after it was made, or, for a resource older than the retention window, when
    its oldest kept backup is more recent than `as_of - retention_days + one frequency interval`
    (no backup at all counts as no history). Younger resources are judged on the lifecycle only.
    """
    keep_us = ctx.plan_values(lambda p: p.retention_days * US_PER_DAY, dtype=np.int64)
    interval_us = ctx.plan_values(lambda p: int(p.interval.total_seconds() * 1e6), dtype=np.int64)
    min_life = ctx.combine("min_life", "min", NEVER_TS)
    oldest = ctx.combine("oldest", "min", NEVER_TS)
    life_fail = (min_life != NEVER_TS) & (min_life < keep_us)
    created = _res_created(ctx)[ctx.pair_ridx]
    created_known = created != NONE_TS
    res_age = np.where(created_known, ctx.now - created, 0)
    old = ~created_known | (res_age > keep_us)
    has = oldest != NEVER_TS
    need = ctx.now - keep_us + interval_us
    depth_fail = old & (~has | (oldest > need))
    status = np.where(life_fail | depth_fail, FAIL, PASS)
    frame = _pair_frame(
        ctx,
        status,
        retention_days=keep_us / US_PER_DAY,
        shortest_lifecycle_days=_days(min_life, min_life == NEVER_TS),
        oldest_backup=us_to_ts(np.where(has, oldest, NONE_TS)),
        history_days=_days(np.where(has, ctx.now - oldest, 0), ~has),
        oldest_required_by=us_to_ts(np.where(old, need, NONE_TS)),
        resource_age_days=_days(res_age, ~created_known),
        younger_than_window=~old,
        expires_too_soon=life_fail,
        history_too_short=depth_fail,
    )
    return Part("backup-retention", frame, _describe_retention)


# --- backup-max-retention ---------------------------------------------------------------------------


def _describe_max(frame: pd.DataFrame, ctx: Context) -> pd.Series:
    s = _status(frame)
    limit = _fmt(_num(frame, "max_retention_days"), 0)
    oldest = _fmt(_num(frame, "oldest_age_days"))
    longest = _fmt(_num(frame, "longest_lifecycle_days"))
    too_old = (
        frame["ev.kept_past_limit"].to_numpy(dtype=bool, na_value=False)
        if "ev.kept_past_limit" in frame
        else np.zeros(len(frame), bool)
    )
    texts = _select(
        [
            (s == NOT_APPLICABLE, "The plan sets no max_retention_days."),
            (
                s == PASS,
                "No backup is kept past " + limit + " days (oldest is " + oldest + " days old).",
            ),
            (too_old, "A backup is " + oldest + " days old, past the " + limit + "-day maximum."),
        ],
        "A backup is set to be kept " + longest + " days, past the " + limit + "-day maximum.",
    )
    return pd.Series(texts, dtype=object)


@control("backup-max-retention", "Backups are not kept too long", "low")
def backup_max_retention(ctx: Context) -> Part:
    """Backups must not be kept past `max_retention_days` (a cost and data-protection risk).

    FAIL when a completed backup the plan accepts (including copies) is older than
    `max_retention_days`, or its lifecycle keeps it longer. NOT_APPLICABLE when the plan sets no
    maximum.
    """
    limit = ctx.plan_values(lambda p: (p.max_retention_days or 0) * US_PER_DAY, dtype=np.int64)
    applies = ctx.plan_values(lambda p: p.max_retention_days is not None, dtype=bool)
    oldest = ctx.combine("oldest_all", "min", NEVER_TS)
    longest = ctx.combine("max_life_all", "max", NONE_TS)
    has = oldest != NEVER_TS
    age = np.where(has, ctx.now - oldest, 0)
    too_old = has & (age > limit)
    too_long = (longest != NONE_TS) & (longest > limit)
    status = np.where(~applies, NOT_APPLICABLE, np.where(too_old | too_long, FAIL, PASS))
    frame = _pair_frame(
        ctx,
        status,
        max_retention_days=np.where(applies, limit / US_PER_DAY, np.nan),
        oldest_backup=us_to_ts(np.where(has, oldest, NONE_TS)),
        oldest_age_days=_days(age, ~has),
        longest_lifecycle_days=_days(longest, longest == NONE_TS),
        kept_past_limit=too_old & applies,
    )
    return Part("backup-max-retention", frame, _describe_max)


# --- backup-encrypted -------------------------------------------------------------------------------


def _describe_encrypted(frame: pd.DataFrame, ctx: Context) -> pd.Series:
    s = _status(frame)
    count = _fmt(_num(frame, "unencrypted_backups"), 0)
    checked = _fmt(_num(frame, "backups_checked"), 0)
    example = _rp_arns(ctx, frame["example_row"].to_numpy())
    texts = _select(
        [
            (s == NOT_APPLICABLE, "The plan does not require encryption."),
            (s == PASS, "All " + checked + " backups are encrypted."),
        ],
        count + " of " + checked + " backups are unencrypted, e.g. " + example.astype(str) + ".",
    )
    return pd.Series(texts, dtype=object)


@control("backup-encrypted", "Backups are encrypted", "high")
def backup_encrypted(ctx: Context) -> Part:
    """Every backup (recovery point or snapshot, copies included) must be encrypted when the plan says `encrypted: true`.

    FAIL when any completed backup of a kind the plan accepts is unencrypted. NOT_APPLICABLE when
    the plan does not require encryption.
    """
    applies = ctx.plan_values(lambda p: p.encrypted, dtype=bool)
    unenc = ctx.combine("unencrypted", "sum", 0)
    checked = ctx.combine("count_all", "sum", 0)
    example = np.full(len(unenc), -1, dtype=np.int64)
    for k, kind in enumerate(KINDS):
        cand = ctx.unenc_example[k * ctx.n + ctx.pair_ridx] if ctx.n else example
        take = (example < 0) & ctx.accepts(kind)
        example[take] = cand[take]
    status = np.where(~applies, NOT_APPLICABLE, np.where(unenc > 0, FAIL, PASS))
    frame = _pair_frame(ctx, status, unencrypted_backups=unenc, backups_checked=checked)
    frame["example_row"] = np.where(applies, example, -1)
    return Part(
        "backup-encrypted",
        frame,
        _describe_encrypted,
        evidence_hook=lambda f, ctx: {"example": _rp_arns(ctx, f["example_row"].to_numpy())},
    )


def _rp_arns(ctx: Context, rows: np.ndarray) -> np.ndarray:
    """Recovery point ARNs of rows of the recovery_points table (-1 -> None)."""
    out = np.full(len(rows), None, dtype=object)
    has = rows >= 0
    if has.any():
        out[has] = (
            ctx.rp["recovery_point_arn"].iloc[rows[has]].to_numpy(dtype=object, na_value=None)
        )
    return out


# --- vault-lock -------------------------------------------------------------------------------------


_LOCK_PROBLEMS = (
    "Vault {v} is not in the inventory, so its lock cannot be confirmed",
    "Vault {v} holds its recovery points but is not locked",
    "Vault {v}'s lock allows at most {max} days, less than retention_days",
    "Vault {v}'s lock forces at least {min} days, more than max_retention_days",
)


def _describe_lock(frame: pd.DataFrame, ctx: Context) -> pd.Series:
    s = _status(frame)
    vaults = _col(frame, "vaults")
    problem = _col(frame, "problem")
    texts = _select(
        [
            (s == NOT_APPLICABLE, "The plan does not require a locked vault."),
            (
                s == PASS,
                np.array(
                    [f"Its recovery points are in locked vault(s) {v}." for v in vaults],
                    dtype=object,
                ),
            ),
        ],
        np.array([f"{p}." for p in problem], dtype=object),
    )
    return pd.Series(texts, dtype=object)


def _resource_vaults(ctx: Context) -> dict:
    """Distinct (resource, vault) pairs of completed AWS Backup recovery points, with vault facts.

    Vaults are identified by integer keys over (account, region, vault name) codes; the facts of
    the few distinct vaults come from the `vaults` table.
    """
    if "_vaults" in ctx.__dict__:
        return ctx.__dict__["_vaults"]
    rp = ctx.rp
    acc, reg = ctx.copies_all["account_id"], ctx.copies_all["region"]
    needed = np.zeros(ctx.n + 1, dtype=bool)  # last slot: ridx -1
    for p, pl in enumerate(ctx.plans):
        if pl.vault_lock:
            needed[:-1] |= ctx.plan_masks[p]
    keep = (
        ctx.rp_completed
        & needed[ctx.rp_ridx]
        & (ctx.rp_kind == 0)
        & (acc >= 0)
        & (reg >= 0)
        & rp["vault_name"].notna().to_numpy()
    )
    rows = np.flatnonzero(keep)
    # Only the rows that matter are encoded (vault names of a few resources, not of every backup).
    vcode, vnames = (
        encode(arrow_of(rp["vault_name"]).take(pa.array(rows)))
        if len(rows)
        else (np.empty(0, np.int32), [])
    )
    na, nr, nv = len(ctx.account_names), len(ctx.region_names), max(len(vnames), 1)
    vkey = (acc[rows].astype(np.int64) * nr + reg[rows]) * nv + vcode
    width = na * nr * nv
    pair = np.sort(pd.unique(ctx.rp_ridx[rows].astype(np.int64) * width + vkey))
    ridx, vk = pair // width, pair % width
    used = np.sort(pd.unique(vk))
    facts = {
        (r.account_id, r.region, r.vault_name): r
        for r in ctx.inventory["vaults"].itertuples(index=False)
    }
    info = {}
    for k in used:
        rest, v = divmod(int(k), nv)
        a, r = divmod(rest, nr)
        name = (ctx.account_names[a], ctx.region_names[r], vnames[v])
        row = facts.get(name)
        info[int(k)] = {
            "label": f"{vnames[v]} ({ctx.region_names[r]})",
            "name": vnames[v],
            "known": row is not None,
            "locked": bool(row.locked)
            if row is not None and row.locked is not pd.NA and row.locked is not None
            else False,
            "min": float(row.min_retention_days)
            if row is not None and not pd.isna(row.min_retention_days)
            else 0.0,
            "max": float(row.max_retention_days)
            if row is not None and not pd.isna(row.max_retention_days)
            else np.inf,
        }
    starts = np.searchsorted(ridx, np.arange(ctx.n + 1))
    out = {"ridx": ridx, "vk": vk, "starts": starts, "info": info}
    ctx.__dict__["_vaults"] = out
    return out


@control("vault-lock", "Recovery points are in a locked vault", "medium")
def vault_lock(ctx: Context) -> Part:
    """When the plan says `vault_lock: true`, the vaults holding its recovery points must be locked.

    FAIL when any vault holding the resource's AWS Backup recovery points is not locked (or is
    unknown to the inventory), when the lock's bounds conflict with the plan (the vault's maximum
    retention is below `retention_days`, or its minimum above `max_retention_days`), or when no
    recovery point of the resource is in a vault at all. NOT_APPLICABLE when the plan does not ask
    for a lock.
    """
    n_pairs = len(ctx.pair_ridx)
    applies = ctx.plan_values(lambda p: p.vault_lock, dtype=bool)
    status = np.where(applies, FAIL, NOT_APPLICABLE)
    rows = np.flatnonzero(applies)
    vault_bits = np.zeros(n_pairs, dtype=np.int64)
    bad_vault = np.full(n_pairs, -1, dtype=np.int64)
    bad_kind = np.full(n_pairs, -1, dtype=np.int64)
    names: list[str] = []
    if len(rows):
        rv = _resource_vaults(ctx)
        info = rv["info"]
        keys = sorted(info)
        pos = {k: i for i, k in enumerate(keys)}
        names = [info[k]["label"] for k in keys]
        r = ctx.pair_ridx[rows]
        start, stop = rv["starts"][r], rv["starts"][r + 1]
        count = stop - start
        # Expand each pair row to one row per vault of its resource.
        owner = np.repeat(np.arange(len(rows)), count)
        at = np.repeat(start - np.cumsum(count) + count, count) + np.arange(count.sum())
        vk = rv["vk"][at]
        plan = ctx.pair_plan[rows][owner]
        keep_days = np.array([p.retention_days for p in ctx.plans], dtype=float)[plan]
        max_keep = np.array([p.max_retention_days or np.inf for p in ctx.plans], dtype=float)[plan]
        known = np.array([info[int(k)]["known"] for k in keys], dtype=bool)
        locked = np.array([info[int(k)]["locked"] for k in keys], dtype=bool)
        vmin = np.array([info[int(k)]["min"] for k in keys], dtype=float)
        vmax = np.array([info[int(k)]["max"] for k in keys], dtype=float)
        vi = (
            np.array([pos[int(k)] for k in vk], dtype=np.int64)
            if len(vk) < 4096
            else np.searchsorted(np.array(keys), vk)
        )
        kind = np.select(
            [~known[vi], ~locked[vi], vmax[vi] < keep_days, vmin[vi] > max_keep],
            [0, 1, 2, 3],
            default=-1,
        )
        bad = kind >= 0
        any_bad = np.bincount(owner, weights=bad, minlength=len(rows)) > 0
        status[rows] = np.where(count == 0, FAIL, np.where(any_bad, FAIL, PASS))
        first = np.flatnonzero(bad)
        # Name the same vault whatever the encoding: the first bad one by its label.
        rank = np.argsort(np.argsort(np.array(names, dtype=object)))
        first = first[np.lexsort((rank[vi[first]], owner[first]))]
        first = first[np.unique(owner[first], return_index=True)[1]]
        bad_vault[rows[owner[first]]] = vi[first]
        bad_kind[rows[owner[first]]] = kind[first]
        if len(keys) <= 62:
            np.bitwise_or.at(vault_bits, rows[owner], np.left_shift(1, vi).astype(np.int64))
    frame = _pair_frame(ctx, status, vaults=_bits_to_labels(vault_bits, names))
    frame["bad_vault"] = bad_vault
    frame["bad_kind"] = bad_kind

    def problems(f: pd.DataFrame, ctx: Context) -> dict:
        rv = ctx.__dict__.get("_vaults")
        keys = sorted(rv["info"]) if rv else []
        out = np.full(len(f), None, dtype=object)
        for i, (v, k, st) in enumerate(
            zip(f["bad_vault"].to_numpy(), f["bad_kind"].to_numpy(), f["status"].to_numpy())
        ):
            if k >= 0:
                fact = rv["info"][keys[v]]
                out[i] = _LOCK_PROBLEMS[k].format(
                    v=fact["label"], min=f"{fact['min']:g}", max=f"{fact['max']:g}"
                )
            elif st in (FAIL, NOT_ASSESSED, WAIVED):
                out[i] = "None of its recovery points is in an AWS Backup vault"
        return {"problem": out}

    def describe(f: pd.DataFrame, ctx: Context) -> pd.Series:
        f = f.assign(**{"ev.problem": problems(f, ctx)["problem"]})
        return _describe_lock(f, ctx)

    return Part("vault-lock", frame, describe, evidence_hook=problems)


# --- cross-region-copy / cross-account-copy --------------------------------------------------------


def _copy_part(ctx: Context, control_id: str, column: str, getter) -> Part:
    n_pairs = len(ctx.pair_ridx)
    required = [tuple(getter(p)) for p in ctx.plans]
    applies = ctx.plan_values(lambda p: bool(getter(p)), dtype=bool)
    status = np.where(applies, PASS, NOT_APPLICABLE)
    missing = np.zeros(n_pairs, dtype=np.int64)  # bit t set = targets[t] lacks a recent copy
    not_collected = np.zeros(n_pairs, dtype=np.int64)
    allowed = ctx.plan_values(lambda p: p.allowed_age.total_seconds() * 1e6)
    evidence = {}
    copies = ctx.copies
    targets = sorted({t for req in required for t in req})
    collected = None
    if column == "account_id":
        # Accounts whose role could not be assumed were not collected, whatever else lists them.
        failed = set((ctx.inventory.manifest or {}).get("accounts_failed") or [])
        collected = (set(ctx.inventory.accounts) | set(codes_of(ctx.res["account_id"])[1])) - failed
    names = ctx.region_names if column == "region" else ctx.account_names
    needed = np.zeros(ctx.n, dtype=bool)
    for p, pl in enumerate(ctx.plans):
        if getter(pl):
            needed |= ctx.plan_masks[p]
    rows = np.flatnonzero(needed[copies["ridx"]]) if ctx.n and targets else np.empty(0, np.int64)
    where = copies[column][rows]
    copy_key = copies["kind"][rows].astype(np.int64) * ctx.n + copies["ridx"][rows]
    copy_created = copies["created"][rows]
    for t, target in enumerate(targets[:62]):
        newest = np.full(2 * ctx.n, NONE_TS, dtype=np.int64)
        if target in names:
            hit = where == names.index(target)
            np.maximum.at(newest, copy_key[hit], copy_created[hit])
        best = np.full(n_pairs, NONE_TS, dtype=np.int64)
        for k, kind in enumerate(KINDS):
            best = np.maximum(
                best,
                np.where(
                    ctx.accepts(kind),
                    newest[k * ctx.n + ctx.pair_ridx] if ctx.n else NONE_TS,
                    NONE_TS,
                ),
            )
        needs = np.array([target in req for req in required] + [False], dtype=bool)[ctx.pair_plan]
        recent = (best != NONE_TS) & (ctx.now - best <= allowed)
        bad = needs & ~recent
        if collected is not None and target not in collected:
            not_collected |= needs.astype(np.int64) << t
        missing |= bad.astype(np.int64) << t
        status = np.where(bad & (status == PASS), FAIL, status)
        evidence[f"newest_copy__{target}"] = us_to_ts(np.where(needs, best, NONE_TS))
    status = np.where((not_collected != 0) & (status == FAIL), NOT_ASSESSED, status)
    evidence["required"] = _categorical(ctx.pair_plan, [", ".join(r) or None for r in required])
    evidence["missing"] = _bits_to_labels(missing, targets)
    evidence["allowed_age_hours"] = allowed / US_PER_HOUR
    evidence["not_collected"] = _bits_to_labels(not_collected, targets)
    frame = _pair_frame(ctx, status, **evidence)
    noun = "region" if column == "region" else "account"

    def describe(frame: pd.DataFrame, ctx: Context) -> pd.Series:
        s = _status(frame)
        req = _col(frame, "required")
        miss = _col(frame, "missing")
        hours = _fmt(_num(frame, "allowed_age_hours"))
        gone = _col(frame, "not_collected")
        texts = _select(
            [
                (s == NOT_APPLICABLE, f"The plan requires no {noun} copy."),
                (
                    s == PASS,
                    np.array(
                        [
                            f"A copy from the last {h} hours exists in {r}."
                            for h, r in zip(hours, req)
                        ],
                        dtype=object,
                    ),
                ),
                (
                    s == NOT_ASSESSED,
                    np.array(
                        [f"Not assessed: {noun} {g} was not collected." for g in gone], dtype=object
                    ),
                ),
            ],
            np.array(
                [
                    f"No completed copy from the last {h} hours in {noun} {m}."
                    for h, m in zip(hours, miss)
                ],
                dtype=object,
            ),
        )
        return pd.Series(texts, dtype=object)

    return Part(control_id, frame, describe)


@control("cross-region-copy", "Recent copy in each required region", "medium")
def cross_region_copy(ctx: Context) -> Part:
    """A recent copy must exist in every region of the plan's `copy_to.regions`.

    PASS when, for each required region, a COMPLETED recovery point of the resource (of a kind the
    plan accepts) is stored in that region and is no older than frequency + grace. FAIL naming the
    regions without one. NOT_APPLICABLE when the plan requires no region copy.
    """
    return _copy_part(ctx, "cross-region-copy", "region", lambda p: p.copy_to.regions)


@control("cross-account-copy", "Recent copy in each required account", "medium")
def cross_account_copy(ctx: Context) -> Part:
    """A recent copy must exist in every account of the plan's `copy_to.accounts`.

    PASS when, for each required account, a COMPLETED recovery point of the resource is stored in
    that account no older than frequency + grace. FAIL naming the accounts without one;
    NOT_ASSESSED when a required account was not collected; NOT_APPLICABLE when none is required.
    """
    return _copy_part(ctx, "cross-account-copy", "account_id", lambda p: p.copy_to.accounts)


# --- backup-supported -------------------------------------------------------------------------------


def _describe_supported(frame: pd.DataFrame, ctx: Context) -> pd.Series:
    s = _status(frame)
    reason = _col(frame, "reason")
    texts = _select(
        [
            (
                s == NOT_APPLICABLE,
                "The plan accepts only native backups, so it does not rely on AWS Backup.",
            ),
            (
                (s == PASS) & (reason != None),
                np.array(
                    [f"{r}, but the plan also accepts native backups." for r in reason],
                    dtype=object,
                ),
            ),
            (s == PASS, "AWS Backup supports this resource type."),
        ],
        np.array([f"{r}, and the plan accepts only AWS Backup." for r in reason], dtype=object),
    )
    return pd.Series(texts, dtype=object)


@control("backup-supported", "AWS Backup supports the resource", "high")
def backup_supported(ctx: Context) -> Part:
    """A plan that relies on AWS Backup must not select a type AWS Backup does not support.

    The supported-type matrix is data (`auditor/policy/supported_types.json`, overridable with
    `aws_backup_support:` in a policy); by default every type is supported except Aurora. FAIL when
    the plan accepts only aws-backup backups and the resource is unsupported; PASS when supported or
    when the plan also accepts native backups; NOT_APPLICABLE when it accepts only native ones.
    """
    d = ctx.deployed
    aws = ctx.accepts("aws-backup")
    native = ctx.accepts("native")
    status = np.where(~aws, NOT_APPLICABLE, np.where(d["supported"] | native, PASS, FAIL))
    reason = np.where(d["supported"], None, d["unsupported_reason"])
    frame = _pair_frame(
        ctx, status, supported=d["supported"], reason=reason, native_accepted=native
    )
    return Part("backup-supported", frame, _describe_supported)


# --- orphaned-backup --------------------------------------------------------------------------------


def _collected_pairs(ctx: Context) -> set[tuple[str, str]]:
    """(account, region) pairs that were collected: the manifest's, and any seen in the data."""
    manifest = ctx.inventory.manifest or {}
    accounts, regions = manifest.get("accounts") or [], manifest.get("regions") or []
    pairs = {(a, r) for a in accounts for r in regions}
    sources = [
        (
            ctx.copies_all["account_id"],
            ctx.account_names,
            ctx.copies_all["region"],
            ctx.region_names,
        )
    ]
    if ctx.n:
        sources.append((*codes_of(ctx.res["account_id"]), *codes_of(ctx.res["region"])))
    for acc, acc_names, reg, reg_names in sources:
        ok = (acc >= 0) & (reg >= 0)
        for k in np.unique(
            np.bincount(acc[ok].astype(np.int64) * (len(reg_names) + 1) + reg[ok]).nonzero()[0]
        ):
            a, r = divmod(int(k), len(reg_names) + 1)
            pairs.add((acc_names[a], reg_names[r]))
    return pairs


def _describe_orphan(frame: pd.DataFrame, ctx: Context) -> pd.Series:
    s = _status(frame)
    rp = _rp_rows(ctx, frame["rp_row"].to_numpy())
    source = rp["resource_arn"].to_numpy(dtype=object, na_value=None)
    size = _fmt(rp["size_bytes"].to_numpy(dtype=float, na_value=np.nan) / 1024**3, 2)
    created = (
        pd.to_datetime(rp["created_at"], utc=True)
        .dt.strftime("%Y-%m-%d %H:%M UTC")
        .to_numpy(dtype=object, na_value="?")
    )
    texts = np.where(
        s == NOT_ASSESSED,
        "Not assessed: the source resource's account and region were not collected.",
        "Backup of "
        + source.astype(str)
        + ", which no longer exists ("
        + size
        + " GB, made "
        + created
        + ").",
    )
    return pd.Series(texts, dtype=object)


def _orphan_costs(frame: pd.DataFrame, ctx: Context) -> dict:
    """Monthly cost per orphaned backup, from the metering module's price table (best effort)."""
    try:
        from auditor.inventory import Inventory
        from auditor.metering import load_prices, meter

        arns = set(frame["resource_arn"].dropna())
        rp = ctx.rp[ctx.rp["recovery_point_arn"].isin(arns)]
        tables = dict(ctx.inventory.tables)
        tables["recovery_points"] = rp
        result = meter(
            Inventory(tables=tables, manifest=ctx.inventory.manifest), load_prices(), ctx.as_of
        )
        costs = result.orphans.set_index("recovery_point_arn")["monthly_cost_usd"]
        costs = costs[~costs.index.duplicated()]
        return {
            "monthly_cost_usd": frame["resource_arn"]
            .map(costs)
            .to_numpy(dtype=float, na_value=np.nan)
        }
    except Exception:  # pricing is an extra: a finding must never depend on it
        return {}


@control("orphaned-backup", "Backup of a resource that no longer exists", "low", per="backup")
def orphaned_backup(ctx: Context) -> Part:
    """A backup whose source resource no longer exists is reported, one finding per backup.

    FAIL for every kept backup (any status but FAILED or DELETING) of a resource type the inventory
    collects whose source ARN is not among the collected resources, with its size and estimated
    monthly cost. NOT_ASSESSED when the source's account and region were not collected (the source
    may exist) or their listing failed.
    """
    rp = ctx.rp
    # Only backups of no known resource can be orphans: narrow to those rows before any string work.
    # A boolean mask filters Arrow columns chunk by chunk; positional take would first copy them whole.
    unknown = ctx.rp_ridx < 0
    rows = np.flatnonzero(unknown)
    cand = rp[
        ["recovery_point_arn", "resource_arn", "resource_type", "account_id", "region", "status"]
    ][unknown]
    ok = (
        cand["resource_arn"].notna().to_numpy()
        & cand["resource_type"].isin(list(RESOURCE_TYPES)).to_numpy(dtype=bool, na_value=False)
        & ~cand["status"].isin(["FAILED", "DELETING"]).to_numpy(dtype=bool, na_value=False)
    )
    idx = rows[ok]
    sub = cand[ok]
    src = arrow_of(sub["resource_arn"]).cast(pa.string())
    pieces = pc.split_pattern(src, ":", max_splits=5)
    src_region = (
        pc.list_element(pieces, 3)
        if len(sub) and pc.min(pc.list_value_length(pieces)).as_py() > 4
        else None
    )
    if src_region is None and len(sub):
        # Some ARNs are malformed: pad every list so positions 3 and 4 exist.
        safe = [
            p if p is not None and len(p) > 4 else ["", "", "", "", ""] for p in pieces.to_pylist()
        ]
        pieces = pa.array(safe, type=pa.list_(pa.string()))
        src_region = pc.list_element(pieces, 3)
    src_account = pc.list_element(pieces, 4) if len(sub) else pa.array([], pa.string())
    if src_region is None:
        src_region = pa.array([], pa.string())
    located = pc.binary_join_element_wise(src_account, src_region, "|")
    pairs = pa.array(sorted(f"{a}|{r}" for a, r in _collected_pairs(ctx)), type=pa.string())
    known = pc.is_in(located, value_set=pairs).fill_null(False).to_numpy(zero_copy_only=False)
    src_account = np.asarray(src_account.to_numpy(zero_copy_only=False), dtype=object)
    src_region = np.asarray(src_region.to_numpy(zero_copy_only=False), dtype=object)
    na_error = np.full(len(sub), -1, dtype=np.int64)
    rtype = sub["resource_type"].astype("str")
    for i, e in enumerate(ctx.errors.itertuples(index=False)):
        hit = np.ones(len(sub), dtype=bool)
        if isinstance(e.account_id, str) and e.account_id not in ("", "*", "global"):
            hit &= src_account == e.account_id
        if isinstance(e.region, str) and e.region not in ("", "*", "global"):
            hit &= src_region == e.region
        affects = {a.strip() for a in str(e.affects or "*").split(",") if a.strip()}
        if "*" not in affects:
            hit &= rtype.isin(sorted(affects)).to_numpy(dtype=bool, na_value=False)
        na_error[hit & (na_error < 0)] = i
    status = np.where(~known | (na_error >= 0), NOT_ASSESSED, FAIL)
    frame = pd.DataFrame(
        {
            "ridx": np.full(len(sub), -1, dtype=np.int64),
            "plan": np.full(len(sub), -1, dtype=np.int16),
            "status": status.astype(np.int8),
            "resource_arn": sub["recovery_point_arn"].to_numpy(),
            "resource_type": sub["resource_type"].to_numpy(),
            "account_id": sub["account_id"].to_numpy(),
            "region": sub["region"].to_numpy(),
            "na_error": na_error,
            "source_arn": sub["resource_arn"].to_numpy(),
            "rp_row": idx,
        }
    )
    return Part("orphaned-backup", frame, _describe_orphan, evidence_hook=_orphan_evidence)


def _rp_rows(ctx: Context, rows: np.ndarray) -> pd.DataFrame:
    """Rows of recovery_points by position (ascending), filtered by mask to avoid whole-column copies."""
    if len(rows) and np.all(np.diff(rows) > 0):
        mask = np.zeros(len(ctx.rp), dtype=bool)
        mask[rows] = True
        return ctx.rp[mask]
    return ctx.rp.iloc[rows]


def _orphan_evidence(frame: pd.DataFrame, ctx: Context) -> dict:
    """The orphan's facts, read from its recovery_points row only when findings are written."""
    rows = frame["rp_row"].to_numpy()
    rp = _rp_rows(ctx, rows)
    out = {
        "recovery_point_arn": rp["recovery_point_arn"].to_numpy(dtype=object, na_value=None),
        "source_resource_arn": rp["resource_arn"].to_numpy(dtype=object, na_value=None),
        "backup_type": rp["backup_type"].to_numpy(dtype=object, na_value=None),
        "source": np.array(KINDS, dtype=object)[ctx.rp_kind[rows]]
        if len(rows)
        else np.empty(0, object),
        "created_by": rp["created_by"].to_numpy(dtype=object, na_value=None),
        "status": rp["status"].to_numpy(dtype=object, na_value=None),
        "created_at": pd.to_datetime(rp["created_at"], utc=True).reset_index(drop=True),
        "size_gb": rp["size_bytes"].to_numpy(dtype=float, na_value=np.nan) / 1024**3,
        "storage_class": rp["storage_class"].to_numpy(dtype=object, na_value=None),
        "vault_name": rp["vault_name"].to_numpy(dtype=object, na_value=None),
        "delete_at": pd.to_datetime(rp["delete_at"], utc=True).reset_index(drop=True),
    }
    out.update(_orphan_costs(frame, ctx))
    return out
