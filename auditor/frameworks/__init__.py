"""Compliance frameworks as data: which controls give evidence for which requirement.

A framework file (``auditor/data/frameworks/NAME.yaml``, validated by ``schema.json`` beside it)
names a framework, its version, the public source of its requirement ids, and its requirements:
id, title, a short description in our own words, and the control ids whose findings are evidence
for it (``partial:`` says what a control leaves uncovered). A requirement no control serves yet has
``controls: []`` and is reported as "no evidence", never as met.

Users add or replace frameworks with ``--frameworks DIR``: a file there overrides the shipped file
of the same name (the file name without ``.yaml`` is the framework's name on the command line).

`requirement_status` turns findings into one verdict per requirement (column-wise, no per-finding
loop): any FAIL → "not met"; else any NOT_ASSESSED → "unknown"; else any PASS or WAIVED → "met";
else "not applicable" (its controls produced no judged finding) or "no evidence" (no control
serves it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from auditor.errors import InputError, UsageError

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "data" / "frameworks"
SCHEMA_PATH = SHIPPED_DIR / "schema.json"
SUFFIXES = (".yaml", ".yml")

MET, NOT_MET, UNKNOWN, NOT_APPLICABLE, NO_EVIDENCE = (
    "met",
    "not met",
    "unknown",
    "not applicable",
    "no evidence",
)
# Worst first: the order a reader (and the reports) want.
REQUIREMENT_STATUSES = (NOT_MET, UNKNOWN, NO_EVIDENCE, MET, NOT_APPLICABLE)
FINDING_STATUSES = ("FAIL", "NOT_ASSESSED", "WAIVED", "PASS", "NOT_APPLICABLE")

__all__ = [
    "FINDING_STATUSES",
    "REQUIREMENT_STATUSES",
    "SHIPPED_DIR",
    "ControlRef",
    "Framework",
    "Requirement",
    "available_frameworks",
    "framework_files",
    "load_framework",
    "parse_framework",
    "requirement_findings",
    "requirement_status",
]


@dataclass(frozen=True)
class ControlRef:
    """A control that gives evidence for a requirement; `partial` says what it leaves uncovered."""

    id: str
    partial: str | None = None


@dataclass(frozen=True)
class Requirement:
    """One requirement of a framework and the controls mapped to it."""

    id: str
    title: str
    description: str
    controls: tuple[ControlRef, ...]
    gap: str | None = None  # evidence the auditor must collect elsewhere

    @property
    def coverage(self) -> str:
        """ "none" without controls; "partial" when every mapped control covers it only in part or
        evidence must also come from elsewhere (`gap`); else "full"."""
        if not self.controls:
            return "none"
        return "partial" if self.gap or all(c.partial for c in self.controls) else "full"


@dataclass(frozen=True)
class Framework:
    """A loaded, validated framework file."""

    key: str  # the file name without .yaml: what --framework takes
    name: str
    version: str
    source: str
    requirements: tuple[Requirement, ...]
    path: Path
    title: str = ""

    def mapping(self) -> pd.DataFrame:
        """One row per (requirement_id, control_id) pair, with the partial note."""
        rows = [(r.id, c.id, c.partial) for r in self.requirements for c in r.controls]
        return pd.DataFrame(rows, columns=["requirement_id", "control_id", "partial"])


@lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _known_control_ids() -> tuple[str, ...]:
    from auditor.controls import CONTROL_IDS

    return tuple(CONTROL_IDS)


def framework_files(extra_dirs: Iterable[str | Path] = ()) -> dict[str, Path]:
    """Framework name -> file: the shipped files, then each `--frameworks` folder over them."""
    files = {p.stem: p for p in sorted(SHIPPED_DIR.iterdir()) if p.suffix in SUFFIXES}
    for folder in extra_dirs:
        folder = Path(folder)
        if not folder.is_dir():
            raise UsageError(f"--frameworks {folder}: not a folder of framework files")
        for path in sorted(folder.iterdir()):
            if path.suffix in SUFFIXES and path.is_file() and not path.name.startswith("."):
                files[path.stem] = path
    return files


def available_frameworks(extra_dirs: Iterable[str | Path] = ()) -> list[str]:
    """The names `--framework` accepts, sorted."""
    return sorted(framework_files(extra_dirs))


def load_framework(name: str, extra_dirs: Iterable[str | Path] = ()) -> Framework:
    """Load framework `name` (UsageError, exit 2, when unknown; InputError when its file is invalid)."""
    files = framework_files(extra_dirs)
    key = name.strip()
    if key.endswith(SUFFIXES):
        key = Path(key).stem
    if key not in files:
        raise UsageError(
            f"--framework {name!r} is not one of {', '.join(sorted(files))}"
            " (add a file with --frameworks DIR)"
        )
    return parse_framework(files[key], key=key)


def _where(error: Any) -> str:
    path = "/".join(str(p) for p in error.absolute_path)
    return f" at {path}" if path else ""


def parse_framework(path: str | Path, key: str | None = None) -> Framework:
    """Read and validate one framework file: the JSON Schema, then what a schema cannot say
    (known control ids, unique requirement ids, a control listed once per requirement)."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(
            f"{path}: not a readable YAML file ({' '.join(str(exc).split())})"
        ) from None
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        raise InputError(f"{path}: invalid framework file{_where(first)}: {first.message}")
    known = set(_known_control_ids())
    seen: set[str] = set()
    requirements = []
    for item in doc["requirements"]:
        rid = str(item["id"])
        if rid in seen:
            raise InputError(f"{path}: requirement {rid} is listed twice")
        seen.add(rid)
        refs = [ControlRef(str(c["id"]), c.get("partial")) for c in item["controls"]]
        ids = [r.id for r in refs]
        unknown = [c for c in ids if c not in known]
        if unknown:
            raise InputError(
                f"{path}: requirement {rid}: unknown control {unknown[0]!r}"
                f" (known: {', '.join(sorted(known))})"
            )
        if len(set(ids)) != len(ids):
            raise InputError(f"{path}: requirement {rid} lists a control twice")
        requirements.append(
            Requirement(
                id=rid,
                title=str(item["title"]),
                description=" ".join(str(item["description"]).split()),
                controls=tuple(refs),
                gap=item.get("gap"),
            )
        )
    return Framework(
        key=key or path.stem,
        name=str(doc["name"]),
        version=str(doc["version"]),
        source=str(doc["source"]),
        requirements=tuple(requirements),
        path=path,
        title=str(doc.get("title") or doc["name"]),
    )


