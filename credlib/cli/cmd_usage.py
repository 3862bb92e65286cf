"""`credlib usage`: balance and usage telemetry per credential (SPEC §5), with alert thresholds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from credlib.cli.context import AppContext
from credlib.cli.options import json_option
from credlib.errors import ExitCode

if TYPE_CHECKING:
    from credlib.model import Config, Credential
    from credlib.telemetry.base import TelemetryResult
    from credlib.telemetry.health import Thresholds


def read_all(config: Config, creds: list[Credential], thresholds: Thresholds) -> list[TelemetryResult]:
    from credlib.net import engine_for, run_sync
    from credlib.output import progress
    from credlib.telemetry import fetch_many

    async def go() -> list[TelemetryResult]:
        with progress(len(creds), "reading telemetry") as bar:
            async with engine_for(config) as engine:
                return await fetch_many(engine, creds, lambda c, r: bar.advance(), thresholds=thresholds)

    return run_sync(go())


def record_results(config: Config, creds: list[Credential], results: list[TelemetryResult]) -> None:
    """Per-machine state (no secrets) so `status` and `apply` can show the last refresh offline."""
    from credlib.reconcile.observe import fingerprint
    from credlib.state import State

    state = State.load(config.path)
    for cred, res in zip(creds, results, strict=True):
        state.record("telemetry", cred.id, {**res.to_json(), "fingerprint": fingerprint(cred)})
    state.save()


def print_table(creds: list[Credential], results: list[TelemetryResult]) -> None:
    import sys

    from credlib.output import render_table
    from credlib.telemetry.report import HEADERS, table_rows

    rows = table_rows(creds, results)
    if not sys.stdout.isatty():
        click.echo(render_table(HEADERS, rows))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(header_style="bold")
    for header in HEADERS:
        table.add_column(header, overflow="fold")
    styles = {"error": "red", "warning": "yellow", "unknown": "dim"}
    for i, row in enumerate(rows):
        last = i == len(rows) - 1
        table.add_row(*row, style="bold" if last else styles.get(row[2]), end_section=i == len(rows) - 2)
    Console().print(table)


@click.command(help="Balance and usage telemetry per credential (all of them, or the NAMEs given).")
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option(
    "--fail-under-balance",
    type=click.FloatRange(min=0),
    metavar="USD",
    help="Exit 1 and name every credential whose balance is below USD (or whose telemetry failed).",
)
@click.option(
    "--fail-expiring-within",
    type=click.FloatRange(min=0),
    metavar="DAYS",
    help="Exit 1 and name every credential that expires within DAYS (or has expired).",
)
@json_option
@click.pass_obj
def usage(
    app: AppContext,
    names: tuple[str, ...],
    fail_under_balance: float | None,
    fail_expiring_within: float | None,
    as_json: bool,
) -> int:
    from credlib.cli.cmd_verify import select  # the same NAME... rules as `verify`
    from credlib.store import load_config
    from credlib.telemetry.health import Thresholds
    from credlib.telemetry.report import alerts_for, usage_json

    config = load_config(app.file)
    creds = select(config, names)
    thresholds = Thresholds(under_balance=fail_under_balance, expiring_within_days=fail_expiring_within)
    results = read_all(config, creds, thresholds) if creds else []
    record_results(config, creds, results)
    alerts = alerts_for(creds, results, thresholds, datetime.now(UTC))
    if as_json:
        from credlib.output import emit_json

        emit_json(usage_json(creds, results, alerts))
    elif creds:
        print_table(creds, results)
    else:
        click.echo("No credentials in the file.")
    for alert in alerts:
        click.echo(f"alert: {alert.name}: {alert.reason}", err=True)
    return ExitCode.CHECK_FAILED if alerts else ExitCode.OK
