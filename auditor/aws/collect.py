"""Fan-out: accounts × regions × services on one bounded thread pool, then normalisation.

Accounts are entered first (the caller's own account with the base session; others by assuming
`role_name`, with `external_id`), on the same pool; as each account is entered its
region × service tasks are queued. A task's failure is an `errors` row, never an exception.
"""

from __future__ import annotations

import heapq
import importlib
import queue
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pyarrow as pa
from botocore.config import Config
from botocore.exceptions import ProfileNotFound

from auditor import __version__, catalog
from auditor.aws import backup
from auditor.aws.context import BACKUP_WIDE, Context, Target, error_row, page_size_for
from auditor.aws.normalize import build_arrow_tables
from auditor.aws.pieces import compact_records, piece
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
from auditor.jobs import resolve_jobs_since
from auditor.memory import limit_malloc_arenas, release_free_memory, use_compact_arrow_pool
from auditor.progress import Progress

Collector = tuple[Callable[[Context], None], tuple[str, ...] | str]


def _catalogued_collectors() -> dict[str, Collector]:
    """name -> (collector, resource types whose data a crash of it leaves incomplete).

    One entry per collector module the catalogue names (auditor/aws/<collector>.py, its `collect`),
    in catalogue order, then AWS Backup's own. A module's `AFFECTS` widens what its crash leaves
    incomplete beyond the types it gathers (EBS snapshots are also Storage Gateway volumes' backups).
    """
    found: dict[str, Collector] = {}
    for name, type_ids in catalog.collectors().items():
        module = importlib.import_module(f"auditor.aws.{name}")
        found[name] = (module.collect, getattr(module, "AFFECTS", type_ids))
    found["backup"] = (backup.collect, BACKUP_WIDE)
    return found


COLLECTORS: dict[str, Collector] = _catalogued_collectors()


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
    # The jobs window's start (`--jobs-since`): a time, or a span before as_of; default 30 days.
    jobs_since: datetime | timedelta | None = None
    # Restore jobs are listed from here when it is earlier (a policy's restore_test_days).
    restore_jobs_since: datetime | None = None

    def jobs_window(self) -> datetime | None:
        """Where the jobs window starts (None: unbounded, when there is no as_of to count from)."""
        if isinstance(self.jobs_since, datetime):
            return self.jobs_since
        if self.as_of is None:
            return None
        return resolve_jobs_since(self.jobs_since, self.as_of)

    def restore_window(self) -> datetime | None:
        """Where restore jobs are listed from: the jobs window's start or `restore_jobs_since`,
        whichever is earlier."""
        window = self.jobs_window()
        if self.restore_jobs_since is None or window is None:
            return window
        return min(window, self.restore_jobs_since)


def _run_task(
    target: Target,
    region: str,
    service: str,
    sessions: Sessions,
    options: CollectOptions,
    fn: Callable[..., None] | None = None,
    args: tuple = (),
) -> tuple[Mapping[str, pa.Table | list[pa.Table]], list]:
    """Run one collector (or a piece of work it spawned); return its rows and spawned work.

    The rows come back compact (`auditor.aws.pieces`): the task's plain records, and the API
    answers they were made from, are freed as soon as it ends instead of at the end of the run.
    """
    collector, affects = COLLECTORS[service]
    ctx = Context(
        target,
        region,
        sessions,
        page_size=options.page_size,
        as_of=options.as_of,
        restore_jobs_since=options.restore_window(),
    )
    try:
        (fn or collector)(ctx, *args)
    except Exception as exc:  # an unexpected response shape: keep none of this task's partial rows
        errors = ctx.error_rows()
        errors.append(error_row(target.account_id, region, service, "collect", exc, affects))
        return compact_records({"errors": errors}), []
    return ctx.compacted(), ctx.spawned


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
    """Enter `account` by assuming `role_name` there, with credentials that renew themselves.

    AssumeRole credentials last at most an hour when roles are chained, and an `--org` run can
    last longer: botocore's refreshable credentials call `refresh` again before they expire
    (15 minutes ahead, blocking from 10 minutes ahead), so later calls never carry an expired
    token. The first AssumeRole is made here, so an account that cannot be entered fails now.
    """
    from botocore.credentials import RefreshableCredentials

    params: dict[str, Any] = {
        "RoleArn": f"arn:{partition}:iam::{account}:role/{options.role_name}",
        "RoleSessionName": "auditor-collect",
    }
    if options.external_id:
        params["ExternalId"] = options.external_id
    sts = sessions.client(base, "sts", region)

    def refresh() -> dict[str, str]:
        creds = sts.assume_role(**params)["Credentials"]
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": creds["Expiration"].isoformat(),
        }

    credentials = RefreshableCredentials.create_from_metadata(
        metadata=refresh(), refresh_using=refresh, method="assume-role"
    )
    session = sessions.session()
    # boto3 takes only static keys as arguments; refreshable credentials go on its botocore session
    # (the documented way to give a session its own credential source).
    session._session._credentials = credentials
    return Target(account, session, partition)


