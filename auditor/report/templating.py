"""The Jinja environment for the report templates (autoescape on for HTML; Markdown cells escaped)."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, PackageLoader, select_autoescape


def md_cell(value) -> str:
    """Text safe inside a Markdown table cell: no pipes, newlines or HTML breaking out."""
    text = "" if value is None else str(value)
    text = " ".join(text.split())
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def money(value) -> str:
    """Dollars with cents and thousands separators; "unpriced" for a null (no price known), never 0."""
    if value is None or value != value:
        return "unpriced"
    return f"{float(value):,.2f}"


def number(value) -> str:
    """A quantity with two decimals and thousands separators."""
    return f"{float(value or 0):,.2f}"


@lru_cache(maxsize=1)
def environment() -> Environment:
    """Shared environment: templates from auditor/report/templates; autoescape for *.html.j2."""
    env = Environment(
        loader=PackageLoader("auditor.report", "templates"),
        autoescape=select_autoescape(
            enabled_extensions=("html", "html.j2"), default_for_string=True, default=False
        ),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md_cell
    env.filters["money"] = money
    env.filters["number"] = number
    return env
