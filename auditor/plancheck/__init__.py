"""Pre-deployment policy checks: `auditor plan-check --policies P TEMPLATE...` (issue 6).

`plan_check(policies, templates, as_of=..., parameters=...)` loads the declared policies and each
template (CloudFormation YAML/JSON, or a `terraform show -json` plan, told apart by content), judges
them (`evaluate.evaluate`) and returns a `PlanCheckResult`; `render.RENDERERS` turn that into text,
JSON, JUnit XML, SARIF 2.1.0 or Markdown.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from auditor.errors import InputError, UsageError
from auditor.plancheck.cloudformation import load_cloudformation
from auditor.plancheck.evaluate import FAIL, evaluate, summarize
from auditor.plancheck.model import Template
from auditor.plancheck.terraform import MAX_PLAN_BYTES, load_terraform

__all__ = ["PlanCheckResult", "detect_kind", "load_template", "parse_parameters", "plan_check"]


@dataclass
class PlanCheckResult:
    """Findings of one plan-check run, with what was read."""

    as_of: datetime
    policies: str
    templates: list[Template]
    findings: list[dict] = field(default_factory=list)
    # Controls left out with --skip-control: listed in the summary, so none goes unseen.
    skipped_controls: list[str] = field(default_factory=list)

    @property
    def summary(self) -> dict:
        """Counts per status (and the skipped controls, when any)."""
        counts = summarize(self.findings)
        if self.skipped_controls:
            counts["skipped_controls"] = list(self.skipped_controls)
        return counts

    @property
    def failed(self) -> bool:
        """True when any finding is FAIL (exit 3 unless --no-fail)."""
        return any(f["status"] == FAIL for f in self.findings)


def _sniff(text: str) -> tuple[str, dict | None]:
    """(kind, parsed JSON document or None): a JSON object with a top-level `format_version` and no
    `Resources` is a `terraform show -json` document, anything else a CloudFormation template."""
    if text.lstrip().startswith("{"):
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            return "cloudformation", None  # its decoder reports the syntax error with the line
        if isinstance(doc, dict) and "format_version" in doc and "Resources" not in doc:
            return "terraform", doc
    return "cloudformation", None


def detect_kind(text: str) -> str:
    """'terraform' for a `terraform show -json` document, else 'cloudformation'."""
    return _sniff(text)[0]


def load_template(path: str | Path, parameters: dict[str, str] | None = None) -> Template:
    """Read one template file of either kind; bad input raises `InputError` naming file and line."""
    path = str(path)
    file = Path(path)
    try:
        size = file.stat().st_size
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    if file.is_dir():
        raise InputError(f"{path}: is a folder, not a template")
    if size > MAX_PLAN_BYTES:
        raise InputError(f"{path}:1: file is {size} bytes, over the {MAX_PLAN_BYTES}-byte limit")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}:1: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    kind, doc = _sniff(text)
    try:
        if kind == "terraform":
            return load_terraform(path, text, doc=doc)
        from auditor.plancheck.cloudformation import MAX_TEMPLATE_BYTES

        if size > MAX_TEMPLATE_BYTES:
            raise InputError(
                f"{path}:1: template is {size} bytes, over the {MAX_TEMPLATE_BYTES}-byte limit"
            )
        return load_cloudformation(path, text, parameters)
    except RecursionError:
        raise InputError(f"{path}:1: the document nests too deeply to read") from None


def parse_parameters(items: Iterable[str]) -> dict[str, str]:
    """`["Env=prod", "AWS::Region=eu-west-1"]` -> dict; UsageError on an item without `=`."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = str(item).partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--parameter {item!r} is not NAME=VALUE")
        out[name.strip()] = value
    return out


def plan_check(
    policies: str | Path,
    templates: Iterable[str | Path],
    as_of: datetime,
    parameters: dict[str, str] | None = None,
    skip_controls: Iterable[str] = (),
) -> PlanCheckResult:
    """Load the declared policies and every template, and judge them together (leaving out the
    findings of `skip_controls`)."""
    from auditor.policy import load_policies

    paths = [str(t) for t in templates]
    if not paths:
        raise UsageError("plan-check needs at least one TEMPLATE")
    policy_set = load_policies(policies, as_of=as_of)
    loaded = [load_template(p, parameters) for p in paths]
    skipped = list(skip_controls)
    findings = [f for f in evaluate(policy_set, loaded, as_of) if f["control_id"] not in skipped]
    order = {
        (r.file, r.logical_id): (index, r.line)
        for index, t in enumerate(loaded)
        for r in t.resources
    }
    findings.sort(
        key=lambda f: (
            order.get((f["template_file"], f["resource"]), (len(paths), 0)),
            f["resource"],
            f["plan"] or "",
            f["control_id"],
        )
    )
    return PlanCheckResult(
        as_of=as_of,
        policies=str(policies),
        templates=loaded,
        findings=findings,
        skipped_controls=skipped,
    )