def _joined(framework: Framework, findings: pd.DataFrame) -> pd.DataFrame:
    """Findings repeated once per requirement their control serves (an inner join on control_id)."""
    mapping = framework.mapping()[["requirement_id", "control_id"]]
    if not len(findings) or not len(mapping):
        return findings.head(0).assign(requirement_id=pd.Series(dtype=object))
    # evidence (a dict per row) is not shown in the view: leave it out of the copy
    frame = findings[[c for c in findings.columns if c != "evidence"]].copy()
    frame["control_id"] = frame["control_id"].astype(object).astype(str)
    frame["status"] = frame["status"].astype(object)
    return mapping.merge(frame, on="control_id", how="inner")


def _counts_per_control(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings per (control_id, status): one pass over the findings, a few dozen rows out."""
    if not len(findings):
        return pd.DataFrame(columns=["control_id", "status", "n"])
    sizes = findings.groupby(["control_id", "status"], observed=True, sort=False).size()
    counts = sizes[sizes > 0].rename("n").reset_index()
    counts["control_id"] = counts["control_id"].astype(object).astype(str)
    counts["status"] = counts["status"].astype(object).astype(str)
    return counts


def requirement_status(framework: Framework, findings: pd.DataFrame) -> pd.DataFrame:
    """One row per requirement, in file order: requirement_id, title, status, coverage, controls,
    a count per finding status, and total (see the module doc for the rules)."""
    ids = [r.id for r in framework.requirements]
    # Count per control first, then add the counts up per requirement: the findings are read once.
    per_control = framework.mapping()[["requirement_id", "control_id"]].merge(
        _counts_per_control(findings), on="control_id", how="inner"
    )
    if len(per_control):
        counts = per_control.pivot_table(
            index="requirement_id", columns="status", values="n", aggfunc="sum", fill_value=0
        )
    else:
        counts = pd.DataFrame()
    counts = counts.reindex(index=ids, columns=list(FINDING_STATUSES), fill_value=0).astype(int)
    has_controls = np.array([bool(r.controls) for r in framework.requirements], dtype=bool)
    status = np.select(
        [
            ~has_controls,
            counts["FAIL"].to_numpy() > 0,
            counts["NOT_ASSESSED"].to_numpy() > 0,
            (counts["PASS"] + counts["WAIVED"]).to_numpy() > 0,
        ],
        [NO_EVIDENCE, NOT_MET, UNKNOWN, MET],
        default=NOT_APPLICABLE,
    )
    table = pd.DataFrame(
        {
            "requirement_id": ids,
            "title": [r.title for r in framework.requirements],
            "status": status,
            "coverage": [r.coverage for r in framework.requirements],
            "controls": [[c.id for c in r.controls] for r in framework.requirements],
        }
    )
    for s in FINDING_STATUSES:
        table[s] = counts[s].to_numpy()
    table["total"] = counts.sum(axis=1).to_numpy()
    return table


def requirement_findings(
    framework: Framework,
    findings: pd.DataFrame,
    statuses: Sequence[str] = ("FAIL", "NOT_ASSESSED", "WAIVED"),
) -> pd.DataFrame:
    """The findings of `statuses` behind each requirement (a `requirement_id` column first), failing
    first and worst severity first within each requirement."""
    from auditor.report.model import ordered

    # Pick the few listed findings before the join: most findings PASS or are not applicable.
    chosen = findings[findings["status"].astype(object).isin(list(statuses)).to_numpy()]
    joined = _joined(framework, chosen)
    if not len(joined):
        return joined
    picked = ordered(joined)
    order = {rid: i for i, rid in enumerate(r.id for r in framework.requirements)}
    rank = picked["requirement_id"].map(order)
    return picked.iloc[np.argsort(rank.to_numpy(), kind="stable")].reset_index(drop=True)
