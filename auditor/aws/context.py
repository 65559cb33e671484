"""What one collector task sees: an account, a region, clients, and a place to record failures.

Collectors call `ctx.paginate(...)` / `ctx.call(...)`. Both return None (never a partial result)
when the call fails, after recording one row in `errors` with the resource types whose data is
therefore incomplete. A listing whose second page fails is dropped as a whole: half a listing kept
as if complete would make missing backups look deleted.
"""

from __future__ import annotations

import random
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3
import pyarrow as pa
from botocore.exceptions import BotoCoreError, ClientError

from auditor.aws.pieces import head_of_piece, piece
from auditor.aws.session import Sessions, partition_of
from auditor.inventory import SCHEMAS

# The page size every listing sends (the largest each API reference allows), by service or by
# (service, operation). Without one EC2 answers DescribeSnapshots/DescribeVolumes with everything
# in one response, which large accounts see throttled or timed out (the AWS CLI sends 1000 for
# exactly these). A forced smaller `page_size` is clamped into [_MIN_PAGE, this].
# EC2 API reference: DescribeSnapshots and ListSnapshotsInRecycleBin MaxResults 5..1000,
# DescribeVolumes 5..500 (larger values return 500). RDS MaxRecords 20..100. DynamoDB
# ListTables/ListBackups Limit 1..100. Tagging API GetResources ResourcesPerPage 1..100. AWS Backup
# MaxResults 1..1000. EC2 DescribeImages and DescribeInstances MaxResults 5..1000; S3 ListBuckets
# MaxBuckets 1..10000. Organizations ListAccounts 1..20. Account ListRegions 1..50. Storage Gateway
# Limit and EFS MaxItems have no documented maximum (EFS's default is 100): 100.
_MAX_PAGE: dict[str | tuple[str, str], int] = {
    "ec2": 500,
    ("ec2", "describe_snapshots"): 1000,
    ("ec2", "list_snapshots_in_recycle_bin"): 1000,
    ("ec2", "describe_images"): 1000,
    ("ec2", "describe_instances"): 1000,
    ("s3", "list_buckets"): 10000,
    "rds": 100,
    "dynamodb": 100,
    "resourcegroupstaggingapi": 100,
    "backup": 1000,
    "organizations": 20,
    "account": 50,
    "storagegateway": 100,
    "efs": 100,
}
_MIN_PAGE = {"ec2": 5, "rds": 20}
_FALLBACK_PAGE = 100


def page_size_for(service: str, method: str, forced: int | None = None) -> int:
    """The page size a listing sends: `forced` clamped into AWS's bounds, else AWS's maximum."""
    largest = _MAX_PAGE.get((service, method), _MAX_PAGE.get(service, _FALLBACK_PAGE))
    if not forced:
        return largest
    return min(max(forced, _MIN_PAGE.get(service, 1)), largest)


BACKUP_WIDE = "*"
# Rows of one table a task keeps as dicts before making them a compact piece.
FLUSH_ROWS = 5000

# botocore's retry quota is per client and shared by every thread using it: under sustained
# throttling it runs dry (a throttled retry costs 5, a success after retries gives back 5, one
# without retries 1; at 50 % throttling a call costs ~2 on average, so ~250 calls empty the 500)
# and calls then fail on their first throttle (botocore marks them RetryQuotaReached). Such a call
# or page is asked again here, after a back-off that doubles from 1 s (capped at 20 s, with
# jitter), up to THROTTLE_ROUNDS times; only then is it an `errors` row. A call that used all its
# attempts (AWS_MAX_ATTEMPTS) is not: the attempt limit stays the user's.
THROTTLE_ROUNDS = 20
_THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "EC2ThrottledException",
    }
)


def is_throttling(exc: ClientError) -> bool:
    """Whether `exc` is a throttle botocore gave up on only because its retry quota ran dry."""
    metadata = exc.response.get("ResponseMetadata") or {}
    return error_code(exc) in _THROTTLING_CODES and bool(metadata.get("RetryQuotaReached"))


def throttle_pause(round_: int) -> None:
    """Sleep before the next round of a throttled call: 1, 2, 4 ... 20 s, with jitter."""
    _sleep(random.uniform(0.5, 1.0) * min(20.0, 2.0**round_))


_sleep = time.sleep  # tests replace it to keep the logic without the waiting
# What `Context.call` answers for an item that no longer exists (compare with `is`).
GONE: dict[str, Any] = {}


