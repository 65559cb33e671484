"""Fan-out: accounts × regions × services on one bounded thread pool, then normalisation.

Accounts are entered first (the caller's own account with the base session; others by assuming
`role_name`, with `external_id`), on the same pool; as each account is entered its
region × service tasks are queued. A task's failure is an `errors` row, never an exception.
"""

from __future__ import annotations

import queue
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.config import Config
from botocore.exceptions import ProfileNotFound

from auditor import __version__
from auditor.aws import backup, dynamodb, ebs, efs, rds, storagegateway
from auditor.aws.context import BACKUP_WIDE, Context, Target, error_row
from auditor.aws.normalize import build_tables
from auditor.aws.session import (
    CallCounter,
    SessionFactory,
    Sessions,
    client_config,
    partition_of,
    validate_regions,
)
from auditor.errors import CollectionError, UsageError
from auditor.inventory import INVENTORY_SCHEMA_VERSION, Inventory
from auditor.progress import Progress

# name -> (collector, resource types whose data a crash of it leaves incomplete)
COLLECTORS: dict[str, tuple[Callable[[Context], None], tuple[str, ...] | str]] = {
    "ebs": (ebs.collect, ebs.AFFECTS),
    "rds": (rds.collect, ("rds-instance", "rds-cluster")),
    "dynamodb": (dynamodb.collect, dynamodb.AFFECTS),
    "efs": (efs.collect, ("efs-filesystem",)),
    "storagegateway": (storagegateway.collect, storagegateway.AFFECTS),
    "backup": (backup.collect, BACKUP_WIDE),
}


@dataclass
class CollectOptions:
    """What to collect and how.

    `session_factory(**kwargs) -> boto3.Session` (kwargs as for `boto3.Session`) lets tests inject
    sessions with their own event hooks. `as_of` is the instant judged (the manifest's as_of,
    and what decides whether a recovery point has moved to cold storage); the manifest's
    collected_at is the real clock when collection started.
    `page_size` forces small pages (tests, benchmarks); AWS's default page sizes otherwise.
    """

    regions: list[str]
    profile: str | None = None
    accounts: list[str] = field(default_factory=list)
    org: bool = False
    role_name: str = "OrganizationAccountAccessRole"
    external_id: str | None = None
    max_workers: int = 8
    progress: bool = False
    session_factory: SessionFactory | None = None
    as_of: datetime | None = None
    page_size: int | None = None
    services: tuple[str, ...] = tuple(COLLECTORS)


def _run_task(
    target: Target,
    region: str,
    service: str,
    sessions: Sessions,
    options: CollectOptions,
    fn: Callable[..., None] | None = None,
    args: tuple = (),
) -> tuple[dict, list]:
    """Run one collector (or a piece of work it spawned); return its records and spawned work."""
    collector, affects = COLLECTORS[service]
    ctx = Context(target, region, sessions, page_size=options.page_size, as_of=options.as_of)
    try:
        (fn or collector)(ctx, *args)
    except Exception as exc:  # an unexpected response shape: keep none of this task's partial rows
        errors = ctx.records.get("errors", [])
        errors.append(error_row(target.account_id, region, service, "collect", exc, affects))
        return {"errors": errors}, []
    return ctx.records, ctx.spawned


# sts:GetCallerIdentity is the first call: when it fails (no or expired credentials, unreachable
# endpoint) every later call would fail the same way, so the run stops at once instead of spending
# the retry budget of every region and service. Standard retry mode ("Retry behavior", AWS SDKs and
# Tools Reference Guide) still retries throttling and transient errors, with exponential backoff
# capped here by few attempts and short timeouts: at most ~20 s for an endpoint that never answers.
_IDENTITY_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 4}, connect_timeout=3, read_timeout=10
)


def _caller_identity(sessions: Sessions, session, region: str) -> str:
    """The caller's account id (sts:GetCallerIdentity); CollectionError naming the error if it fails."""
    try:
        client = session.client(
            "sts", region_name=region, config=client_config().merge(_IDENTITY_CONFIG)
        )
        return client.get_caller_identity()["Account"]
    except Exception as exc:  # no credentials, expired token, unreachable endpoint
        row = error_row(None, region, "sts", "GetCallerIdentity", exc, BACKUP_WIDE)
        raise CollectionError(
            f"sts:GetCallerIdentity {row['error_code']}: {row['message']}"
        ) from None


def _assume(
    sessions: Sessions, base, region: str, partition: str, account: str, options: CollectOptions
) -> Target:
    params: dict[str, Any] = {
        "RoleArn": f"arn:{partition}:iam::{account}:role/{options.role_name}",
        "RoleSessionName": "auditor-collect",
    }
    if options.external_id:
        params["ExternalId"] = options.external_id
    creds = sessions.client(base, "sts", region).assume_role(**params)["Credentials"]
    session = sessions.session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    return Target(account, session, partition)


def _org_accounts(sessions: Sessions, base, region: str) -> list[str]:
    client = sessions.client(base, "organizations", region)
    accounts: list[str] = []
    for page in client.get_paginator("list_accounts").paginate():
        for acct in page.get("Accounts", []):
            if (acct.get("State") or acct.get("Status")) == "ACTIVE":
                accounts.append(acct["Id"])
    return accounts


