"""Command line: parse options, call one library function, map errors to exit codes (0/1/2/3, see errors.py).

Nothing here computes anything; each command imports its library module lazily so `--help` and
`validate` stay fast.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from auditor import __version__
from auditor.errors import EXIT_RUNTIME, EXIT_USAGE, AuditorError, UsageError

# Line breaks and other control characters (C0, DEL, C1, Unicode line/paragraph separators).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """`text` as one printable line: control characters (a newline in a YAML key...) escaped."""
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


def _click_exception_types() -> tuple[type[BaseException], ...]:
    """Click's exception base classes, wherever this Typer gets click from.

    Typer 0.29 vendors its own click (`typer._click`); older Typer uses the `click` package. Both
    may be importable at once, and a usage error is an instance of whichever one parsed the line.
    """
    found: list[type[BaseException]] = []
    for module in ("typer._click.exceptions", "click.exceptions"):
        try:
            found.append(importlib.import_module(module).ClickException)
        except (ImportError, AttributeError):
            continue
    return tuple(found)


_CLICK_EXCEPTIONS = _click_exception_types()
# Exits and usage errors that Typer/click already turn into the right exit code.
_PASSED_THROUGH: tuple[type[BaseException], ...] = (
    typer.Exit,
    typer.Abort,
    SystemExit,
    *_CLICK_EXCEPTIONS,
)


def _plain_metavars(params: list[Any]) -> list[Any]:
    """Show flags as plain flags and values by name (REGION, ID) instead of Typer 0.29's `<bool>`."""
    for param in params:
        if param.metavar is not None:
            continue
        if getattr(param, "is_flag", False):
            param.metavar = ""  # a flag takes no value: show none
        elif param.name:
            param.metavar = param.name.upper()
    return params


def _with_context(exc: BaseException, ctx: Any) -> None:
    """Attach the command's context to a click error raised without one (e.g. "Option '--out'
    requires an argument"), so click prints the command's usage line with it."""
    if getattr(exc, "ctx", False) is None:
        exc.ctx = ctx  # type: ignore[attr-defined]


class _PlainHelp:
    """For click commands and groups: help with plain metavars (see `_plain_metavars`), and the
    context on every usage error. Mixed in before Typer's class, whose methods it extends."""

    def get_params(self, ctx: Any) -> list[Any]:
        """The parameters, with help-friendly metavars."""
        return _plain_metavars(super().get_params(ctx))  # type: ignore[misc]

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """As click's, with the context on every usage error."""
        try:
            return super().parse_args(ctx, args)  # type: ignore[misc]
        except _CLICK_EXCEPTIONS as exc:
            _with_context(exc, ctx)
            raise


class _Command(_PlainHelp, TyperCommand):
    """Click command whose help shows plain metavars (see `_plain_metavars`)."""


