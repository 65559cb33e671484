"""The compliance engine: prepare the inventory once, run every control, apply errors and waivers.

Everything is column-wise. Resources are numbered 0..n-1 (`ridx`); plans 0..p-1. A plan's
selection is a boolean mask over resources; the (resource, plan) pairs it yields are the rows most
controls judge. Recovery points are mapped to `ridx` once and aggregated per (resource, kind of
backup) with one groupby, so a control reads arrays, never loops over resources.

Controls return compact `Part`s (codes and evidence columns); `Findings.frame` turns them into the
DESIGN §4 rows (with the one-sentence `detail` and the `evidence` object) only when asked, so the
verdicts and the summary of a million resources cost no string formatting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditor.inventory import Inventory
from auditor.policy.columns import arrow_of, codes_of, index_in
from auditor.policy.loader import PolicySet
from auditor.policy.selection import TagView, spec_mask, wildcard_regex

__all__ = ["FINDING_COLUMNS", "STATUSES", "Context", "Findings", "Part", "run_controls"]

STATUSES = ("PASS", "FAIL", "WAIVED", "NOT_APPLICABLE", "NOT_ASSESSED")
PASS, FAIL, WAIVED, NOT_APPLICABLE, NOT_ASSESSED = range(5)
FINDING_COLUMNS = (
    "resource_arn",
    "resource_type",
    "account_id",
    "region",
    "control_id",
    "status",
    "severity",
    "plan",
    "detail",
    "evidence",
)
KINDS = ("aws-backup", "native")
NONE_TS = np.iinfo(np.int64).min  # "no backup" in max-aggregates
NEVER_TS = np.iinfo(np.int64).max  # "no backup" in min-aggregates
US_PER_DAY = 86_400_000_000
US_PER_HOUR = 3_600_000_000
_WILDCARD_LOCATIONS = {None, "", "*", "global"}
# Failed calls that gather backups only (native snapshot/backup listings, AWS Backup's recovery
# points, jobs and vaults). A control that reads none of that data keeps its verdict when only
# they failed: a volume's coverage does not depend on whether its snapshots could be listed.
_BACKUP_DATA_CALLS = frozenset(
    {
        ("ec2", "DescribeSnapshots"),
        ("rds", "DescribeDBSnapshots"),
        ("rds", "DescribeDBClusterSnapshots"),
        ("dynamodb", "ListBackups"),
        ("backup", "ListRecoveryPointsByBackupVault"),
        ("backup", "ListRecoveryPointsByResource"),
        ("backup", "DescribeRecoveryPoint"),
        ("backup", "ListBackupJobs"),
        ("backup", "ListCopyJobs"),
        ("backup", "ListBackupVaults"),
        ("backup", "DescribeBackupVault"),
    }
)
# AWS Backup's configuration (plans, rules, selections, opt-in settings): only plan-deployed reads it.
_PLAN_CONFIG_CALLS = frozenset(
    {
        ("backup", "ListBackupPlans"),
        ("backup", "GetBackupPlan"),
        ("backup", "ListBackupSelections"),
        ("backup", "GetBackupSelection"),
        ("backup", "DescribeRegionSettings"),
    }
)
# What each control does NOT read (service, operation); errors of those calls leave it assessed.
# resource-covered reads resources and tags; backup-supported the resource type; plan-deployed
# also AWS Backup's plans, selections, region settings and the native schedules.
IGNORED_ERRORS = {
    "resource-covered": _BACKUP_DATA_CALLS
    | {("backup", "*"), ("dynamodb", "DescribeContinuousBackups")},
    "backup-supported": _BACKUP_DATA_CALLS
    | {("backup", "*"), ("dynamodb", "DescribeContinuousBackups")},
    "plan-deployed": _BACKUP_DATA_CALLS,
    **{
        cid: _PLAN_CONFIG_CALLS
        for cid in (
            "backup-recency",
            "backup-retention",
            "backup-max-retention",
            "backup-encrypted",
            "vault-lock",
            "cross-region-copy",
            "cross-account-copy",
        )
    },
}


def _ts_us(series: pd.Series) -> np.ndarray:
    """int64 microseconds since the epoch (NaT -> NONE_TS, which is int64's minimum)."""
    if not isinstance(series.dtype, pd.DatetimeTZDtype):
        series = pd.to_datetime(series, utc=True)
    return np.asarray(series.array.as_unit("us").asi8, dtype=np.int64)


def us_to_ts(values: np.ndarray) -> pd.Series:
    """Inverse of `_ts_us` for evidence: sentinels become NaT."""
    arr = np.asarray(values, dtype=np.int64).copy()
    bad = (arr == NONE_TS) | (arr == NEVER_TS)
    arr[bad] = np.iinfo(np.int64).min
    return pd.Series(arr.view("datetime64[us]")).dt.tz_localize("UTC")


@dataclass
class Part:
    """One control's verdicts, compact.

    `frame` has ``ridx`` (resource number, -1 for rows about something else, which then carry
    ``resource_arn``, ``resource_type``, ``account_id``, ``region`` themselves), ``plan`` (plan
    number or -1), ``status`` (index into STATUSES) and evidence columns named ``ev.<name>``
    (``ev.a.b`` nests). `describe(frame, ctx)` returns the one-sentence detail per row.
    """

    control_id: str
    frame: pd.DataFrame
    describe: Callable[[pd.DataFrame, Context], pd.Series]
    # Optional: more evidence computed only when findings are materialised (e.g. costs).
    evidence_hook: Callable[[pd.DataFrame, Context], dict] | None = None


class Context:
    """The inventory and policies prepared once for every control (pure data, fixed `as_of`)."""

    def __init__(self, inventory: Inventory, policies: PolicySet, as_of: datetime):
        if as_of.tzinfo is None:
            as_of = as_of.replace(tzinfo=UTC)
        self.as_of = as_of.astimezone(UTC)
        self.now = (self.as_of - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
        self.inventory = inventory
        self.policies = policies
        self.plans = list(policies.plans)
        self.res = inventory.resources.reset_index(drop=True)
        self.n = len(self.res)
        self.view = TagView(self.res["resource_arn"], inventory["tags"])
        self._scope()
        self._pairs()
        self._recovery_points()
        self._errors()

    # --- scope and selection -----------------------------------------------------------------------

    def _scope(self) -> None:
        res, scope = self.res, self.policies.scope
        n = self.n
        reason = np.full(n, None, dtype=object)
        rtype = res["resource_type"].astype("str")
        type_ok = rtype.isin(list(scope.resource_types)).to_numpy(dtype=bool, na_value=False).copy()
        reason[~type_ok] = "its type is not in the policy's scope"
        if scope.accounts:
            ok = res["account_id"].isin(list(scope.accounts)).to_numpy(dtype=bool, na_value=False)
            reason[~ok & (reason == None)] = "its account is not in the policy's scope"  # noqa: E711
            type_ok = type_ok & ok
        if scope.regions:
            ok = res["region"].isin(list(scope.regions)).to_numpy(dtype=bool, na_value=False)
            reason[~ok & (reason == None)] = "its region is not in the policy's scope"  # noqa: E711
            type_ok = type_ok & ok
        excluded = np.zeros(n, dtype=bool)
        for key, value in scope.exclude_tags:
            hit = self.view.value_in(key, lambda v, value=value: v == value) & ~excluded
            reason[hit & (reason == None)] = f"it is excluded by its tag {key}={value}"  # noqa: E711
            excluded |= hit
        engine = res["engine"].astype("str")
        # An Aurora DB instance is backed up as part of its cluster, never on its own.
        member = (
            (rtype == "rds-instance") & engine.str.startswith("aurora") & res["parent_arn"].notna()
        ).to_numpy(dtype=bool, na_value=False)
        reason[member & (reason == None)] = (
            "it is an Aurora instance, protected through its cluster"
        )
        self.in_scope = type_ok & ~excluded & ~member
        self.scope_reason = reason

    def _pairs(self) -> None:
        ridx, plan = [], []
        self.plan_masks = []
        for p, pl in enumerate(self.plans):
            mask = spec_mask(pl.spec, self.res, self.view) & self.in_scope
            self.plan_masks.append(mask)
            hit = np.flatnonzero(mask)
            ridx.append(hit)
            plan.append(np.full(len(hit), p, dtype=np.int16))
        self.pairs = pd.DataFrame(
            {
                "ridx": np.concatenate(ridx) if ridx else np.empty(0, np.int64),
                "plan": np.concatenate(plan) if plan else np.empty(0, np.int16),
            }
        )
        self.pair_ridx = self.pairs["ridx"].to_numpy()
        self.pair_plan = self.pairs["plan"].to_numpy()

    def plan_values(self, getter: Callable[[Any], Any], dtype=float) -> np.ndarray:
        """Per pair, a plan attribute (e.g. its allowed age in µs)."""
        table = np.array([getter(p) for p in self.plans] or [0], dtype=dtype)
        return table[self.pair_plan] if len(self.pair_plan) else np.empty(0, dtype=dtype)

    def accepts(self, kind: str) -> np.ndarray:
        """Per pair: does the plan accept backups of `kind` (aws-backup | native)?"""
        return self.plan_values(lambda p: kind in p.accept, dtype=bool)

    # --- recovery points ---------------------------------------------------------------------------

    def _recovery_points(self) -> None:
        rp = self.inventory.recovery_points
        ridx = (
            index_in(rp["resource_arn"], self.res["resource_arn"])
            if len(rp)
            else np.empty(0, np.int64)
        )
        kind = ((rp["source"] == "aws-backup") | (rp["created_by"] == "aws-backup")).to_numpy(
            dtype=bool, na_value=False
        )
        kind = np.where(kind, 0, 1).astype(np.int8)  # 0 aws-backup, 1 native
        created = _ts_us(rp["created_at"])
        delete = _ts_us(rp["delete_at"])
        completed = (
            (rp["status"] == "COMPLETED").to_numpy(dtype=bool, na_value=False)
            & (created != NONE_TS)
            & (created <= self.now)
        )
        primary = rp["copy_source_arn"].isna().to_numpy(dtype=bool)
        self.rp = rp
        self.rp_ridx = ridx
        self.rp_kind = kind
        self.rp_created = created
        self.rp_delete = delete
        self.rp_completed = completed

        keep = np.flatnonzero(completed & (ridx >= 0))
        n = self.n
        key = kind[keep].astype(np.int64) * n + ridx[keep]
        life = np.where(delete[keep] != NONE_TS, delete[keep] - created[keep], NONE_TS)
        unencrypted = rp["encrypted"].eq(False).to_numpy(dtype=bool, na_value=False)[keep]
        self.agg = _aggregate(key, created[keep], primary[keep], life, unencrypted, 2 * n)
        region_codes, self.region_names = codes_of(rp["region"])
        account_codes, self.account_names = codes_of(rp["account_id"])
        # Completed backups of existing resources, by where they are stored (copy controls).
        self.copies = {
            "ridx": ridx[keep],
            "kind": kind[keep],
            "region": region_codes[keep],
            "account_id": account_codes[keep],
            "created": created[keep],
        }
        self.copies_all = {"region": region_codes, "account_id": account_codes}
        # One unencrypted example per (kind, resource): its row in `rp`, resolved to an ARN on output.
        self.unenc_example = np.full(2 * n, -1, dtype=np.int64)
        rows = keep[unencrypted]
        self.unenc_example[key[unencrypted][::-1]] = rows[::-1]

    def combine(self, name: str, how: str, sentinel: int) -> np.ndarray:
        """Per pair: aggregate `name` over the kinds of backup the pair's plan accepts."""
        arr = self.agg[name]
        out = np.full(len(self.pair_ridx), sentinel, dtype=arr.dtype)
        for k, kind in enumerate(KINDS):
            vals = arr[k * self.n + self.pair_ridx]
            vals = np.where(self.accepts(kind), vals, sentinel)
            out = (np.maximum if how == "max" else np.minimum if how == "min" else np.add)(
                out, vals
            )
        return out

    # --- collection errors -------------------------------------------------------------------------

    def _errors(self) -> None:
        errors = self.inventory.errors.reset_index(drop=True)
        self.errors = errors
        self.na_error = np.full(self.n, -1, dtype=np.int64)
        for i, row in enumerate(errors.itertuples(index=False)):
            self.na_error[self._error_mask(row) & (self.na_error < 0)] = i

    def na_error_for(self, control_id: str) -> np.ndarray:
        """`na_error` counting only the failed calls whose data `control_id` reads."""
        ignored = IGNORED_ERRORS.get(control_id)
        if not ignored or not len(self.errors):
            return self.na_error
        cache = self.__dict__.setdefault("_na_by_control", {})
        if control_id not in cache:
            keep = np.array(
                [
                    (str(s), str(o)) not in ignored and (str(s), "*") not in ignored
                    for s, o in zip(self.errors["service"], self.errors["operation"])
                ],
                dtype=bool,
            )
            out = np.full(self.n, -1, dtype=np.int64)
            if keep.any():
                # Re-rank: the first relevant error per resource, as `_errors` does for all of them.
                rows = list(self.errors.itertuples(index=False))
                for i in np.flatnonzero(keep):
                    out[self._error_mask(rows[i]) & (out < 0)] = i
            cache[control_id] = out
        return cache[control_id]

    def _error_mask(self, row) -> np.ndarray:
        """Resources a failed call may have left incomplete (its account, region and `affects` types)."""
        mask = np.ones(self.n, dtype=bool)
        if row.account_id not in _WILDCARD_LOCATIONS and isinstance(row.account_id, str):
            mask &= (self.res["account_id"] == row.account_id).to_numpy(dtype=bool, na_value=False)
        if row.region not in _WILDCARD_LOCATIONS and isinstance(row.region, str):
            mask &= (self.res["region"] == row.region).to_numpy(dtype=bool, na_value=False)
        affects = {a.strip() for a in str(row.affects or "*").split(",") if a.strip()}
        if "*" not in affects:
            mask &= (
                self.res["resource_type"]
                .astype("str")
                .isin(sorted(affects))
                .to_numpy(dtype=bool, na_value=False)
            )
        return mask

    def error_text(self, i: int) -> str:
        """One phrase naming a failed collection call."""
        row = self.errors.iloc[int(i)]
        where = ", ".join(
            str(x) for x in (row["account_id"], row["region"]) if isinstance(x, str) and x
        )
        return f"{row['service']}:{row['operation']} failed ({row['error_code']}) in {where or 'every region'}"

    # --- deployed AWS Backup coverage (plan-deployed, vault-lock) ---------------------------------

    @cached_property
    def deployed(self) -> dict[str, np.ndarray]:
        """Per pair: is there a deployed AWS Backup selection+rule at least as frequent and long-kept?"""
        from auditor.controls.deployed import deployed_coverage

        return deployed_coverage(self)


def _aggregate(
    key: np.ndarray,
    created: np.ndarray,
    primary: np.ndarray,
    life: np.ndarray,
    unencrypted: np.ndarray,
    size: int,
) -> dict[str, np.ndarray]:
    """Per key (kind * n + ridx): newest/oldest primary, lifecycle bounds, counts, unencrypted.

    Unbuffered ufunc.at / bincount: O(rows), no sort and no hash table.
    """
    out = {
        "newest": np.full(size, NONE_TS, dtype=np.int64),
        "oldest": np.full(size, NEVER_TS, dtype=np.int64),
        "oldest_all": np.full(size, NEVER_TS, dtype=np.int64),
        "min_life": np.full(size, NEVER_TS, dtype=np.int64),
        "max_life_all": np.full(size, NONE_TS, dtype=np.int64),
    }
    out["count_all"] = np.bincount(key, minlength=size).astype(np.int64)
    out["unencrypted"] = np.bincount(key, weights=unencrypted, minlength=size).astype(np.int64)
    if not len(key):
        out["count"] = np.zeros(size, dtype=np.int64)
        return out
    np.minimum.at(out["oldest_all"], key, created)
    has_life = life != NONE_TS
    np.maximum.at(out["max_life_all"], key[has_life], life[has_life])
    pk = key[primary]
    out["count"] = np.bincount(pk, minlength=size).astype(np.int64)
    np.maximum.at(out["newest"], pk, created[primary])
    np.minimum.at(out["oldest"], pk, created[primary])
    pl = primary & has_life
    np.minimum.at(out["min_life"], key[pl], life[pl])
    return out


# --- findings -------------------------------------------------------------------------------------


def _status_counts(codes: np.ndarray) -> dict[str, int]:
    counts = (
        np.bincount(codes.astype(np.int64), minlength=len(STATUSES))
        if len(codes)
        else np.zeros(len(STATUSES), int)
    )
    return {STATUSES[i]: int(c) for i, c in enumerate(counts) if c}


class Findings:
    """The verdicts of one check: `frame` (DESIGN §4 rows), `summary` (counts), `as_of`."""

    def __init__(
        self,
        as_of: datetime,
        parts: list[Part] | None = None,
        ctx: Context | None = None,
        frame: pd.DataFrame | None = None,
        summary: dict | None = None,
    ):
        self.as_of = as_of
        self._parts = parts or []
        self._ctx = ctx
        self._frame = frame
        self._arrow = None
        self.summary = summary if summary is not None else self._summarise()

    def __len__(self) -> int:
        return self.summary.get("total", 0)

    @property
    def has_failures(self) -> bool:
        """True when any finding is FAIL (the CLI's exit 3)."""
        return self.summary.get("by_status", {}).get("FAIL", 0) > 0

    def _summarise(self) -> dict:
        if self._frame is not None:
            return summarise_frame(self._frame)
        ctx = self._ctx
        k = len(STATUSES)
        acc_codes, acc_names = (
            codes_of(ctx.res["account_id"]) if ctx.n else (np.empty(0, np.int32), [])
        )
        reg_codes, reg_names = codes_of(ctx.res["region"]) if ctx.n else (np.empty(0, np.int32), [])
        by_status = np.zeros(k, dtype=np.int64)
        by_plan = np.zeros((len(ctx.plans), k), dtype=np.int64)
        by_acc = np.zeros((len(acc_names) + 1, k), dtype=np.int64)  # last row: unknown
        by_reg = np.zeros((len(reg_names) + 1, k), dtype=np.int64)
        by_control: dict = {}
        extra_acc: dict = {}
        extra_reg: dict = {}
        for part in self._parts:
            f = part.frame
            status = f["status"].to_numpy().astype(np.int64)
            counts = np.bincount(status, minlength=k)
            by_status += counts
            by_control[part.control_id] = {STATUSES[i]: int(c) for i, c in enumerate(counts) if c}
            plan = f["plan"].to_numpy().astype(np.int64)
            has_plan = plan >= 0
            if has_plan.any():
                by_plan += np.bincount(
                    plan[has_plan] * k + status[has_plan], minlength=len(ctx.plans) * k
                ).reshape(-1, k)
            ridx = f["ridx"].to_numpy()
            own = ridx >= 0
            for codes, names, table in (
                (acc_codes, acc_names, by_acc),
                (reg_codes, reg_names, by_reg),
            ):
                c = codes[ridx[own]].astype(np.int64) if len(codes) else np.empty(0, np.int64)
                c = np.where(c < 0, len(names), c)
                table += np.bincount(c * k + status[own], minlength=(len(names) + 1) * k).reshape(
                    -1, k
                )
            if (~own).any():
                for col, extra in (("account_id", extra_acc), ("region", extra_reg)):
                    labels = (
                        f[col].to_numpy(dtype=object)[~own]
                        if col in f
                        else np.full((~own).sum(), None, object)
                    )
                    for label, st in zip(labels, status[~own]):
                        slot = extra.setdefault(
                            label if isinstance(label, str) and label else "unknown", {}
                        )
                        slot[STATUSES[st]] = slot.get(STATUSES[st], 0) + 1

        def table_dict(table, names, extra):
            out: dict = {}
            for i, name in enumerate(list(names) + ["unknown"]):
                row = {STATUSES[j]: int(c) for j, c in enumerate(table[i]) if c}
                if row:
                    out[name] = row
            for name, row in extra.items():
                slot = out.setdefault(name, {})
                for st, c in row.items():
                    slot[st] = slot.get(st, 0) + c
            return dict(sorted(out.items()))

        plans = {}
        for i, plan in enumerate(ctx.plans):
            row = {STATUSES[j]: int(c) for j, c in enumerate(by_plan[i]) if c}
            if row:
                plans[plan.name] = row
        return {
            "total": int(by_status.sum()),
            "by_status": {STATUSES[i]: int(c) for i, c in enumerate(by_status) if c},
            "by_control": by_control,
            "by_plan": plans,
            "by_account": table_dict(by_acc, acc_names, extra_acc),
            "by_region": table_dict(by_reg, reg_names, extra_reg),
            "resources": int(ctx.n),
            "resources_in_scope": int(ctx.in_scope.sum()),
            "plans": [p.name for p in ctx.plans],
        }

    @property
    def frame(self) -> pd.DataFrame:
        """One row per finding with DESIGN §4's columns (built on first access)."""
        if self._frame is None:
            self._frame = _materialise(self._parts, self._ctx, self.arrow())
        return self._frame

    def arrow(self) -> pa.Table | None:
        """The findings as an Arrow table (`evidence` as JSON text), or None when read back from disk."""
        if self._arrow is None and self._ctx is not None:
            self._arrow = materialise_arrow(self._parts, self._ctx)
        return self._arrow


def summarise_frame(frame: pd.DataFrame) -> dict:
    """The summary of a findings frame (used when findings are read back from disk)."""

    def counts(col: str) -> dict:
        if not len(frame):
            return {}
        table = frame.groupby([frame[col].fillna("unknown"), "status"]).size()
        out: dict = {}
        for (k, s), c in table.items():
            out.setdefault(k, {})[s] = int(c)
        return dict(sorted(out.items()))

    by_status = frame["status"].value_counts().to_dict() if len(frame) else {}
    return {
        "total": len(frame),
        "by_status": {s: int(by_status[s]) for s in STATUSES if s in by_status},
        "by_control": counts("control_id"),
        "by_plan": counts("plan") if len(frame) and frame["plan"].notna().any() else {},
        "by_account": counts("account_id"),
        "by_region": counts("region"),
    }


_CONTROL_CHARS = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]"


def json_quote(values: pa.Array) -> pa.Array:
    """JSON string literals of a string array, vectorised (null -> null, not "null")."""
    values = values.cast(pa.string())
    if len(values) and pc.any(pc.match_substring_regex(values, '["\\\\\\x00-\\x1f]')).as_py():
        values = _escape(values)
    return pc.binary_join_element_wise('"', values, '"', "")


def _escape(values):
    values = pc.replace_substring(values, "\\", "\\\\")
    values = pc.replace_substring(values, '"', '\\"')
    values = pc.replace_substring(values, "\n", "\\n")
    values = pc.replace_substring(values, "\r", "\\r")
    values = pc.replace_substring(values, "\t", "\\t")
    return pc.replace_substring_regex(values, _CONTROL_CHARS, " ")


def _json_values(col: pd.Series) -> pa.Array:
    """A JSON value per row (as text; null where the value is missing) for one evidence column."""
    if isinstance(col.dtype, pd.DatetimeTZDtype) or str(col.dtype).startswith("datetime64"):
        stamps = pa.array(
            pd.to_datetime(col, utc=True).dt.tz_convert(None).astype("datetime64[s]"),
            from_pandas=True,
        )
        return json_quote(pc.strftime(stamps, "%Y-%m-%dT%H:%M:%SZ"))
    if pd.api.types.is_bool_dtype(col.dtype):
        arr = pa.array(col.astype("boolean"), type=pa.bool_(), from_pandas=True)
        return pc.if_else(arr, "true", "false")
    if pd.api.types.is_float_dtype(col.dtype):
        vals = col.to_numpy(dtype=float, na_value=np.nan)  # float32 evidence widens to float64 here
        bad = ~np.isfinite(vals)
        arr = pa.array(np.round(np.where(bad, 0.0, vals), 2), mask=bad)
        return pc.cast(arr, pa.string())
    if pd.api.types.is_integer_dtype(col.dtype):
        return pc.cast(pa.array(col, type=pa.int64(), from_pandas=True), pa.string())
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = pa.array([str(c) for c in col.cat.categories], type=pa.string())
        codes = col.cat.codes.to_numpy()
        text = (
            pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0), cats).cast(pa.string())
            if len(cats)
            else pa.nulls(len(col), pa.string())
        )
        return json_quote(text)
    values = col.to_numpy(dtype=object, na_value=None)
    if (
        values.dtype == object
        and len(values)
        and any(isinstance(v, (bool, np.bool_)) for v in values[:1])
    ):
        return pc.if_else(pa.array(values, type=pa.bool_()), "true", "false")
    return json_quote(
        pa.array([None if v is None else str(v) for v in values], type=pa.string())
        if len(values) and not isinstance(values[0], (str, type(None)))
        else pa.array(values, type=pa.string(), from_pandas=True)
    )


