"""No function in `auditor/` is longer than 120 lines, unless it is a data table.

A long function does several jobs; splitting it by job keeps each one readable and testable. A
function counts as a data table when its body (after the docstring) only returns or assigns
literal data: displays of dicts, lists, tuples and sets holding constants, names and attribute
references, with no call, loop, comprehension or condition. Such a function is long because the
table is, not because its logic is.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "auditor"
MAX_LINES = 120

# Functions allowed to stay longer (none today): name one here only with the reason beside it.
ALLOWED: set[str] = set()

_TABLE_NODES = (
    ast.Constant,
    ast.Dict,
    ast.List,
    ast.Tuple,
    ast.Set,
    ast.Name,
    ast.Attribute,
    ast.Load,
    ast.Store,
    ast.UnaryOp,
    ast.USub,
)


def _is_table(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """True when the body (docstring aside) only returns or assigns literal data."""
    body = func.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if not body:
        return False
    for statement in body:
        if isinstance(statement, ast.Return | ast.Assign | ast.AnnAssign):
            value = statement.value
        else:
            return False
        if value is None or not all(isinstance(n, _TABLE_NODES) for n in ast.walk(value)):
            return False
    return True


def long_functions(source: str, max_lines: int = MAX_LINES) -> list[tuple[str, int]]:
    """(qualified name, lines) of every function over ``max_lines`` lines that is not a table."""
    found = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                lines = (child.end_lineno or child.lineno) - child.lineno + 1
                if lines > max_lines and not _is_table(child):
                    found.append((name, lines))
                visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return found


def test_no_function_in_auditor_is_longer_than_120_lines():
    too_long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).as_posix()
        for name, lines in long_functions(path.read_text(encoding="utf-8")):
            if f"{relative}::{name}" not in ALLOWED:
                too_long.append(f"{relative}::{name} ({lines} lines)")
    assert not too_long, "split these by job: " + ", ".join(too_long)


def test_the_allow_list_names_functions_that_exist():
    """An entry left after its function was split (or renamed) would hide a new long one."""
    for entry in ALLOWED:
        relative, name = entry.split("::")
        source = (PACKAGE.parent / relative).read_text(encoding="utf-8")
        assert name in {found for found, _ in long_functions(source, max_lines=0)}, entry


def _function(lines: int, body: str) -> str:
    return "def f():\n" + textwrap.indent(body * lines, "    ")


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        (_function(130, "g()\n"), True),  # logic over the limit
        (_function(119, "g()\n"), False),  # logic within the limit (120 with the def line)
        ("def f():\n    return {\n" + "        'k': ('a', -1, X.y),\n" * 130 + "    }\n", False),
        ("def f():\n    return [\n" + "        g(1),\n" * 130 + "    ]\n", True),  # calls
        ("class C:\n    def m(self):\n" + "        pass\n" * 130, True),  # methods count
    ],
)
def test_the_checker_flags_long_logic_and_spares_tables(source: str, flagged: bool):
    assert bool(long_functions(source)) is flagged
