"""Input limits: how large, how deeply nested and how alias-heavy an input may be before it is refused.

Every loader of a user-supplied file uses these (policy files, price tables, CloudFormation
templates, Terraform plans, Cost and Usage Reports), so a hostile or accidental input -- a YAML
"billion laughs" bomb, a document nested 50,000 levels deep (which overflows the C stack of
libyaml's composer and kills the process), a multi-gigabyte file -- becomes one `InputError` line
and exit 2 instead of a crash or an exhausted machine. The numbers are far above what a real input
needs; raise them here if a legitimate file ever meets one.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from auditor.errors import InputError

MIB = 1024 * 1024

MAX_POLICY_BYTES = 1 * MIB  # one policy file; a large estate's plans fit in a few KiB
MAX_PRICE_TABLE_BYTES = 1 * MIB
MAX_TEMPLATE_BYTES = 10 * MIB  # CloudFormation itself accepts at most 1 MB (from S3)
MAX_PLAN_BYTES = 256 * MIB  # `terraform show -json` of a very large workspace
MAX_CUR_FILE_BYTES = (
    8 * 1024 * MIB
)  # one Cost and Usage Report file (AWS splits deliveries into parts)
MAX_CUR_ROWS = 50_000_000  # line items read from one CUR file (bounds memory, also for a gzip bomb)

MAX_YAML_ALIASES = 20  # policy files and price tables: anchors are for small repeated blocks
MAX_TEMPLATE_YAML_ALIASES = 1000  # CloudFormation templates (cfn-lint also caps alias expansion)
MAX_NESTING = 100  # mappings/sequences inside each other, in any YAML input


def check_file_size(path: str | os.PathLike, limit: int, what: str) -> int:
    """The size of `path`; InputError (`FILE:1: ...`, exit 2) when it is over `limit` bytes."""
    size = Path(path).stat().st_size
    if size > limit:
        raise InputError(
            f"{path}:1: {what} is {size} bytes, over the {limit}-byte limit (auditor.limits)"
        )
    return size


def read_text_limited(path: str | os.PathLike, limit: int, what: str) -> str:
    """The UTF-8 text of `path`, or InputError (exit 2) naming the file: missing, a folder, over
    `limit` bytes, not UTF-8, unreadable."""
    try:
        check_file_size(path, limit, what)
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a {what}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}:1: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None


def check_yaml_shape(
    text: str, name: str, *, max_aliases: int = MAX_YAML_ALIASES, max_depth: int = MAX_NESTING
) -> None:
    """Refuse YAML that nests deeper than `max_depth` or uses more than `max_aliases` aliases.

    Reads parse events only (the parser is a state machine: no recursion, nothing is built), so it
    is safe on exactly the inputs that would crash or exhaust a composer. Syntax errors are left to
    the real loader, which reports them with its own line numbers.
    """
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    depth = aliases = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > max_depth:
                    raise InputError(
                        f"{name}:{_line(event)}: nested more than {max_depth} levels deep (refused; limit in auditor.limits)"
                    )
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
            elif isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > max_aliases:
                    raise InputError(
                        f"{name}:{_line(event)}: more than {max_aliases} YAML aliases (refused as a possible YAML bomb;"
                        " limit in auditor.limits)"
                    )
    except yaml.YAMLError:
        return


def _line(event: yaml.Event) -> int:
    mark = getattr(event, "start_mark", None)
    return mark.line + 1 if mark is not None else 1


__all__ = [
    "MAX_CUR_FILE_BYTES",
    "MAX_CUR_ROWS",
    "MAX_NESTING",
    "MAX_PLAN_BYTES",
    "MAX_POLICY_BYTES",
    "MAX_PRICE_TABLE_BYTES",
    "MAX_TEMPLATE_BYTES",
    "MAX_TEMPLATE_YAML_ALIASES",
    "MAX_YAML_ALIASES",
    "check_file_size",
    "check_yaml_shape",
]
