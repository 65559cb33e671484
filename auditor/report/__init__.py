"""Reports: one pure renderer per format, `render(results) -> str`, chosen by `Format`.

`write_reports(results, out, formats)` writes each chosen format to its file in `out` atomically.
`json`/`csv` are the findings (and, when present, metering) files: when the results
were loaded from a folder, those files are passed through byte for byte rather than re-rendered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import Enum
from functools import partial
from pathlib import Path

from auditor.atomic import write_bytes, write_pieces, write_text
from auditor.errors import UsageError
from auditor.frameworks import Framework
from auditor.report import html, junit, markdown, sarif, structured
from auditor.report.framework import RENDERERS as FRAMEWORK_RENDERERS
from auditor.report.framework import build_view as build_framework_view
from auditor.report.model import (
    ControlInfo,
    Results,
    findings_frame,
    load_results,
    metering_frame,
    registry_controls,
)


class Format(str, Enum):  # noqa: UP042 (a str mixin: formats compare equal to their names)
    """Report formats of `auditor report --format` / `auditor audit --format`."""

    HTML = "html"
    MD = "md"
    JSON = "json"
    CSV = "csv"
    JUNIT = "junit"
    SARIF = "sarif"
    JSONL = "jsonl"  # findings as JSON Lines: chosen explicitly, for very large estates


def _render_jsonl(results: Results) -> str:
    """findings.jsonl from loaded results (one finding object per line, canonical order)."""
    from types import SimpleNamespace

    from auditor.findings import findings_jsonl_bytes

    return findings_jsonl_bytes(SimpleNamespace(frame=results.findings)).decode("utf-8")


RENDERERS: dict[Format, Callable[[Results], str]] = {
    Format.HTML: html.render,
    Format.MD: markdown.render,
    Format.JSON: structured.render_json,
    Format.CSV: structured.render_csv,
    Format.JUNIT: junit.render,
    Format.SARIF: sarif.render,
    Format.JSONL: _render_jsonl,
}

# Formats written piece by piece (their renderers join the same pieces): the largest reports.
STREAMED: dict[Format, Callable[[Results], Iterable[str]]] = {
    Format.HTML: html.render_pieces,
    Format.JUNIT: junit.render_pieces,
    Format.SARIF: sarif.render_pieces,
}

FILENAMES: dict[Format, str] = {
    Format.HTML: "report.html",
    Format.MD: "report.md",
    Format.JSON: "findings.json",
    Format.CSV: "findings.csv",
    Format.JUNIT: "junit.xml",
    Format.SARIF: "report.sarif",
    Format.JSONL: "findings.jsonl",
}
METERING_RENDERERS = {
    Format.JSON: ("metering.json", structured.render_metering_json),
    Format.CSV: ("metering.csv", structured.render_metering_csv),
}
DEFAULT_FORMATS = (Format.HTML, Format.MD, Format.JSON, Format.CSV, Format.JUNIT, Format.SARIF)


def parse_formats(value: str | Iterable[str] | None) -> list[Format]:
    """`"html,md"` (or a list of such strings) -> [Format.HTML, Format.MD]; UsageError on an unknown name."""
    if value is None:
        return list(DEFAULT_FORMATS)
    items = [value] if isinstance(value, str) else list(value)
    names = [n.strip().lower() for item in items for n in item.split(",") if n.strip()]
    if not names:
        return list(DEFAULT_FORMATS)
    out: list[Format] = []
    for name in names:
        if name == "all":
            return list(DEFAULT_FORMATS)
        try:
            fmt = Format(name)
        except ValueError:
            known = ", ".join(f.value for f in Format)
            raise UsageError(f"--format {name!r} is not one of {known}") from None
        if fmt not in out:
            out.append(fmt)
    return out


def render(results: Results, fmt: Format | str) -> str:
    """Render `results` in one format."""
    return RENDERERS[Format(fmt)](results)


def write_reports(
    results: Results,
    out: str | Path,
    formats: Iterable[Format | str] = DEFAULT_FORMATS,
    *,
    source: str | Path | None = None,
    skip_existing_data: bool = False,
    framework: Framework | None = None,
) -> list[Path]:
    """Write each format's file into `out` (atomically); return the paths written.

    `source` is the results folder the results came from: its findings/metering files are copied as
    they are for json/csv. With `skip_existing_data`, json/csv files already in `out` are left alone
    (the pipeline has just written them through the findings and metering writers).
    With `framework`, report.html gains a section on its requirements and md/json/csv each write
    a framework-NAME file beside the others.
    """
    out = Path(out)
    written: list[Path] = []
    chosen = [Format(f) for f in formats]
    view = build_framework_view(results, framework) if framework is not None else None
    for fmt in chosen:
        # each file's name and what makes its text: a string, or pieces (STREAMED)
        targets: list[tuple[str, Callable[[Results], str | Iterable[str]]]] = [
            (FILENAMES[fmt], STREAMED.get(fmt, RENDERERS[fmt]))
        ]
        if fmt is Format.HTML and view is not None:
            targets = [(FILENAMES[fmt], partial(html.render_pieces, framework_view=view))]
        if fmt in METERING_RENDERERS and (results.metering is not None):
            targets.append(METERING_RENDERERS[fmt])
        for name, renderer in targets:
            path = out / name
            is_data = fmt in (Format.JSON, Format.CSV, Format.JSONL)
            if is_data and skip_existing_data and path.exists():
                continue
            if is_data and source is not None and (Path(source) / name).is_file():
                if Path(source).resolve() == out.resolve():
                    continue  # already there: a passthrough
                write_bytes(path, (Path(source) / name).read_bytes())
            else:
                text = renderer(results)
                if isinstance(text, str):
                    write_text(path, text)
                else:
                    write_pieces(path, text)
            written.append(path)
    if view is not None:
        for fmt in chosen:
            if fmt.value in FRAMEWORK_RENDERERS:
                path = out / f"{view.stem}.{fmt.value}"
                write_text(path, FRAMEWORK_RENDERERS[fmt.value](view))
                written.append(path)
    return written


__all__ = [
    "DEFAULT_FORMATS",
    "FILENAMES",
    "RENDERERS",
    "ControlInfo",
    "Format",
    "Results",
    "findings_frame",
    "load_results",
    "metering_frame",
    "parse_formats",
    "registry_controls",
    "render",
    "write_reports",
]