def evidence_json(ev: pd.DataFrame) -> pa.Array:
    """One JSON object (text) per row from evidence columns (nulls dropped, ``a.b`` nested)."""
    n = len(ev)
    if ev.shape[1] == 0:
        return pa.array(["{}"] * n, type=pa.string())
    groups: dict[str, list[str]] = {}
    for name in ev.columns:
        head = name.split(".", 1)[0]
        groups.setdefault(head, []).append(name)
    fragments = []
    for head, names in groups.items():
        if names == [head]:
            value = _json_values(ev[head])
        else:
            inner = [
                pc.binary_join_element_wise(
                    json_quote(pa.array([name.split(".", 1)[1]] * n)), _json_values(ev[name]), ": "
                )
                for name in names
            ]
            body = _join_skip(inner, n)
            body = pc.if_else(pc.equal(body, ""), pa.nulls(n, pa.string()), body)
            value = pc.binary_join_element_wise("{", body, "}", "")
        fragments.append(pc.binary_join_element_wise(json_quote(pa.array([head] * n)), value, ": "))
    return pc.binary_join_element_wise("{", _join_skip(fragments, n), "}", "")


def _join_skip(arrays: list, n: int) -> pa.Array:
    """Join string arrays row-wise with ", ", skipping nulls (all null -> "").

    A trailing non-null marker keeps every row non-null: pyarrow 26's "skip" mode drops rows
    whose inputs are all null. Values never contain the marker (json_quote removes control chars).
    """
    marker = pa.array(["\x00"] * n, type=pa.string())
    joined = pc.binary_join_element_wise(*arrays, marker, ", ", null_handling="skip")
    return pc.replace_substring(pc.replace_substring(joined, ", \x00", ""), "\x00", "")


