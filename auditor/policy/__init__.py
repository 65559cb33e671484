"""Policies as code: load, validate and lint declared backup plans (docs/policy.md).

Public entry points: `load_policies`, `lint_policies`, the model (`PolicySet`, `Plan`, `Waiver`,
`Scope`), `schedule.max_interval`, and the selection helpers in `selection` (vectorised masks and
their scalar forms, on one code path).
"""

from auditor.errors import PolicyError
from auditor.policy.loader import (
    CopyTo,
    Message,
    Plan,
    PolicySet,
    Scope,
    Waiver,
    lint_policies,
    load_policies,
)
from auditor.policy.schedule import ScheduleError, max_interval
from auditor.policy.selection import (
    aws_selection_mask,
    aws_selection_selects,
    declared_mask,
    declared_selects,
)
from auditor.policy.support import SupportMatrix, load_support_matrix

__all__ = [
    "CopyTo",
    "Message",
    "Plan",
    "PolicyError",
    "PolicySet",
    "ScheduleError",
    "Scope",
    "SupportMatrix",
    "Waiver",
    "aws_selection_mask",
    "aws_selection_selects",
    "declared_mask",
    "declared_selects",
    "lint_policies",
    "load_policies",
    "load_support_matrix",
    "max_interval",
]
