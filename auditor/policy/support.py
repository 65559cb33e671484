"""What AWS Backup offers per resource type, as data: a types x features matrix with named profiles.

The matrix (`aws_backup_support.json`) follows AWS Backup's "Feature availability by resource"
table (https://docs.aws.amazon.com/aws-backup/latest/devguide/backup-feature-availability.html):
for each resource type (an RDS engine family where it matters) whether AWS Backup can back it up,
move its backups to cold storage, back it up continuously, copy it across Regions and accounts,
manage it fully, and test its restores. Profiles adjust the table: ``aws`` (the default) is AWS's
table today; ``guide`` is the founding guide's reading, in which AWS Backup does not support Aurora.

A policy picks a profile with ``aws_backup_support_profile:`` and may add ``aws_backup_support:``
rules (resource_type, optional engine_like, supported, reason), which decide ``backup`` before the
profile does. Everything here works on whole columns of the inventory.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources as importlib_resources
from typing import Any

import numpy as np
import pandas as pd

from auditor.policy.columns import codes_of
from auditor.policy.selection import wildcard_regex

__all__ = [
    "ADVANCED",
    "DEFAULT_PROFILE",
    "FEATURES",
    "PROFILES",
    "SupportMatrix",
    "load_support_matrix",
    "pair_feature_gaps",
    "plan_feature_needs",
    "plan_support_gaps",
]

FEATURES = (
    "backup",
    "cold_storage",
    "continuous_backup",
    "cross_region_copy",
    "cross_account_copy",
    "full_management",
    "restore_testing",
)
# A feature DynamoDB offers only with AWS Backup's advanced DynamoDB features on (the region's
# ResourceTypeManagementPreference has DynamoDB: true).
ADVANCED = "advanced"
DEFAULT_PROFILE = "aws"
_UNLISTED = "AWS Backup's feature table does not list this resource type"
_DATA_FILE = "aws_backup_support.json"


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    text = importlib_resources.files("auditor.policy").joinpath(_DATA_FILE).read_text("utf-8")
    return json.loads(text)


PROFILES = tuple(_data()["profiles"])


def _first_rule(rules: Iterable[Mapping[str, Any]], rtype: str | None, engine: str | None) -> int:
    """Index of the first rule describing one resource type and engine (-1: none)."""
    for i, rule in enumerate(rules):
        if rule["resource_type"] != rtype:
            continue
        pattern = rule.get("engine_like")
        if pattern and (engine is None or not wildcard_regex(pattern).fullmatch(engine)):
            continue
        return i
    return -1


def _hits(rules: Iterable[Mapping[str, Any]], resources: pd.DataFrame) -> np.ndarray:
    """Index of the first rule matching each resource (-1: none), over whole columns.

    A rule reads only the type and the engine, so it is decided once per distinct (type, engine)
    pair present and spread over the rows by their dictionary codes.
    """
    n = len(resources)
    rules = tuple(rules)
    if not n or not rules:
        return np.full(n, -1, dtype=np.int64)
    type_codes, types = codes_of(resources["resource_type"])
    if "engine" in resources:
        engine_codes, engines = codes_of(resources["engine"])
    else:
        engine_codes, engines = np.full(n, -1, dtype=np.int32), []
    width = len(engines) + 1  # code -1 (null) takes slot 0
    key = (type_codes.astype(np.int64) + 1) * width + (engine_codes.astype(np.int64) + 1)
    table = np.full((len(types) + 1) * width, -1, dtype=np.int64)
    for k in np.flatnonzero(np.bincount(key, minlength=len(table))):
        t, e = divmod(int(k), width)
        table[k] = _first_rule(rules, types[t - 1] if t else None, engines[e - 1] if e else None)
    return table[key]


@dataclass(frozen=True)
class SupportMatrix:
    """The profile's rows (first match describes a resource) and the policy's override rules."""

    rows: tuple[dict[str, Any], ...] = ()
    rules: tuple[dict[str, Any], ...] = ()
    profile: str = DEFAULT_PROFILE

    def row_index(self, resources: pd.DataFrame) -> np.ndarray:
        """Per resource, the index of the row that describes it (-1 when no row does)."""
        return _hits(self.rows, resources)

    def supported_mask(self, resources: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(supported, reason) arrays: can AWS Backup back each resource up at all?

        A policy's override rules decide first; then the profile's row; a type no row describes is
        not supported (AWS's table lists every type AWS Backup protects).
        """
        rows = self.row_index(resources)
        # One value per row of the matrix, and a last one for resources no row describes (-1).
        supported = np.array([bool(r["backup"]) for r in self.rows] + [False])[rows]
        reason = np.array(
            [
                None if r["backup"] else r.get("reason") or self._lacks(r, "backup")
                for r in self.rows
            ]
            + [_UNLISTED],
            dtype=object,
        )[rows]
        for i, row in enumerate(self.rows):
            # A prerequisite on the resource itself (S3: versioning enabled); an unknown value
            # (not gathered) does not make it unsupported: its collection error says so.
            need = row.get("requires")
            if need and need["column"] in resources.columns:
                values = resources[need["column"]]
                lacking = (
                    (rows == i) & values.notna().to_numpy() & (values != need["equals"]).to_numpy()
                )
                supported[lacking] = False
                reason[lacking] = need["reason"]
        ruled = _hits(self.rules, resources)
        has = ruled >= 0
        if has.any():
            supported[has] = np.array([bool(r["supported"]) for r in self.rules])[ruled[has]]
            reason[has] = np.array(
                [
                    None if r["supported"] else r.get("reason") or "policy override"
                    for r in self.rules
                ],
                dtype=object,
            )[ruled[has]]
        return supported, reason

    def feature_mask(
        self,
        resources: pd.DataFrame,
        feature: str,
        full_management: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(offered, reason) arrays for `feature` per resource.

        `full_management` (per resource) says where DynamoDB's advanced features are on; features
        marked "advanced" are offered only there (absent: nowhere).
        """
        if feature == "backup":
            return self.supported_mask(resources)
        n = len(resources)
        managed = (
            np.zeros(n, dtype=bool)
            if full_management is None
            else np.asarray(full_management, dtype=bool)
        )
        rows = self.row_index(resources)
        # One value per row of the matrix, and a last one for resources no row describes (-1).
        values = [row.get(feature, False) for row in self.rows]
        advanced = np.array([v == ADVANCED for v in values] + [False])[rows]
        offered = np.array([v != ADVANCED and bool(v) for v in values] + [False])[rows]
        offered[advanced] = managed[advanced]
        reason = np.array(
            [
                None if v == ADVANCED or v else self._lacks(row, feature)
                for row, v in zip(self.rows, values, strict=True)
            ]
            + [_UNLISTED],
            dtype=object,
        )[rows]
        off = advanced & ~managed
        reason[off] = np.array(
            [self._lacks(row, feature, advanced=True) for row in self.rows] + [None], dtype=object
        )[rows[off]]
        return offered, reason

    def _scalar_row(
        self, rules: Iterable[Mapping[str, Any]], rtype: str, engine: str | None
    ) -> int:
        return _first_rule(rules, rtype, engine)

    def feature_value(
        self, resource_type: str, feature: str, engine: str | None = None
    ) -> bool | str:
        """One resource's value of `feature`: True, False or "advanced" (scalar, for plan checks)."""
        if feature == "backup":
            ruled = self._scalar_row(self.rules, resource_type, engine)
            if ruled >= 0:
                return bool(self.rules[ruled]["supported"])
        index = self._scalar_row(self.rows, resource_type, engine)
        return False if index < 0 else self.rows[index].get(feature, False)

    def reason_lacking(self, resource_type: str, feature: str, engine: str | None = None) -> str:
        """Why one resource lacks `feature` (or needs DynamoDB's advanced features for it)."""
        if feature == "backup":
            ruled = self._scalar_row(self.rules, resource_type, engine)
            if ruled >= 0:
                return str(self.rules[ruled].get("reason") or "policy override")
        index = self._scalar_row(self.rows, resource_type, engine)
        if index < 0:
            return "AWS Backup's feature table does not list this resource type"
        row = self.rows[index]
        if feature == "backup" and row.get("reason"):
            return str(row["reason"])
        return self._lacks(row, feature, advanced=row.get(feature) == ADVANCED)

    def is_supported(self, resource_type: str, engine: str | None = None) -> bool:
        """Scalar form of `supported_mask`."""
        return bool(self.feature_value(resource_type, "backup", engine))

    def service_of(self, resources: pd.DataFrame) -> pd.Series:
        """AWS Backup's service name per resource (the key of its region opt-in settings)."""
        rows = self.row_index(resources)
        names = np.array([r.get("service") for r in self.rows] + [None], dtype=object)
        return pd.Series(names[rows], index=resources.index, dtype=object)

    def opt_in_always_applies(self, resources: pd.DataFrame) -> np.ndarray:
        """Per resource: its service's opt-in applies even to selections naming it explicitly.

        AWS: naming a resource type or ARN in an assignment backs it up whatever the opt-in, except
        for Aurora, Neptune and Amazon DocumentDB ("Working with supported services").
        """
        rows = self.row_index(resources)
        flags = np.array([bool(r.get("opt_in_always_applies")) for r in self.rows] + [False])
        return flags[rows]

    @staticmethod
    def _lacks(row: Mapping[str, Any], feature: str, advanced: bool = False) -> str:
        what = _data()["features"].get(feature, feature)
        label = row.get("label", row["resource_type"])
        if advanced:
            return (
                f"AWS Backup offers {what} for {label} only with its advanced DynamoDB backup "
                "features on, and they are not on here"
            )
        if feature == "backup":
            return f"AWS Backup does not support {label}"
        return f"AWS Backup does not offer {what} for {label}"


def plan_feature_needs(plan: Any) -> list[tuple[str, str]]:
    """(feature, the plan field that needs it) for what a declared plan asks of AWS Backup."""
    needs = [("backup", "accept")]
    if getattr(plan, "cold_after_days", None) is not None:
        needs.append(("cold_storage", "cold_after_days"))
    copy_to = getattr(plan, "copy_to", None)
    if copy_to is not None and copy_to.regions:
        needs.append(("cross_region_copy", "copy_to.regions"))
    if copy_to is not None and copy_to.accounts:
        needs.append(("cross_account_copy", "copy_to.accounts"))
    return needs


def plan_support_gaps(
    plan: Any, resource_types: Iterable[str], matrix: SupportMatrix
) -> list[tuple[str, str]]:
    """(plan field, text) for each thing a plan relying on AWS Backup asks that AWS does not offer.

    Read without any inventory: every row of the matrix for the types the plan can select (an
    engine family such as Aurora is a row of its own). Empty when the plan also accepts native
    backups, since then it does not rely on AWS Backup.
    """
    accept = tuple(getattr(plan, "accept", ()))
    if "aws-backup" not in accept or "native" in accept:
        return []
    types = set(resource_types)
    gaps = []
    for feature, field_name in plan_feature_needs(plan):
        lacking, advanced = [], []
        for row in matrix.rows:
            if row["resource_type"] not in types:
                continue
            engine = _sample_engine(row)
            if feature != "backup" and not matrix.is_supported(row["resource_type"], engine):
                continue  # already warned about: AWS Backup does not back it up at all
            value = matrix.feature_value(row["resource_type"], feature, engine)
            if value == ADVANCED:
                advanced.append(row.get("label", row["resource_type"]))
            elif not value:
                lacking.append(row.get("label", row["resource_type"]))
        what = _data()["features"][feature]
        if lacking:
            asked = (
                "accepts only AWS Backup, which does not back up"
                if feature == "backup"
                else f"relies on AWS Backup for {what}, which AWS Backup does not offer for"
            )
            gaps.append(
                (
                    field_name,
                    f"{asked} {', '.join(lacking)} (profile '{matrix.profile}'); backup-supported "
                    "will FAIL such resources the plan selects",
                )
            )
        if advanced:
            gaps.append(
                (
                    field_name,
                    f"relies on AWS Backup for {what}, which it offers for {', '.join(advanced)} "
                    "only with its advanced DynamoDB backup features on",
                )
            )
    return gaps


def pair_feature_gaps(
    matrix: SupportMatrix,
    resources: pd.DataFrame,
    plans: list[Any],
    pair_ridx: np.ndarray,
    pair_plan: np.ndarray,
    full_management: np.ndarray | None = None,
    deployed_needs: Mapping[str, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per (resource, plan) pair: does the plan ask AWS Backup for something the type lacks?

    What a plan asks: backup itself, and the features its fields need (`plan_feature_needs`);
    `deployed_needs` adds features the deployed rules selecting a resource use ({feature: per
    resource bool}, e.g. a rule moving it to cold storage, which AWS would ignore for a type without
    cold storage). `full_management` (per resource) says where DynamoDB's advanced features are on.
    Returns (lacking, reason) arrays over the pairs; whether the plan relies on AWS Backup alone is
    the caller's to decide.
    """
    n_pairs = len(pair_ridx)
    lacking = np.zeros(n_pairs, dtype=bool)
    reason = np.full(n_pairs, None, dtype=object)
    needs: dict[tuple[str, str], np.ndarray] = {}
    plan_needs = [plan_feature_needs(p) for p in plans]
    for feature, field_name in {pair for row in plan_needs for pair in row}:
        wanted = np.array([(feature, field_name) in row for row in plan_needs] + [False])
        needs[(feature, field_name)] = wanted[pair_plan]
    for feature, per_resource in (deployed_needs or {}).items():
        needs[(feature, "deployed rule")] = np.asarray(per_resource, dtype=bool)[pair_ridx]
    cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for (feature, field_name), wanted in sorted(needs.items()):
        if not wanted.any():
            continue
        if feature not in cache:
            cache[feature] = matrix.feature_mask(resources, feature, full_management)
        offered, why = cache[feature]
        gap = wanted & ~offered[pair_ridx]
        # The reasons are a few texts repeated: each is prefixed once, for the pairs with a gap.
        rows = np.flatnonzero(gap)
        codes, distinct = pd.factorize(why[pair_ridx[rows]], use_na_sentinel=False)
        text = np.array([f"{field_name}: {w}" for w in distinct], dtype=object)[codes]
        earlier = lacking[rows]
        reason[rows[earlier]] = reason[rows[earlier]] + "; " + text[earlier]
        reason[rows[~earlier]] = text[~earlier]
        lacking |= gap
    return lacking, reason


def _sample_engine(row: Mapping[str, Any]) -> str | None:
    """An engine the row's pattern matches (its literal part), so the row answers for itself."""
    pattern = row.get("engine_like")
    return pattern.replace("*", "") if pattern else None


def _profile_rows(profile: str) -> tuple[dict[str, Any], ...]:
    data = _data()
    if profile not in data["profiles"]:
        raise ValueError(
            f"unknown aws_backup_support_profile '{profile}' (known: {', '.join(PROFILES)})"
        )
    rows = [dict(r) for r in data["rows"]]
    for override in data["profiles"][profile]["overrides"]:
        for row in rows:
            if row["resource_type"] == override["resource_type"] and row.get(
                "engine_like"
            ) == override.get("engine_like"):
                row.update({k: v for k, v in override.items() if k in (*FEATURES, "reason")})
    return tuple(rows)


def load_support_matrix(
    extra_rules: Iterable[dict[str, Any]] = (), profile: str | None = None
) -> SupportMatrix:
    """The matrix of `profile` (default ``aws``), with `extra_rules` (from policies) checked first."""
    name = profile or DEFAULT_PROFILE
    return SupportMatrix(rows=_profile_rows(name), rules=tuple(extra_rules), profile=name)