def _arrow_text(values) -> pa.Array:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values.cast(pa.string())
    return pa.array(values, type=pa.string(), from_pandas=True)


def materialise_arrow(parts: list[Part], ctx: Context | None) -> pa.Table:
    """Every finding as an Arrow table: DESIGN §4 columns, `evidence` as JSON text, sorted."""
    from auditor.controls.registry import REGISTRY

    tables = []
    waivers = ctx.policies.waivers if ctx else []
    for part in parts:
        f = part.frame
        if not len(f):
            continue
        ridx = f["ridx"].to_numpy()
        has = pa.array(ridx >= 0)
        safe = pa.array(np.maximum(ridx, 0))
        cols = {}
        for col in ("resource_arn", "resource_type", "account_id", "region"):
            own = (
                _arrow_text(f[col].to_numpy(dtype=object, na_value=None))
                if col in f
                else pa.nulls(len(f), pa.string())
            )
            if ctx is not None and ctx.n:
                cols[col] = pc.if_else(
                    has, arrow_of(ctx.res[col]).cast(pa.string()).take(safe), own
                )
            else:
                cols[col] = own
        status = f["status"].to_numpy().astype(np.int64)
        cols["control_id"] = pa.array([part.control_id] * len(f), type=pa.string())
        cols["status"] = pa.DictionaryArray.from_arrays(
            pa.array(status.astype(np.int32)), pa.array(STATUSES)
        ).cast(pa.string())
        cols["severity"] = pa.array([REGISTRY[part.control_id].severity] * len(f), type=pa.string())
        names = [p.name for p in ctx.plans] if ctx else []
        plan = f["plan"].to_numpy().astype(np.int32)
        cols["plan"] = (
            pa.DictionaryArray.from_arrays(
                pa.array(plan, mask=plan < 0), pa.array(names, type=pa.string())
            ).cast(pa.string())
            if names
            else pa.nulls(len(f), pa.string())
        )
        detail = part.describe(f, ctx).to_numpy(dtype=object).copy()
        if "na_error" in f:
            err = f["na_error"].to_numpy()
            na = (status == NOT_ASSESSED) & (err >= 0)
            if na.any():
                texts = {i: ctx.error_text(i) for i in np.unique(err[na])}
                detail[na] = [
                    f"Not assessed: {texts[i]}, so the data this control needs is incomplete."
                    for i in err[na]
                ]
        if "waiver" in f:
            w = f["waiver"].to_numpy()
            waived = (status == WAIVED) & (w >= 0)
            if waived.any():
                detail[waived] = [
                    f"{d} Waived until {waivers[i].expires_text}: {waivers[i].reason}"
                    for d, i in zip(detail[waived], w[waived])
                ]
        cols["detail"] = _arrow_text(detail)
        ev = (
            f[[c for c in f.columns if c.startswith("ev.")]]
            .rename(columns=lambda c: c[3:])
            .reset_index(drop=True)
        )
        if part.evidence_hook is not None:
            for name, values in part.evidence_hook(f, ctx).items():
                ev[name] = (
                    values.reset_index(drop=True) if isinstance(values, pd.Series) else values
                )
        if "na_error" in f:
            err = f["na_error"].to_numpy()
            table = np.array(
                [ctx.error_text(i) for i in range(len(ctx.errors))] + [None], dtype=object
            )
            ev["collection_error"] = pd.Series(
                table[np.where(err >= 0, err, len(ctx.errors))], dtype=object
            )
        for column, fields in (
            ("waiver", ("reason", "owner", "expires", "source")),
            ("expired_waiver", None),
        ):
            if column not in f:
                continue
            w = f[column].to_numpy()
            if fields is None:
                table = np.array(
                    [f"expired {x.expires_text}: {x.reason}" for x in waivers] + [None],
                    dtype=object,
                )
                ev["expired_waiver"] = table[np.where(w >= 0, w, len(waivers))]
                continue
            for field in fields:
                values = [
                    {
                        "reason": x.reason,
                        "owner": x.owner,
                        "expires": x.expires_text,
                        "source": f"{x.source_file}:{x.source_line}",
                    }[field]
                    for x in waivers
                ]
                ev[f"waiver.{field}"] = np.array(values + [None], dtype=object)[
                    np.where(w >= 0, w, len(waivers))
                ]
        cols["evidence"] = evidence_json(ev)
        tables.append(pa.table(cols))
    schema = pa.schema([(c, pa.string()) for c in FINDING_COLUMNS])
    if not tables:
        return schema.empty_table()
    table = pa.concat_tables([t.select(list(FINDING_COLUMNS)).cast(schema) for t in tables])
    order = {cid: i for i, cid in enumerate(REGISTRY)}
    control_rank = pc.index_in(table["control_id"], value_set=pa.array(list(order)))
    table = table.append_column("_c", control_rank)
    keys = [
        (name, "ascending", "at_start")
        for name in ("account_id", "region", "resource_arn", "_c", "plan")
    ]
    table = table.take(pc.sort_indices(table, sort_keys=keys))
    return table.drop_columns(["_c"])


