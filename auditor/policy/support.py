"""The supported-type matrix: which resources AWS Backup can back up, as data.

The default (`supported_types.json`, DESIGN §1) says every type is supported except Aurora. A policy
may add rules with ``aws_backup_support:``; they are checked before the defaults.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources as importlib_resources
from typing import Any

import numpy as np
import pandas as pd

from auditor.policy.selection import wildcard_regex

__all__ = ["SupportMatrix", "load_support_matrix"]


@dataclass(frozen=True)
class SupportMatrix:
    """Ordered rules (first match decides; no match = supported) and AWS Backup service names."""

    rules: tuple[dict, ...] = ()
    services: dict = field(default_factory=dict)

    def supported_mask(self, resources: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(supported, reason) arrays over `resources` (columns resource_type, engine)."""
        n = len(resources)
        decided = np.zeros(n, dtype=bool)
        supported = np.ones(n, dtype=bool)
        reason = np.full(n, None, dtype=object)
        rtype = resources["resource_type"].astype("str")
        engine = (
            resources["engine"].astype("str")
            if "engine" in resources
            else pd.Series([None] * n, dtype="str")
        )
        for rule in self.rules:
            hit = (rtype == rule["resource_type"]).to_numpy(dtype=bool, na_value=False).copy()
            if rule.get("engine_like"):
                regex = wildcard_regex(rule["engine_like"]).pattern
                hit &= engine.str.fullmatch(regex).to_numpy(dtype=bool, na_value=False)
            hit &= ~decided
            supported[hit] = bool(rule["supported"])
            reason[hit] = rule.get("reason")
            decided |= hit
        return supported, reason

    def is_supported(self, resource_type: str, engine: str | None = None) -> bool:
        """Scalar form of `supported_mask`."""
        frame = pd.DataFrame({"resource_type": [resource_type], "engine": [engine]})
        return bool(self.supported_mask(frame)[0][0])

    def service_of(self, resources: pd.DataFrame) -> pd.Series:
        """AWS Backup's service name per resource (for region opt-in settings)."""
        service = resources["resource_type"].map(self.services)
        engine = resources["engine"].astype("str") if "engine" in resources else None
        if engine is not None:
            # A non-Aurora RDS cluster (Multi-AZ DB cluster) is opted in under "RDS".
            not_aurora = (resources["resource_type"] == "rds-cluster") & ~engine.str.startswith(
                "aurora"
            ).fillna(False)
            service = service.where(~not_aurora.to_numpy(dtype=bool, na_value=False), "RDS")
        return service


def load_support_matrix(extra_rules: Iterable[dict[str, Any]] = ()) -> SupportMatrix:
    """The default matrix, with `extra_rules` (from policies) checked first."""
    text = (
        importlib_resources.files("auditor.policy")
        .joinpath("supported_types.json")
        .read_text(encoding="utf-8")
    )
    data = json.loads(text)
    return SupportMatrix(
        rules=tuple(extra_rules) + tuple(data["rules"]), services=dict(data["services"])
    )
