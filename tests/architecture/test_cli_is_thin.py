"""The CLI parses, calls one library job and prints: no command function over 40 lines, no copies of options."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CLI = Path(__file__).resolve().parents[2] / "edgeconv" / "cli"
MAX_LINES = 40


def functions() -> list[tuple[str, int]]:
    found = []
    for path in sorted(CLI.glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef):
                found.append((f"{path.name}:{node.name}", node.end_lineno - node.lineno + 1))
    return found


@pytest.mark.parametrize(("name", "lines"), functions(), ids=[n for n, _ in functions()])
def test_command_functions_are_short(name: str, lines: int) -> None:
    assert lines <= MAX_LINES, f"{name} is {lines} lines: move the work into a library job"


def test_force_and_threads_are_declared_once() -> None:
    """`--force` / `--threads` come from the aliases in cli/arguments.py, not a typer.Option per command."""
    for path in CLI.glob("*.py"):
        if path.name == "arguments.py":
            continue
        text = path.read_text()
        assert 'help="Overwrite' not in text, f"{path.name} declares its own --force"
        assert "threads: Annotated[int" not in text, f"{path.name} declares its own --threads"