def _materialise(
    parts: list[Part], ctx: Context | None, table: pa.Table | None = None
) -> pd.DataFrame:
    """The findings frame: strings as Python objects, `evidence` as dicts (parsed from the JSON text)."""
    import json

    table = materialise_arrow(parts, ctx) if table is None else table
    frame = pd.DataFrame(
        {c: table[c].to_numpy(zero_copy_only=False) for c in FINDING_COLUMNS if c != "evidence"}
    )
    frame = frame.astype(object).where(frame.notna(), None)
    frame["evidence"] = [json.loads(x) for x in table["evidence"].to_pylist()]
    return frame[list(FINDING_COLUMNS)]


def _apply_errors(part: Part, ctx: Context) -> None:
    f = part.frame
    if not len(f) or not len(ctx.errors):
        return
    ridx = f["ridx"].to_numpy()
    na_error = ctx.na_error_for(part.control_id)
    err = np.where(ridx >= 0, na_error[np.maximum(ridx, 0)] if ctx.n else -1, -1)
    if "na_error" in f:
        err = np.where(err >= 0, err, f["na_error"].to_numpy())
    status = f["status"].to_numpy().copy()
    hit = (err >= 0) & ((status == PASS) | (status == FAIL))
    status[hit] = NOT_ASSESSED
    f["status"] = status
    f["na_error"] = np.where(hit | (status == NOT_ASSESSED), err, -1)


