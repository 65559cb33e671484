"""Stateless, AWS-like paging for the sandbox's list calls.

A token is the base64 of the next offset plus a short fingerprint of the request's filters, so a
token cannot be replayed against another query (AWS answers that with InvalidParameterValue /
InvalidNextToken; we do the same through the caller's exception factory).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


def _fingerprint(scope: str) -> str:
    return hashlib.sha1(scope.encode("utf-8")).hexdigest()[:8]


def request_scope(params: Mapping[str, Any], ignore: Sequence[str]) -> str:
    """The request's parameters as a stable text (what a token is bound to), without the paging
    ones in `ignore` (matched without regard to case or underscores: moto parses some protocols'
    keys to snake_case). Nested values are spelled out: parsed structures (moto's dict types)
    would otherwise print their memory address and no token would match its next request."""
    skip = {name.lower().replace("_", "") for name in ignore}
    kept = {k: _plain(v) for k, v in params.items() if k.lower().replace("_", "") not in skip}
    return json.dumps(kept, sort_keys=True, default=str)


def _plain(value: Any) -> Any:
    if hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


def encode_token(offset: int, scope: str = "") -> str:
    """Opaque token for `offset` within the query identified by `scope`."""
    raw = f"{offset}:{_fingerprint(scope)}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_token(token: str, scope: str, bad_token: Callable[[str], Exception]) -> int:
    """Offset encoded in `token`; raises `bad_token(message)` when it is malformed or foreign."""
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii")).decode("ascii")
        offset_text, fp = raw.split(":", 1)
        offset = int(offset_text)
    except Exception:  # any decoding failure is the caller's bad token
        raise bad_token(f"Invalid pagination token: {token!r}") from None
    if fp != _fingerprint(scope) or offset < 0:
        raise bad_token(f"Invalid pagination token: {token!r}")
    return offset


def page(
    items: Sequence[T],
    token: str | None,
    size: int | None,
    *,
    default: int,
    maximum: int,
    scope: str = "",
    bad_token: Callable[[str], Exception],
) -> tuple[list[T], str | None]:
    """One page of `items` from `token`, at most `size` (clamped to `maximum`, `default` when None)."""
    start = decode_token(token, scope, bad_token) if token else 0
    n = default if not size else max(1, min(int(size), maximum))
    chunk = list(items[start : start + n])
    nxt = encode_token(start + n, scope) if start + n < len(items) else None
    return chunk, nxt


@cache
def model_members(service: str, shape: str) -> frozenset[str]:
    """The member names of `shape` in botocore's model of `service` (what AWS may answer)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    return frozenset(model.shape_for(shape).members)
