"""Per-item robustness for collectors: one malformed record costs one `errors` row, not a listing.

Real accounts hold records in older formats (an RDS snapshot from before AWS added `DBSnapshotArn`,
a field a newer API version renamed). A collector builds each item through `for_each`; an item
whose builder raises KeyError/TypeError/ValueError/AttributeError is recorded in `errors` with its
identifier, and the rest of the listing is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from auditor.aws.context import Context

MALFORMED = "MalformedRecord"
_BUILD_ERRORS = (KeyError, TypeError, ValueError, AttributeError)


def record_malformed(
    ctx: Context, service: str, operation: str, ident: str | None, problem: str, affects: str
) -> None:
    """One `errors` row naming the malformed item (`affects` is what its loss leaves incomplete)."""
    ctx.records["errors"].append(
        {
            "account_id": ctx.account_id,
            "region": ctx.region,
            "service": service,
            "operation": operation,
            "error_code": MALFORMED,
            "message": f"{ident or '(no identifier)'}: {problem}"[:300],
            "affects": affects,
        }
    )


def for_each(
    ctx: Context,
    items: Iterable[dict[str, Any]] | None,
    build: Callable[[dict[str, Any]], None],
    *,
    service: str,
    operation: str,
    ident_key: str,
    affects: str,
) -> None:
    """Call `build(item)` for every item; a malformed one becomes an `errors` row, the rest stay."""
    for item in items or ():
        try:
            build(item)
        except _BUILD_ERRORS as exc:
            ident = item.get(ident_key) if isinstance(item, dict) else None
            problem = f"missing field {exc}" if isinstance(exc, KeyError) else f"{exc}"
            record_malformed(ctx, service, operation, ident, problem, affects)
