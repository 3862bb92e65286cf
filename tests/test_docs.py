"""Docs cannot drift: every command has --help and is documented in README.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from credlib.cli import COMMANDS, SHORT_HELP
from tests.fixtures.store import run_credlib

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_command_has_help(command: str) -> None:
    res = run_credlib(command, "--help")
    assert res.code == 0, res
    assert f"Usage: credlib {command}" in res.out
    assert SHORT_HELP.get(command), f"{command} has no one-line help in credlib/cli/__init__.py"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_command_in_readme(command: str) -> None:
    text = README.read_text(encoding="utf-8")
    assert f"credlib {command}" in text, f"README.md does not document `credlib {command}`"


def test_readme_documents_every_exit_code() -> None:
    from credlib.errors import ExitCode

    text = README.read_text(encoding="utf-8")
    for code in ExitCode:
        assert f"| {int(code)} |" in text, f"exit code {int(code)} ({code.name}) missing from README.md"


def test_top_level_help_lists_every_command() -> None:
    res = run_credlib("--help")
    assert res.code == 0
    for command in COMMANDS:
        assert command in res.out
