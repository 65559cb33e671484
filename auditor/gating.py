"""CI gating: which FAIL findings decide exit 3, for `audit`, `check` and `plan-check` alike.

A pipeline rarely wants every FAIL to break the build. Three options narrow it, after the
conventions of checkov (`--hard-fail-on`, `--skip-check`, `--baseline`) and Prowler (`--severity`):

- `--fail-on SEVERITY`: only FAILs of that severity or a graver one count
  (critical > high > medium > low);
- `--skip-control ID` (repeatable): the control is not evaluated; the run summary lists it, so a
  skipped control is visible rather than silently missing;
- `--baseline FINDINGS.json`: FAILs already FAILing in an earlier findings.json (the same resource
  ARN, control and plan) are accepted; only new ones count.

`Gate.decide` is the one function that turns findings into the exit code: 1 for an incomplete
collection (whatever the gate says: data that could not be gathered is not compliant), else 3 when
a counted FAIL remains (0 with `--no-fail`), else 0.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from auditor.errors import EXIT_NONCOMPLIANT, EXIT_OK, EXIT_RUNTIME, UsageError

__all__ = [
    "SEVERITY_ORDER",
    "Gate",
    "GateDecision",
    "failed_rows",
    "load_baseline",
    "note_skipped",
    "without_controls",
]

# Gravest first; `--fail-on X` counts X and everything before it.
SEVERITY_ORDER = ("critical", "high", "medium", "low")
KEY_COLUMNS = ("resource_arn", "control_id", "plan")


@dataclass(frozen=True)
class GateDecision:
    """The exit code and how it was reached (what run.json records and the console prints)."""

    exit_code: int
    failures: int  # every FAIL finding
    counted: int  # FAILs that decide exit 3
    below_threshold: int  # FAILs under --fail-on
    in_baseline: int  # FAILs already in the baseline
    fail_on: str | None
    skipped_controls: tuple[str, ...]
    baseline: str | None

    def to_dict(self) -> dict[str, Any]:
        """The decision as run.json's `gating` object."""
        return {
            "fail_on": self.fail_on,
            "skipped_controls": list(self.skipped_controls),
            "baseline": self.baseline,
            "failures": self.failures,
            "failures_counted": self.counted,
            "failures_below_threshold": self.below_threshold,
            "failures_in_baseline": self.in_baseline,
            "exit_code": self.exit_code,
        }

    def describe(self) -> str:
        """One clause for the console ('' when no gating option was given)."""
        parts = []
        if self.fail_on or self.baseline:
            parts.append(f"{self.counted} of {self.failures} FAIL counted for the exit code")
        if self.fail_on:
            parts.append(f"{self.below_threshold} below --fail-on {self.fail_on}")
        if self.baseline:
            parts.append(f"{self.in_baseline} already in the baseline")
        if self.skipped_controls:
            parts.append(f"skipped controls: {', '.join(self.skipped_controls)}")
        return "; ".join(parts)


@dataclass(frozen=True)
class Gate:
    """Validated gating options; build with `Gate.from_options` (UsageError, exit 2, when invalid)."""

    fail_on: str | None = None
    skip_controls: tuple[str, ...] = ()
    baseline_path: str | None = None
    no_fail: bool = False
    # Each baseline FAIL's (resource ARN, control, plan) joined into one string (`_key_series`).
    baseline_keys: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_options(
        cls,
        *,
        fail_on: str | None = None,
        skip_controls: Iterable[str] = (),
        baseline: str | Path | None = None,
        no_fail: bool = False,
        known_controls: Iterable[str] | None = None,
    ) -> Gate:
        """Check every option before any work starts; load the baseline's FAIL keys."""
        if fail_on is not None:
            fail_on = fail_on.strip().lower()
            if fail_on not in SEVERITY_ORDER:
                raise UsageError(
                    f"--fail-on {fail_on!r} is not a severity (one of {', '.join(SEVERITY_ORDER)})"
                )
        if known_controls is None:
            from auditor.controls.registry import discover

            known_controls = discover()
        known = list(known_controls)
        skipped: list[str] = []
        for cid in skip_controls:
            cid = cid.strip()
            if cid not in known:
                raise UsageError(
                    f"--skip-control {cid!r} is not a control id (see `auditor controls`; one of {', '.join(known)})"
                )
            if cid not in skipped:
                skipped.append(cid)
        keys = load_baseline(baseline) if baseline is not None else frozenset()
        return cls(
            fail_on=fail_on,
            skip_controls=tuple(skipped),
            baseline_path=str(baseline) if baseline is not None else None,
            no_fail=no_fail,
            baseline_keys=keys,
        )

    def controls_to_run(self, all_ids: Iterable[str]) -> list[str]:
        """The control ids to evaluate: every one but the skipped ones, in the given order."""
        return [cid for cid in all_ids if cid not in self.skip_controls]

    def decide(self, failures: pd.DataFrame, *, incomplete: bool = False) -> GateDecision:
        """The exit code for these FAIL rows (`failed_rows`): 1 when `incomplete`, else 3 when a
        FAIL at or above --fail-on and not in the baseline remains (unless --no-fail), else 0."""
        fails = failures[~failures["control_id"].isin(self.skip_controls)]
        counted = pd.Series(True, index=fails.index)
        below = 0
        if self.fail_on is not None:
            allowed = SEVERITY_ORDER[: SEVERITY_ORDER.index(self.fail_on) + 1]
            graver = fails["severity"].str.lower().isin(allowed)
            below = int((~graver).sum())
            counted &= graver
        in_baseline = 0
        if self.baseline_path is not None:
            known = _key_series(fails).isin(self.baseline_keys)
            in_baseline = int((known & counted).sum())
            counted &= ~known
        n_counted = int(counted.sum())
        if incomplete:
            code = EXIT_RUNTIME
        elif n_counted and not self.no_fail:
            code = EXIT_NONCOMPLIANT
        else:
            code = EXIT_OK
        return GateDecision(
            exit_code=code,
            failures=len(fails),
            counted=n_counted,
            below_threshold=below,
            in_baseline=in_baseline,
            fail_on=self.fail_on,
            skipped_controls=self.skip_controls,
            baseline=self.baseline_path,
        )


