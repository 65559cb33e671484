"""Load and lint policy files (docs/policy.md): YAML with line numbers, a JSON Schema, then meaning checks.

Every problem becomes a `Message` located at ``FILE:LINE`` and naming the plan (or waiver, or scope)
it belongs to. `load_policies` raises `PolicyError` with the first error; `lint_policies` returns
every error and warning (for ``auditor validate``).

Hostile input is refused early: files over 1 MiB, more than 20 YAML aliases (a "billion laughs"
bomb), duplicate keys, and anything that is not a mapping at the top.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import yaml

from auditor.errors import PolicyError
from auditor.inventory import RESOURCE_TYPES
from auditor.limits import MAX_POLICY_BYTES, MAX_YAML_ALIASES
from auditor.policy.schedule import ScheduleError, max_interval, parse_duration
from auditor.policy.selection import SelectionSpec, declared_spec, wildcard_regex
from auditor.policy.support import SupportMatrix, load_support_matrix, plan_support_gaps

__all__ = [
    "MAX_FILE_BYTES",
    "CopyTo",
    "Message",
    "Plan",
    "PolicySet",
    "Scope",
    "Waiver",
    "expiry_instant",
    "lint_policies",
    "load_policies",
]

MAX_FILE_BYTES = MAX_POLICY_BYTES  # shared limits: auditor.limits
MAX_ALIASES = MAX_YAML_ALIASES
ALL_SOURCES = ("aws-backup", "native")
POLICY_KEYS = {"plans", "scope", "waivers"}


# --- model ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """One lint result: ``FILE:LINE: [warning: ]<subject>: <text>``."""

    level: str  # "error" | "warning"
    file: str
    line: int
    subject: str  # "plan 'gold'", "waiver 2", "scope", "" ...
    text: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file else ""
        prefix = "warning: " if self.level == "warning" else ""
        subject = f"{self.subject}: " if self.subject else ""
        return f"{where}{prefix}{subject}{self.text}"


@dataclass(frozen=True)
class Scope:
    """What must be protected: resource types, tags that exclude, optional accounts/regions."""

    resource_types: tuple[str, ...] = RESOURCE_TYPES
    exclude_tags: tuple[tuple[str, str], ...] = ()
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    source_file: str | None = None
    source_line: int | None = None


@dataclass(frozen=True)
class CopyTo:
    """Where copies must exist."""

    regions: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    # A recent copy must sit in a logically air-gapped vault (the air-gapped-copy control).
    air_gapped: bool = False


@dataclass(frozen=True)
class Plan:
    """A declared backup plan. `interval` is the longest gap its `frequency` allows."""

    name: str
    select: dict
    frequency: str
    interval: timedelta
    grace: timedelta
    retention_days: int
    max_retention_days: int | None = None
    accept: tuple[str, ...] = ALL_SOURCES
    encrypted: bool = False
    # None: no lock required; "any" (`vault_lock: true`): governance or compliance; "governance":
    # at least governance (compliance is stronger); "compliance": compliance mode in force.
    vault_lock: str | None = None
    copy_to: CopyTo = field(default_factory=CopyTo)
    cold_after_days: int | None = None
    # A restore of the resource's backups must have succeeded within this many days (restore-tested).
    restore_test_days: int | None = None
    # The latest successful restore may take at most this long (restore-time-target).
    restore_time_target: timedelta | None = None
    # Recovery points must be safe from early deletion: a compliance-mode lock in force or a vault
    # access policy denying backup:DeleteRecoveryPoint to everyone (deletion-protected).
    deletion_protected: bool = False
    description: str | None = None
    source_file: str | None = None
    source_line: int | None = None

    @property
    def spec(self) -> SelectionSpec:
        """The normalised selection (see `auditor.policy.selection`)."""
        return declared_spec(self.select)

    @property
    def allowed_age(self) -> timedelta:
        """Frequency plus grace: the oldest the newest backup may be."""
        return self.interval + self.grace


@dataclass(frozen=True)
class Waiver:
    """An accepted exception: FAIL becomes WAIVED for matching resources/controls until `expires`.

    `expires` is the first instant at which the waiver no longer applies: a date
    (``expires: 2027-01-31``) applies through the end of that day UTC (until 2027-02-01T00:00Z);
    a time (``2027-01-31T12:00:00Z``, UTC when no offset) applies until that instant, exclusive.
    The engine, plan-check and the report all decide through `matches` / `active`.
    """

    resource: str  # ARN (or, in plan-check, a template's logical id), `*` wildcards allowed
    controls: tuple[str, ...]  # empty = every control
    reason: str
    expires: datetime  # first instant at which the waiver no longer applies
    expires_text: str
    owner: str | None = None
    plan: str | None = None
    source_file: str | None = None
    source_line: int | None = None

    def active(self, as_of: datetime) -> bool:
        """True while `as_of` is before the expiry instant."""
        return _utc(as_of) < self.expires

    def names(self, resource_arn: Any) -> Any:
        """Does `resource` (``*`` = any characters, the rest literal) name the ARN(s)?

        `resource_arn` is one string (-> bool) or a pandas Series (-> boolean NumPy array).
        """
        regex = wildcard_regex(self.resource)
        if isinstance(resource_arn, pd.Series):
            return (
                resource_arn.astype("str")
                .str.fullmatch(regex.pattern, flags=regex.flags)
                .to_numpy(dtype=bool, na_value=False)
            )
        return resource_arn is not None and regex.fullmatch(str(resource_arn)) is not None

    def covers(self, control_id: str, plan: str | None = None) -> bool:
        """Does the waiver apply to `control_id` (and, when it names a plan, to findings of `plan`)?"""
        if self.controls and control_id not in self.controls:
            return False
        return self.plan is None or plan == self.plan

    def matches(
        self, resource_arn: Any, control_id: str, as_of: datetime, plan: str | None = None
    ) -> Any:
        """True where the waiver is in force at `as_of` for this resource, control and plan.

        A waiver that names a plan applies only to findings about that plan. `resource_arn` may be
        a pandas Series (vectorised: a boolean array).
        """
        if not (self.covers(control_id, plan) and self.active(as_of)):
            if isinstance(resource_arn, pd.Series):
                return np.zeros(len(resource_arn), dtype=bool)
            return False
        return self.names(resource_arn)


def _vault_lock_mode(value: Any) -> str | None:
    """`vault_lock:` as a required mode: true -> "any", false -> None, else the mode's name."""
    if value is True:
        return "any"
    if value in ("governance", "compliance"):
        return str(value)
    return None


