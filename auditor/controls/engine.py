"""The compliance engine: run the chosen controls on a prepared context, then apply errors and waivers.

The jobs live in their own modules: `context` (the inventory and policies prepared once),
`verdicts` (status codes, `Part`, failed calls and waivers), `findings` (summary and rows) and
`evidence` (evidence as JSON text). This module runs them in order and re-exports their names.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from auditor.controls.context import (
    KINDS,
    NEVER_TS,
    NONE_TS,
    US_PER_DAY,
    US_PER_HOUR,
    Context,
    ts_us,
    us_to_ts,
)
from auditor.controls.evidence import evidence_json, json_quote
from auditor.controls.findings import FINDING_COLUMNS, Findings, materialise_arrow, summarise_frame
from auditor.controls.registry import Control
from auditor.controls.verdicts import (
    FAIL,
    NOT_APPLICABLE,
    NOT_ASSESSED,
    PASS,
    STATUSES,
    WAIVED,
    Part,
    apply_errors,
    apply_replicas,
    apply_waivers,
    narrow_row_numbers,
)

__all__ = [
    "FAIL",
    "FINDING_COLUMNS",
    "KINDS",
    "NEVER_TS",
    "NONE_TS",
    "NOT_APPLICABLE",
    "NOT_ASSESSED",
    "PASS",
    "STATUSES",
    "US_PER_DAY",
    "US_PER_HOUR",
    "WAIVED",
    "Context",
    "Findings",
    "Part",
    "evidence_json",
    "json_quote",
    "materialise_arrow",
    "run_controls",
    "summarise_frame",
    "ts_us",
    "us_to_ts",
]


def run_controls(
    ctx: Context, controls: Iterable[Control] | None = None, progress: bool = False
) -> Findings:
    """Run `controls` (default: every registered control) on a prepared context.

    `progress` shows a "controls evaluated" bar (auditor.progress; the caller decides: terminal only).
    """
    from auditor.controls.registry import discover
    from auditor.progress import Progress

    chosen = list(discover().values() if controls is None else controls)
    parts = []
    with Progress(progress) as bars:
        evaluated = bars.phase("controls evaluated", total=len(chosen))
        for control in chosen:
            part = control.func(ctx)
            for name in ("ridx", "plan", "status"):
                if name not in part.frame:
                    raise AssertionError(f"{control.id}: part lacks column {name}")
            part.frame["status"] = part.frame["status"].astype(np.int8)
            apply_replicas(part, ctx)
            apply_errors(part, ctx, control.reads)
            apply_waivers(part, ctx)
            narrow_row_numbers(part)
            parts.append(part)
            evaluated.advance()
    return Findings(ctx.as_of, parts=parts, ctx=ctx)