def _key_series(frame: pd.DataFrame) -> pd.Series:
    """(resource ARN, control, plan) of each row as one string (a missing plan is ''): `isin` on
    one column is vectorised where tuples are not."""
    parts = [frame[c].astype(object).where(frame[c].notna(), "").astype(str) for c in KEY_COLUMNS]
    return parts[0] + "\x1f" + parts[1] + "\x1f" + parts[2]


def failed_rows(findings: Any) -> pd.DataFrame:
    """The FAIL rows (KEY_COLUMNS and severity) of `check`/`audit` Findings or plan-check dicts.

    Findings built in this process make the text of their FAIL rows alone (`Findings.failing`),
    so a million verdicts are never turned into Python objects; plan-check's findings are a short list of dicts.
    """
    columns = ["control_id", "severity", "resource_arn", "plan"]
    if isinstance(findings, list):
        frame = pd.DataFrame.from_records(
            [f for f in findings if f.get("status") == "FAIL"], columns=[*columns, "resource"]
        )
        # A template resource without a known ARN is identified by its logical id.
        frame["resource_arn"] = frame["resource_arn"].where(
            frame["resource_arn"].notna(), frame["resource"]
        )
        return frame[columns]
    # A check's FAIL rows are made from its verdicts alone, not from the text of every finding.
    fails = findings.failing(tuple(columns)) if hasattr(findings, "failing") else None
    if fails is not None:
        return fails.to_pandas()
    frame = findings.frame
    return frame.loc[frame["status"] == "FAIL", columns].reset_index(drop=True)


def load_baseline(path: str | Path) -> frozenset[str]:
    """The (resource ARN, control, plan) keys of the FAIL findings of a findings.json (or of
    plan-check's JSON report); UsageError (exit 2, one line) when the file is not one."""
    path = Path(path)
    if path.is_dir():
        path = path / "findings.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"--baseline {path}: no such file") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"--baseline {path}: not a findings.json ({reason})") from None
    rows = doc.get("findings") if isinstance(doc, dict) else None
    if (
        not isinstance(doc, dict)
        or "schema_version" not in doc
        or not isinstance(rows, list)
        or not all(isinstance(r, dict) and "control_id" in r and "status" in r for r in rows)
    ):
        raise UsageError(
            f"--baseline {path}: not a findings.json (expected the findings.json of `auditor check`"
            " or `audit`, or plan-check's --format json report)"
        )
    frame = pd.DataFrame.from_records(
        [r for r in rows if r.get("status") == "FAIL"],
        columns=["resource_arn", "control_id", "plan", "resource"],
    )
    frame["resource_arn"] = frame["resource_arn"].where(
        frame["resource_arn"].notna(), frame["resource"]
    )
    return frozenset(_key_series(frame))


def without_controls(findings: Any, skipped: Iterable[str]) -> Any:
    """`findings` with the skipped controls' rows removed and the skip noted in its summary.

    Used where every control had to run anyway (per-account Dask tasks); a run in one process
    does not evaluate a skipped control at all (`Gate.controls_to_run`).
    """
    skipped = list(skipped)
    if not skipped:
        return findings
    if findings.rows() is None:  # rows gathered from tasks (or read back): filter the frame
        from auditor.controls.engine import Findings, summarise_frame

        frame = findings.frame
        kept = frame[~frame["control_id"].isin(skipped)].reset_index(drop=True)
        summary = {**findings.summary, **summarise_frame(kept)}
        findings = Findings(findings.as_of, frame=kept, summary=summary)
    note_skipped(findings, skipped)
    return findings


def note_skipped(findings: Any, skipped: Iterable[str]) -> None:
    """List the skipped controls in the findings summary (findings.json), so none goes unseen."""
    skipped = list(skipped)
    if skipped:
        findings.summary["skipped_controls"] = skipped