def enabled_regions(sessions: Sessions, target: Target, home: str, wanted: list[str]) -> list[str]:
    """The regions of `wanted` that `target`'s account can use.

    Regions launched after 20 March 2019 are disabled until an account opts in (AWS Account
    Management guide, "Enable or disable AWS Regions in your account"); a call there fails. EC2
    DescribeRegions with AllRegions=true reports each region's OptInStatus
    (opt-in-not-required | opted-in | not-opted-in; EC2 API reference, DescribeRegions). When it
    cannot be asked, every wanted region is tried (a disabled one then shows as a failed call).
    """
    try:
        answer = sessions.client(target.session, "ec2", home).describe_regions(AllRegions=True)
    except Exception:  # no ec2:DescribeRegions: fall back to trying every region
        return list(wanted)
    disabled = {
        r["RegionName"] for r in answer.get("Regions", []) if r.get("OptInStatus") == "not-opted-in"
    }
    return [r for r in wanted if r not in disabled]


def _org_accounts(sessions: Sessions, base, region: str) -> list[str]:
    client = sessions.client(base, "organizations", region)
    accounts: list[str] = []
    pages = client.get_paginator("list_accounts").paginate(
        PaginationConfig={"PageSize": page_size_for("organizations", "list_accounts")}
    )
    for page in pages:
        for acct in page.get("Accounts", []):
            if (acct.get("State") or acct.get("Status")) == "ACTIVE":
                accounts.append(acct["Id"])
    return accounts


def _enter(
    sessions: Sessions,
    base,
    caller: str | None,
    home: str,
    partition: str,
    account: str,
    options: CollectOptions,
    regions: list[str],
) -> tuple[Target, list[str]]:
    """Enter one account (its own session for the caller, else by role); its usable regions."""
    if account == caller:
        target = Target(account, base, partition)
    else:
        target = _assume(sessions, base, home, partition, account, options)
    return target, enabled_regions(sessions, target, home, regions)


class _Scheduler:
    """A bounded thread pool fed in account order.

    Work is queued with its account's position; the pool is only ever given `workers * 2` items,
    always the earliest account's first. An account's follow-up work (per vault, per table) thus
    runs before later accounts are even entered, so each account finishes soon after it starts
    (with thousands of accounts, first-in-first-out would enter all of them before finishing any,
    and credentials and memory would be held for the whole run).
    """

    def __init__(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers)
        self._window = workers * 2
        self._waiting: list[tuple[int, int, str, Any, Callable, tuple]] = []
        self._done: queue.Queue[tuple[int, str, Any, Future]] = queue.Queue()
        self._running = 0
        self._seq = 0

    def __enter__(self) -> _Scheduler:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, order: int, kind: str, key: Any, fn: Callable, *args: Any) -> None:
        """Queue `fn(*args)` for the account at position `order`."""
        self._seq += 1
        heapq.heappush(self._waiting, (order, self._seq, kind, key, fn, args))
        self._fill()

    def _fill(self) -> None:
        while self._waiting and self._running < self._window:
            order, _, kind, key, fn, args = heapq.heappop(self._waiting)
            self._running += 1

            # Defaults bind this item's values now, not the loop's last ones.
            def finished(fut: Future, o: Any = order, k: Any = kind, kk: Any = key) -> None:
                self._done.put((o, k, kk, fut))

            self._pool.submit(fn, *args).add_done_callback(finished)

    def completed(self):
        """Yield (order, kind, key, future) as work finishes, until nothing is left."""
        while self._running or self._waiting:
            item = self._done.get()
            self._running -= 1
            yield item
            self._fill()


