"""Per-account work (collect → check) as tasks on a Dask distributed cluster.

Without `--dask` the collectors already fan accounts × regions × services out on one bounded
local thread pool (`auditor.aws`), and nothing here is used. With `--dask ADDRESS` each account
becomes one task on the cluster — the scheduler is Dask's, not ours — that collects the account
and checks it; the client combines the results: `Inventory.concat` for the inventories and
concatenation for the findings rows, which is sound because the inventory is partitioned by
account and controls judge each resource on its own. The controls that can look across
accounts (registered with `scope="cross-account"`: a copy kept in another account, a backup whose
source lives in another account) are evaluated once more over the combined inventory, so the
findings equal a plain run's.

Metering runs once, over the combined inventory, in the client: it is cheap vectorised pandas,
and its totals, allocations (by plan, by tag), cent rounding and CUR reconciliation span accounts,
so per-account estimates would not add up to the same cents.

`ADDRESS` is whatever `distributed.Client` accepts (`tcp://scheduler:8786`, a scheduler file is
not supported), or `local` / `local:N` for an ad-hoc `distributed.LocalCluster` of N worker
processes on this machine.

Workers need the package installed and AWS credentials able to assume `--role-name` in each
account (the same as a local run needs). A task that fails as a whole (a killed worker, a bug)
becomes an `errors` row with `affects='*'` for its account, so that account is `NOT_ASSESSED` and
the run exits 1, while the other accounts still complete.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from auditor.errors import CollectionError, UsageError
from auditor.inventory import Inventory, frame
from auditor.progress import Progress

__all__ = [
    "AccountResult",
    "AccountWork",
    "collect_and_check",
    "combine",
    "dask_client",
    "parse_account_ids",
    "read_accounts_file",
    "resolve_accounts",
    "run_account",
    "run_on_dask",
    "works_for",
]


@dataclass
class AccountWork:
    """Everything one task needs: collect options narrowed to one account, and what to check.

    `policies` (a loaded `PolicySet`) and `as_of` enable the check; `prices` is the price table
    the costs in evidence use (None: the default). Every field must pickle: process workers
    receive a copy.
    """

    options: Any  # auditor.aws.CollectOptions with accounts=[one id] (or [] for the current one)
    account_id: str | None = None
    policies: Any = None
    as_of: datetime | None = None
    prices: Any = None


@dataclass
class AccountResult:
    """What one account produced: its inventory and (when checked) its findings rows and summary."""

    inventory: Inventory
    findings: pd.DataFrame | None = None
    summary: dict | None = None


def run_account(work: AccountWork) -> AccountResult:
    """Collect one account, then check it. Runs inside a Dask worker (or anywhere)."""
    from auditor.aws import collect_inventory

    return _check(collect_inventory(work.options), work)


def _check(inventory: Inventory, work: AccountWork) -> AccountResult:
    if work.policies is None:
        return AccountResult(inventory=inventory)
    assert work.as_of is not None  # works_for sets as_of whenever a check is asked for
    from auditor.controls import CONTROL_IDS, check_inventory
    from auditor.controls.registry import cross_account_ids

    cross = cross_account_ids()
    local = [c for c in CONTROL_IDS if c not in cross]
    findings = check_inventory(
        inventory, work.policies, work.as_of, controls=local, prices=work.prices
    )
    # Materialised here, in the worker: the Findings object holds the whole evaluation context.
    return AccountResult(inventory=inventory, findings=findings.frame, summary=findings.summary)


def combine(
    results: Iterable[AccountResult],
    *,
    policies: Any = None,
    as_of: datetime | None = None,
    prices: Any = None,
):
    """Combine per-account results: `(Inventory, Findings or None)`.

    Inventories are concatenated (`Inventory.concat`, keeping the union of failed accounts); the
    findings rows of every account are concatenated, and the cross-account controls are evaluated
    over the combined inventory.
    """
    results = list(results)
    inventory = Inventory.concat([r.inventory for r in results])
    failed = sorted({a for r in results for a in r.inventory.manifest.get("accounts_failed", [])})
    inventory.manifest["accounts_failed"] = failed
    if policies is None:
        return inventory, None
    assert as_of is not None  # a check is always asked for at a fixed as_of
    from auditor.controls import check_inventory
    from auditor.controls.engine import Findings, summarise_frame
    from auditor.controls.registry import cross_account_ids

    cross = list(cross_account_ids())
    frames = [r.findings for r in results if r.findings is not None and len(r.findings)]
    if cross:
        frames.append(
            check_inventory(inventory, policies, as_of, controls=cross, prices=prices).frame
        )
    frame = (
        pd.concat(frames, ignore_index=True)
        if frames
        else check_inventory(Inventory(), policies, as_of).frame
    )
    first = next((r.summary for r in results if r.summary), {})
    summary = _summary_of_plain_run(summarise_frame(frame), frame, list(first.get("plans", [])))
    summary["resources"] = int(sum((r.summary or {}).get("resources", 0) for r in results))
    summary["resources_in_scope"] = int(
        sum((r.summary or {}).get("resources_in_scope", 0) for r in results)
    )
    summary["plans"] = list(first.get("plans", []))
    return inventory, Findings(as_of, frame=frame, summary=summary)


def _summary_of_plain_run(summary: dict, frame: pd.DataFrame, plans: list[str]) -> dict:
    """`summary` (counted from the combined rows) shaped exactly as a one-process check's.

    A plain run counts statuses in the engine's status order, controls in the registry's order,
    and plans in the policies' order, leaving out findings that name no plan; findings.json must
    be byte-identical whichever way the run was made, so the combined summary follows suit.
    """
    from auditor.controls import CONTROL_IDS
    from auditor.controls.engine import STATUSES

    def ordered(counts: dict) -> dict:
        return {s: int(counts[s]) for s in STATUSES if counts.get(s)}

    def each(table: dict) -> dict:
        return {key: ordered(counts) for key, counts in table.items()}

    by_plan: dict[str, dict] = {}
    with_plan = frame[frame["plan"].notna()] if len(frame) else frame
    if len(with_plan):
        for (plan, status), count in with_plan.groupby(["plan", "status"]).size().items():
            by_plan.setdefault(str(plan), {})[status] = count
    rank = {name: i for i, name in enumerate(plans)}
    plan_order = sorted(by_plan, key=lambda name: (rank.get(name, len(rank)), name))
    return {
        **summary,
        "by_status": ordered(summary.get("by_status", {})),
        "by_control": {c: ordered(summary["by_control"].get(c, {})) for c in CONTROL_IDS},
        "by_plan": {name: ordered(by_plan[name]) for name in plan_order},
        "by_account": each(summary.get("by_account", {})),
        "by_region": each(summary.get("by_region", {})),
    }


def failed_account(work: AccountWork, exc: BaseException) -> AccountResult:
    """The result of a task that failed as a whole: an `errors` row making the account NOT_ASSESSED."""
    message = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
    errors = frame(
        "errors",
        [
            {
                "account_id": work.account_id,
                "region": None,
                "service": "dask",
                "operation": "run_account",
                "error_code": type(exc).__name__,
                "message": message,
                "affects": "*",
            }
        ],
    )
    accounts = [work.account_id] if work.account_id else []
    inventory = Inventory(
        tables={"errors": errors},
        manifest={
            "accounts": accounts,
            "accounts_failed": accounts,
            "regions": list(getattr(work.options, "regions", []) or []),
        },
    )
    return _check(inventory, work)


def dask_client(address: str):
    """A `distributed.Client` for `address` (`local`/`local:N` start a LocalCluster)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - the extra is missing
        raise UsageError("--dask needs Dask distributed: pip install 'auditor[dask]'") from None
    address = address.strip()
    if address == "local" or address.startswith("local:"):
        _, _, n = address.partition(":")
        try:
            workers = int(n) if n else 2
        except ValueError:
            workers = 0
        if workers < 1:
            raise UsageError(
                f"--dask {address!r}: expected local or local:N (N workers, at least 1)"
            )
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None)
        client = Client(cluster)
        # closed together with the client; dask's Client declares no such attribute
        client._auditor_cluster = cluster  # type: ignore[attr-defined]
        return client
    try:
        return Client(address, timeout="20s")
    except ValueError as exc:  # not an address Dask understands
        raise UsageError(f"--dask {address!r}: not a Dask scheduler address ({exc})") from None
    except (OSError, TimeoutError) as exc:
        raise CollectionError(
            f"--dask {address}: cannot reach the Dask scheduler ({exc})"
        ) from None


