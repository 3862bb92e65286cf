"""`credlib status`: last verification and telemetry per credential, plus file-target drift."""

from __future__ import annotations

import click

from credlib.cli.context import AppContext
from credlib.cli.options import json_option
from credlib.errors import ExitCode


@click.command(help="Last verification and telemetry per credential (no requests), plus target drift.")
@json_option
@click.pass_obj
def status(app: AppContext, as_json: bool) -> int:
    from credlib.reconcile.report import table_lines
    from credlib.reconcile.session import RunOptions, load, state_key
    from credlib.reconcile.status import collect_status, credential_rows, target_rows
    from credlib.state import State

    opts = RunOptions(file=app.file)
    config = load(opts)
    report = collect_status(config, State.load(state_key(opts, config)))
    if as_json:
        from credlib.output import emit_json

        emit_json(report.to_json())
    else:
        lines = table_lines(credential_rows(report)) or ["  No credentials in the file."]
        click.echo("Credentials (as last observed on this machine):")
        for line in lines:
            click.echo(line)
        click.echo("")
        click.echo("File targets:")
        for line in table_lines(target_rows(report)) or ["  No file targets."]:
            click.echo(line)
    if any(t.error for t in report.targets):
        return ExitCode.CHECK_FAILED
    return ExitCode.OK
