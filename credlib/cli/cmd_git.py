"""`credlib git setup | textconv FILE | merge-driver BASE OURS THEIRS [PATH] | verify-changed` (SPEC §7)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from credlib.cli.context import AppContext
from credlib.cli.options import json_option
from credlib.errors import ExitCode


@click.group()
def git() -> None:
    """Git integration: readable diffs, a safe merge driver, and the verify hook."""


@git.command()
@click.pass_obj
def setup(app: AppContext) -> None:
    """Register the textconv and merge driver in this repository and write .gitattributes."""
    from credlib.gitops.setup import setup_repo

    report = setup_repo(Path(app.file))
    for key, value in report.config_set.items():
        click.echo(f"git config {key} = {value}", err=True)
    for line in report.attributes_added:
        click.echo(f".gitattributes: {line}", err=True)
    if not report.changed:
        click.echo("git setup: already configured", err=True)
    else:
        click.echo("git setup: done; commit .gitattributes so every clone uses the drivers", err=True)


@git.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def textconv(file: Path) -> None:
    """Print FILE decrypted with keys redacted (git's diff textconv)."""
    from credlib.errors import FileAccessError
    from credlib.gitops.textconv import textconv as render

    try:
        text = render(file)
    except OSError as exc:
        raise FileAccessError(f"cannot read {file}: {exc.strerror}") from None
    sys.stdout.write(text)


@git.command("merge-driver")
@click.argument("base", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("ours", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("theirs", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("path", required=False)
def merge_driver(base: Path, ours: Path, theirs: Path, path: str | None) -> int:
    """Three-way merge of encrypted credentials files (git's %O %A %B %P); result in OURS."""
    from credlib.gitops.merge import merge_files, render_report

    display = path or ours.name
    outcome = merge_files(base, ours, theirs, display)
    report = render_report(outcome, display)
    if report:
        click.echo(report, err=True)
    return int(ExitCode.OK if outcome.clean else ExitCode.CHECK_FAILED)


@git.command("verify-changed")
@click.option("--since", metavar="REF", help="Compare with REF instead of the upstream branch.")
@click.option(
    "--file", "file", metavar="PATH", help="Credentials file or directory (for hook `args:`; default: -f)."
)
@json_option
@click.pass_obj
def verify_changed(app: AppContext, since: str | None, file: str | None, as_json: bool) -> int:
    """Verify only credentials whose key, base URL or type changed since the upstream branch.

    The base is REF, else what the remote has (PRE_COMMIT_FROM_REF, set by pre-commit's pre-push
    stage), else the upstream branch; with none of them every credential is verified.
    """
    from credlib.cli.cmd_verify import exit_code, payload, record, render, run_verify
    from credlib.gitops.changed import changed_since
    from credlib.store import load_config

    path = file or app.file
    config = load_config(path)
    changed = changed_since(config, Path(path), since)
    creds = list(changed.credentials)
    results = run_verify(config, creds, as_type=None, model=None, clis=[]) if creds else []
    if results:
        record(config, creds, results)
    if as_json:
        from credlib.output import emit_json

        emit_json(
            {
                "base_ref": changed.base_ref,
                "checked": len(results),
                "total": changed.total,
                **payload(results),
            }
        )
    else:
        click.echo(
            f"credlib verify: {len(results)} of {changed.total} credential(s) ({changed.reason})", err=True
        )
        if results:
            click.echo(render(results))
    return int(exit_code(results))
