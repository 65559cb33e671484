"""What one collector task sees: an account, a region, clients, and a place to record failures.

Collectors call `ctx.paginate(...)` / `ctx.call(...)`. Both return None (never a partial result)
when the call fails, after recording one row in `errors` with the resource types whose data is
therefore incomplete. A listing whose second page fails is dropped as a whole: half a listing kept
as if complete would make missing backups look deleted.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from auditor.aws.session import Sessions, partition_of

# Page sizes AWS accepts per service (a forced page size is clamped into these bounds).
_MIN_PAGE = {"ec2": 5, "rds": 20}
_MAX_PAGE = {
    "ec2": 500,
    "rds": 100,
    "dynamodb": 100,
    "resourcegroupstaggingapi": 100,
    "backup": 1000,
}

BACKUP_WIDE = "*"

# Credentials an AWS error message can echo: SignatureDoesNotMatch quotes the canonical request,
# whose x-amz-security-token header is the session token; access key ids appear in several.
_SECRET_PATTERNS = (
    (re.compile(r"(?i)(x-amz-security-token[:=]\s*)[^\s'\"&,;]+"), r"\1[redacted]"),
    (re.compile(r"(?i)((?:x-amz-)?signature=)[0-9a-f]{16,}"), r"\1[redacted]"),
    (re.compile(r"(?i)(aws_secret_access_key\s*[=:]\s*)\S+"), r"\1[redacted]"),
    (re.compile(r"\b(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{12,}\b"), "[redacted-access-key-id]"),
)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` without credentials: the given secret values, and anything shaped like one."""
    for secret in secrets:
        if secret and len(secret) >= 8:
            text = text.replace(secret, "[redacted]")
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


@dataclass
class Target:
    """One account entered with one session."""

    account_id: str
    session: boto3.Session
    partition: str = "aws"


def error_row(
    account_id: str | None,
    region: str | None,
    service: str,
    operation: str,
    exc: BaseException,
    affects: Iterable[str] | str,
    secrets: Iterable[str | None] = (),
) -> dict[str, Any]:
    """An `errors` record for exception `exc` raised by `service:operation` (credentials redacted)."""
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = err.get("Code") or str(
            exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "ClientError")
        )
        message = err.get("Message") or str(exc)
    elif isinstance(exc, BotoCoreError):
        code = type(exc).__name__.removesuffix("Error") or "BotoCore"
        message = str(exc)
    else:
        code = type(exc).__name__
        message = str(exc) or type(exc).__name__
    message = " ".join(redact(message, secrets).split())[:300]
    if not isinstance(affects, str):
        affects = ",".join(sorted(set(affects)))
    return {
        "account_id": account_id,
        "region": region,
        "service": service,
        "operation": operation,
        "error_code": code,
        "message": message,
        "affects": affects,
    }


@dataclass
class Context:
    """One (account, region) as seen by one collector, collecting records per table."""

    target: Target
    region: str
    sessions: Sessions
    page_size: int | None = None
    as_of: datetime | None = None
    records: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    spawned: list[tuple[Callable[..., None], tuple]] = field(default_factory=list)

    @property
    def account_id(self) -> str:
        """The account being collected."""
        return self.target.account_id

    @property
    def partition(self) -> str:
        """The ARN partition of this region (aws, aws-cn, aws-us-gov, ...)."""
        return partition_of(self.region)

    def arn(
        self, service: str, resource: str, *, region: str | None = None, account: str | None = None
    ) -> str:
        """Build an ARN in this account and region."""
        region = self.region if region is None else region
        account = self.account_id if account is None else account
        return f"arn:{self.partition}:{service}:{region}:{account}:{resource}"

    def client(self, service: str) -> Any:
        """The shared client of `service` in this region."""
        return self.sessions.client(self.target.session, service, self.region)

    def add(self, table: str, **record: Any) -> None:
        """Add one record to `table`, stamped with this account and region (unless given)."""
        record.setdefault("account_id", self.account_id)
        record.setdefault("region", self.region)
        self.records[table].append(record)

    def add_tags(self, arn: str, tags: Any) -> None:
        """Add tag rows for `arn` from AWS's [{Key, Value}] list (any key case) or a dict."""
        if not tags:
            return
        if isinstance(tags, dict):
            items = tags.items()
        else:
            items = ((t.get("Key", t.get("key")), t.get("Value", t.get("value"))) for t in tags)
        for key, value in items:
            self.records["tags"].append(
                {
                    "account_id": self.account_id,
                    "region": self.region,
                    "arn": arn,
                    "key": key,
                    "value": value,
                }
            )

    def spawn(self, fn: Callable[..., None], *args: Any) -> None:
        """Run `fn(ctx, *args)` later as a task of its own (same account, region and service).

        For per-item calls AWS has no bulk form of: the pool runs them in parallel instead of one
        task making them all in a row. The spawned task's records join the collection like any.
        """
        self.spawned.append((fn, args))

    def fail(
        self, service: str, operation: str, exc: BaseException, affects: Iterable[str] | str
    ) -> None:
        """Record a failed call (the session's own credentials are redacted from the message)."""
        secrets: tuple[str | None, ...] = ()
        try:
            creds = self.target.session.get_credentials()
            if creds is not None:
                frozen = creds.get_frozen_credentials()
                secrets = (frozen.access_key, frozen.secret_key, frozen.token)
        except Exception:  # a refresh that fails here must not hide the original error
            pass
        self.records["errors"].append(
            error_row(self.account_id, self.region, service, operation, exc, affects, secrets)
        )

    def _api_name(self, client: Any, method: str) -> str:
        return client.meta.method_to_api_mapping.get(method, method)

    def call(
        self, service: str, method: str, *, affects: Iterable[str] | str, **params: Any
    ) -> dict | None:
        """One API call; None (and an `errors` row) when it fails."""
        client = self.client(service)
        try:
            return getattr(client, method)(**params)
        except (ClientError, BotoCoreError) as exc:
            self.fail(service, self._api_name(client, method), exc, affects)
            return None

    def paginate(
        self, service: str, method: str, key: str, *, affects: Iterable[str] | str, **params: Any
    ) -> list[dict[str, Any]] | None:
        """Every item of a paginated listing, or None (and an `errors` row) if any page failed."""
        client = self.client(service)
        config: dict[str, Any] = {}
        if self.page_size:
            size = max(self.page_size, _MIN_PAGE.get(service, 1))
            config["PageSize"] = min(size, _MAX_PAGE.get(service, size))
        items: list[dict[str, Any]] = []
        try:
            paginator = client.get_paginator(method)
            for page in paginator.paginate(**params, PaginationConfig=config):
                items.extend(page.get(key) or [])
        except (ClientError, BotoCoreError) as exc:
            self.fail(service, self._api_name(client, method), exc, affects)
            return None
        return items
