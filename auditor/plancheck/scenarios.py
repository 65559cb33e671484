"""Three-valued selection over tags known only at deployment.

A template resource may carry tags whose values (or, when the whole tag map is an expression, whose
keys too) are known only once deployed: ``env: !Ref Env``. Whether a selection picks it is then
True, False or unknown. It is unknown only when the unknown value decides: the answer is the same
for every value the tag could take, a verdict is given.

Every value a tag could take falls in one of finitely many classes as far as the selections read it:
equal to one of the literal values some selection names for that key, matching one of its wildcard
patterns, or none of them (and, where the key itself is unknown, absent). One representative per
class (`candidates`) is enough: each resource is expanded into one row per combination of the
representatives of the unknown keys the selections read (`expand`), the ordinary vectorised masks
are computed over the rows, and `reduce` folds them back into one True/False/Unknown per resource.
Where two wildcard patterns read the same unknown key their overlap is not a class of its own, so the
unknown value is taken to decide (no verdict rather than a guessed one).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from auditor.plancheck.model import TemplateResource, Unknown
from auditor.policy.selection import SelectionSpec

__all__ = ["Expansion", "candidates", "expand", "reduce"]

# A value no selection names and no realistic pattern matches: stands for "any other value".
OTHER = "\x00\x02"
# What a pattern's `*` becomes in its representative, so that it differs from every literal value.
_FILLER = "\x01"
MAX_SCENARIOS = 512


@dataclass(frozen=True)
class KeyValues:
    """The representatives of one tag key's value classes, and whether they are exact."""

    values: tuple[str, ...]
    wildcard_patterns: int


def candidates(specs: Iterable[SelectionSpec]) -> dict[str, KeyValues]:
    """Per tag key read by any of `specs`: one value per class the selections can tell apart."""
    literal: dict[str, set[str]] = {}
    patterns: dict[str, set[str]] = {}
    for spec in specs:
        for key, value in spec.any_tags:
            literal.setdefault(key, set()).add(value)
        for op, key, value in spec.conditions:
            if op in ("StringLike", "StringNotLike") and "*" in value:
                patterns.setdefault(key, set()).add(value)
            else:
                literal.setdefault(key, set()).add(value)
    out = {}
    for key in set(literal) | set(patterns):
        samples = set(literal.get(key, ()))
        samples |= {p.replace("*", _FILLER) for p in patterns.get(key, ())}
        out[key] = KeyValues(tuple(sorted(samples | {OTHER})), len(patterns.get(key, ())))
    return out


@dataclass
class Expansion:
    """Rows standing for the possible tag sets of each resource (`owner[row]` = its resource)."""

    owner: np.ndarray
    tags: list[dict[str, str]]
    undecidable: dict[int, Unknown] = field(default_factory=dict)
    unknown_reason: dict[int, Unknown] = field(default_factory=dict)


def _unknown_keys(res: TemplateResource, read: dict[str, KeyValues]) -> tuple[list[str], list[str]]:
    """(unknown keys the selections read that are present, those that may also be absent).

    ``unknown_tags["*"]`` marks the tag map open: any key not written out may exist or not.
    """
    if isinstance(res.tags, Unknown):
        return [], sorted(read)
    present = sorted(k for k in res.unknown_tags if k in read)
    maybe = sorted(k for k in read if k not in res.tags and k not in res.unknown_tags)
    return present, maybe if "*" in res.unknown_tags else []


def expand(resources: Sequence[TemplateResource], read: dict[str, KeyValues]) -> Expansion:
    """One row per possible tag set of each resource, over the keys in `read`."""
    owner: list[int] = []
    rows: list[dict[str, str]] = []
    undecidable: dict[int, Unknown] = {}
    reasons: dict[int, Unknown] = {}
    for i, res in enumerate(resources):
        known = {} if isinstance(res.tags, Unknown) else dict(res.tags)
        present, maybe = _unknown_keys(res, read)
        keys = present + maybe
        if keys:
            reasons[i] = _reason(res, keys)
        choices = [
            [*read[k].values, *([None] if k in maybe else [])]
            for k in keys
            if read[k].wildcard_patterns < 2
        ]
        overlapping = [k for k in keys if read[k].wildcard_patterns >= 2]
        if overlapping or np.prod([len(c) for c in choices] or [1]) > MAX_SCENARIOS:
            undecidable[i] = reasons[i]
            owner.append(i)
            rows.append(known)
            continue
        live = [k for k in keys if read[k].wildcard_patterns < 2]
        for combo in itertools.product(*choices):
            tags = dict(known)
            tags.update({k: v for k, v in zip(live, combo, strict=True) if v is not None})
            owner.append(i)
            rows.append(tags)
    return Expansion(np.array(owner, dtype=np.int64), rows, undecidable, reasons)


def reduce(expansion: Expansion, mask: np.ndarray, n: int) -> list[bool | Unknown]:
    """Fold a mask over the expanded rows into True / False / Unknown per resource."""
    any_true = np.zeros(n, dtype=bool)
    any_false = np.zeros(n, dtype=bool)
    np.logical_or.at(any_true, expansion.owner, mask)
    np.logical_or.at(any_false, expansion.owner, ~mask)
    out: list[bool | Unknown] = []
    for i in range(n):
        if i in expansion.undecidable:
            out.append(expansion.undecidable[i])
        elif any_true[i] and any_false[i]:
            out.append(expansion.unknown_reason[i])
        else:
            out.append(bool(any_true[i]))
    return out


def _reason(res: TemplateResource, keys: list[str]) -> Unknown:
    if isinstance(res.tags, Unknown):
        return Unknown(f"{res.tags.reason}, and the selection reads tag(s) {', '.join(keys)}")
    why = "; ".join(
        f"tag {k}: {res.unknown_tags.get(k) or res.unknown_tags.get('*')}" for k in keys
    )
    return Unknown(f"the value decides the verdict ({why})")