def _close(client) -> None:
    cluster = getattr(client, "_auditor_cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()


def run_on_dask(
    works: list[AccountWork],
    *,
    address: str | None = None,
    client=None,
    progress: bool = False,
) -> list[AccountResult]:
    """Run one task per account on a Dask cluster; the per-account results, in `works` order.

    Give either `address` (a client is opened and closed here) or an open `client`. A task that
    fails as a whole becomes that account's `errors` row (see `failed_account`).
    """
    if not works:
        raise UsageError("no account to run")
    own = client is None
    if own:
        if address is None:
            raise UsageError("--dask needs a scheduler address (or 'local')")
        client = dask_client(address)
    from distributed import as_completed

    try:
        # Unique per run: Dask returns a live result for a key it already holds, and a long-lived
        # cluster may still hold the keys of an earlier run.
        run_id = uuid.uuid4().hex[:12]
        keys = [f"auditor-account-{w.account_id or 'current'}-{run_id}" for w in works]
        futures = client.map(run_account, works, key=keys, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[AccountResult | None] = [None] * len(works)
        with Progress(progress) as bars:
            phase = bars.phase("accounts collected and checked (Dask)", total=len(works))
            for future in as_completed(futures):
                i = index[future.key]
                try:
                    results[i] = future.result()
                except Exception as exc:  # a killed worker or a bug: that account only
                    results[i] = failed_account(works[i], exc)
                phase.advance()
    finally:
        if own:
            _close(client)
    return [r for r in results if r is not None]


def resolve_accounts(options: Any) -> list[str]:
    """The accounts a run covers: `options.accounts`, plus the Organization's ACTIVE ones with `org`.

    Empty means "the caller's own account". Listing the organization happens here, in the client,
    because the tasks are one per account.
    """
    accounts = list(dict.fromkeys(getattr(options, "accounts", []) or []))
    if not getattr(options, "org", False):
        return accounts
    from auditor.aws.collect import _org_accounts
    from auditor.aws.session import CallCounter, Sessions

    sessions = Sessions(options.session_factory, CallCounter())
    base = sessions.session(profile_name=options.profile) if options.profile else sessions.session()
    region = (list(options.regions) or [base.region_name or "us-east-1"])[0]
    try:
        listed = _org_accounts(sessions, base, region)
    except Exception as exc:  # no organization, not its management account, denied
        raise CollectionError(
            f"--org: cannot list the organization's accounts ({type(exc).__name__}: {exc})"
        ) from None
    return accounts + [a for a in listed if a not in accounts]


def collect_and_check(
    options: Any,
    *,
    address: str | None = None,
    client=None,
    policies: Any = None,
    as_of: datetime | None = None,
    progress: bool = False,
    prices: Any = None,
):
    """Collect (and, with `policies`, check) every account of `options` as Dask tasks.

    Returns `(Inventory, Findings or None)`, the same as collecting and checking in one process.
    """
    accounts = resolve_accounts(options)
    works = works_for(options, accounts, policies=policies, as_of=as_of, prices=prices)
    results = run_on_dask(works, address=address, client=client, progress=progress)
    return combine(results, policies=policies, as_of=as_of, prices=prices)


def split_options(options: Any, accounts: list[str]) -> list[Any]:
    """One copy of `options` per account (org listing turned off: the accounts are already known).

    Progress is off inside tasks: the client shows one bar over the accounts instead.
    """
    if not accounts:
        return [dataclasses.replace(options, progress=False)]
    return [dataclasses.replace(options, accounts=[a], org=False, progress=False) for a in accounts]


def parse_account_ids(values: Iterable[str], *, source: str = "--account") -> list[str]:
    """Validate 12-digit account ids (order kept, duplicates dropped); UsageError names a bad one.

    Values may hold several ids separated by commas or whitespace; text after `#` is a comment,
    so an accounts file can carry names beside the ids.
    """
    seen: list[str] = []
    for value in values:
        for line in str(value).splitlines():
            line = line.split("#", 1)[0]
            for token in line.replace(",", " ").split():
                if not (len(token) == 12 and token.isdigit()):
                    raise UsageError(f"{source}: {token!r} is not a 12-digit AWS account id")
                if token not in seen:
                    seen.append(token)
    return seen


def read_accounts_file(path: Any) -> list[str]:
    """Account ids from a file: one or more per line, `#` comments allowed (UsageError if unreadable)."""
    from pathlib import Path

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"--accounts-file {p}: cannot read it ({exc.__class__.__name__})"
        ) from None
    ids = parse_account_ids([text], source=f"--accounts-file {p}")
    if not ids:
        raise UsageError(f"--accounts-file {p}: no account id in it")
    return ids


def works_for(
    options: Any,
    accounts: list[str],
    *,
    policies: Any = None,
    as_of: datetime | None = None,
    prices: Any = None,
) -> list[AccountWork]:
    """The per-account tasks for `accounts` (one task for the caller's own account when empty)."""
    return [
        AccountWork(
            options=opts,
            account_id=(opts.accounts[0] if getattr(opts, "accounts", None) else None),
            policies=policies,
            as_of=as_of,
            prices=prices,
        )
        for opts in split_options(options, accounts)
    ]