def collect_inventory(options: CollectOptions) -> Inventory:
    """Collect every configured account × region × service into one Inventory.

    Raises UsageError for an unknown region or when no region is given or configured, and
    CollectionError when sts:GetCallerIdentity fails (nothing could be gathered). Other failed calls
    do not raise: they are rows of the inventory's `errors` table.
    """
    counter = CallCounter()
    sessions = Sessions(options.session_factory, counter)
    try:
        base = (
            sessions.session(profile_name=options.profile)
            if options.profile
            else sessions.session()
        )
    except ProfileNotFound:
        raise UsageError(
            f"AWS profile {options.profile!r} not found in the AWS config files"
        ) from None
    regions = list(options.regions) or ([base.region_name] if base.region_name else [])
    if not regions:
        raise UsageError(
            "no region given: pass --region (repeatable) or set AWS_REGION / a profile region"
        )
    regions = validate_regions(regions)
    unknown = [s for s in options.services if s not in COLLECTORS]
    if unknown:
        raise UsageError(f"unknown service(s) {', '.join(unknown)}; known: {', '.join(COLLECTORS)}")
    home = regions[0]
    partition = partition_of(home)
    started = time.monotonic()
    collected_at = datetime.now(UTC).replace(microsecond=0).isoformat()

    records: dict[str, list[dict]] = defaultdict(list)
    accounts_seen: list[str] = []
    accounts_failed: list[str] = []

    def merge(part: dict) -> None:
        """Add one task's records to the collection's."""
        for table, rows in part.items():
            records[table].extend(rows)

    done: queue.Queue[tuple[str, Any, Future]] = queue.Queue()
    outstanding = 0

    def submit(kind: str, key: Any, fn: Callable, *args: Any) -> None:
        """Run `fn` on the pool; its future lands on `done` when finished."""
        nonlocal outstanding
        outstanding += 1
        pool.submit(fn, *args).add_done_callback(lambda fut: done.put((kind, key, fut)))

    with (
        Progress(options.progress) as bars,
        ThreadPoolExecutor(max_workers=max(1, options.max_workers)) as pool,
    ):
        gathered = bars.phase("gather accounts × regions × services", total=None)

        def submit_account(target: Target) -> None:
            """Queue every region × service of an entered account."""
            accounts_seen.append(target.account_id)
            for region in regions:
                for service in options.services:
                    pieces[(target.account_id, region, service)] += 1
                    submit(
                        "task",
                        (target, region, service),
                        _run_task,
                        target,
                        region,
                        service,
                        sessions,
                        options,
                    )

        caller = _caller_identity(sessions, base, home)

        wanted = list(dict.fromkeys(options.accounts))
        if options.org:
            try:
                wanted += [a for a in _org_accounts(sessions, base, home) if a not in wanted]
            except Exception as exc:
                merge(
                    {
                        "errors": [
                            error_row(
                                caller, None, "organizations", "ListAccounts", exc, BACKUP_WIDE
                            )
                        ]
                    }
                )
        if not wanted and caller:
            wanted = [caller]
        # Sized once, when the work is known, so the bar never runs backwards; a unit is one
        # account × region × service, done when its task and the work it split off are done.
        units_per_account = len(regions) * len(options.services)
        gathered.set_total(len(wanted) * units_per_account)
        pieces: dict[tuple[str, str, str], int] = defaultdict(int)
        for account in wanted:
            if account == caller:
                submit_account(Target(account, base, partition))
            else:
                submit(
                    "account", account, _assume, sessions, base, home, partition, account, options
                )

        # Completions arrive on a queue, so waiting costs nothing per pending task (thousands of
        # them with many accounts), and entered accounts queue their tasks as soon as they are in.
        while outstanding:
            kind, account, fut = done.get()
            outstanding -= 1
            if kind == "account":
                try:
                    submit_account(fut.result())
                except Exception as exc:
                    accounts_failed.append(account)
                    gathered.advance(units_per_account)
                    merge(
                        {
                            "errors": [
                                error_row(account, None, "sts", "AssumeRole", exc, BACKUP_WIDE)
                            ]
                        }
                    )
            else:
                part, spawned = fut.result()
                merge(part)
                target, region, service = account
                for fn, args in spawned:  # per-item work a collector split off: run it in parallel
                    submit(
                        "task",
                        account,
                        _run_task,
                        target,
                        region,
                        service,
                        sessions,
                        options,
                        fn,
                        args,
                    )
                unit = (target.account_id, region, service)
                pieces[unit] += len(spawned) - 1
                if pieces[unit] == 0:
                    gathered.advance()

    tables = build_tables(records)
    manifest = {
        "schema_version": INVENTORY_SCHEMA_VERSION,
        "program_version": __version__,
        # when the calls were made (the real clock), not the instant the audit judges (as_of)
        "collected_at": collected_at,
        "as_of": options.as_of.isoformat() if options.as_of else None,
        "accounts": sorted(set(accounts_seen) | set(accounts_failed)),
        "accounts_failed": sorted(accounts_failed),
        "regions": regions,
        "services": list(options.services),
        "api_calls": counter.as_dict(),
        "duration_seconds": round(time.monotonic() - started, 3),
    }
    return Inventory(tables=tables, manifest=manifest)
