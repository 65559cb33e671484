"""Places a run could not fully see, wherever they are: failed calls and accounts never entered.

`verdicts.apply_errors` makes a verdict NOT_ASSESSED where a failed call touched the resource's
own account and region. Some controls decide on data that may be kept anywhere the run looked: a
copy in another account's logically air-gapped vault, a restore run where a copy was kept. For
them a relevant failure in any place, or an account whose role could not be assumed, may hide
what would decide the verdict, so a verdict the unseen data could change is NOT_ASSESSED.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from auditor.controls import frames as fr
from auditor.controls.context import WILDCARD_LOCATIONS, Context
from auditor.policy.columns import codes_of

__all__ = ["COPY_DATA", "Unseen", "mark", "unseen_in_own_account", "unseen_places"]

# The data a copy of a backup is found in (its recovery point, and the vault that holds it): a
# failed call that fills either may have hidden a copy.
COPY_DATA = frozenset({"recovery_points", "vaults"})

# Phrases named in a finding's evidence, at most; a failure repeated per vault would list thousands.
_MAX_PLACES = 5


@dataclass(frozen=True)
class Unseen:
    """What a run could not see for one control.

    `error` is the position in `ctx.errors` of the first failed call that explains it (the one
    `na_error` then names, as `verdicts.apply_errors` ranks them), -1 when none was recorded (an
    account listed as failed without an error row); `text` names the places, None when all was seen.
    """

    error: int
    text: str | None

    def __bool__(self) -> bool:
        return self.text is not None

    def mark(self, hidden: np.ndarray) -> dict[str, np.ndarray | pd.Categorical]:
        """For the rows `hidden` makes NOT_ASSESSED: ``na_error`` and the ``not_collected`` evidence."""
        return mark(np.where(hidden, 0, -1), [self])


def mark(which: np.ndarray, unseen: list[Unseen]) -> dict[str, np.ndarray | pd.Categorical]:
    """``na_error`` and the ``not_collected`` evidence per row, from the position in `unseen` of
    what hides the row's verdict (-1: nothing, the row keeps its verdict)."""
    errors = np.array([u.error for u in unseen] + [-1], dtype=np.int64)
    which = np.asarray(which, dtype=np.int64)
    return {
        "na_error": errors[np.where(which >= 0, which, len(unseen))],
        "not_collected": fr.categorical(which, [u.text for u in unseen]),
    }


def unseen_places(
    ctx: Context,
    relevant: Callable[[str, str, frozenset[str]], bool],
) -> Unseen:
    """The failed calls, anywhere, for which `relevant(service, operation, data it fills)` holds,
    and the accounts of the run that could not be entered (`accounts_failed` in the manifest)."""
    failed = {str(a) for a in (ctx.inventory.manifest or {}).get("accounts_failed") or []}
    return _unseen(ctx, _failed_calls(ctx), relevant, failed)


def unseen_in_own_account(
    ctx: Context, relevant: Callable[[str, str, frozenset[str]], bool]
) -> tuple[np.ndarray, list[Unseen]]:
    """Per (resource, plan) pair, the position in the list returned of what its resource's own
    account could not show in any of its Regions (-1: all was seen), for `mark`.

    Only that account's failed calls (and those tied to no account) count: a control judged one
    account at a time (scope "account") must not depend on the others.
    """
    none = np.full(len(ctx.pair_ridx), -1, dtype=np.int64)
    calls = _failed_calls(ctx)
    if not calls:
        return none, []
    anywhere: list[tuple[int, tuple]] = []
    by_account: dict[str | None, list[tuple[int, tuple]]] = {}
    for c in calls:
        account = _account(c[1])
        if account in WILDCARD_LOCATIONS:  # None among them
            anywhere.append(c)
        else:
            by_account.setdefault(account, []).append(c)
    codes, names = codes_of(ctx.res["account_id"])
    unseen = [
        _unseen(ctx, sorted(anywhere + by_account.get(str(a), [])), relevant, set()) for a in names
    ]
    table = np.array([i if u else -1 for i, u in enumerate(unseen)] + [-1], dtype=np.int64)
    per_resource = table[np.where(codes >= 0, codes, len(unseen))]
    return per_resource[ctx.pair_ridx], unseen


def _unseen(
    ctx: Context,
    calls: list[tuple[int, tuple]],
    relevant: Callable[[str, str, frozenset[str]], bool],
    failed: set[str],
) -> Unseen:
    """What `calls` (failed calls in the order of `ctx.errors`) and the accounts `failed` hide."""
    first = -1
    phrases: dict[tuple, str] = {}
    for i, key in calls:
        if relevant(str(key[0]), str(key[1]), ctx.error_data[i]):
            # a call failing per vault repeats in one place: named once
            if key not in phrases:
                phrases[key] = ctx.error_text(i)
        elif _account(key) not in failed:
            continue
        first = i if first < 0 else first
    texts = list(phrases.values())
    texts += [f"account {a}, which the collection could not enter" for a in sorted(failed)]
    if not texts:
        return Unseen(-1, None)
    more = len(texts) - _MAX_PLACES
    text = "; ".join(texts[:_MAX_PLACES]) + (f"; and {more} more" if more > 0 else "")
    return Unseen(first, text)


def _failed_calls(ctx: Context) -> list[tuple[int, tuple]]:
    """(position, (service, operation, account, region)) of every failed call."""
    errors = ctx.errors
    if not len(errors):
        return []
    names = ("service", "operation", "account_id", "region")
    columns = [errors[c].astype(object) for c in names]
    return list(enumerate(zip(*columns)))


def _account(key: tuple) -> str | None:
    """The account of a failed call's key, None when it names none (a null read as NaN too)."""
    return key[2] if isinstance(key[2], str) else None