class _Group(_PlainHelp, TyperGroup):
    """Click group that turns library errors into one stderr line and the documented exit code.

    Doing it here (not only in `main`) keeps the mapping identical under Typer's test runner.
    Click's own exceptions (a usage error: unknown command or option, missing or malformed value)
    pass through, so click prints its usage line and exits 2.
    """

    def invoke(self, ctx: Any) -> Any:
        """Run the chosen command, mapping every failure to one stderr line and an exit code."""
        try:
            return super().invoke(ctx)
        except AuditorError as exc:
            typer.echo(f"auditor: error: {one_line(str(exc))}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("auditor: interrupted", err=True)
            raise typer.Exit(130) from None
        except _PASSED_THROUGH:
            raise
        except Exception as exc:  # a bug: still one line, with a way to see the traceback
            if os.environ.get("AUDITOR_DEBUG"):
                raise
            typer.echo(
                f"auditor: internal error: {type(exc).__name__}: {one_line(str(exc))} (set AUDITOR_DEBUG=1 for a traceback)",
                err=True,
            )
            raise typer.Exit(EXIT_RUNTIME) from None


class _App(typer.Typer):
    """Typer app whose commands use `_Command` (plain metavars in `--help`)."""

    def command(self, *args: Any, cls: type[TyperCommand] | None = None, **kwargs: Any) -> Any:
        """As `typer.Typer.command`, defaulting the command class to `_Command`."""
        return super().command(*args, cls=cls or _Command, **kwargs)


app = _App(
    cls=_Group,
    name="auditor",
    help="Policy-as-code backup compliance and metering auditor for AWS.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
evidence_app = _App(
    cls=_Group, help="Audit evidence bundles: export and verify.", no_args_is_help=True
)
app.add_typer(evidence_app, name="evidence")


def fail(message: str, code: int = EXIT_RUNTIME) -> None:
    """Print one line to stderr and exit with `code`."""
    typer.echo(f"auditor: error: {one_line(message)}", err=True)
    raise typer.Exit(code)


def parse_as_of(value: str | None) -> datetime:
    """Parse `--as-of` (ISO 8601, naive = UTC); without it, now (the instant every age is measured from)."""
    if value is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--as-of {value!r} is not an ISO 8601 date or time (e.g. 2026-11-26T00:00:00Z)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def show_progress(quiet: bool) -> bool:
    """Progress bars only on a terminal, and never with --quiet."""
    return not quiet and sys.stderr.isatty()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"auditor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Policy-as-code backup compliance and metering auditor for AWS."""


@app.command()
def demo(
    out: Path = typer.Option(
        Path("reports/demo"), "--out", metavar="DIR", help="Folder for every output."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Run the whole job on the embedded emulated AWS estate and write every output to OUT."""
    from auditor.sandbox.demo import run_demo

    run_demo(out=out, progress=show_progress(quiet), echo=typer.echo)


@dataclass
class ScopeArgs:
    """The options `collect` and `audit` share (where to gather, as whom, how fast), as one object."""

    region: list[str]
    profile: str | None
    org: bool
    account: list[str]
    accounts_file: Path | None
    role_name: str
    external_id: str | None
    max_workers: int
    dask: str | None
    jobs_since: str | None = None

    def collect_fields(self) -> dict[str, Any]:
        """CollectOptions keyword arguments (UsageError, exit 2, when an option is invalid)."""
        from auditor.distributed import parse_account_ids, read_accounts_file
        from auditor.jobs import parse_jobs_since

        accounts = parse_account_ids(self.account)
        if self.accounts_file is not None:
            accounts += [a for a in read_accounts_file(self.accounts_file) if a not in accounts]
        if self.max_workers < 1:
            raise UsageError(f"--max-workers {self.max_workers}: must be at least 1")
        if not self.role_name.strip():
            raise UsageError("--role-name must not be empty")
        return {
            "regions": list(self.region),
            "profile": self.profile,
            "accounts": accounts,
            "org": self.org,
            "role_name": self.role_name.strip(),
            "external_id": self.external_id,
            "max_workers": self.max_workers,
            "jobs_since": parse_jobs_since(self.jobs_since),
        }


_FRAMEWORK_HELP = (
    "Also judge each requirement of this compliance framework (see `auditor controls"
    " --framework`): framework-NAME.json/.csv/.md and a section in report.html."
)
_FRAMEWORKS_HELP = (
    "Folder of extra framework files NAME.yaml (repeatable); a file there replaces the shipped"
    " framework of the same name."
)


# Each shared option is declared here once; `with_scope_options` adds them to a command.
_SCOPE_OPTIONS: list[tuple[str, Any, Any]] = [
    (
        "region",
        Annotated[
            list[str],
            typer.Option(
                "--region",
                metavar="REGION",
                help="Region to gather (repeatable); default: the session's.",
            ),
        ],
        [],
    ),
    (
        "profile",
        Annotated[str | None, typer.Option("--profile", metavar="NAME", help="AWS profile name.")],
        None,
    ),
    (
        "org",
        Annotated[
            bool,
            typer.Option(
                "--org",
                help="Every ACTIVE account of the AWS Organization (organizations:ListAccounts;"
                " run from its management or a delegated admin account).",
            ),
        ],
        False,
    ),
    (
        "account",
        Annotated[
            list[str],
            typer.Option(
                "--account",
                metavar="ID",
                help="Account to gather by assuming --role-name into it (repeatable);"
                " default: the current account.",
            ),
        ],
        [],
    ),
    (
        "accounts_file",
        Annotated[
            Path | None,
            typer.Option(
                "--accounts-file",
                metavar="FILE",
                help="File of account ids (one or more a line; '#' starts a comment).",
            ),
        ],
        None,
    ),
    (
        "role_name",
        Annotated[
            str,
            typer.Option("--role-name", metavar="NAME", help="Role assumed in each account."),
        ],
        "OrganizationAccountAccessRole",
    ),
    (
        "external_id",
        Annotated[
            str | None,
            typer.Option(
                "--external-id", metavar="ID", help="External id the role's trust policy requires."
            ),
        ],
        None,
    ),
    (
        "max_workers",
        Annotated[
            int,
            typer.Option(
                "--max-workers",
                metavar="N",
                help="Concurrent API calls: accounts × regions × services share one pool of this size.",
            ),
        ],
        8,
    ),
    (
        "dask",
        Annotated[
            str | None,
            typer.Option(
                "--dask",
                metavar="ADDRESS",
                help="Run each account (collect, check) as a task on this Dask scheduler"
                " (tcp://host:8786), or 'local[:N]'.",
            ),
        ],
        None,
    ),
    (
        "jobs_since",
        Annotated[
            str | None,
            typer.Option(
                "--jobs-since",
                metavar="TIME",
                help="Start of the jobs window (ISO 8601 time, or days before --as-of such as"
                " 45d); default: 30 days before --as-of.",
            ),
        ],
        None,
    ),
]


def with_options(
    placeholder: str, build: Callable[..., Any], options: list[tuple[str, Any, Any]]
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator giving a command shared `options`; it receives them as one argument.

    The command declares ``placeholder: SomeArgs`` and gets ``build(**values)`` there. Typer reads
    a command's options from its signature, so the wrapper shows Typer the command's own
    parameters with the shared ones in place of the placeholder.
    """

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        own = inspect.signature(command, eval_str=True)
        keyword = inspect.Parameter.KEYWORD_ONLY
        shared = [
            inspect.Parameter(name, keyword, annotation=annotation, default=default)
            for name, annotation, default in options
        ]
        parameters: list[inspect.Parameter] = []
        for param in own.parameters.values():
            if param.name == placeholder:
                parameters += shared
            else:
                parameters.append(param.replace(kind=keyword))

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> Any:
            grouped = build(**{name: kwargs.pop(name) for name, _, _ in options})
            return command(**{placeholder: grouped}, **kwargs)

        wrapper.__signature__ = own.replace(parameters=parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
        return wrapper

    return decorate


def with_scope_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give `command` the shared scope options; it receives them as one `scope: ScopeArgs` argument."""
    return with_options("scope", ScopeArgs, _SCOPE_OPTIONS)(command)


# CI gating options, shared by `audit`, `check` and `plan-check` (auditor.gating).
FailOnOption = Annotated[
    str | None,
    typer.Option(
        "--fail-on",
        metavar="SEVERITY",
        help="Exit 3 only for FAILs of this severity or graver (critical > high > medium > low).",
    ),
]
SkipControlOption = Annotated[
    list[str],
    typer.Option(
        "--skip-control",
        metavar="ID",
        help="Do not evaluate this control (repeatable); the run summary lists it.",
    ),
]
BaselineOption = Annotated[
    Path | None,
    typer.Option(
        "--baseline",
        metavar="FINDINGS.json",
        help="Exit 3 only for FAILs not already FAILing in this earlier findings.json"
        " (same resource ARN, control and plan).",
    ),
]


# Owner-like tags carried by findings, shared by `check`, `audit` and `report` (auditor.owners).
OwnerTagsOption = Annotated[
    str | None,
    typer.Option(
        "--owner-tags",
        metavar="KEYS",
        help="Tag keys findings carry as owner columns (tag_KEY), comma-separated, matched"
        ' without regard to case (default: owner,team,application; "" for none).',
    ),
]


def gate_of(
    fail_on: str | None, skip_control: list[str], baseline: Path | None, no_fail: bool
) -> Any:
    """The validated gating options (UsageError, exit 2, on an unknown severity or control id,
    or a baseline that is not a findings.json)."""
    from auditor.gating import Gate

    return Gate.from_options(
        fail_on=fail_on, skip_controls=skip_control, baseline=baseline, no_fail=no_fail
    )


@dataclass
class RunArgs:
    """The options `check`, `audit` and `report` share (where results go, in which formats, as of
    when, how the exit code gates CI, which framework), as one object."""

    out: Path | None
    format: list[str]
    as_of: str | None = None
    no_fail: bool = False
    fail_on: str | None = None
    skip_control: list[str] = field(default_factory=list)
    baseline: Path | None = None
    quiet: bool = False
    framework: str | None = None
    frameworks: list[Path] = field(default_factory=list)
    owner_tags: str | None = None

    def out_folder(self) -> Path:
        """`--out` of a command that gives it a default (`check`, `audit`)."""
        if self.out is None:  # only `report` leaves it unset, and it does not call this
            raise UsageError("--out is required")
        return self.out

    def moment(self) -> datetime:
        """The instant every age is measured from (`--as-of`, or now)."""
        return parse_as_of(self.as_of)

    def gate(self) -> Any:
        """The validated gating options (UsageError, exit 2, when one is invalid)."""
        return gate_of(self.fail_on, self.skip_control, self.baseline, self.no_fail)

    def progress(self) -> bool:
        """Whether to show progress bars."""
        return show_progress(self.quiet)

    def chosen_framework(self) -> Any:
        """The framework `--framework` names (from `--frameworks` folders first), or None."""
        from auditor.frameworks import load_framework

        return load_framework(self.framework, self.frameworks) if self.framework else None

    def owner_keys(self) -> tuple[str, ...]:
        """The tag keys findings carry as owner columns (`--owner-tags`, or the default)."""
        from auditor.owners import parse_owner_tags

        return parse_owner_tags(self.owner_tags)


def _out_option(default: Path | None, text: str) -> tuple[str, Any, Any]:
    kind: Any = Path if default is not None else Path | None
    return ("out", Annotated[kind, typer.Option("--out", metavar="DIR", help=text)], default)


def _format_option(text: str) -> tuple[str, Any, Any]:
    return (
        "format",
        Annotated[list[str], typer.Option("--format", metavar="FORMAT", help=text)],
        [],
    )


def _no_fail_option(text: str) -> tuple[str, Any, Any]:
    return ("no_fail", Annotated[bool, typer.Option("--no-fail", help=text)], False)


_AS_OF_OPTION: tuple[str, Any, Any] = (
    "as_of",
    Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="TIME",
            help="ISO 8601 time every age is measured from (default: now).",
        ),
    ],
    None,
)
_GATING_OPTIONS: list[tuple[str, Any, Any]] = [
    ("fail_on", FailOnOption, None),
    ("skip_control", SkipControlOption, []),
    ("baseline", BaselineOption, None),
]
_OWNER_TAGS_OPTION: tuple[str, Any, Any] = ("owner_tags", OwnerTagsOption, None)
_QUIET_OPTION: tuple[str, Any, Any] = (
    "quiet",
    Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")],
    False,
)
_FRAMEWORK_OPTIONS: list[tuple[str, Any, Any]] = [
    (
        "framework",
        Annotated[str | None, typer.Option("--framework", metavar="NAME", help=_FRAMEWORK_HELP)],
        None,
    ),
    (
        "frameworks",
        Annotated[list[Path], typer.Option("--frameworks", metavar="DIR", help=_FRAMEWORKS_HELP)],
        [],
    ),
]
_REPORT_FORMATS_HELP = "html,md,json,csv,junit,sarif (default: all); jsonl adds findings.jsonl."
_CHECK_OPTIONS = [
    _out_option(Path("reports"), "Folder for the findings files (findings.parquet and more)."),
    _format_option(
        "Findings files besides findings.parquet, comma-separated or repeated: json,csv,jsonl (default: json,csv)."
    ),
    _AS_OF_OPTION,
    _no_fail_option("Exit 0 even when findings FAIL."),
    *_GATING_OPTIONS,
    _OWNER_TAGS_OPTION,
    _QUIET_OPTION,
]
_AUDIT_OPTIONS = [
    _out_option(
        Path("reports/latest"),
        "Results folder (findings, metering, reports, inventory), replaced as a whole.",
    ),
    _format_option(f"Report formats, comma-separated or repeated: {_REPORT_FORMATS_HELP}"),
    _AS_OF_OPTION,
    _no_fail_option("Exit 0 even when findings FAIL (an incomplete collection still exits 1)."),
    *_GATING_OPTIONS,
    _OWNER_TAGS_OPTION,
    _QUIET_OPTION,
    *_FRAMEWORK_OPTIONS,
]
_REPORT_OPTIONS = [
    _format_option(f"Formats, comma-separated or repeated: {_REPORT_FORMATS_HELP}"),
    _out_option(None, "Folder for the reports (default: the results folder)."),
    *_FRAMEWORK_OPTIONS,
    _OWNER_TAGS_OPTION,
]


def print_failed_calls(errors: Any) -> None:
    """Each failed collection call on stderr (at most a screenful, then how many more)."""
    from auditor.pipeline import failed_call_lines

    for line in failed_call_lines(errors):
        typer.echo(f"auditor: {one_line(line)}", err=True)


@app.command()
@with_scope_options
def collect(
    out: Path = typer.Option(
        ..., "--out", metavar="DIR", help="Inventory folder to write (replaced atomically)."
    ),
    scope: ScopeArgs = None,  # type: ignore[assignment]  # filled in by with_scope_options
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Gather resources and backups into an inventory folder (Parquet tables + manifest.json)."""
    from auditor.pipeline import run_collect

    outcome = run_collect(
        scope.collect_fields(), out, dask=scope.dask, progress=show_progress(quiet)
    )
    print_failed_calls(outcome.errors)
    if len(outcome.errors):
        fail(
            f"collection incomplete: {outcome.summary}; {len(outcome.errors)} call(s) failed (see {out}/errors)"
        )
    typer.echo(outcome.summary, err=True)


@app.command()
def meter(
    inventory: list[Path] = typer.Option(
        ..., "--inventory", metavar="DIR", help="Inventory folder (repeatable; read as one)."
    ),
    out: Path = typer.Option(
        Path("reports"), "--out", metavar="DIR", help="Folder for metering.json and metering.csv."
    ),
    prices: Path | None = typer.Option(
        None,
        "--prices",
        metavar="FILE",
        help="Price table merged over the default (policies/prices.yaml).",
    ),
    cur: Path | None = typer.Option(
        None,
        "--cur",
        metavar="PATH",
        help="Cost and Usage Report (legacy CSV/gzip or CUR 2.0 Parquet/CSV, file or folder) to reconcile.",
    ),
    by_tag: list[str] = typer.Option(
        [],
        "--by-tag",
        metavar="KEY",
        help="Also allocate cost by this tag key of the source resource (repeatable).",
    ),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        metavar="TIME",
        help="ISO 8601 time; the estimate covers its calendar month (UTC).",
    ),
) -> None:
    """Split backup storage between native-service billing and AWS Backup metering, with cost."""
    from rich.console import Console

    from auditor.metering import run_meter
    from auditor.terminal import metering_table

    result = run_meter(
        inventory, out, parse_as_of(as_of), prices_path=prices, cur_path=cur, by_tags=by_tag
    )
    Console(width=max(Console().width, 100)).print(metering_table(result))
    for warning in result.warnings:
        typer.echo(f"auditor: warning: {warning}", err=True)
    typer.echo(f"wrote {out / 'metering.json'} and {out / 'metering.csv'}", err=True)


@app.command()
@with_options("run", RunArgs, _CHECK_OPTIONS)
def check(
    inventory: list[Path] = typer.Option(
        ..., "--inventory", metavar="DIR", help="Inventory folder (repeatable; read as one)."
    ),
    policies: Path = typer.Option(
        ..., "--policies", metavar="PATH", help="Policy file or folder of policy files."
    ),
    run: RunArgs = None,  # type: ignore[assignment]  # filled in by with_options
) -> None:
    """Evaluate an inventory against the declared plans offline (exit 3 when a FAIL counts under
    the gating options, 1 when the inventory's collection was incomplete, even with --no-fail)."""
    from auditor.controls import run_check
    from auditor.findings import FINDINGS_FORMATS, parse_findings_formats
    from auditor.gating import failed_rows

    out = run.out_folder()
    formats = parse_findings_formats(run.format)
    gate = run.gate()
    owner_keys = run.owner_keys()
    findings = run_check(
        inventory,
        policies,
        out,
        run.moment(),
        progress=run.progress(),
        formats=formats,
        skip_controls=gate.skip_controls,
        owner_tags=owner_keys,
    )
    for note in findings.summary.get("notes", []):
        typer.echo(f"auditor: note: {one_line(note)}", err=True)
    files = ["findings.parquet", *(FINDINGS_FORMATS[f] for f in formats)]
    counts = findings.summary.get("by_status", {})
    typer.echo(
        "check: "
        + ", ".join(
            f"{counts.get(s, 0)} {s}"
            for s in ("FAIL", "WAIVED", "NOT_ASSESSED", "PASS", "NOT_APPLICABLE")
        )
        + f"; wrote {', '.join(str(out / name) for name in files)}",
        err=True,
    )
    failed_calls = _inventory_errors(inventory)
    decision = gate.decide(failed_rows(findings), incomplete=failed_calls > 0)
    if decision.describe():
        typer.echo(f"check: {decision.describe()}", err=True)
    if failed_calls:  # an incomplete collection is exit 1, as in `audit`
        fail(
            f"collection incomplete: {failed_calls} call(s) failed while collecting the inventory"
            f" (see its errors table); what they would have gathered is NOT_ASSESSED",
            EXIT_RUNTIME,
        )
    raise typer.Exit(decision.exit_code)


def _inventory_errors(folders: list[Path]) -> int:
    """Failed collection calls recorded in the inventories (manifest counts, verified by read_inventory)."""
    import json

    total = 0
    for folder in folders:
        try:
            tables = (
                json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8")).get(
                    "tables"
                )
                or {}
            )
            total += int(tables.get("errors") or 0)
        except (OSError, ValueError, AttributeError, TypeError):
            continue
    return total


@app.command()
def validate(
    policies: Path = typer.Argument(..., help="Policy file or folder of policy files."),
    as_of: str | None = typer.Option(
        None, "--as-of", metavar="TIME", help="ISO 8601 time for waiver expiry (default: now)."
    ),
) -> None:
    """Lint policy files without touching AWS (exit 2 on errors; warnings alone exit 0)."""
    from auditor.policy import lint_policies

    messages = lint_policies(policies, as_of=parse_as_of(as_of))
    for message in messages:
        typer.echo(str(message), err=True)
    errors = sum(1 for m in messages if m.level == "error")
    warnings = len(messages) - errors
    if errors:
        typer.echo(
            f"auditor: error: {policies}: {errors} error(s), {warnings} warning(s)", err=True
        )
        raise typer.Exit(EXIT_USAGE)
    typer.echo(f"{policies}: valid ({warnings} warning(s))", err=True)


@app.command("plan-check")
def plan_check_cmd(
    templates: list[Path] = typer.Argument(
        ..., help="CloudFormation templates (YAML/JSON) or `terraform show -json` plans."
    ),
    policies: Path = typer.Option(
        ..., "--policies", metavar="PATH", help="Policy file or folder of policy files."
    ),
    format: str = typer.Option(
        "text", "--format", metavar="FORMAT", help="text, json, junit, sarif or md."
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        metavar="FILE",
        help="Write the report to FILE (atomically) instead of stdout.",
    ),
    parameter: list[str] = typer.Option(
        [],
        "--parameter",
        metavar="NAME=VALUE",
        help="NAME=VALUE for a CloudFormation parameter or pseudo parameter (AWS::Region, AWS::AccountId); repeatable.",
    ),
    no_fail: bool = typer.Option(False, "--no-fail", help="Exit 0 even when findings FAIL."),
    fail_on: FailOnOption = None,
    skip_control: SkipControlOption = [],  # noqa: B006 - Typer reads the default, never mutates it
    baseline: BaselineOption = None,
    as_of: str | None = typer.Option(
        None, "--as-of", metavar="TIME", help="ISO 8601 time for waiver expiry (default: now)."
    ),
) -> None:
    """Check templates against the declared plans before deployment (exit 3 when a FAIL counts
    under the gating options)."""
    from auditor.atomic import write_text
    from auditor.gating import failed_rows
    from auditor.plancheck import parse_parameters, plan_check
    from auditor.plancheck.render import RENDERERS

    renderer = RENDERERS.get(format.lower())
    if renderer is None:
        raise UsageError(f"--format {format!r} is not one of {', '.join(RENDERERS)}")
    gate = gate_of(fail_on, skip_control, baseline, no_fail)
    result = plan_check(
        policies,
        templates,
        parse_as_of(as_of),
        parse_parameters(parameter),
        skip_controls=gate.skip_controls,
    )
    report = renderer(result)
    if out is None:
        typer.echo(report, nl=False)
    else:
        write_text(out, report)
    s = result.summary
    if format.lower() != "text" or out is not None:
        typer.echo(
            f"plan-check: {s['FAIL']} FAIL, {s['NOT_ASSESSED']} NOT_ASSESSED, {s['PASS']} PASS"
            + (f"; wrote {out}" if out else ""),
            err=True,
        )
    decision = gate.decide(failed_rows(result.findings))
    if decision.describe():
        typer.echo(f"plan-check: {decision.describe()}", err=True)
    raise typer.Exit(decision.exit_code)


@app.command()
@with_scope_options
@with_options("run", RunArgs, _AUDIT_OPTIONS)
def audit(
    policies: Path = typer.Option(
        ..., "--policies", metavar="PATH", help="Policy file or folder of policy files."
    ),
    scope: ScopeArgs = None,  # type: ignore[assignment]  # filled in by with_scope_options
    run: RunArgs = None,  # type: ignore[assignment]  # filled in by with_options
    history: Path | None = typer.Option(
        None,
        "--history",
        metavar="FILE",
        help="SQLite history store (default: history.sqlite beside --out).",
    ),
    no_history: bool = typer.Option(
        False, "--no-history", help="Do not record this run in a history store."
    ),
    prices: Path | None = typer.Option(
        None,
        "--prices",
        metavar="FILE",
        help="Price table merged over the default (policies/prices.yaml).",
    ),
    by_tag: list[str] = typer.Option(
        [], "--by-tag", metavar="KEY", help="Also allocate cost by this tag key (repeatable)."
    ),
) -> None:
    """Collect, check, meter and report in one run (exit 3 when a FAIL counts under the gating
    options, 1 on incomplete collection)."""
    from auditor.pipeline import AuditOptions, run_audit, summary_line
    from auditor.report import parse_formats

    fields = scope.collect_fields()
    gate = run.gate()
    chosen_framework = run.chosen_framework()
    outcome = run_audit(
        AuditOptions(
            policies=policies,
            out=run.out_folder(),
            as_of=run.moment(),
            regions=fields.pop("regions"),
            profile=fields.pop("profile"),
            accounts=fields.pop("accounts"),
            formats=[f.value for f in parse_formats(run.format or None)],
            history=history,
            keep_history=not no_history,
            prices=prices,
            by_tags=by_tag,
            owner_tags=run.owner_keys(),
            no_fail=run.no_fail,
            progress=run.progress(),
            command=" ".join(["auditor", *sys.argv[1:]]),
            collect_extra=fields,
            dask=scope.dask,
            gate=gate,
            framework=chosen_framework,
        )
    )
    print_failed_calls(outcome.failed_calls)
    typer.echo(summary_line(outcome), err=True)
    if outcome.report_html.exists():
        typer.echo(f"report: {outcome.report_html}", err=True)
    raise typer.Exit(outcome.exit_code)


@app.command()
@with_options("run", RunArgs, _REPORT_OPTIONS)
def report(
    results: Path = typer.Option(
        ...,
        "--results",
        metavar="DIR",
        help="Results folder written by `auditor audit` or `auditor check`.",
    ),
    run: RunArgs = None,  # type: ignore[assignment]  # filled in by with_options
) -> None:
    """Render saved results again, in any of the report formats (with --owner-tags, the owner
    columns are looked up again in the folder's inventory)."""
    from auditor.report import load_results, parse_formats, write_reports

    formats = parse_formats(run.format or None)
    chosen_framework = run.chosen_framework()
    keys = run.owner_keys() if run.owner_tags is not None else None
    loaded = load_results(results, owner_tags=keys)
    written = write_reports(
        loaded, run.out or results, formats, source=results, framework=chosen_framework
    )
    typer.echo(
        f"report: wrote {', '.join(str(p) for p in written) or 'nothing new (json/csv are already there)'}",
        err=True,
    )


@app.command("controls")
def controls_cmd(
    framework: str | None = typer.Option(
        None,
        "--framework",
        metavar="NAME",
        help="Also show which requirements of this framework each control serves.",
    ),
    frameworks: list[Path] = typer.Option([], "--frameworks", metavar="DIR", help=_FRAMEWORKS_HELP),
    format: str = typer.Option("text", "--format", metavar="FORMAT", help="text, md or json."),
) -> None:
    """List every control (id, title, severity, what it checks) and the requirements it serves."""
    from auditor.frameworks import load_framework
    from auditor.frameworks.catalog import render_catalog

    chosen_framework = load_framework(framework, frameworks) if framework else None
    typer.echo(render_catalog(format, chosen_framework), nl=False)


@evidence_app.command("export")
def evidence_export(
    results: Path = typer.Option(..., "--results", metavar="DIR", help="Results folder to bundle."),
    out: Path = typer.Option(
        ..., "--out", metavar="FILE", help="Bundle file to write (a .zip, written atomically)."
    ),
) -> None:
    """Bundle a results folder with a manifest of SHA-256 hashes (audit evidence)."""
    from auditor.evidence import export_bundle

    path, manifest, digest = export_bundle(
        results, out, command=" ".join(["auditor", *sys.argv[1:]])
    )
    typer.echo(
        f"evidence: wrote {path} ({len(manifest['files'])} files; sha256 {digest})", err=True
    )


@evidence_app.command("verify")
def evidence_verify(
    bundle: Path = typer.Argument(..., help="Evidence bundle (.zip) to verify."),
    expect_sha256: str | None = typer.Option(
        None,
        "--expect-sha256",
        metavar="HEX",
        help="The bundle's SHA-256 recorded at export: fail when the bundle's own hash differs.",
    ),
) -> None:
    """Exit 0 when nothing in the bundle changed; otherwise name what changed and exit 1."""
    from auditor.evidence import verify_bundle

    check = verify_bundle(bundle, expect_sha256=expect_sha256)
    if not check.ok:
        for problem in check.problems:
            typer.echo(f"evidence: {problem}", err=True)
        fail(check.failure(), EXIT_RUNTIME)
    m = check.manifest
    typer.echo(
        f"evidence: {bundle}: OK, {check.files} files unchanged (as_of {m.get('as_of')},"
        f" auditor {m.get('program_version')}; sha256 {check.bundle_sha256})",
        err=True,
    )


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["EXIT_USAGE", "app", "fail", "main", "parse_as_of"]
