"""The evaluation context: the inventory and the policies prepared once for every control.

Everything is column-wise. Resources are numbered 0..n-1 (`ridx`); plans 0..p-1. A plan's
selection is a boolean mask over resources; the (resource, plan) pairs it yields are the rows most
controls judge. Recovery points are mapped to `ridx` once and aggregated per (resource, kind of
backup) with one groupby, so a control reads arrays, never loops over resources. Derived data that
only some controls need is a `functools.cached_property`, computed on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from functools import cached_property
from threading import Lock
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from auditor.controls.reads import data_of_call
from auditor.inventory import Inventory
from auditor.owners import DEFAULT_OWNER_TAGS
from auditor.policy.columns import arrow_of, codes_of, encode, index_in, string_mask
from auditor.policy.loader import PolicySet
from auditor.policy.selection import TagView, spec_mask

__all__ = [
    "KINDS",
    "LOCK_COMPLIANCE",
    "LOCK_GOVERNANCE",
    "LOCK_NONE",
    "NEVER_TS",
    "NONE_TS",
    "US_PER_DAY",
    "US_PER_HOUR",
    "WILDCARD_LOCATIONS",
    "Context",
    "ts_us",
    "us_to_ts",
]

KINDS = ("aws-backup", "native")
NONE_TS = np.iinfo(np.int64).min  # "no backup" in max-aggregates
NEVER_TS = np.iinfo(np.int64).max  # "no backup" in min-aggregates
US_PER_DAY = 86_400_000_000
US_PER_HOUR = 3_600_000_000
# AWS Backup keeps continuous backups at most 35 days (AWS Backup Developer Guide, "Continuous
# backups and point-in-time recovery (PITR)").
MAX_CONTINUOUS_US = 35 * US_PER_DAY
# The account or region of a failed call that is not tied to one place (it may touch any).
WILDCARD_LOCATIONS = {None, "", "*", "global"}


def ts_us(series: pd.Series) -> np.ndarray:
    """int64 microseconds since the epoch (NaT -> NONE_TS, which is int64's minimum)."""
    if not isinstance(series.dtype, pd.DatetimeTZDtype):
        series = pd.to_datetime(series, utc=True)
    return np.asarray(series.array.as_unit("us").asi8, dtype=np.int64)


def us_to_ts(values: np.ndarray) -> pd.Series:
    """Inverse of `ts_us` for evidence: sentinels become NaT."""
    arr = np.asarray(values, dtype=np.int64).copy()
    bad = (arr == NONE_TS) | (arr == NEVER_TS)
    arr[bad] = np.iinfo(np.int64).min
    return pd.Series(arr.view("datetime64[us]")).dt.tz_localize("UTC")


# Guards the creation of Context.memo's per-key locks (one per table, made once).
_MEMO_LOCKS_GUARD = Lock()


class Context:
    """The inventory and policies prepared once for every control (pure data, fixed `as_of`)."""

    def __init__(
        self,
        inventory: Inventory,
        policies: PolicySet,
        as_of: datetime,
        owner_tags: Sequence[str] = DEFAULT_OWNER_TAGS,
        prices: Any = None,
    ):
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
        # the tag keys findings carry as owner columns (auditor.owners)
        self.owner_tags = tuple(owner_tags)
        # the price table costs in evidence are estimated with (None: the default table)
        self.prices = prices
        self._scope()
        self._pairs()
        self._recovery_points()
        self._errors()

    # --- scope and selection -----------------------------------------------------------------------

    def _scope(self) -> None:
        res, scope = self.res, self.policies.scope
        n = self.n
        reason = np.full(n, None, dtype=object)
        # Categorical columns (a compact read) are compared on their categories, not row by row.
        rtype = res["resource_type"]
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
        aurora = string_mask(res["engine"], lambda engine: engine.str.startswith("aurora"))
        # An Aurora DB instance is backed up as part of its cluster, never on its own.
        member = (
            (rtype == "rds-instance").to_numpy(dtype=bool, na_value=False)
            & aurora
            & res["parent_arn"].notna().to_numpy(dtype=bool)
        )
        reason[member & (reason == None)] = (  # noqa: E711
            "it is an Aurora instance, protected through its cluster"
        )
        # A read replica copies its source continuously; backing up the source protects the data
        # (Amazon RDS User Guide, "Working with DB instance read replicas").
        source = optional_column(res, "read_replica_source")
        replica = ((rtype == "rds-instance") & source.notna()).to_numpy(dtype=bool, na_value=False)
        if replica.any():
            take = np.flatnonzero(replica & (reason == None))  # noqa: E711
            reason[take] = [
                f"read replica of {s}: its source is what must be backed up"
                for s in source.iloc[take].astype(object)
            ]
        self.in_scope = type_ok & ~excluded & ~member & ~replica
        # Replicas a plan selects get that plan's findings, NOT_APPLICABLE with the reason.
        self.replica = replica & type_ok & ~excluded
        self.scope_reason = reason

    def _pairs(self) -> None:
        ridx, plan = [], []
        self.plan_masks = []
        for p, pl in enumerate(self.plans):
            mask = spec_mask(pl.spec, self.res, self.view) & (self.in_scope | self.replica)
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
        created = ts_us(rp["created_at"])
        delete = ts_us(rp["delete_at"])
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
        times, continuous = self._backup_times(rp, created, delete, primary)
        # AWS Backup continuous recovery points restore back at most 35 days and roll forward:
        # no lifecycle end does not mean kept forever (backup-max-retention reads this)
        self.rp_continuous = continuous
        times = {name: values[keep] for name, values in times.items()}
        life = np.where(
            (delete[keep] != NONE_TS) & ~continuous[keep], delete[keep] - created[keep], NONE_TS
        )
        unencrypted = rp["encrypted"].eq(False).to_numpy(dtype=bool, na_value=False)[keep]
        self.agg = _aggregate(key, times, life, primary[keep], unencrypted, 2 * n)
        self._add_resource_continuous()
        region_codes, self.region_names = codes_of(rp["region"])
        account_codes, self.account_names = codes_of(rp["account_id"])
        # Completed backups of existing resources, by where they are stored (copy controls). A
        # restore access vault only reaches another vault's recovery points: no copy of its own.
        stored = keep[~restore_access_rows(rp, self.inventory["vaults"])[keep]]
        self.copies = {
            "ridx": ridx[stored],
            "kind": kind[stored],
            "region": region_codes[stored],
            "account_id": account_codes[stored],
            "created": created[stored],
        }
        self.copies_all = {"region": region_codes, "account_id": account_codes}
        # One unencrypted example per (kind, resource): its row in `rp`, resolved to an ARN on output.
        self.unenc_example = np.full(2 * n, -1, dtype=np.int64)
        rows = keep[unencrypted]
        self.unenc_example[key[unencrypted][::-1]] = rows[::-1]

    def _backup_times(
        self, rp: pd.DataFrame, created: np.ndarray, delete: np.ndarray, primary: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Per recovery point: when its data was taken (recency), and how far back it restores.

        A backup counts at its creation; a copy at its source's creation (`source_created_at`),
        and not for recency when that is unknown (its own creation is later than its data). An
        AWS Backup continuous recovery point counts at its latest restorable time (never after
        `as_of`) and restores back over its window: its lifecycle, at most 35 days (AWS Backup
        Developer Guide, "Continuous backups and point-in-time recovery (PITR)").
        """
        source_created = ts_us(optional_column(rp, "source_created_at", "timestamp"))
        continuous = optional_column(rp, "continuous", "boolean").to_numpy(
            dtype=bool, na_value=False
        )
        restorable = ts_us(optional_column(rp, "latest_restorable_at", "timestamp"))
        restorable = np.where(restorable != NONE_TS, np.minimum(restorable, self.now), created)
        window = self._continuous_window(rp, continuous, created, delete)
        copy_time = np.where(source_created != NONE_TS, source_created, NONE_TS)
        recency = np.where(primary, np.where(continuous, restorable, created), copy_time)
        history = np.where(
            continuous,
            np.maximum(created, restorable - window),
            np.where(primary | (copy_time == NONE_TS), created, copy_time),
        )
        history_all = np.where(continuous, np.maximum(created, restorable - window), created)
        return {"recency": recency, "history": history, "history_all": history_all}, continuous

    def _continuous_window(
        self, rp: pd.DataFrame, continuous: np.ndarray, created: np.ndarray, delete: np.ndarray
    ) -> np.ndarray:
        """Per recovery point, how far back a continuous one restores (µs, at most 35 days).

        Its rule's lifecycle (DeleteAfterDays) when the rule is in the inventory, else its own
        delete_at - created, else the 35-day maximum.
        """
        window = np.where(delete != NONE_TS, delete - created, MAX_CONTINUOUS_US)
        rules = self.inventory["backup_rules"]
        if continuous.any() and len(rules) and "backup_rule_id" in rp:
            days = (
                rules.dropna(subset=["rule_id"])
                .drop_duplicates("rule_id")
                .set_index("rule_id")["delete_after_days"]
            )
            rule_days = rp["backup_rule_id"].astype(object).map(days)
            known = rule_days.notna().to_numpy() & continuous
            window = np.where(
                known,
                rule_days.to_numpy(dtype="float64", na_value=0.0).astype(np.int64) * US_PER_DAY,
                window,
            )
        return np.clip(window, 0, MAX_CONTINUOUS_US)

    def _add_resource_continuous(self) -> None:
        """DynamoDB PITR and RDS automated backups: native continuous backups of the resource.

        Each counts for recency at its latest restorable time (DynamoDB DescribeContinuousBackups
        LatestRestorableDateTime, RDS DescribeDBInstances LatestRestorableTime; never after
        `as_of`) and as history of its window (PITR RecoveryPeriodInDays, 1-35 days; RDS
        BackupRetentionPeriod days) reaching back from it.
        """
        if not self.n:
            return
        latest = ts_us(optional_column(self.res, "latest_restorable_at", "timestamp"))
        has = latest != NONE_TS
        if not has.any():
            return
        latest = np.minimum(latest, self.now)
        days = optional_column(self.res, "continuous_window_days", "Int64")
        window = days.to_numpy(dtype="float64", na_value=0.0).astype(np.int64) * US_PER_DAY
        rows = np.flatnonzero(has)
        key = self.n * KINDS.index("native") + rows
        agg = self.agg
        agg["newest"][key] = np.maximum(agg["newest"][key], latest[rows])
        agg["count"][key] += 1
        start = latest[rows] - window[rows]
        agg["oldest"][key] = np.minimum(agg["oldest"][key], start)
        agg["oldest_all"][key] = np.minimum(agg["oldest_all"][key], start)

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
        for i, mask in enumerate(self.error_masks):
            self.na_error[mask & (self.na_error < 0)] = i

    def na_error_for(self, reads: frozenset[str]) -> np.ndarray:
        """`na_error` counting only the failed calls that fill data in `reads`."""
        if not len(self.errors):
            return self.na_error
        relevant = self.relevant_errors(reads)
        if len(relevant) == len(self.errors):
            return self.na_error
        out = np.full(self.n, -1, dtype=np.int64)
        # The first relevant error per resource, as `_errors` ranks all of them.
        for i in relevant:
            out[self.error_masks[i] & (out < 0)] = i
        return out

    def relevant_errors(self, reads: Iterable[str]) -> np.ndarray:
        """Positions in `errors` of the failed calls that fill data in `reads`."""
        wanted = frozenset(reads)
        return np.array(
            [i for i, data in enumerate(self.error_data) if data & wanted], dtype=np.int64
        )

    @cached_property
    def error_data(self) -> list[frozenset[str]]:
        """Per failed call, the inventory data it may have left incomplete."""
        return [
            data_of_call(str(s), str(o))
            for s, o in zip(self.errors["service"], self.errors["operation"])
        ]

    @cached_property
    def error_masks(self) -> list[np.ndarray]:
        """Per failed call, the resources it may have left incomplete."""
        return [self._error_mask(row) for row in self.errors.itertuples(index=False)]

    def _error_mask(self, row) -> np.ndarray:
        """Resources a failed call may have left incomplete (its account, region and `affects` types)."""
        mask = np.ones(self.n, dtype=bool)
        if row.account_id not in WILDCARD_LOCATIONS and isinstance(row.account_id, str):
            mask &= (self.res["account_id"] == row.account_id).to_numpy(dtype=bool, na_value=False)
        if row.region not in WILDCARD_LOCATIONS and isinstance(row.region, str):
            mask &= (self.res["region"] == row.region).to_numpy(dtype=bool, na_value=False)
        affects = {a.strip() for a in str(row.affects or "*").split(",") if a.strip()}
        if "*" not in affects:
            mask &= (
                self.res["resource_type"].isin(sorted(affects)).to_numpy(dtype=bool, na_value=False)
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

    # --- derived data some controls share -----------------------------------------------------------

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        """`compute()` once per context, kept under `key`.

        Findings are turned into text a batch of rows at a time; what a control's texts derive
        from the whole inventory (a per-resource table, a sort of every recovery point) is
        computed on the first batch and reused by the others.
        """
        cache = self.__dict__.setdefault("_memo", {})
        if key not in cache:
            # Batches are made on two threads: a table is built once, by whichever asks first.
            with _MEMO_LOCKS_GUARD:
                lock = self.__dict__.setdefault("_memo_locks", {}).setdefault(key, Lock())
            with lock:
                if key not in cache:
                    cache[key] = compute()
        return cache[key]

    @cached_property
    def created_us(self) -> np.ndarray:
        """Per resource, its creation time in µs since the epoch (NONE_TS when unknown)."""
        return ts_us(self.res["created_at"]) if self.n else np.empty(0, np.int64)

    @cached_property
    def resource_vaults(self) -> dict:
        """Distinct (resource, vault) pairs of completed AWS Backup recovery points, with vault facts.

        Only resources selected by a plan that asks for a vault lock or for deletion protection are
        considered. Vaults are
        identified by integer keys over (account, region, vault name) codes; the facts of the few
        distinct vaults come from the `vaults` table.
        """
        rp = self.rp
        acc, reg = self.copies_all["account_id"], self.copies_all["region"]
        needed = np.zeros(self.n + 1, dtype=bool)  # last slot: ridx -1
        for p, pl in enumerate(self.plans):
            if pl.vault_lock is not None or pl.deletion_protected:
                needed[:-1] |= self.plan_masks[p]
        keep = (
            self.rp_completed
            & needed[self.rp_ridx]
            & (self.rp_kind == 0)
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
        na, nr, nv = len(self.account_names), len(self.region_names), max(len(vnames), 1)
        vkey = (acc[rows].astype(np.int64) * nr + reg[rows]) * nv + vcode
        width = na * nr * nv
        pair = np.sort(pd.unique(self.rp_ridx[rows].astype(np.int64) * width + vkey))
        ridx, vk = pair // width, pair % width
        used = np.sort(pd.unique(vk))
        facts = {
            (r.account_id, r.region, r.vault_name): r
            for r in self.inventory["vaults"].itertuples(index=False)
        }
        info = {}
        for k in used:
            rest, v = divmod(int(k), nv)
            a, r = divmod(rest, nr)
            row = facts.get((self.account_names[a], self.region_names[r], vnames[v]))
            info[int(k)] = {
                "label": f"{vnames[v]} ({self.region_names[r]})",
                "name": vnames[v],
                "account_id": self.account_names[a],
                "region": self.region_names[r],
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
                "lock_date": _lock_date(row),
                "air_gapped": getattr(row, "vault_type", None) == AIR_GAPPED_VAULT,
            }
            info[int(k)]["locked"] |= info[int(k)]["air_gapped"]
            info[int(k)]["mode"] = _lock_mode(info[int(k)], self.as_of)
        starts = np.searchsorted(ridx, np.arange(self.n + 1))
        return {"ridx": ridx, "vk": vk, "starts": starts, "info": info}


def _aggregate(
    key: np.ndarray,
    times: dict[str, np.ndarray],
    life: np.ndarray,
    primary: np.ndarray,
    unencrypted: np.ndarray,
    size: int,
) -> dict[str, np.ndarray]:
    """Per key (kind * n + ridx): newest/oldest backup, lifecycle bounds, counts, unencrypted.

    `times` holds per row: ``recency`` (when the backup's data was taken, NONE_TS when it does not
    count for recency), ``history`` (how far back it lets you restore) and ``history_all`` (its age
    for the maximum-retention control). `life` is delete_at - created (NONE_TS: kept forever or a
    continuous backup, whose window is history, not a lifecycle). Unbuffered ufunc.at / bincount:
    O(rows), no sort and no hash table.
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
    counted = times["recency"] != NONE_TS
    out["count"] = np.bincount(key[counted], minlength=size).astype(np.int64)
    if not len(key):
        return out
    np.minimum.at(out["oldest_all"], key, times["history_all"])
    np.minimum.at(out["oldest"], key, times["history"])
    np.maximum.at(out["newest"], key[counted], times["recency"][counted])
    has_life = life != NONE_TS
    np.maximum.at(out["max_life_all"], key[has_life], life[has_life])
    pl = primary & has_life
    np.minimum.at(out["min_life"], key[pl], life[pl])
    return out


# AWS Backup API reference, CreateRestoreAccessBackupVault: a restore access backup vault "provides
# temporary access to recovery points in a logically air-gapped backup vault".
RESTORE_ACCESS_VAULT = "RESTORE_ACCESS_BACKUP_VAULT"


def restore_access_rows(rp: pd.DataFrame, vaults: pd.DataFrame) -> np.ndarray:
    """Per recovery point: is it listed in a restore access vault (so not a copy of its own)?"""
    out = np.zeros(len(rp), dtype=bool)
    kind = vaults["vault_type"].astype("string") if "vault_type" in vaults else None
    if kind is None or not len(rp) or not kind.eq(RESTORE_ACCESS_VAULT).fillna(False).any():
        return out
    access = vaults[kind.eq(RESTORE_ACCESS_VAULT).fillna(False).to_numpy(dtype=bool)]
    arns = set(access["vault_arn"].dropna().astype(str))
    names = set(
        (access["account_id"] + "|" + access["region"] + "|" + access["vault_name"]).dropna()
    )
    has_vault = rp["vault_name"].notna().to_numpy(dtype=bool)
    rows = np.flatnonzero(has_vault)
    sub = rp.iloc[rows]
    key = sub["account_id"].astype(str) + "|" + sub["region"].astype(str) + "|"
    hit = sub["vault_arn"].astype(object).isin(arns) | (key + sub["vault_name"].astype(str)).isin(
        names
    )
    out[rows] = hit.to_numpy(dtype=bool)
    return out


def optional_column(frame: pd.DataFrame, name: str, dtype: str = "object") -> pd.Series:
    """`frame[name]`, or an all-null column when an older inventory lacks it."""
    if name in frame:
        return frame[name]
    if dtype == "timestamp":
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us, UTC]")
    return pd.Series(pd.NA, index=frame.index, dtype=dtype)


# AWS Backup Vault Lock (https://docs.aws.amazon.com/aws-backup/latest/devguide/vault-lock.html):
# a lock set with ChangeableForDays has a LockDate; from that date it is in compliance mode
# (immutable: nobody, not even the root user, can remove it). Before it, and without a LockDate, the
# lock is in governance mode: users with the IAM permission backup:DeleteBackupVaultLockConfiguration
# can remove it. So a compliance lock before its LockDate is only as strong as governance.
LOCK_NONE, LOCK_GOVERNANCE, LOCK_COMPLIANCE = 0, 1, 2
# A logically air-gapped vault is locked in compliance mode from its creation, whatever LockDate it
# reports (AWS Backup Developer Guide, "Logically air-gapped vault").
AIR_GAPPED_VAULT = "LOGICALLY_AIR_GAPPED_BACKUP_VAULT"


def _lock_date(row: Any) -> datetime | None:
    value = getattr(row, "lock_date", None) if row is not None else None
    if value is None or pd.isna(value):
        return None
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).to_pydatetime()


def _lock_mode(fact: dict, as_of: datetime) -> int:
    """LOCK_NONE, LOCK_GOVERNANCE or LOCK_COMPLIANCE (in force at `as_of`) for one vault's facts."""
    if fact.get("air_gapped"):
        return LOCK_COMPLIANCE
    if not fact["locked"]:
        return LOCK_NONE
    date = fact["lock_date"]
    return LOCK_COMPLIANCE if date is not None and date <= as_of else LOCK_GOVERNANCE