def _apply_waivers(part: Part, ctx: Context) -> None:
    f = part.frame
    waivers = ctx.policies.waivers
    if not len(f) or not waivers:
        return
    ridx = f["ridx"].to_numpy()
    status = f["status"].to_numpy().copy()
    applied = np.full(len(f), -1, dtype=np.int64)
    expired = np.full(len(f), -1, dtype=np.int64)
    res_arn = ctx.res["resource_arn"].astype("str")
    own_arns = [f[c].astype("str") for c in ("resource_arn", "source_arn") if c in f]
    plan_names = {p.name: i for i, p in enumerate(ctx.plans)}
    for w, waiver in enumerate(waivers):
        if waiver.controls and part.control_id not in waiver.controls:
            continue
        regex = wildcard_regex(waiver.resource).pattern
        res_hit = (
            res_arn.str.fullmatch(regex).to_numpy(dtype=bool, na_value=False)
            if ctx.n
            else np.zeros(0, bool)
        )
        hit = np.where(ridx >= 0, res_hit[np.maximum(ridx, 0)] if ctx.n else False, False)
        for arns in own_arns:
            hit |= arns.str.fullmatch(regex).to_numpy(dtype=bool, na_value=False) & (ridx < 0)
        if waiver.plan is not None:
            hit &= f["plan"].to_numpy() == plan_names.get(waiver.plan, -2)
        hit &= status == FAIL
        if waiver.active(ctx.as_of):
            applied[hit & (applied < 0)] = w
        else:
            expired[hit & (expired < 0)] = w
    status[applied >= 0] = WAIVED
    f["status"] = status
    if (applied >= 0).any():
        f["waiver"] = applied
    if ((expired >= 0) & (status == FAIL)).any():
        f["expired_waiver"] = np.where(status == FAIL, expired, -1)