def error_code(exc: ClientError) -> str:
    """The AWS error code of `exc`."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def not_found(*codes: str) -> Callable[[ClientError], bool]:
    """A `gone` predicate: the error code is one of `codes`."""
    return lambda exc: error_code(exc) in codes


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


@dataclass(frozen=True)
class _Mark:
    """How many pieces and plain rows each table had, and how much spawned work, at one moment."""

    rows: dict[str, tuple[int, int]]
    spawned: int


@dataclass
class Context:
    """One (account, region) as seen by one collector, collecting records per table."""

    target: Target
    region: str
    sessions: Sessions
    page_size: int | None = None
    as_of: datetime | None = None
    # Restore jobs are listed from here on (ListRestoreJobs ByCreatedAfter): the jobs window's start,
    # or earlier when a policy's restore_test_days looks further back.
    restore_jobs_since: datetime | None = None
    records: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    # Rows already made compact (auditor.aws.pieces): a long listing's records are turned into a
    # piece every FLUSH_ROWS rows instead of all being held as dicts until the task ends.
    pieces: dict[str, list[pa.Table]] = field(default_factory=lambda: defaultdict(list))
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
        rows = self.records[table]
        rows.append(record)
        if len(rows) >= FLUSH_ROWS:
            self._flush(table)

    def _flush(self, table: str) -> None:
        self.pieces[table].append(piece(table, self.records[table]))
        self.records[table] = []

    def compacted(self) -> dict[str, list[pa.Table]]:
        """Every row this task recorded, as pieces by table (the records are handed over)."""
        for table, rows in list(self.records.items()):
            if rows:
                self._flush(table)
        return {table: pieces for table, pieces in self.pieces.items() if pieces}

    def error_rows(self) -> list[dict[str, Any]]:
        """The `errors` rows recorded so far (also those already made compact)."""
        rows: list[dict[str, Any]] = []
        for compact in self.pieces.get("errors", ()):
            rows.extend(compact.select(list(SCHEMAS["errors"].names)).to_pylist())
        return rows + list(self.records.get("errors", ()))

    def add_tags(self, arn: str, tags: Any) -> None:
        """Add tag rows for `arn` from AWS's [{Key, Value}] list (any key case) or a dict."""
        if not tags:
            return
        items: Iterable[tuple[Any, Any]]
        if isinstance(tags, dict):
            items = tags.items()
        else:
            items = ((t.get("Key", t.get("key")), t.get("Value", t.get("value"))) for t in tags)
        rows = self.records["tags"]
        for key, value in items:
            rows.append(
                {
                    "account_id": self.account_id,
                    "region": self.region,
                    "arn": arn,
                    "key": key,
                    "value": value,
                }
            )
        if len(rows) >= FLUSH_ROWS:
            self._flush("tags")

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
        self,
        service: str,
        method: str,
        *,
        affects: Iterable[str] | str,
        gone: Callable[[ClientError], bool] | None = None,
        **params: Any,
    ) -> dict | None:
        """One API call; None (and an `errors` row) when it fails.

        `gone(exc)` says whether an error means the item no longer exists (deleted between the
        listing and this call): then the answer is GONE and no error is recorded. A call still
        throttled after botocore's retries is tried again after a back-off (see THROTTLE_ROUNDS).
        """
        client = self.client(service)
        for round_ in range(THROTTLE_ROUNDS + 1):
            try:
                return getattr(client, method)(**params)
            except ClientError as exc:
                if gone is not None and gone(exc):
                    return GONE
                if is_throttling(exc) and round_ < THROTTLE_ROUNDS:
                    throttle_pause(round_)
                    continue
                self.fail(service, self._api_name(client, method), exc, affects)
                return None
            except BotoCoreError as exc:
                self.fail(service, self._api_name(client, method), exc, affects)
                return None
        return None  # not reached: the last round returns or records

    def _mark(self) -> _Mark:
        """Where this task's rows and spawned work stand now (see `_undo`)."""
        return _Mark(
            rows={
                table: (len(self.pieces.get(table, ())), len(self.records.get(table, ())))
                for table in set(self.pieces) | set(self.records)
            },
            spawned=len(self.spawned),
        )

    def _undo(self, mark: _Mark) -> None:
        """Drop every row (also `errors` rows) and spawned task added since `mark`.

        A flush since the mark made one piece of the rows held then and the rows added after:
        that piece is cut back to the rows held then.
        """
        for table in set(self.pieces) | set(self.records):
            kept_pieces, kept_rows = mark.rows.get(table, (0, 0))
            pieces = self.pieces.get(table, [])
            if len(pieces) > kept_pieces:
                first_new = pieces[kept_pieces]
                self.pieces[table] = pieces[:kept_pieces] + (
                    [head_of_piece(first_new, kept_rows)] if kept_rows else []
                )
                self.records[table] = []
            else:
                self.records[table] = self.records.get(table, [])[:kept_rows]
        del self.spawned[mark.spawned :]

    def each_page(
        self,
        service: str,
        method: str,
        key: str,
        handle: Callable[[list[dict[str, Any]]], None],
        *,
        affects: Iterable[str] | str,
        **params: Any,
    ) -> bool:
        """Hand each page's items of a listing to `handle` as it arrives; False if a page failed.

        Only one page of API answers is held at a time (a listing of 100,000 backups held whole,
        in several tasks at once, was most of a collection's peak memory). All or nothing, as
        `paginate`: when a later page fails, every row and spawned task `handle` added since the
        listing started is dropped again, so the failed listing counts nothing (and one `errors`
        row says so). `handle` must therefore change nothing but this context's rows and spawned
        work, or its caller must discard what else it built when this returns False. A listing
        botocore cannot resume mid-way (a nested token) is gathered whole first, as `paginate`.
        """
        client = self.client(service)
        model = getattr(client.get_paginator(method), "_pagination_cfg", {})
        output_token = model.get("output_token")
        if not (isinstance(output_token, str) and "." not in output_token):
            items = self.paginate(service, method, key, affects=affects, **params)
            if items is None:
                return False
            handle(items)
            return True
        mark = self._mark()
        return self._pages(
            service, method, key, handle, affects=affects, undo=lambda: self._undo(mark), **params
        )

    def paginate(
        self, service: str, method: str, key: str, *, affects: Iterable[str] | str, **params: Any
    ) -> list[dict[str, Any]] | None:
        """Every item of a paginated listing, or None (and an `errors` row) if any page failed.

        A page still throttled after botocore's retries is asked again after a back-off, resuming
        from the last page received (not from the start), up to THROTTLE_ROUNDS times a page.
        """
        items: list[dict[str, Any]] = []
        done = self._pages(
            service, method, key, items.extend, affects=affects, undo=items.clear, **params
        )
        return items if done else None

    def _pages(
        self,
        service: str,
        method: str,
        key: str,
        handle: Callable[[list[dict[str, Any]]], None],
        *,
        affects: Iterable[str] | str,
        undo: Callable[[], None] | None = None,
        **params: Any,
    ) -> bool:
        """Hand every page's items to `handle`; False (and an `errors` row) if a page failed.

        A page still throttled after botocore's retries is asked again after a back-off, resuming
        from the last page received, up to THROTTLE_ROUNDS times a page; a listing that cannot be
        resumed starts again from its first page. `undo` forgets what the pages handled so far
        added: called before such a restart and before a failure is recorded.
        """
        client = self.client(service)
        paginator = client.get_paginator(method)
        model = getattr(paginator, "_pagination_cfg", {})
        config: dict[str, Any] = {}
        # botocore refuses PageSize on a listing without a limit key (e.g. DescribeRegions).
        if model.get("limit_key"):
            config["PageSize"] = page_size_for(service, method, self.page_size)
        output_token = model.get("output_token")
        resumable = isinstance(output_token, str) and "." not in output_token
        next_token: str | None = None
        failures = 0  # throttled rounds in a row since the last page received
        while True:
            start = dict(config, StartingToken=next_token) if next_token else config
            try:
                for page in paginator.paginate(**params, PaginationConfig=start):
                    handle(page.get(key) or [])
                    failures = 0
                    if resumable:
                        next_token = page.get(output_token)
                return True
            except ClientError as exc:
                if is_throttling(exc) and failures < THROTTLE_ROUNDS:
                    if not (resumable and next_token):  # resume where it stopped, or restart
                        if undo is not None:
                            undo()
                        next_token = None
                    throttle_pause(failures)
                    failures += 1
                    continue
                if undo is not None:
                    undo()
                self.fail(service, self._api_name(client, method), exc, affects)
                return False
            except BotoCoreError as exc:
                if undo is not None:
                    undo()
                self.fail(service, self._api_name(client, method), exc, affects)
                return False
