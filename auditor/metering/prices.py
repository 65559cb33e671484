"""The price table: USD per GB-month by region and usage type, with its sources and assumptions.

The packaged default is auditor/data/prices.yaml (policies/prices.yaml is its copy); `--prices`
merges a user's file over it, or replaces it with `replace: true`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from dataclasses import replace as replace_fields
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from auditor.errors import InputError
from auditor.limits import MAX_PRICE_TABLE_BYTES, check_file_size, check_yaml_shape
from auditor.metering.billing import BACKUP_TYPES

_REGION_RE = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-[0-9]+$")
_PREFIXED_RE = re.compile(r"^(?:[A-Z]{3,4}[0-9]|EU)-")
# A price checked against its source carries `# [v]` on its line (`# [r]`: recalled, unchecked).
_VERIFIED_RE = re.compile(r"#\s*\[v\]")


@dataclass(frozen=True)
class PriceTable:
    """USD per GB-month by (region, usage type), with where the figures came from."""

    prices: dict[tuple[str, str], float]
    path: str
    retrieved: str | None = None
    sources: tuple[str, ...] = ()
    currency: str = "USD"
    # service -> assumed fraction of a backup's full size that it adds to its chain (see `assumptions`
    # in policies/prices.yaml); a service not listed is taken to store every backup in full.
    change_ratio: dict[str, float] = field(default_factory=dict)
    # (region, usage type) of the prices checked against a source: the file marks them `# [v]`
    verified: frozenset[tuple[str, str]] = frozenset()
    warnings: tuple[str, ...] = ()  # what reading the table found worth saying (meter repeats it)

    def price(
        self, region: str | None, usage_type: str | None, owner: str | None = None
    ) -> float | None:
        """The price, or None when the table has none (the caller flags the row unpriced).

        A usage type that several services bill under the same name (`BackupUsage`: Amazon FSx,
        DocumentDB and Neptune) is priced per product code, keyed `OWNER/USAGE_TYPE` in the table
        (e.g. `AmazonFSx/BackupUsage`); `owner` picks that entry before the plain one.
        """
        if region is None or usage_type is None:
            return None
        key = self.key_for(region, usage_type, owner)
        return self.prices.get(key)

    def key_for(self, region: str, usage_type: str, owner: str | None) -> tuple[str, str]:
        """The table key pricing `usage_type` billed by `owner` in `region`."""
        if owner and (region, f"{owner}/{usage_type}") in self.prices:
            return region, f"{owner}/{usage_type}"
        return region, usage_type

    @property
    def regions(self) -> list[str]:
        """Regions the table prices."""
        return sorted({r for r, _ in self.prices})

    def frame(self) -> pd.DataFrame:
        """The table as rows (region, usage_type, usd_per_gb_month)."""
        rows = [
            {"region": r, "usage_type": u, "usd_per_gb_month": p}
            for (r, u), p in sorted(self.prices.items())
        ]
        return pd.DataFrame(rows, columns=["region", "usage_type", "usd_per_gb_month"])

    def is_verified(
        self, region: str | None, usage_type: str | None, owner: str | None = None
    ) -> bool:
        """Whether the price of (region, usage type[, billing owner]) was checked against a source."""
        if region is None or usage_type is None:
            return False
        return self.key_for(region, usage_type, owner) in self.verified

    def meta(self) -> dict[str, Any]:
        """Provenance for outputs."""
        return {
            "path": self.path,
            "prices": len(self.prices),
            "verified_prices": len(self.verified & self.prices.keys()),
            "retrieved": self.retrieved,
            "sources": list(self.sources),
            "currency": self.currency,
            "assumptions": {"incremental_change_ratio": dict(sorted(self.change_ratio.items()))},
        }


def default_prices_text() -> str:
    """The packaged default price table (auditor/data/prices.yaml; policies/prices.yaml is its copy)."""
    return (
        importlib_resources.files("auditor")
        .joinpath("data/prices.yaml")
        .read_text(encoding="utf-8")
    )


def load_prices(path: str | Path | None = None) -> PriceTable:
    """Load the price table: the packaged default, with `path` (if given) merged over it.

    A file with `replace: true` is used alone. Raises InputError naming the file and line of the
    first bad entry.
    """
    default, _ = _parse_prices(default_prices_text(), "auditor/data/prices.yaml")
    if path is None:
        return default
    path = Path(path)
    try:
        check_file_size(path, MAX_PRICE_TABLE_BYTES, "price table")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: price table not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read price table ({exc})") from None
    user, replace = _parse_prices(text, str(path))
    if replace:
        dropped = sorted(set(default.change_ratio) - set(user.change_ratio))
        if not dropped:
            return user
        warning = (
            f"{path}: `replace: true` drops the incremental-change assumption for "
            f"{', '.join(dropped)} (assumptions.incremental_change_ratio): every snapshot of those "
            "services is counted at its full size, the upper bound of its chain"
        )
        return replace_fields(user, warnings=(*user.warnings, warning))
    merged = dict(default.prices)
    merged.update(user.prices)
    return PriceTable(
        prices=merged,
        path=f"{path} (over the default table)",
        retrieved=user.retrieved or default.retrieved,
        sources=tuple(user.sources) + tuple(default.sources),
        change_ratio={**default.change_ratio, **user.change_ratio},
        verified=(default.verified - user.prices.keys()) | user.verified,
    )


_PRICE_KEYS = {
    "version",
    "currency",
    "unit",
    "retrieved",
    "sources",
    "notes",
    "replace",
    "assumptions",
    "prices",
}
_ASSUMPTION_KEYS = {"incremental_change_ratio"}


def _parse_prices(text: str, name: str) -> tuple[PriceTable, bool]:
    check_yaml_shape(text, name)  # a YAML bomb or a 50,000-deep nesting: refused before composing
    try:
        root = yaml.compose(text)
    except RecursionError:
        raise InputError(f"{name}:1: nested too deeply to read") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{name}{line}: not valid YAML ({problem})") from None
    if root is None:
        raise InputError(f"{name}: empty price table")
    if not isinstance(root, yaml.MappingNode):
        raise InputError(
            f"{name}:{root.start_mark.line + 1}: a price table is a mapping with `version` and `prices`"
        )
    top = {}
    for key_node, value_node in root.value:
        key = key_node.value
        if key not in _PRICE_KEYS:
            raise InputError(
                f"{name}:{key_node.start_mark.line + 1}: unknown key {key!r} (expected one of {', '.join(sorted(_PRICE_KEYS))})"
            )
        top[key] = value_node
    if "version" in top and top["version"].value not in ("1",):
        node = top["version"]
        raise InputError(
            f"{name}:{node.start_mark.line + 1}: price table version {node.value!r}, this program reads 1"
        )
    if "currency" in top and top["currency"].value != "USD":
        node = top["currency"]
        raise InputError(
            f"{name}:{node.start_mark.line + 1}: currency {node.value!r}: only USD prices are supported"
        )
    if "prices" not in top:
        raise InputError(f"{name}: no `prices` mapping (region -> usage type -> USD per GB-month)")
    prices_node = top["prices"]
    if not isinstance(prices_node, yaml.MappingNode):
        raise InputError(
            f"{name}:{prices_node.start_mark.line + 1}: `prices` must map regions to usage types"
        )
    prices: dict[tuple[str, str], float] = {}
    verified: set[tuple[str, str]] = set()
    lines = text.splitlines()
    for region_node, usage_node in prices_node.value:
        region = str(region_node.value)
        line = region_node.start_mark.line + 1
        if not isinstance(region_node, yaml.ScalarNode) or not _REGION_RE.match(region):
            raise InputError(
                f"{name}:{line}: prices: {region!r} is not a region code (e.g. us-east-1)"
            )
        if not isinstance(usage_node, yaml.MappingNode):
            raise InputError(
                f"{name}:{line}: prices.{region}: must map usage types to USD per GB-month"
            )
        for ut_node, value_node in usage_node.value:
            usage_type = str(ut_node.value)
            where = f"{name}:{ut_node.start_mark.line + 1}: prices.{region}.{usage_type}"
            if not isinstance(ut_node, yaml.ScalarNode) or not usage_type.strip():
                raise InputError(f"{where}: a usage type must be a non-empty string")
            if _PREFIXED_RE.match(usage_type):
                raise InputError(
                    f"{where}: write the usage type without its region prefix (the region is the key above)"
                )
            value = _price_value(value_node)
            if value is None:
                raise InputError(
                    f"{where}: price must be a non-negative number of USD per GB-month, got {value_node.value!r}"
                )
            if (region, usage_type) in prices:
                raise InputError(f"{where}: listed twice")
            prices[(region, usage_type)] = value
            if _VERIFIED_RE.search(lines[value_node.start_mark.line]):
                verified.add((region, usage_type))
    retrieved = (
        top["retrieved"].value
        if "retrieved" in top and isinstance(top["retrieved"], yaml.ScalarNode)
        else None
    )
    sources: tuple[str, ...] = ()
    if "sources" in top:
        node = top["sources"]
        if isinstance(node, yaml.SequenceNode):
            sources = tuple(
                str(item.value) for item in node.value if isinstance(item, yaml.ScalarNode)
            )
        elif isinstance(node, yaml.ScalarNode):
            sources = (str(node.value),)
    replace = "replace" in top and str(top["replace"].value).lower() == "true"
    change_ratio = _parse_assumptions(top["assumptions"], name) if "assumptions" in top else {}
    return PriceTable(
        prices=prices,
        path=name,
        retrieved=retrieved,
        sources=sources,
        change_ratio=change_ratio,
        verified=frozenset(verified),
    ), replace


def _parse_assumptions(node: yaml.Node, name: str) -> dict[str, float]:
    """`assumptions: {incremental_change_ratio: {SERVICE: fraction in [0, 1]}}` -> {service: fraction}."""
    line = node.start_mark.line + 1
    if not isinstance(node, yaml.MappingNode):
        raise InputError(
            f"{name}:{line}: `assumptions` must be a mapping (incremental_change_ratio: {{SERVICE: fraction}})"
        )
    services = sorted({service for service, _ in BACKUP_TYPES.values()})
    out: dict[str, float] = {}
    for key_node, value_node in node.value:
        where = f"{name}:{key_node.start_mark.line + 1}: assumptions.{key_node.value}"
        if not isinstance(key_node, yaml.ScalarNode) or key_node.value not in _ASSUMPTION_KEYS:
            raise InputError(
                f"{where}: unknown assumption (expected one of {', '.join(sorted(_ASSUMPTION_KEYS))})"
            )
        if not isinstance(value_node, yaml.MappingNode):
            raise InputError(f"{where}: must map services to a fraction between 0 and 1")
        for svc_node, ratio_node in value_node.value:
            at = f"{name}:{svc_node.start_mark.line + 1}: assumptions.{key_node.value}.{svc_node.value}"
            if not isinstance(svc_node, yaml.ScalarNode) or svc_node.value not in services:
                raise InputError(f"{at}: unknown service (expected one of {', '.join(services)})")
            ratio = _price_value(ratio_node)
            if ratio is None or ratio > 1:
                got = (
                    ratio_node.value
                    if isinstance(ratio_node, yaml.ScalarNode)
                    else "a " + ratio_node.id
                )
                raise InputError(f"{at}: must be a fraction between 0 and 1, got {got!r}")
            if svc_node.value in out:
                raise InputError(f"{at}: listed twice")
            out[svc_node.value] = ratio
    return out


def _price_value(node: yaml.Node) -> float | None:
    if not isinstance(node, yaml.ScalarNode) or node.tag not in (
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
    ):
        return None
    try:
        value = float(node.value.replace("_", ""))
    except ValueError:
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return value