@dataclass
class _Gathered:
    """What a collection has gathered so far: rows by table, and which accounts it entered.

    Rows are kept as compact pieces (`auditor.aws.pieces`), one per table per finished task.
    """

    pieces: dict[str, list[pa.Table]] = field(default_factory=lambda: defaultdict(list))
    accounts_seen: list[str] = field(default_factory=list)
    accounts_failed: list[str] = field(default_factory=list)
    # account -> requested regions it has not enabled (opt-in regions): not applicable there
    not_enabled: dict[str, list[str]] = field(default_factory=dict)

    def merge(self, part: Mapping[str, pa.Table | list[pa.Table] | list[dict[str, Any]]]) -> None:
        """Add one task's rows (a piece or pieces, or plain records) to the collection's."""
        for table, rows in part.items():
            if isinstance(rows, pa.Table):
                self.pieces[table].append(rows)
            elif rows and all(isinstance(r, pa.Table) for r in rows):
                self.pieces[table].extend(r for r in rows if isinstance(r, pa.Table))
            elif rows:
                self.pieces[table].append(piece(table, cast(list[dict[str, Any]], rows)))


class _Fanout:
    """One collection's work on the scheduler: accounts entered, then their collector tasks.

    A progress unit is one account × region × service, done when its task and every piece it split
    off are done: the bar's total is set once, when the accounts are known, and never grows.
    """

    def __init__(
        self,
        scheduler: _Scheduler,
        sessions: Sessions,
        options: CollectOptions,
        regions: list[str],
        gathered: _Gathered,
        bar: Any,
    ) -> None:
        self.scheduler = scheduler
        self.sessions = sessions
        self.options = options
        self.regions = regions
        self.gathered = gathered
        self.bar = bar
        self.units_per_account = len(regions) * len(options.services)
        self.pieces: dict[tuple[str, str, str], int] = defaultdict(int)

    def enter_accounts(
        self, wanted: list[str], base: Any, caller: str | None, home: str, partition: str
    ) -> None:
        """Queue the entry of every wanted account, in order."""
        self.bar.set_total(len(wanted) * self.units_per_account)
        for order, account in enumerate(wanted):
            self.scheduler.submit(
                order,
                "account",
                account,
                _enter,
                self.sessions,
                base,
                caller,
                home,
                partition,
                account,
                self.options,
                self.regions,
            )

    def queue_tasks(self, order: int, target: Target, region: str, service: str, work) -> None:
        """Queue collector tasks (or the pieces one split off) of one account."""
        for fn, args in work:
            self.scheduler.submit(
                order,
                "task",
                (target, region, service),
                _run_task,
                target,
                region,
                service,
                self.sessions,
                self.options,
                fn,
                args,
            )

    def drain(self) -> None:
        """Handle work as it finishes until none is left."""
        for order, kind, key, fut in self.scheduler.completed():
            if kind == "account":
                self._entered(order, key, fut)
            else:
                self._finished(order, key, fut)

    def _entered(self, order: int, account: str, fut: Future) -> None:
        """An account was entered (or failed to be): queue its region × service tasks."""
        gathered, services = self.gathered, self.options.services
        try:
            target, usable = fut.result()
        except Exception as exc:
            gathered.accounts_failed.append(account)
            self.bar.advance(self.units_per_account)
            gathered.merge(
                {"errors": [error_row(account, None, "sts", "AssumeRole", exc, BACKUP_WIDE)]}
            )
            return
        gathered.accounts_seen.append(target.account_id)
        skipped = [r for r in self.regions if r not in usable]
        if skipped:
            gathered.not_enabled[target.account_id] = skipped
            self.bar.advance(len(skipped) * len(services))
        for region in usable:
            for service in services:
                self.pieces[(target.account_id, region, service)] += 1
                self.queue_tasks(order, target, region, service, [(None, ())])

    def _finished(self, order: int, key: tuple[Target, str, str], fut: Future) -> None:
        """A collector task finished: keep its records, queue what it split off."""
        part, spawned = fut.result()
        self.gathered.merge(part)
        target, region, service = key
        # per-item work a collector split off: same account, so it runs before later accounts
        self.queue_tasks(order, target, region, service, spawned)
        unit = (target.account_id, region, service)
        self.pieces[unit] += len(spawned) - 1
        if self.pieces[unit] == 0:
            self.bar.advance()


