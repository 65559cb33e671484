"""The one registry of controls: id, title, severity, resource types, function, description.

A control is a pure function ``func(ctx) -> Part`` over a prepared `Context` (the inventory's frames
and the policies, at a fixed `as_of`). Its docstring is the description reports show. Adding a
control means writing one function with the `control` decorator and one test.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from auditor.inventory import RESOURCE_TYPES

__all__ = ["CONTROL_IDS", "REGISTRY", "SEVERITIES", "Control", "control"]

SEVERITIES = ("critical", "high", "medium", "low")

# Declared here (not only by registration) so the policy loader can validate waivers without
# importing the engine; a meta-test checks that the two agree.
CONTROL_IDS = (
    "resource-covered",
    "plan-deployed",
    "backup-recency",
    "backup-retention",
    "backup-max-retention",
    "backup-encrypted",
    "vault-lock",
    "cross-region-copy",
    "cross-account-copy",
    "backup-supported",
    "orphaned-backup",
)


@dataclass(frozen=True)
class Control:
    """A registered control."""

    id: str
    title: str
    severity: str
    resource_types: tuple[str, ...]
    func: Callable
    per: str  # "resource" (one row per resource), "plan" (per resource and plan), "backup"

    @property
    def description(self) -> str:
        """The function's docstring: what the control checks and when it fails."""
        return inspect.cleandoc(self.func.__doc__ or "")


REGISTRY: dict[str, Control] = {}


def control(
    id: str,
    title: str,
    severity: str,
    per: str = "plan",
    resource_types: tuple[str, ...] = RESOURCE_TYPES,
) -> Callable:
    """Register the decorated function as control `id`."""
    if severity not in SEVERITIES:
        raise ValueError(f"{id}: unknown severity {severity}")
    if id not in CONTROL_IDS:
        raise ValueError(f"{id}: add it to CONTROL_IDS")

    def register(func: Callable) -> Callable:
        if id in REGISTRY:
            raise ValueError(f"control {id} registered twice")
        REGISTRY[id] = Control(
            id=id,
            title=title,
            severity=severity,
            resource_types=tuple(resource_types),
            func=func,
            per=per,
        )
        return func

    return register