def expiry_instant(text: Any) -> datetime:
    """The first instant at which a waiver with ``expires: text`` no longer applies (see `Waiver`)."""
    return _parse_expiry(str(text))


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class PolicySet:
    """Every policy file merged: one scope, all plans (unique names), all waivers."""

    scope: Scope = field(default_factory=Scope)
    plans: list[Plan] = field(default_factory=list)
    waivers: list[Waiver] = field(default_factory=list)
    source_files: list[str] = field(default_factory=list)
    support: SupportMatrix = field(default_factory=load_support_matrix)

    def plan(self, name: str) -> Plan:
        """The plan called `name` (KeyError if none)."""
        for plan in self.plans:
            if plan.name == name:
                return plan
        raise KeyError(name)


# --- YAML with line numbers --------------------------------------------------------------------------


class _LineDict(dict):
    line = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines: dict[Any, int] = {}


class _LineList(list):
    line = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines: list[int] = []


class _YamlProblem(Exception):
    def __init__(self, line: int, text: str):
        super().__init__(text)
        self.line = line
        self.text = text


class _Loader(yaml.SafeLoader):
    """SafeLoader that records line numbers, keeps timestamps as text and limits aliases."""

    def __init__(self, stream):
        super().__init__(stream)
        self._aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                mark = self.peek_event().start_mark
                raise _YamlProblem(
                    mark.line + 1,
                    f"more than {MAX_ALIASES} YAML aliases (refused as a possible YAML bomb)",
                )
        return super().compose_node(parent, index)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _LineDict:
    loader.flatten_mapping(node)
    out = _LineDict()
    out.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise _YamlProblem(
                key_node.start_mark.line + 1, "a mapping key must be a plain value"
            ) from None
        if key in out:
            raise _YamlProblem(key_node.start_mark.line + 1, f"duplicate key '{key}'")
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> _LineList:
    out = _LineList()
    out.line = node.start_mark.line + 1
    for child in node.value:
        out.append(loader.construct_object(child, deep=True))
        out.lines.append(child.start_mark.line + 1)
    return out


