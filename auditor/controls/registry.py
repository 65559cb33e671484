"""The one registry of controls: every fact about a control lives on its registration.

A control is a pure function ``func(ctx) -> Part`` over a prepared `Context` (the inventory's frames
and the policies, at a fixed `as_of`), registered with the `control` decorator. Its docstring is the
description reports show. The registration also says what the control reads (so a failed
collection call makes exactly the controls that read its data NOT_ASSESSED), whether its verdict
for one account can depend on another account's inventory (distributed runs evaluate those over
the combined inventory), and whether plan-check judges it before deployment.

Controls are found, not listed: every module of the `auditor.controls.rules` package, and every
module or object named by an `auditor.controls` entry point of an installed distribution, is
imported on first use of `REGISTRY` or `CONTROL_IDS`. Adding a control is one module and one test.
Discovery is lazy, so the policy loader can ask for the ids without importing the engine first.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from auditor.controls.reads import ALL_DATA, DATA

__all__ = [
    "CONTROL_IDS",  # noqa: F822 - computed by __getattr__
    "ENTRY_POINT_GROUP",
    "PER",
    "REGISTRY",  # noqa: F822 - computed by __getattr__
    "SCOPES",
    "SEVERITIES",
    "Control",
    "control",
    "cross_account_ids",
    "discover",
    "pre_deploy_controls",
]

SEVERITIES = ("critical", "high", "medium", "low")
# "account": the verdicts for one account depend on that account's inventory only.
# "cross-account": they may depend on other accounts' (a copy kept elsewhere, an orphan's source).
SCOPES = ("account", "cross-account")
# What one finding is about: a resource, a (resource, plan) pair, or one backup.
PER = ("resource", "plan", "backup")
ENTRY_POINT_GROUP = "auditor.controls"
RULES_PACKAGE = "auditor.controls.rules"


@dataclass(frozen=True)
class Control:
    """A registered control and every fact about it."""

    id: str
    title: str
    severity: str
    func: Callable[..., Any]
    per: str  # one of PER
    reads: frozenset[str]  # inventory data it depends on (names from auditor.controls.reads.DATA)
    scope: str  # one of SCOPES
    remediation: str  # a short default text: what to change so the control passes
    pre_deploy: str | None  # what plan-check judges before deployment; None = not judged there
    order: int  # rank in findings and summaries (built-ins 10, 20, ...; plug-ins default 1000)
    # The AWS Backup Audit Manager control / AWS Config managed rule that checks the same (or None).
    equivalent: str | None = None

    @property
    def description(self) -> str:
        """The function's docstring: what the control checks and when it fails."""
        return inspect.cleandoc(self.func.__doc__ or "")


_REGISTERED: dict[str, Control] = {}
_ORDERED: dict[str, Control] = {}
_LOCK = threading.RLock()
_discovered = False


def control(
    id: str,
    title: str,
    severity: str,
    *,
    reads: tuple[str, ...] | frozenset[str],
    remediation: str,
    per: str = "plan",
    scope: str = "account",
    pre_deploy: str | None = None,
    order: int = 1000,
    equivalent: str | None = None,
) -> Callable:
    """Register the decorated function as control `id` (facts checked here, once)."""
    problems = []
    if severity not in SEVERITIES:
        problems.append(f"unknown severity {severity!r} (one of {', '.join(SEVERITIES)})")
    if per not in PER:
        problems.append(f"unknown per {per!r} (one of {', '.join(PER)})")
    if scope not in SCOPES:
        problems.append(f"unknown scope {scope!r} (one of {', '.join(SCOPES)})")
    unknown = sorted(set(reads) - ALL_DATA)
    if unknown or not reads:
        problems.append(f"reads must name data among {', '.join(DATA)} (got {sorted(reads)})")
    if not remediation:
        problems.append("remediation is empty")
    if problems:
        raise ValueError(f"control {id}: " + "; ".join(problems))

    def register(func: Callable) -> Callable:
        with _LOCK:
            known = _REGISTERED.get(id)
            if known is not None and known.func.__qualname__ != func.__qualname__:
                raise ValueError(f"control {id} registered twice")
            _REGISTERED[id] = Control(
                id=id,
                title=title,
                severity=severity,
                func=func,
                per=per,
                reads=frozenset(reads),
                scope=scope,
                remediation=remediation,
                pre_deploy=pre_deploy,
                order=order,
                equivalent=equivalent,
            )
            if _discovered:
                _sort()
        return func

    return register


def _sort() -> None:
    ordered = sorted(_REGISTERED.values(), key=lambda c: (c.order, c.id))
    _ORDERED.clear()
    _ORDERED.update((c.id, c) for c in ordered)


def discover() -> dict[str, Control]:
    """Import every control module (built-in, then plug-ins) once; the registry in order."""
    global _discovered
    with _LOCK:
        if _discovered:
            return _ORDERED
        package = importlib.import_module(RULES_PACKAGE)
        for module in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            if not module.name.startswith("_"):
                importlib.import_module(f"{RULES_PACKAGE}.{module.name}")
        for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
            try:
                point.load()  # importing the module registers its controls
            except Exception as exc:
                # A compliance run silently missing a control would be wrong: fail loudly.
                raise ImportError(
                    f"control plug-in {point.name} ({point.value}) failed to load: {exc}"
                ) from exc
        _discovered = True
        _sort()
        return _ORDERED


def cross_account_ids() -> tuple[str, ...]:
    """Ids of the controls whose verdict for one account may depend on another's inventory."""
    return tuple(c.id for c in discover().values() if c.scope == "cross-account")


def pre_deploy_controls() -> dict[str, Control]:
    """The controls plan-check judges before deployment, in registry order."""
    return {cid: c for cid, c in discover().items() if c.pre_deploy}


def __getattr__(name: str) -> Any:
    # REGISTRY and CONTROL_IDS are computed on first use, so importing this module is cheap.
    if name == "REGISTRY":
        return discover()
    if name == "CONTROL_IDS":
        return tuple(discover())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
