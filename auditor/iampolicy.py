"""Does a backup vault's access policy stop everyone from deleting its recovery points?

A small, deliberately narrow reader of IAM policy documents (IAM User Guide, "IAM JSON policy
elements reference"): it answers one question about a resource-based policy, whether an explicit
Deny of `backup:DeleteRecoveryPoint` applies to every caller. An explicit Deny overrides any Allow
("Policy evaluation logic"), so only Deny statements matter. Conditions cannot be evaluated without
a request; the one kind this reader understands is the named exception AWS documents for vault
policies and Audit Manager's control allows ("Vaults prevent manual deletion of recovery points
... except by certain IAM roles"): a negated match on the caller's identity
(`StringNotEquals`/`StringNotLike`/`ArnNotEquals`/`ArnNotLike` on `aws:PrincipalArn`,
`aws:userid`, `aws:username` or `aws:PrincipalAccount`). A Deny with any other condition is
reported as not shown to bind every caller, never as protection.

Used by the `deletion-protected` control (deployed vaults) and by plan-check (templates).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

__all__ = ["DELETE_ACTION", "DeletionVerdict", "deletion_verdict"]

DELETE_ACTION = "backup:DeleteRecoveryPoint"
# Negated operators that exempt named callers from a Deny ("IAM JSON policy elements: Condition
# operators"); "...IfExists" variants behave the same when the key is present, and these keys are
# present in every request (IAM User Guide, "AWS global condition context keys").
_EXEMPTING_OPERATORS = frozenset({"stringnotequals", "stringnotlike", "arnnotequals", "arnnotlike"})
_IDENTITY_KEYS = frozenset(
    {"aws:principalarn", "aws:userid", "aws:username", "aws:principalaccount"}
)

# The verdict kinds: the vault is protected only for DENIED and DENIED_EXCEPT.
NO_POLICY, DENIED, DENIED_EXCEPT, CONDITIONAL, NOT_DENIED, INVALID = (
    "no-policy",
    "denied",
    "denied-except",
    "conditional",
    "not-denied",
    "invalid",
)


@dataclass(frozen=True)
class DeletionVerdict:
    """What a vault access policy says about deleting recovery points."""

    kind: str
    reason: str
    exempt: tuple[str, ...] = field(default=())

    @property
    def protects(self) -> bool:
        """Whether the policy denies the deletion to every caller (save named exceptions)."""
        return self.kind in (DENIED, DENIED_EXCEPT)


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


@lru_cache(maxsize=256)
def _pattern(glob: str) -> re.Pattern[str]:
    # IAM wildcards: * any run of characters, ? one character ("IAM JSON policy elements: Action",
    # "Resource"); action names match case-insensitively, ARNs case-sensitively.
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    )


def _action_matches(glob: Any, action: str) -> bool:
    return isinstance(glob, str) and bool(_pattern(glob.lower()).fullmatch(action.lower()))


def _covers_action(statement: dict) -> bool:
    if "NotAction" in statement:
        return not any(_action_matches(a, DELETE_ACTION) for a in _as_list(statement["NotAction"]))
    return any(_action_matches(a, DELETE_ACTION) for a in _as_list(statement.get("Action")))


def _covers_resource(statement: dict, recovery_point_arn: str) -> bool:
    """Whether the statement's Resource reaches every recovery point of the vault.

    `recovery_point_arn` ends in `*`, so a pattern matches it only when its own wildcard covers
    any recovery point id (`*`, `arn:aws:backup:*:*:recovery-point:*`), not one named point.
    """
    if "NotResource" in statement:
        return not any(
            isinstance(r, str) and _pattern(r).fullmatch(recovery_point_arn)
            for r in _as_list(statement["NotResource"])
        )
    return any(
        isinstance(r, str) and _pattern(r).fullmatch(recovery_point_arn)
        for r in _as_list(statement.get("Resource"))
    )


def _everyone(principal: Any) -> bool:
    """`"*"` or `{"AWS": "*"}` (IAM JSON policy elements: Principal, "All principals")."""
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return "*" in _as_list(principal.get("AWS"))
    return False


def _named_principals(principal: Any) -> list[str]:
    if isinstance(principal, dict):
        return [str(p) for values in principal.values() for p in _as_list(values)]
    return [str(p) for p in _as_list(principal)]


def _exemptions(condition: Any) -> tuple[str, ...] | None:
    """The callers a condition exempts, when it only names callers; None when it does more."""
    if not condition:
        return ()
    if not isinstance(condition, dict):
        return None
    exempt: list[str] = []
    for operator, block in condition.items():
        op = str(operator).lower().removesuffix("ifexists")
        if op not in _EXEMPTING_OPERATORS or not isinstance(block, dict):
            return None
        for key, values in block.items():
            if str(key).lower() not in _IDENTITY_KEYS:
                return None
            exempt.extend(f"{key}={v}" for v in _as_list(values))
    return tuple(exempt)


def _parse(document: str | dict | None) -> dict | None:
    if isinstance(document, dict):
        return document
    if not document:
        return None
    try:
        parsed = json.loads(document)
    except (TypeError, ValueError):
        return None
    return parsed if isinstance(parsed, dict) else None


def deletion_verdict(document: str | dict | None, recovery_point_arn: str) -> DeletionVerdict:
    """Judge one vault access policy for `backup:DeleteRecoveryPoint` on the vault's points.

    `document` is the policy as GetBackupVaultAccessPolicy returns it (a JSON string), a parsed
    dict, or None when the vault has none. `recovery_point_arn` is the vault's recovery point ARN
    pattern, e.g. `arn:aws:backup:us-east-1:111122223333:recovery-point:*`.
    """
    if document is None or document == "":
        return DeletionVerdict(NO_POLICY, "it has no access policy")
    policy = _parse(document)
    if policy is None:
        return DeletionVerdict(INVALID, "its access policy is not a JSON policy document")
    best: DeletionVerdict | None = None
    conditional: str | None = None
    for statement in _as_list(policy.get("Statement")):
        if not isinstance(statement, dict) or str(statement.get("Effect")) != "Deny":
            continue
        if not _covers_action(statement) or not _covers_resource(statement, recovery_point_arn):
            continue
        sid = f"statement {statement['Sid']!r}" if statement.get("Sid") else "a Deny statement"
        if "NotPrincipal" in statement:
            exempt: tuple[str, ...] = tuple(
                f"principal {p}" for p in _named_principals(statement["NotPrincipal"])
            )
        elif _everyone(statement.get("Principal")):
            exempt = ()
        else:
            continue  # a Deny aimed at named principals leaves everyone else free to delete
        extra = _exemptions(statement.get("Condition"))
        if extra is None:
            conditional = conditional or (
                f"{sid} denies {DELETE_ACTION} only under a condition this tool cannot evaluate "
                f"({json.dumps(statement.get('Condition'), sort_keys=True)}), so it is not shown "
                "to bind every caller"
            )
            continue
        exempt = exempt + extra
        if not exempt:
            return DeletionVerdict(
                DENIED, f"its access policy ({sid}) denies {DELETE_ACTION} to everyone"
            )
        verdict = DeletionVerdict(
            DENIED_EXCEPT,
            f"its access policy ({sid}) denies {DELETE_ACTION} to everyone except "
            + ", ".join(exempt),
            exempt,
        )
        if best is None or len(verdict.exempt) < len(best.exempt):
            best = verdict
    if best is not None:
        return best
    if conditional is not None:
        return DeletionVerdict(CONDITIONAL, conditional)
    return DeletionVerdict(
        NOT_DENIED, f"its access policy has no Deny of {DELETE_ACTION} for every principal"
    )
