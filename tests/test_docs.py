"""Docs cannot drift: every command has --help and is documented in README.md."""

from __future__ import annotations

import re
from pathlib import Path

import click
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
    listed = res.out.split("\nCommands:\n", 1)[1]
    for command in COMMANDS:
        # Its own row of the Commands section, with its one-line help beside it.
        first_words = " ".join(SHORT_HELP[command].split()[:3])
        assert re.search(rf"^  {re.escape(command)} +{re.escape(first_words)}", listed, re.M), command


def _all_commands() -> list[tuple[str, click.Command]]:
    """Every command and subcommand as ("git setup", command), through the lazy registry."""
    from credlib.cli import cli

    ctx = click.Context(cli)
    found: list[tuple[str, click.Command]] = []

    def walk(name: str, command: click.Command) -> None:
        found.append((name, command))
        if isinstance(command, click.Group):
            for sub in command.list_commands(ctx):
                child = command.get_command(ctx, sub)
                assert child is not None, f"{name} {sub}"
                walk(f"{name} {sub}", child)

    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None, name
        walk(name, command)
    return found


def test_every_command_subcommand_and_option_has_help() -> None:
    missing: list[str] = []
    for name, command in _all_commands():
        if not (command.help or command.short_help or "").strip():
            missing.append(f"credlib {name}: no help text")
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden and not (param.help or "").strip():
                missing.append(f"credlib {name} {param.opts[0]}: no help text")
    assert not missing, missing


def test_every_subcommand_has_help_and_is_in_readme() -> None:
    text = README.read_text(encoding="utf-8")
    subcommands = [name for name, _ in _all_commands() if " " in name]
    assert subcommands, "expected the git and recipients groups to have subcommands"
    for name in subcommands:
        res = run_credlib(*name.split(), "--help")
        assert res.code == 0, (name, res)
        assert f"Usage: credlib {name}" in res.out
        assert f"credlib {name}" in text, f"README.md does not document `credlib {name}`"
