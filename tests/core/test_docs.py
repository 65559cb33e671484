"""Every command has help and is documented in the README (pip-audit's tests/test_docs.py idea)."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
import typer.main
from typer.testing import CliRunner

from auditor.cli import app

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if getattr(
            command, "commands", None
        ):  # a sub-app (Typer groups are not always click.Group)
            found += _commands(command, path + " ")
        else:
            found.append((path, command))
    return found


COMMANDS = _commands(typer.main.get_command(app))


def test_every_design_command_exists():
    names = {name for name, _ in COMMANDS}
    assert {
        "demo",
        "audit",
        "collect",
        "check",
        "meter",
        "report",
        "evidence export",
        "evidence verify",
        "validate",
        "plan-check",
    } <= names


@pytest.mark.parametrize("name, command", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_command_has_help_and_is_documented(name: str, command: click.Command):
    assert (command.help or "").strip(), f"{name} has no help text"
    result = CliRunner().invoke(app, name.split() + ["--help"])
    assert result.exit_code == 0, result.output
    assert f"auditor {name}" in README, f"README does not show `auditor {name}`"


def test_readme_quick_start_is_two_commands():
    quick = README.split("## Quick start", 1)[1].split("##", 1)[0]
    block = quick.split("```sh", 1)[1].split("```", 1)[0]
    commands = [
        line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    assert len(commands) == 2
    assert "auditor demo" in commands[0] and "pytest" in commands[1]
    ci = (Path(__file__).resolve().parents[2] / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1].strip() in ci, ".ci/run must run the README's test command verbatim"


def test_readme_policy_example_is_valid(tmp_path: Path):
    from auditor.policy import lint_policies

    example = README.split("### Declaring plans", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    (tmp_path / "example.yaml").write_text(example, encoding="utf-8")
    errors = [m for m in lint_policies(tmp_path / "example.yaml") if m.level == "error"]
    assert not errors, errors


def test_no_reference_to_a_design_document_outside_the_repository():
    """The repository explains itself: code, tests, data and docs cite its own docs/, never a
    design document a reader of this repository does not have."""
    root = Path(__file__).resolve().parents[2]
    offenders = []
    for folder in ("auditor", "tests", "bench", "policies", "docs"):
        for path in (root / folder).rglob("*"):
            text_file = path.suffix in {".py", ".md", ".json", ".yaml", ".yml", ".j2"}
            if (
                text_file
                and path.is_file()
                and "DESIGN" + " §" in path.read_text(encoding="utf-8", errors="replace")
            ):
                offenders.append(str(path.relative_to(root)))
    assert "DESIGN" + " §" not in README
    assert not offenders, offenders
