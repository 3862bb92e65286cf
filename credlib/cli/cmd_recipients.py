"""`credlib recipients add|rm AGE_RECIPIENT`, `recipients ls`: machines and teammates who can decrypt."""

from __future__ import annotations

from pathlib import Path

import click

from credlib.cli.context import AppContext
from credlib.cli.options import json_option


@click.group()
def recipients() -> None:
    """Add or remove an age recipient (a machine or a teammate) of the credentials file."""


def _report(change: object, verb: str, as_json: bool) -> None:
    from credlib.gitops.recipients import RecipientChange

    assert isinstance(change, RecipientChange)
    if as_json:
        from credlib.output import emit_json

        emit_json(
            {
                "config": str(change.config),
                "recipients": change.recipients,
                "updated_files": [str(f) for f in change.files],
                "rotated": change.rotated,
            }
        )
        return
    if change.changed_config:
        click.echo(f"{change.config}: recipient {verb}", err=True)
    for file in change.files:
        click.echo(f"{file}: data key re-encrypted for {len(change.recipients)} recipient(s)", err=True)
    if not change.changed_config and not change.files:
        click.echo("nothing to do: recipients already up to date", err=True)


@recipients.command()
@click.argument("recipient")
@json_option
@click.pass_obj
def add(app: AppContext, recipient: str, as_json: bool) -> None:
    """Let AGE_RECIPIENT (age1…) decrypt the file: edit .sops.yaml, then `sops updatekeys`."""
    from credlib.gitops.recipients import change_recipients, parse_recipient

    change = change_recipients(Path(app.file), add=parse_recipient(recipient))
    _report(change, "added", as_json)
    if not as_json:
        click.echo(
            "Commit .sops.yaml and the credentials file; the new machine can decrypt after `git pull`.",
            err=True,
        )


@recipients.command()
@click.argument("recipient")
@json_option
@click.pass_obj
def rm(app: AppContext, recipient: str, as_json: bool) -> None:
    """Stop AGE_RECIPIENT from decrypting: edit .sops.yaml, `sops updatekeys`, rotate the data key."""
    from credlib.gitops.recipients import REVOKE_REMINDER, change_recipients, parse_recipient

    change = change_recipients(Path(app.file), remove=parse_recipient(recipient))
    _report(change, "removed", as_json)
    click.echo(f"IMPORTANT: {REVOKE_REMINDER}", err=True)


@recipients.command("ls")
@json_option
@click.pass_obj
def ls_(app: AppContext, as_json: bool) -> None:
    """List the recipients .sops.yaml asks for and those each file is encrypted to."""
    from credlib.gitops.recipients import list_recipients

    info = list_recipients(Path(app.file))
    if as_json:
        from credlib.output import emit_json

        emit_json(info)
        return
    click.echo(f"# {info['config'] or 'no .sops.yaml'}")
    for rec in info["recipients"]:
        click.echo(rec)
    for entry in info["files"]:
        if sorted(entry["recipients"]) != sorted(info["recipients"]):
            click.echo(f"# {entry['file']} differs: run `sops updatekeys -y {entry['file']}`", err=True)