def _construct_timestamp(loader: _Loader, node: yaml.ScalarNode) -> str:
    return loader.construct_scalar(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def _read_yaml(path: Path) -> tuple[Any, Message | None]:
    name = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        return None, Message("error", name, 0, "", f"cannot read ({exc.strerror or exc})")
    if size > MAX_FILE_BYTES:
        return None, Message(
            "error",
            name,
            1,
            "",
            f"file is {size} bytes; policy files are limited to {MAX_FILE_BYTES} bytes",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None, Message("error", name, 1, "", "not UTF-8 text")
    except OSError as exc:
        return None, Message("error", name, 0, "", f"cannot read ({exc.strerror or exc})")
    try:
        loader = _Loader(text)
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
    except _YamlProblem as exc:
        return None, Message("error", name, exc.line, "", exc.text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or exc.context or "invalid YAML"
        return None, Message("error", name, line, "", f"invalid YAML: {problem}")
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        return None, Message(
            "error",
            name,
            1,
            "",
            f"invalid YAML: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
        )
    return data, None


# --- schema validation -------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    text = (
        importlib_resources.files("auditor.policy")
        .joinpath("schema.json")
        .read_text(encoding="utf-8")
    )
    schema = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _line_of(data: Any, path: Iterable[Any]) -> int:
    line = getattr(data, "line", 1) or 1
    node = data
    for step in path:
        lines = getattr(node, "lines", None)
        try:
            if isinstance(node, dict):
                line = lines.get(step, line) if lines else line
            elif isinstance(node, list):
                line = lines[step] if lines and step < len(lines) else line
            node = node[step]
        except (KeyError, IndexError, TypeError):
            break
    return line


def _subject(data: Any, path: list[Any]) -> str:
    if len(path) >= 2 and path[0] == "plans" and isinstance(path[1], int):
        try:
            name = data["plans"][path[1]].get("name")
        except (AttributeError, IndexError, KeyError, TypeError):
            name = None
        return f"plan '{name}'" if isinstance(name, str) else f"plan #{path[1] + 1}"
    if len(path) >= 2 and path[0] == "waivers" and isinstance(path[1], int):
        return f"waiver #{path[1] + 1}"
    if path and path[0] in ("scope", "aws_backup_support"):
        return str(path[0])
    return ""


def _field_name(path: list[Any]) -> str:
    named = [str(p) for p in path if not isinstance(p, int)]
    return named[-1] if named else "document"


def _describe(error: jsonschema.ValidationError) -> tuple[list[Any], str]:
    """(path to locate, one-line text) for a schema error."""
    path = list(error.absolute_path)
    name = _field_name(path)
    custom = error.schema.get("x-message") if isinstance(error.schema, dict) else None
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted((error.schema.get("properties") or {}).keys())
        extra = [k for k in error.instance if k not in allowed]
        if allowed:
            return path + extra[:1], f"unknown field '{extra[0]}' (allowed: {', '.join(allowed)})"
        return path + extra[:1], f"'{name}': invalid entry '{extra[0]}'"
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return path, f"missing required field '{missing}'"
    if (
        error.validator == "type"
        and isinstance(error.instance, bool)
        and "string" in str(error.validator_value)
    ):
        return (
            path,
            f"'{name}' must be a string, got {str(error.instance).lower()} (quote it: YAML reads yes/no/on/off/true/false as booleans)",
        )
    if (
        error.validator == "type"
        and error.validator_value == "string"
        and isinstance(error.instance, (int, float))
    ):
        return path, f"'{name}' must be a string, got {error.instance!r} (quote it)"
    if custom:
        return (
            path,
            f"'{name}': {custom}, got {error.instance!r}" if error.validator != "const" else custom,
        )
    if error.validator == "type":
        return (
            path,
            f"'{name}' must be {error.validator_value}, got {type(error.instance).__name__} {error.instance!r}",
        )
    if error.validator == "enum":
        return (
            path,
            f"'{name}' must be one of {', '.join(map(str, error.validator_value))}, got {error.instance!r}",
        )
    if error.validator in ("minimum", "maximum", "exclusiveMinimum"):
        return (
            path,
            f"'{name}' must be {'>=' if error.validator == 'minimum' else '<='} {error.validator_value}, got {error.instance!r}",
        )
    if error.validator == "uniqueItems":
        return path, f"'{name}' lists the same value twice"
    if error.validator == "minItems":
        return path, f"'{name}' must not be empty"
    if error.validator == "oneOf" and error.context:
        return path, f"'{name}': {error.context[0].message}"
    return path, f"'{name}': {error.message}"


# --- meaning checks and model building ---------------------------------------------------------------


def _parse_expiry(text: str) -> datetime:
    text = str(text).strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        day = date.fromisoformat(text)
        return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _pairs(mapping: Any) -> tuple[tuple[str, str], ...]:
    out = []
    for key, value in (mapping or {}).items():
        for v in value if isinstance(value, list) else [value]:
            out.append((str(key), str(v)))
    return tuple(out)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class _FileResult:
    def __init__(self, name: str):
        self.name = name
        self.messages: list[Message] = []
        self.scope: Scope | None = None
        self.plans: list[Plan] = []
        self.waivers: list[Waiver] = []
        self.support_rules: list[dict] = []
        self.support_profile: tuple[str, int] | None = None  # (profile, line)

    def error(self, line: int, subject: str, text: str) -> None:
        self.messages.append(Message("error", self.name, line, subject, text))

    def warn(self, line: int, subject: str, text: str) -> None:
        self.messages.append(Message("warning", self.name, line, subject, text))


def _known_controls() -> set[str]:
    from auditor.controls.registry import CONTROL_IDS  # lazy: controls import this package

    return set(CONTROL_IDS)


def _check_file(name: str, data: Any, as_of: datetime | None) -> _FileResult:
    result = _FileResult(name)
    broken = _check_schema(result, data)
    # Meaning checks still run on every part the schema found no fault in, so one run of
    # `auditor validate` lists every problem; a broken document shape stops here.
    if any(len(b) < 2 and b[:1] != ("scope",) for b in broken):
        return result
    known_types = set(RESOURCE_TYPES)
    bad_scope = any(b[:1] == ("scope",) for b in broken)

    scope = data.get("scope") if not bad_scope else None
    if scope is not None:
        _check_scope(result, data, scope, known_types)

    for i, raw in enumerate(data.get("plans") or []):
        if ("plans", i) in broken:
            continue
        _check_plan(result, data, i, raw, as_of, known_types)

    known = _known_controls()
    for i, raw in enumerate(data.get("waivers") or []):
        if ("waivers", i) in broken:
            continue
        _check_waiver(result, data, i, raw, as_of, known)
    _check_support(result, data, broken, known_types)
    return result


def _check_schema(result: _FileResult, data: Any) -> set[tuple[Any, ...]]:
    """Record every JSON Schema error; return the (section, index) paths they break."""
    errors = sorted(
        _validator().iter_errors(data), key=lambda e: _line_of(data, list(e.absolute_path))
    )
    for error in errors:
        path, text = _describe(error)
        result.error(_line_of(data, path), _subject(data, list(error.absolute_path)), text)
    return {tuple(e.absolute_path)[:2] for e in errors}


def _check_scope(result: _FileResult, data: Any, scope: Any, known_types: set[str]) -> None:
    """Check the scope's resource types and set ``result.scope``."""
    for i, rtype in enumerate(scope.get("resource_types") or []):
        if rtype not in known_types:
            result.error(
                _line_of(data, ["scope", "resource_types", i]),
                "scope",
                f"unknown resource type '{rtype}' (known: {', '.join(RESOURCE_TYPES)})",
            )
    result.scope = Scope(
        resource_types=tuple(scope.get("resource_types") or RESOURCE_TYPES),
        exclude_tags=_pairs(scope.get("exclude_tags")),
        accounts=tuple(scope.get("accounts") or ()),
        regions=tuple(scope.get("regions") or ()),
        source_file=result.name,
        source_line=getattr(scope, "line", 1),
    )


def _check_plan(
    result: _FileResult,
    data: Any,
    i: int,
    raw: Any,
    as_of: datetime | None,
    known_types: set[str],
) -> None:
    """Check plan number ``i`` and append it to ``result.plans`` when it has no error."""
    subject = f"plan '{raw['name']}'"
    line = getattr(raw, "line", 1)
    at = lambda *p: _line_of(data, ["plans", i, *p])  # noqa: E731 - local shorthand
    ok = True
    select = raw.get("select") or {}
    for j, rtype in enumerate(select.get("resource_types") or []):
        if rtype not in known_types:
            result.error(
                at("select", "resource_types", j),
                subject,
                f"unknown resource type '{rtype}' (known: {', '.join(RESOURCE_TYPES)})",
            )
            ok = False
    timing_ok, interval, grace = _check_plan_timing(result, raw, at, subject, as_of)
    ok = timing_ok and ok
    retention = raw["retention_days"]
    max_retention = raw.get("max_retention_days")
    cold = raw.get("cold_after_days")
    ok = _check_plan_retention(result, raw, at, subject) and ok
    restore_ok, restore_target = _check_plan_restore(result, raw, at, subject)
    ok = restore_ok and ok
    accept = tuple(raw.get("accept") or ALL_SOURCES)
    if raw.get("vault_lock") and "aws-backup" not in accept:
        result.warn(
            at("vault_lock"),
            subject,
            "vault_lock has no effect on a plan that accepts only native backups",
        )
    if raw.get("deletion_protected") and "aws-backup" not in accept:
        result.warn(
            at("deletion_protected"),
            subject,
            "deletion_protected has no effect on a plan that accepts only native backups "
            "(it protects AWS Backup vaults)",
        )
    copy_to = raw.get("copy_to") or {}
    if copy_to.get("air_gapped") and "aws-backup" not in accept:
        # Only AWS Backup copies into a logically air-gapped vault (AWS Backup Developer Guide,
        # "Logically air-gapped vault"): such a plan could never pass air-gapped-copy.
        result.error(
            at("copy_to", "air_gapped"),
            subject,
            "copy_to.air_gapped needs accept to include aws-backup: only AWS Backup copies into a "
            "logically air-gapped vault",
        )
        ok = False
    if ok:
        result.plans.append(
            Plan(
                name=raw["name"],
                select=_plain(select),
                frequency=str(raw["frequency"]),
                interval=interval,
                grace=grace,
                retention_days=int(retention),
                max_retention_days=max_retention,
                accept=accept,
                encrypted=bool(raw.get("encrypted", False)),
                vault_lock=_vault_lock_mode(raw.get("vault_lock", False)),
                copy_to=CopyTo(
                    regions=tuple(copy_to.get("regions") or ()),
                    accounts=tuple(copy_to.get("accounts") or ()),
                    air_gapped=bool(copy_to.get("air_gapped", False)),
                ),
                cold_after_days=cold,
                restore_test_days=raw.get("restore_test_days"),
                restore_time_target=restore_target,
                deletion_protected=bool(raw.get("deletion_protected", False)),
                description=raw.get("description"),
                source_file=result.name,
                source_line=line,
            )
        )


def _check_plan_timing(
    result: _FileResult,
    raw: Any,
    at: Callable[..., int],
    subject: str,
    as_of: datetime | None,
) -> tuple[bool, timedelta, timedelta]:
    """Parse a plan's frequency and grace: (no error, longest interval, grace)."""
    ok = True
    try:
        interval = max_interval(raw["frequency"], start=as_of)
        if interval == timedelta.max:
            result.warn(
                at("frequency"),
                subject,
                f"frequency {raw['frequency']!r} stops firing (its year field ends)",
            )
    except ScheduleError as exc:
        result.error(at("frequency"), subject, f"frequency: {exc}")
        ok, interval = False, timedelta(0)
    try:
        grace = parse_duration(raw.get("grace", "0h"))
    except ScheduleError as exc:
        result.error(at("grace"), subject, f"grace: {exc}")
        ok, grace = False, timedelta(0)
    return ok, interval, grace


def _check_plan_retention(
    result: _FileResult, raw: Any, at: Callable[..., int], subject: str
) -> bool:
    """Check max_retention_days and cold_after_days against retention_days; False on error."""
    ok = True
    retention = raw["retention_days"]
    max_retention = raw.get("max_retention_days")
    if max_retention is not None and max_retention < retention:
        result.error(
            at("max_retention_days"),
            subject,
            f"max_retention_days ({max_retention}) is below retention_days ({retention})",
        )
        ok = False
    cold = raw.get("cold_after_days")
    if cold is not None and retention - cold < 90:
        result.error(
            at("cold_after_days"),
            subject,
            f"cold_after_days ({cold}) must be at least 90 days before deletion (retention_days {retention}); "
            "AWS keeps cold backups at least 90 days",
        )
        ok = False
    return ok


def _check_plan_restore(
    result: _FileResult, raw: Any, at: Callable[..., int], subject: str
) -> tuple[bool, timedelta | None]:
    """Parse a plan's restore_time_target: (no error, the target or None)."""
    if raw.get("restore_time_target") is None:
        return True, None
    try:
        return True, parse_duration(raw["restore_time_target"])
    except ScheduleError as exc:
        result.error(at("restore_time_target"), subject, f"restore_time_target: {exc}")
        return False, None


def _check_waiver(
    result: _FileResult,
    data: Any,
    i: int,
    raw: Any,
    as_of: datetime | None,
    known: set[str],
) -> None:
    """Check waiver number ``i`` and append it to ``result.waivers`` when it has no error."""
    subject = f"waiver #{i + 1} ({raw['resource']})"
    at = lambda *p: _line_of(data, ["waivers", i, *p])  # noqa: E731
    bad = False
    for j, control in enumerate(raw.get("controls") or []):
        if control not in known:
            result.error(
                at("controls", j),
                subject,
                f"unknown control '{control}' (known: {', '.join(sorted(known))})",
            )
            bad = True
    try:
        expires = _parse_expiry(raw["expires"])
    except ValueError:
        result.error(at("expires"), subject, f"'expires' {raw['expires']!r} is not a valid date")
        return
    if as_of is not None and as_of >= expires:
        result.warn(at("expires"), subject, f"expired on {raw['expires']}; it no longer applies")
    if not bad:
        result.waivers.append(
            Waiver(
                resource=raw["resource"],
                controls=tuple(raw.get("controls") or ()),
                reason=raw["reason"],
                expires=expires,
                expires_text=str(raw["expires"]),
                owner=raw.get("owner"),
                plan=raw.get("plan"),
                source_file=result.name,
                source_line=getattr(raw, "line", 1),
            )
        )


def _check_support(
    result: _FileResult, data: Any, broken: set[tuple[Any, ...]], known_types: set[str]
) -> None:
    """Check the file's aws_backup_support rules and support profile."""
    for i, rule in enumerate(data.get("aws_backup_support") or []):
        if ("aws_backup_support", i) in broken:
            continue
        if rule["resource_type"] not in known_types:
            result.error(
                _line_of(data, ["aws_backup_support", i, "resource_type"]),
                "aws_backup_support",
                f"unknown resource type '{rule['resource_type']}'",
            )
        else:
            result.support_rules.append(_plain(rule))
    profile = data.get("aws_backup_support_profile")
    if profile is not None and ("aws_backup_support_profile",) not in broken:
        result.support_profile = (str(profile), _line_of(data, ["aws_backup_support_profile"]))


def _policy_files(path: Path) -> tuple[list[Path], bool]:
    if path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*")
            if p.suffix in (".yaml", ".yml")
            and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        return files, True
    return [path], False


def _parse(path: str | Path, as_of: datetime | None) -> tuple[PolicySet, list[Message]]:
    root = Path(path)
    messages: list[Message] = []
    policy = PolicySet()
    if not root.exists():
        messages.append(Message("error", str(root), 0, "", "no such file or folder"))
        return policy, messages
    files, folder = _policy_files(root)
    seen_plans: dict[str, Plan] = {}
    support_rules: list[dict] = []
    profile_from: tuple[str, str] | None = None  # (profile, FILE:LINE)
    scope_from: str | None = None
    for file in files:
        data, problem = _read_yaml(file)
        if problem:
            messages.append(problem)
            continue
        if folder and not (isinstance(data, dict) and POLICY_KEYS & set(data)):
            continue  # another data file kept beside the policies (e.g. a price table)
        if not isinstance(data, dict):
            messages.append(
                Message(
                    "error",
                    str(file),
                    getattr(data, "line", 1) or 1,
                    "",
                    "a policy file must be a mapping with 'version' and 'plans'",
                )
            )
            continue
        result = _check_file(str(file), data, as_of)
        messages.extend(result.messages)
        policy.source_files.append(str(file))
        if result.scope is not None:
            if scope_from is not None:
                messages.append(
                    Message(
                        "error",
                        str(file),
                        result.scope.source_line or 1,
                        "scope",
                        f"scope is already defined in {scope_from}; define it in one file",
                    )
                )
            else:
                scope_from = f"{file}:{result.scope.source_line}"
                policy.scope = result.scope
        for plan in result.plans:
            if plan.name in seen_plans:
                first = seen_plans[plan.name]
                messages.append(
                    Message(
                        "error",
                        str(file),
                        plan.source_line or 1,
                        f"plan '{plan.name}'",
                        f"plan name used twice (first at {first.source_file}:{first.source_line})",
                    )
                )
                continue
            seen_plans[plan.name] = plan
            policy.plans.append(plan)
        policy.waivers.extend(result.waivers)
        support_rules.extend(result.support_rules)
        if result.support_profile is not None:
            name, line = result.support_profile
            if profile_from is not None and profile_from[0] != name:
                messages.append(
                    Message(
                        "error",
                        str(file),
                        line,
                        "aws_backup_support_profile",
                        f"'{name}' contradicts '{profile_from[0]}' set in {profile_from[1]}; "
                        "set one profile",
                    )
                )
            elif profile_from is None:
                profile_from = (name, f"{file}:{line}")
    if not policy.source_files and not any(m.level == "error" for m in messages):
        messages.append(
            Message(
                "error",
                str(root),
                0,
                "",
                "no policy files found (YAML files with 'plans', 'scope' or 'waivers')",
            )
        )
    for waiver in policy.waivers:
        if waiver.plan is not None and waiver.plan not in seen_plans:
            messages.append(
                Message(
                    "error",
                    waiver.source_file or "",
                    waiver.source_line or 1,
                    "waiver",
                    f"names plan '{waiver.plan}', which no policy file declares",
                )
            )
    if policy.source_files and not policy.plans and not any(m.level == "error" for m in messages):
        messages.append(
            Message(
                "warning",
                policy.source_files[0],
                1,
                "",
                "no plans declared: every resource in scope will fail resource-covered",
            )
        )
    if support_rules or profile_from is not None:
        policy.support = load_support_matrix(
            extra_rules=support_rules, profile=profile_from[0] if profile_from else None
        )
    messages.extend(_support_warnings(policy))
    return policy, messages


def _support_warnings(policy: PolicySet) -> list[Message]:
    """Warn, without any inventory, about plans relying on AWS Backup for what it does not offer."""
    out = []
    for plan in policy.plans:
        types = plan.select.get("resource_types") or policy.scope.resource_types
        for field_name, text in plan_support_gaps(plan, types, policy.support):
            out.append(
                Message(
                    "warning",
                    plan.source_file or "",
                    plan.source_line or 1,
                    f"plan '{plan.name}'",
                    f"{field_name}: {text}",
                )
            )
    return out


def lint_policies(path: str | Path, as_of: datetime | None = None) -> list[Message]:
    """Every error and warning in the policy file or folder `path` (no AWS access).

    With `as_of`, waivers that expired by then are warned about and cron year fields are judged
    against that date.
    """
    return _parse(path, as_of)[1]


def load_policies(path: str | Path, as_of: datetime | None = None) -> PolicySet:
    """Load a policy file or a folder of them (merged). Raises PolicyError ("FILE:LINE: ...") on error."""
    policy, messages = _parse(path, as_of)
    errors = [m for m in messages if m.level == "error"]
    if errors:
        more = (
            f" (and {len(errors) - 1} more error(s); run `auditor validate`)"
            if len(errors) > 1
            else ""
        )
        raise PolicyError(f"{errors[0]}{more}")
    return policy
