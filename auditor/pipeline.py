"""`auditor audit`: collect → check → meter → report (+ history), the job a scheduler runs.

Everything lands in one results folder (`out`), built in a temporary folder beside it and swapped
in as a whole at the end (a run that stops early leaves the previous results untouched)::

    inventory/                 what was collected (Parquet + manifest.json)
    policies/                  the policy files as evaluated (copied)
    findings.json/.csv         verdicts (auditor.findings)
    metering.json/.csv         storage split and cost (auditor.metering)
    jobs.csv                   unsuccessful backup/copy jobs and every restore in the jobs window
                               (auditor.jobs)
    run.json                   command, as_of (instant judged), collected_at (when the calls ran),
                               scope, collection statistics, exit code
    history.json               trend and changes since the previous run (when history is kept)
    report.html report.md junit.xml report.sarif    the chosen report formats

The history store (SQLite) defaults to `history.sqlite` beside `out` (`reports/prod` →
`reports/history.sqlite`), so successive runs into the same or sibling folders share one trend.

Exit codes: 1 when collection could not start (sts:GetCallerIdentity failed: nothing is written)
or was incomplete (findings are still written, the data
that could not be gathered is NOT_ASSESSED), else 3 when a FAIL counts under the gating options
(`auditor.gating`: --fail-on, --skip-control, --baseline; 0 with `no_fail`), else 0.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from auditor import __version__, jsonsafe
from auditor.atomic import replace_dir, write_text
from auditor.errors import EXIT_NONCOMPLIANT, EXIT_OK, EXIT_RUNTIME, UsageError
from auditor.gating import Gate, GateDecision
from auditor.memory import release_free_memory
from auditor.owners import DEFAULT_OWNER_TAGS


@dataclass
class AuditOptions:
    """What `run_audit` does. `history=None` means the default path; `keep_history=False` disables it."""

    policies: Path
    out: Path
    as_of: datetime
    regions: Sequence[str] = ()
    profile: str | None = None
    accounts: Sequence[str] = ()
    formats: Sequence[str] = ("html", "md", "json", "csv", "junit", "sarif")
    history: Path | None = None
    keep_history: bool = True
    prices: Path | None = None
    by_tags: Sequence[str] = ()
    # tag keys the findings carry as owner columns (auditor.owners)
    owner_tags: Sequence[str] = DEFAULT_OWNER_TAGS
    no_fail: bool = False
    progress: bool = False
    command: str | None = None
    session_factory: Callable[..., Any] | None = None
    # Further auditor.aws.CollectOptions fields (org, role_name, external_id, max_workers, ...).
    collect_extra: dict[str, Any] = field(default_factory=dict)
    # A Dask scheduler address ('local[:N]' for a local cluster): each account is collected and
    # checked as one task there (auditor.distributed); None runs everything in this process.
    dask: str | None = None
    # CI gating (--fail-on, --skip-control, --baseline): which FAILs decide exit 3.
    gate: Gate | None = None
    # An auditor.frameworks.Framework: the reports also judge its requirements.
    framework: Any = None


@dataclass
class AuditOutcome:
    """What one audit produced, and the exit code the CLI should return."""

    out: Path
    exit_code: int
    counts: dict[str, int]
    collection_errors: int
    resources: int
    backups: int
    history_path: Path | None
    written: list[Path] = field(default_factory=list)
    cost_usd: float | None = None
    # the most the storage could cost (every snapshot at its full size) and the share of the
    # prices used that were checked against a source: a cost shown to a person is a range
    cost_upper_usd: float | None = None
    verified_price_share: float | None = None
    failed_calls: Any = None  # the inventory's errors table (a DataFrame)
    gating: GateDecision | None = None

    @property
    def report_html(self) -> Path:
        """Where the HTML report is (it may be absent when html was not among the formats)."""
        return self.out / "report.html"


# Failed calls printed at the end of a run; the rest are counted (the errors table has them all).
FAILED_CALLS_SHOWN = 10


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def exit_code_for(*, incomplete: bool, failed: bool, no_fail: bool) -> int:
    """1 for an incomplete collection (even with --no-fail), else 3 for FAIL findings unless no_fail, else 0."""
    if incomplete:
        return EXIT_RUNTIME
    return EXIT_NONCOMPLIANT if failed and not no_fail else EXIT_OK


def copy_policies(policies: Path, out: Path) -> list[str]:
    """Copy the policy file, or the YAML files of the policy folder (what the loader reads), into `out/policies/`."""
    policies = Path(policies)
    if policies.is_dir():
        files = sorted(
            p for p in policies.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml")
        )  # as the loader reads them
        base = policies
    else:
        files, base = [policies], policies.parent
    with replace_dir(out / "policies") as staging:
        for path in files:
            target = staging / path.relative_to(base)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    return [f"policies/{p.relative_to(base).as_posix()}" for p in files]


def run_audit(options: AuditOptions) -> AuditOutcome:
    """Run the whole job (see module doc) and return its outcome; raises AuditorError on failure.

    Every output is built in a temporary folder beside `out` that replaces `out` as a whole at the
    end, so a run that stops early (no credentials, a crash) leaves the previous results as they were.
    """
    from auditor.controls import CONTROL_IDS, check_inventory
    from auditor.gating import failed_rows, without_controls
    from auditor.metering import load_prices, meter, write_metering
    from auditor.policy import load_policies
    from auditor.progress import Progress
    from auditor.report import parse_formats

    formats = parse_formats(list(options.formats))
    out = Path(options.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    as_of = options.as_of
    # Fail fast, before touching AWS: a bad policy or price table is exit 2.
    policies = load_policies(options.policies, as_of=as_of)
    prices = load_prices(options.prices)
    gate = options.gate or Gate()
    if options.no_fail:
        gate = dataclasses.replace(gate, no_fail=True)

    with Progress(options.progress) as bars:
        inventory, findings = _collect(options, policies, prices)
        if findings is None:
            chosen = gate.controls_to_run(CONTROL_IDS) if gate.skip_controls else None
            findings = check_inventory(
                inventory,
                policies,
                as_of,
                controls=chosen,
                progress=options.progress,
                owner_tags=options.owner_tags,
                prices=prices,
            )
        else:  # checked per account under Dask: the owner columns are looked up here
            findings = with_owner_findings(findings, inventory, options.owner_tags)
        findings = without_controls(findings, gate.skip_controls)
        metering_step = bars.phase("meter backup storage", total=1)
        metering = meter(inventory, prices, as_of, by_tags=tuple(options.by_tags))
        metering_step.advance()
        by_status = (findings.summary or {}).get("by_status", {})
        incomplete = len(inventory.errors) > 0
        decision = gate.decide(failed_rows(findings), incomplete=incomplete)
        exit_code = decision.exit_code
        with replace_dir(out) as staging:
            from auditor.findings import write_findings
            from auditor.inventory import write_inventory
            from auditor.jobs import job_report, write_jobs_csv

            write_inventory(inventory, staging / "inventory")
            # findings.json/.csv always (reports read them), findings.jsonl when chosen, .parquet always
            data_formats = ["json", "csv"] + (["jsonl"] if "jsonl" in formats else [])
            write_findings(
                findings,
                staging,
                policies=policies,
                policy_path=options.policies,
                formats=data_formats,
            )
            del findings  # written: the reports read them back compact (see _report)
            # The findings' rows and the tables made to write them form reference cycles; free
            # them now, and hand their pages back, so the reports do not grow on top of them.
            release_free_memory()
            write_metering(metering, staging)
            jobs = job_report(inventory, as_of)  # jobs.csv's, and the report's job section
            write_jobs_csv(jobs, staging)
            policy_files = copy_policies(Path(options.policies), staging)
            run = run_document(options, inventory, policy_files, exit_code)
            run["gating"] = decision.to_dict()
            write_text(staging / "run.json", _json(run))
            release_free_memory()
            history_path, written = _report(options, staging, out, inventory, formats, bars, jobs)
    counts = {
        s: int(by_status.get(s, 0))
        for s in ("FAIL", "NOT_ASSESSED", "WAIVED", "PASS", "NOT_APPLICABLE")
    }
    return AuditOutcome(
        out=out,
        exit_code=exit_code,
        counts=counts,
        collection_errors=len(inventory.errors),
        resources=len(inventory.resources),
        backups=len(inventory.recovery_points),
        history_path=history_path,
        written=[out / p.relative_to(staging) for p in written],
        cost_usd=float(metering.totals.get("estimated_cost_usd", 0.0)),
        cost_upper_usd=metering.totals.get("upper_bound_cost_usd"),
        verified_price_share=metering.totals.get("verified_price_share"),
        failed_calls=inventory.errors,
        gating=decision,
    )


def with_owner_findings(findings: Any, inventory: Any, keys: Sequence[str]) -> Any:
    """`findings` (rows already made) with the owner columns of `keys` from `inventory`."""
    from auditor.controls.engine import Findings
    from auditor.owners import with_owner_tags

    frame = with_owner_tags(findings.frame, inventory, keys)
    return Findings(findings.as_of, frame=frame, summary=findings.summary)


def _json(document: Any) -> str:
    """Strict JSON (no NaN) with sorted keys, as every run and history document is written."""
    return jsonsafe.dumps(document, sort_keys=True)


def _collect(options: AuditOptions, policies: Any, prices: Any) -> tuple[Any, Any]:
    """Collect every account (and, under Dask, check it in the same task, costs estimated with
    `prices`): (inventory, findings or None)."""
    from auditor.aws import CollectOptions, collect_inventory

    collect_kwargs: dict[str, Any] = {"accounts": list(options.accounts), **options.collect_extra}
    collect_kwargs["restore_jobs_since"] = restore_window_start(
        policies, collect_kwargs.get("jobs_since"), options.as_of
    )
    collect_options = CollectOptions(
        regions=list(options.regions),
        profile=options.profile,
        progress=options.progress,
        as_of=options.as_of,
        **collect_kwargs,
    )
    if options.session_factory is not None:
        collect_options.session_factory = options.session_factory
    if not options.dask:
        return collect_inventory(collect_options), None
    from auditor.distributed import collect_and_check

    return collect_and_check(
        collect_options,
        address=options.dask,
        policies=policies,
        as_of=options.as_of,
        progress=options.progress,
        prices=prices,
    )


def restore_window_start(policies: Any, jobs_since: Any, as_of: datetime) -> datetime:
    """Where restore jobs are listed from: the jobs window's start, or earlier when a plan's
    `restore_test_days` looks further back (so restore-tested can see its whole window)."""
    from datetime import timedelta

    from auditor.jobs import resolve_jobs_since

    start = resolve_jobs_since(jobs_since, as_of)
    days = [p.restore_test_days for p in policies.plans if p.restore_test_days]
    return min(start, as_of - timedelta(days=max(days))) if days else start


def run_document(
    options: AuditOptions, inventory: Any, policy_files: list[str], exit_code: int
) -> dict[str, Any]:
    """run.json: how the run was made. `as_of` is the instant judged; `collected_at` when the calls ran."""
    manifest = inventory.manifest
    errors = inventory.errors
    return {
        "program": "auditor",
        "program_version": __version__,
        "command": options.command,
        "as_of": _iso(options.as_of),
        "collected_at": manifest.get("collected_at"),
        "scope": {
            "accounts": list(manifest.get("accounts", [])),
            "regions": list(manifest.get("regions", [])),
            "profile": options.profile,
            "policies": policy_files,
            "prices": str(options.prices) if options.prices else "default",
            "by_tags": list(options.by_tags),
            "owner_tags": list(options.owner_tags),
        },
        "collection": {
            "collected_at": manifest.get("collected_at"),
            "duration_seconds": manifest.get("duration_seconds"),
            "api_calls": int(sum((manifest.get("api_calls") or {}).values())),
            # counted as the history's trend counts them (distinct resources in scope)
            "resources": int(inventory.resources["resource_arn"].nunique()),
            "backups": len(inventory.recovery_points),
            "errors": len(errors),
            "complete": len(errors) == 0,
            "accounts_failed": list(manifest.get("accounts_failed", [])),
        },
        "exit_code": exit_code,
    }


def _report(
    options: AuditOptions,
    staging: Path,
    out: Path,
    inventory: Any,
    formats: Any,
    bars: Any,
    jobs: Any,
) -> tuple[Path | None, list[Path]]:
    """Record the run in the history store and write the reports into `staging` (`jobs`: the
    run's auditor.jobs.JobReport, already made for jobs.csv)."""
    from auditor.history import default_history_path, record_run
    from auditor.report import load_results, write_reports

    # findings.parquet holds the rows of findings.json; parsed, the JSON took several times the memory
    results = load_results(staging, with_inventory=False, prefer_parquet=True)
    results.inventory = inventory
    results.jobs = jobs
    history_path = None
    if options.keep_history:
        history_path = Path(options.history) if options.history else default_history_path(out)
        store = history_path
        if history_path.resolve().is_relative_to(out.resolve()):
            # A store inside `out` is carried into the new folder and swapped in with it.
            store = staging / history_path.resolve().relative_to(out.resolve())
            if history_path.is_file():
                store.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(history_path, store)
        results.history = record_run(store, results, results_dir=out.resolve())
        write_text(staging / "history.json", _json(results.history))
    step = bars.phase("write reports", total=len(formats))
    written = []
    for fmt in formats:
        written += write_reports(
            results, staging, [fmt], skip_existing_data=True, framework=options.framework
        )
        step.advance()
    return history_path, written


def failed_call_lines(errors: Any, limit: int = FAILED_CALLS_SHOWN) -> list[str]:
    """One line per failed call (account, region, call, error code, message), at most `limit`
    of them, then how many more."""
    if errors is None or not len(errors):
        return []
    rows = errors.head(limit).astype(object).where(errors.head(limit).notna(), None)
    lines = [
        f"failed: account {row['account_id'] or '-'} region {row['region'] or '-'}"
        f" {row['service']}:{row['operation']} {row['error_code']}: {row['message']}"
        for row in rows.to_dict("records")
    ]
    if len(errors) > limit:
        lines.append(f"... and {len(errors) - limit} more (see the inventory's errors table)")
    return lines


@dataclass
class CollectOutcome:
    """What `run_collect` wrote: the inventory, its failed calls and a one-line summary."""

    inventory: Any
    errors: Any
    summary: str


def run_collect(
    fields: dict[str, Any], out: Path, *, dask: str | None = None, progress: bool = False
) -> CollectOutcome:
    """`auditor collect`: gather with CollectOptions `fields` and write the inventory folder `out`.

    Nothing is written when collection cannot start (CollectionError: no credentials, unreachable
    endpoint); an incomplete collection is written, with its failed calls in the `errors` table.
    """
    from auditor.aws import CollectOptions, collect_inventory
    from auditor.inventory import write_inventory

    options = CollectOptions(
        progress=progress, as_of=datetime.now(UTC).replace(microsecond=0), **fields
    )
    if dask:
        from auditor.distributed import collect_and_check

        inventory, _ = collect_and_check(options, address=dask, progress=progress)
    else:
        inventory = collect_inventory(options)
    write_inventory(inventory, out)
    summary = (
        # row counts, not frames: the collected tables are still Arrow, and stay so
        f"collected {inventory.rows('resources')} resources and {inventory.rows('recovery_points')} backups"
        f" in {len(inventory.manifest.get('regions', []))} region(s) into {out}"
    )
    return CollectOutcome(inventory=inventory, errors=inventory.errors, summary=summary)


def summary_line(outcome: AuditOutcome) -> str:
    """One line for stderr: counts, cost, collection errors, where the report is."""
    c = outcome.counts
    parts = [
        f"audit: {outcome.resources} resources, {outcome.backups} backups",
        f"{c['FAIL']} FAIL, {c['NOT_ASSESSED']} NOT_ASSESSED, {c['WAIVED']} WAIVED, {c['PASS']} PASS",
    ]
    if outcome.cost_usd is not None:
        cost = f"est. ${outcome.cost_usd:,.2f}"
        if outcome.cost_upper_usd is not None and outcome.cost_upper_usd > outcome.cost_usd:
            cost += f" – ${outcome.cost_upper_usd:,.2f}"
        cost += "/month backup storage"
        if outcome.verified_price_share is not None:
            cost += f" ({outcome.verified_price_share:.0%} of prices verified)"
        parts.append(cost)
    if outcome.collection_errors:
        parts.append(
            f"collection incomplete: {outcome.collection_errors} call(s) failed (see {outcome.out / 'inventory' / 'errors'})"
        )
    if outcome.gating is not None and outcome.gating.describe():
        parts.append(outcome.gating.describe())
    return "; ".join(parts) + f"; wrote {outcome.out}"


__all__ = [
    "AuditOptions",
    "AuditOutcome",
    "CollectOutcome",
    "copy_policies",
    "exit_code_for",
    "failed_call_lines",
    "restore_window_start",
    "run_audit",
    "run_collect",
    "run_document",
    "summary_line",
]
