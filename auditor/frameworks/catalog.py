"""`auditor controls`: every control (id, title, severity, what it checks and when it FAILs, the
remediation, the AWS Backup Audit Manager / AWS Config equivalent) and, for a chosen framework,
the requirements each one gives evidence for; rendered as text, Markdown or JSON.

`docs/controls.md` is this command's Markdown output (`auditor controls --format md`)."""

from __future__ import annotations

from typing import Any

from auditor import jsonsafe
from auditor.errors import UsageError
from auditor.frameworks import Framework

FORMATS = ("text", "md", "json")


def control_catalog(framework: Framework | None = None) -> list[dict[str, Any]]:
    """One record per registered control, in registry order; with `framework`, each record also
    lists the requirements it serves (`{"id", "title", "partial"}`)."""
    from auditor.controls import REGISTRY

    served: dict[str, list[dict[str, Any]]] = {}
    if framework is not None:
        for req in framework.requirements:
            for ref in req.controls:
                served.setdefault(ref.id, []).append(
                    {"id": req.id, "title": req.title, "partial": ref.partial}
                )
    items = []
    for control in REGISTRY.values():
        item: dict[str, Any] = {
            "id": control.id,
            "title": control.title,
            "severity": control.severity,
            "description": " ".join(control.description.split()),
            "remediation": control.remediation,
            "equivalent": control.equivalent,
        }
        if framework is not None:
            item["requirements"] = served.get(control.id, [])
        items.append(item)
    return items


def _unserved(framework: Framework | None) -> list[str]:
    return [r.id for r in framework.requirements if not r.controls] if framework else []


def render_catalog(fmt: str, framework: Framework | None = None) -> str:
    """The catalogue in `fmt` (text, md or json); UsageError for another format."""
    fmt = fmt.lower().strip()
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
    items = control_catalog(framework)
    if fmt == "json":
        doc: dict[str, Any] = {"schema_version": 1, "controls": items}
        if framework is not None:
            doc["framework"] = _framework_info(framework)
            doc["requirements_without_controls"] = _unserved(framework)
        return jsonsafe.dumps(doc)
    return (_markdown if fmt == "md" else _text)(items, framework)


def _framework_info(framework: Framework) -> dict[str, str]:
    return {
        "key": framework.key,
        "name": framework.name,
        "version": framework.version,
        "source": framework.source,
    }


def _served_text(item: dict[str, Any]) -> str:
    reqs = item.get("requirements") or []
    if not reqs:
        return "(none)"
    return ", ".join(r["id"] + (" (partial)" if r["partial"] else "") for r in reqs)


def _text(items: list[dict[str, Any]], framework: Framework | None) -> str:
    lines = []
    if framework is not None:
        lines += [f"{framework.name} {framework.version} ({framework.source})", ""]
    for item in items:
        lines.append(f"{item['id']}  [{item['severity']}]  {item['title']}")
        lines.append(f"    {item['description']}")
        lines.append(f"    remediation: {item['remediation']}")
        if item["equivalent"]:
            lines.append(f"    equivalent: {item['equivalent']}")
        if framework is not None:
            lines.append(f"    serves {framework.name}: {_served_text(item)}")
        lines.append("")
    unserved = _unserved(framework)
    if unserved:
        lines.append(f"No control gives evidence yet for: {', '.join(unserved)}")
        lines.append("")
    return "\n".join(lines)


def _markdown(items: list[dict[str, Any]], framework: Framework | None) -> str:
    from auditor.report.templating import md_cell

    head = (
        "| Control | Severity | Title | Checks, and when it FAILs | Remediation | AWS equivalent |"
    )
    rule = "|---|---|---|---|---|---|"
    if framework is not None:
        head += f" {md_cell(framework.name)} requirements |"
        rule += "---|"
    lines = ["## Controls", ""]
    if framework is not None:
        lines += [
            f"Requirements of {md_cell(framework.name)} {md_cell(framework.version)}"
            f" ([source]({framework.source})) each control gives evidence for.",
            "",
        ]
    lines += [head, rule]
    for item in items:
        row = (
            f"| `{item['id']}` | {item['severity']} | {md_cell(item['title'])}"
            f" | {md_cell(item['description'])} | {md_cell(item['remediation'])}"
            f" | {md_cell(item['equivalent'] or '(none)')} |"
        )
        if framework is not None:
            row += f" {md_cell(_served_text(item))} |"
        lines.append(row)
    unserved = _unserved(framework)
    if unserved:
        lines += ["", f"No control gives evidence yet for: {md_cell(', '.join(unserved))}."]
    return "\n".join(lines) + "\n"


__all__ = ["FORMATS", "control_catalog", "render_catalog"]
