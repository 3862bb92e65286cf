"""`credlib init`: .sops.yaml, an empty credentials file, .gitattributes and an age identity."""

from __future__ import annotations

from pathlib import Path

import click

from credlib.cli.context import AppContext
from credlib.cli.options import json_option


@click.command()
@click.option(
    "--recipient",
    "recipients",
    multiple=True,
    metavar="AGE1…",
    help="Another age recipient (a teammate or machine) to encrypt to, besides your own. Repeatable.",
)
@json_option
@click.pass_obj
def init(app: AppContext, recipients: tuple[str, ...], as_json: bool) -> None:
    """Create .sops.yaml, an empty credentials file, .gitattributes and an age identity.

    Nothing that exists is overwritten: an existing identity (in $SOPS_AGE_KEY_FILE or sops'
    default location), .sops.yaml or credentials file is kept and reported as such.
    """
    from credlib.initproject import init_project
    from credlib.output import echo_err, emit_json

    report = init_project(Path(app.file), extra_recipients=recipients)
    if as_json:
        emit_json({
            "directory": str(report.directory),
            "created": report.created,
            "kept": report.kept,
            "recipients": report.recipients,
            "identity_file": report.identity_file,
        })
        return
    for item in report.created:
        echo_err(f"created  {item}")
    for item in report.kept:
        echo_err(f"kept     {item}")
    echo_err(f"recipients: {', '.join(report.recipients)}")
    echo_err(f"next: credlib -f {app.file} add --name NAME --base-url URL   (the key is read from stdin)")
