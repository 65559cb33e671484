"""Controls: a registry of plug-in controls (`REGISTRY`), pure vectorised functions, `check_inventory`.

`check_inventory(inventory, policies, as_of)` evaluates every registered control and returns
`Findings` (`.frame` with one row per finding, `.summary`, `.as_of`). `REGISTRY` and `CONTROL_IDS`
are computed on first use (see `auditor.controls.registry`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from auditor.controls.engine import FINDING_COLUMNS, STATUSES, Context, Findings, Part, run_controls
from auditor.controls.registry import SEVERITIES, Control, discover
from auditor.owners import DEFAULT_OWNER_TAGS

__all__ = [
    "CONTROL_IDS",
    "FINDING_COLUMNS",
    "REGISTRY",
    "SEVERITIES",
    "STATUSES",
    "Context",
    "Control",
    "Findings",
    "Part",
    "check_inventory",
    "run_check",
]

if TYPE_CHECKING:
    # Computed on first use by __getattr__ below; declared so type checkers know their types.
    REGISTRY: dict[str, Control]
    CONTROL_IDS: tuple[str, ...]


def __getattr__(name: str) -> Any:
    # Lazy, like auditor.controls.registry: discovery imports every control module on first use.
    if name in ("REGISTRY", "CONTROL_IDS"):
        from auditor.controls import registry

        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def check_inventory(
    inventory,
    policies,
    as_of: datetime,
    controls: list[str] | None = None,
    progress: bool = False,
    owner_tags: Sequence[str] = DEFAULT_OWNER_TAGS,
    prices: Any = None,
) -> Findings:
    """Evaluate `policies` (a PolicySet) on `inventory` at the fixed time `as_of`.

    `controls` limits the run to those ids (default: all, in registry order); `progress` shows a
    "controls evaluated" bar; `owner_tags` are the tag keys the findings carry as owner columns;
    `prices` is the price table the costs in evidence use (None: the default table).
    """
    ctx = Context(inventory, policies, as_of, owner_tags=owner_tags, prices=prices)
    registry = discover()
    chosen = [registry[c] for c in controls] if controls is not None else None
    return run_controls(ctx, chosen, progress=progress)


def run_check(
    inventories,
    policies_path,
    out,
    as_of: datetime,
    progress: bool = False,
    formats: tuple[str, ...] = ("json", "csv"),
    skip_controls: tuple[str, ...] = (),
    owner_tags: Sequence[str] = DEFAULT_OWNER_TAGS,
) -> Findings:
    """`auditor check`: load the policies (first: a bad policy fails fast with exit 2), read the
    inventory folder(s) as one, evaluate every control but `skip_controls` (listed in the
    summary instead), write findings.parquet and the `formats` (json, csv, jsonl) into `out`;
    the findings carry the `owner_tags` as owner columns."""
    from auditor.controls.registry import discover
    from auditor.findings import write_findings
    from auditor.inventory import read_as_null_note, read_inventory
    from auditor.memory import use_compact_arrow_pool
    from auditor.policy import load_policies

    policies = load_policies(policies_path, as_of=as_of)
    use_compact_arrow_pool()
    # Categorical low-cardinality columns: the same verdicts in about half the memory.
    inventory = read_inventory(*inventories, compact=True)
    chosen = [cid for cid in discover() if cid not in skip_controls] if skip_controls else None
    findings = check_inventory(
        inventory, policies, as_of, controls=chosen, progress=progress, owner_tags=owner_tags
    )
    if skip_controls:
        findings.summary["skipped_controls"] = list(skip_controls)
    note = read_as_null_note(inventory)
    if note:  # an inventory written before some columns existed: said once, and kept with it
        findings.summary["notes"] = [note]
    write_findings(findings, out, policies=policies, policy_path=policies_path, formats=formats)
    return findings