def _base_session(sessions: Sessions, profile: str | None) -> Any:
    """The caller's own session (from `profile` when given); UsageError for an unknown profile."""
    try:
        return sessions.session(profile_name=profile) if profile else sessions.session()
    except ProfileNotFound:
        raise UsageError(f"AWS profile {profile!r} not found in the AWS config files") from None


def _checked_regions(options: CollectOptions, base: Any) -> list[str]:
    """The regions to collect (given, else the session's); UsageError when none or unknown ones."""
    regions = list(options.regions) or ([base.region_name] if base.region_name else [])
    if not regions:
        raise UsageError(
            "no region given: pass --region (repeatable) or set AWS_REGION / a profile region"
        )
    regions = validate_regions(regions)
    unknown = [s for s in options.services if s not in COLLECTORS]
    if unknown:
        raise UsageError(f"unknown service(s) {', '.join(unknown)}; known: {', '.join(COLLECTORS)}")
    return regions


def _wanted_accounts(
    sessions: Sessions,
    base: Any,
    home: str,
    caller: str | None,
    options: CollectOptions,
    gathered: _Gathered,
) -> list[str]:
    """The accounts to enter: those given, the organization's with --org, else the caller's."""
    wanted = list(dict.fromkeys(options.accounts))
    if options.org:
        try:
            wanted += [a for a in _org_accounts(sessions, base, home) if a not in wanted]
        except Exception as exc:
            row = error_row(caller, None, "organizations", "ListAccounts", exc, BACKUP_WIDE)
            gathered.merge({"errors": [row]})
    if not wanted and caller:
        wanted = [caller]
    return wanted


def collect_inventory(options: CollectOptions) -> Inventory:
    """Collect every configured account × region × service into one Inventory.

    Raises UsageError for an unknown region or when no region is given or configured. Failed calls
    do not raise: they are rows of the inventory's `errors` table.
    """
    limit_malloc_arenas()  # before the worker threads start
    use_compact_arrow_pool()
    counter = CallCounter()
    sessions = Sessions(options.session_factory, counter)
    base = _base_session(sessions, options.profile)
    regions = _checked_regions(options, base)
    home = regions[0]
    partition = partition_of(home)
    started = time.monotonic()
    collected_at = datetime.now(UTC).replace(microsecond=0).isoformat()
    gathered = _Gathered()
    scheduler = _Scheduler(max(1, options.max_workers))

    with Progress(options.progress) as bars, scheduler:
        bar = bars.phase("gather accounts × regions × services", total=None)
        fanout = _Fanout(scheduler, sessions, options, regions, gathered, bar)
        caller = _caller_identity(sessions, base, home)
        wanted = _wanted_accounts(sessions, base, home, caller, options, gathered)
        fanout.enter_accounts(wanted, base, caller, home, partition)
        fanout.drain()

    release_free_memory()  # the API answers are gone: normalisation grows into their pages
    tables = build_arrow_tables(gathered.pieces, consume=True)
    release_free_memory()
    manifest = {
        "schema_version": INVENTORY_SCHEMA_VERSION,
        "program_version": __version__,
        # when the calls were made (the real clock), not the instant the audit judges (as_of)
        "collected_at": collected_at,
        "as_of": options.as_of.isoformat() if options.as_of else None,
        "accounts": sorted(set(gathered.accounts_seen) | set(gathered.accounts_failed)),
        "accounts_failed": sorted(gathered.accounts_failed),
        "regions_not_enabled": dict(sorted(gathered.not_enabled.items())),
        "regions": regions,
        "services": list(options.services),
        "api_calls": counter.as_dict(),
        "duration_seconds": round(time.monotonic() - started, 3),
    }
    # The jobs window (auditor.jobs) and how far back restore jobs were listed.
    for key, start in (
        ("jobs_since", options.jobs_window()),
        ("restore_jobs_since", options.restore_window()),
    ):
        if start is not None:
            manifest[key] = start.isoformat()
    return Inventory(tables=tables, manifest=manifest)
