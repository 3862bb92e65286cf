"""`credlib status`: last verification and telemetry per credential, plus file-target drift."""

from __future__ import annotations

from typing import Any

import click

from credlib.cli.context import AppContext
from credlib.cli.options import json_option
from credlib.errors import ExitCode


def _money(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"${value:,.2f}"
    return "-"


def credential_rows(report: Any) -> list[dict[str, Any]]:
    rows = []
    for c in report.credentials:
        verify = c.verify or {}
        tele = c.telemetry or {}
        rows.append(
            {
                "name": c.name,
                "verify": verify.get("status") or "never",
                "checked": verify.get("checked_at") or "-",
                "balance": _money(tele.get("balance")),
                "health": tele.get("health") or "-",
                "note": "stale: key/URL/type changed since" if c.stale else "",
            }
        )
    return rows


def target_rows(report: Any) -> list[dict[str, Any]]:
    rows = []
    for t in report.targets:
        if t.error:
            state = f"error: {t.error}"
        elif t.drift:
            state = "drift: changed by hand since the last apply"
        elif t.pending:
            state = f"pending ({t.action})"
        else:
            state = "in sync"
        rows.append({"target": t.name, "type": t.type, "path": t.path or "-", "state": state})
    return rows


@click.command(help="Last verification and telemetry per credential (no requests), plus target drift.")
@json_option
@click.pass_obj
def status(app: AppContext, as_json: bool) -> int:
    from credlib.reconcile.report import table_lines
    from credlib.reconcile.session import RunOptions, load, state_key
    from credlib.reconcile.status import collect_status
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