def run_controls(ctx: Context, controls=None, progress: bool = False) -> Findings:
    """Run `controls` (default: every registered control) on a prepared context.

    `progress` shows a "controls evaluated" bar (auditor.progress; the caller decides: terminal only).
    """
    from auditor.controls.registry import REGISTRY
    from auditor.progress import Progress

    chosen = list(controls or REGISTRY.values())
    parts = []
    with Progress(progress) as bars:
        evaluated = bars.phase("controls evaluated", total=len(chosen))
        for control in chosen:
            part = control.func(ctx)
            for name in ("ridx", "plan", "status"):
                if name not in part.frame:
                    raise AssertionError(f"{control.id}: part lacks column {name}")
            part.frame["status"] = part.frame["status"].astype(np.int8)
            _apply_errors(part, ctx)
            _apply_waivers(part, ctx)
            parts.append(part)
            evaluated.advance()
    return Findings(ctx.as_of, parts=parts, ctx=ctx)


__all__ += [
    "FAIL",
    "KINDS",
    "NEVER_TS",
    "NONE_TS",
    "NOT_APPLICABLE",
    "NOT_ASSESSED",
    "PASS",
    "US_PER_DAY",
    "US_PER_HOUR",
    "WAIVED",
    "summarise_frame",
    "us_to_ts",
]
