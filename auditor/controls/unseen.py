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
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from auditor.controls import frames as fr

if TYPE_CHECKING:
    from auditor.controls.context import Context

__all__ = ["Unseen", "unseen_places"]

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
        return {
            "na_error": np.where(hidden, self.error, -1).astype(np.int64),
            "not_collected": fr.categorical(np.where(hidden, 0, -1), [self.text]),
        }


def unseen_places(ctx: Context, relevant: Callable[[str, str, frozenset[str]], bool]) -> Unseen:
    """The failed calls, anywhere, for which `relevant(service, operation, data it fills)` holds,
    and the accounts of the run that could not be entered (`accounts_failed` in the manifest)."""
    errors = ctx.errors
    failed = {str(a) for a in (ctx.inventory.manifest or {}).get("accounts_failed") or []}
    first = -1
    phrases: dict[tuple, str] = {}
    if len(errors):
        names = ("service", "operation", "account_id", "region")
        columns = [errors[c].astype(object) for c in names]
        for i, (service, operation, account, region) in enumerate(zip(*columns)):
            if relevant(str(service), str(operation), ctx.error_data[i]):
                # a call failing per vault repeats in one place: named once
                key = (service, operation, account, region)
                if key not in phrases:
                    phrases[key] = ctx.error_text(i)
            elif account not in failed:
                continue
            first = i if first < 0 else first
    texts = list(phrases.values())
    texts += [f"account {a}, which the collection could not enter" for a in sorted(failed)]
    if not texts:
        return Unseen(-1, None)
    more = len(texts) - _MAX_PLACES
    text = "; ".join(texts[:_MAX_PLACES]) + (f"; and {more} more" if more > 0 else "")
    return Unseen(first, text)
