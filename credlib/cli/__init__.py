"""The `credlib` command: a thin click layer that dispatches to one module per command.

Commands are imported lazily (only the one being run), so `credlib --help` stays fast and a heavy
dependency of one command never slows another.
"""

from __future__ import annotations

import importlib
import sys

import click

from credlib import __version__

# command name -> "module:attribute" (module relative to credlib.cli). Keep alphabetical within groups.
COMMANDS: dict[str, str] = {
    # store (everyday)
    "init": "cmd_init:init",
    "add": "cmd_add:add",
    "edit": "cmd_edit:edit",
    "rm": "cmd_edits:rm",
    "rename": "cmd_edits:rename",
    "set": "cmd_edits:set_",
    "ls": "cmd_ls:ls",
    "show": "cmd_show:show",
    "copy": "cmd_show:copy",
    "schema": "cmd_schema:schema",
    # network
    "verify": "cmd_verify:verify",
    "models": "cmd_models:models",
    "usage": "cmd_usage:usage",
    # reconciler
    "plan": "cmd_reconcile:plan",
    "apply": "cmd_reconcile:apply",
    "export": "cmd_export:export",
    "status": "cmd_status:status",
    "demo": "cmd_demo:demo",
    # git workflow
    "check": "cmd_check:check",
    "git": "cmd_git:git",
    "sync": "cmd_sync:sync",
    "recipients": "cmd_recipients:recipients",
    "import": "cmd_import:import_",
}

# One-line help per command, so `credlib --help` lists them without importing any command module.
SHORT_HELP: dict[str, str] = {
    "init": "Create .sops.yaml, an empty credentials file, .gitattributes and an age identity.",
    "add": "Add a credential (the key is read from stdin or a hidden prompt).",
    "edit": "Edit the decrypted file in $EDITOR through sops; validate on save.",
    "rm": "Remove a credential.",
    "rename": "Rename a credential.",
    "set": "Set one field of a credential.",
    "ls": "List and search credentials.",
    "show": "Show one credential (key redacted unless --reveal).",
    "copy": "Copy a credential's key, base URL or env lines to the clipboard.",
    "schema": "Print the JSON Schema of the credentials file.",
    "verify": "Check that keys are accepted, models list, and CLIs are compatible.",
    "models": "List the model catalog of one credential.",
    "usage": "Show balance and usage telemetry.",
    "plan": "Show what apply would change in every target.",
    "apply": "Verify, read telemetry and write every target's configuration.",
    "export": "Render one credential for one target type and print it.",
    "status": "Last verification and telemetry per credential, plus target drift.",
    "demo": "Offline walk-through against a built-in local relay.",
    "check": "Offline pre-commit check of credentials files.",
    "git": "Git integration: setup, textconv, merge-driver.",
    "sync": "git pull --ff-only, then apply.",
    "recipients": "Add or remove an age recipient (a machine or teammate).",
    "import": "Import from an All API Hub backup, a CC Switch export or a dotenv file.",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        module = importlib.import_module(f"credlib.cli.{module_name}")
        command: click.Command = getattr(module, attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SHORT_HELP.get(name, "")) for name in COMMANDS]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-f",
    "--file",
    "file",
    envvar="CREDLIB_FILE",
    default="credentials.yaml",
    show_default=True,
    help="Credentials file, or a directory of them (credentials.d/). Env: CREDLIB_FILE.",
)
@click.option("-v", "--verbose", count=True, help="More log output on stderr (repeatable).")
@click.version_option(__version__, prog_name="credlib")
@click.pass_context
def cli(ctx: click.Context, file: str, verbose: int) -> None:
    """credlib keeps LLM API credentials (Base URL + API key) as code.

    One SOPS-encrypted YAML file in Git; `credlib apply` verifies every key, reads its balance and
    renders every downstream tool's configuration.
    """
    from credlib.cli.context import AppContext

    if verbose:
        from credlib.logsetup import configure

        configure(verbose)
    ctx.obj = AppContext(file=file, verbose=verbose)


def main(argv: list[str] | None = None) -> None:
    from credlib.cli.errors import run_cli

    sys.exit(run_cli(cli, argv))
