"""`credlib verify`: key accepted, model list, response shape, one tiny generation; `--cli` compatibility."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from credlib.cli.context import AppContext
from credlib.cli.options import json_option
from credlib.errors import ExitCode
from credlib.model import API_TYPES

if TYPE_CHECKING:
    from credlib.model import ApiType, Config, Credential
    from credlib.probes.verify import VerifyResult

CLI_CHOICES = ("claude-code", "codex", "gemini-cli", "all")


def select(config: Config, names: Sequence[str]) -> list[Credential]:
    from credlib.store import find_credential

    if not names:
        return list(config.credentials)
    chosen: list[Credential] = []
    for name in names:
        cred = find_credential(config, name)
        if cred not in chosen:
            chosen.append(cred)
    return chosen


def run_verify(
    config: Config,
    creds: list[Credential],
    *,
    as_type: ApiType | None,
    model: str | None,
    clis: list[str],
) -> list[VerifyResult]:
    from credlib.net import engine_for, run_sync
    from credlib.output import progress
    from credlib.probes.verify import verify_many

    async def go() -> list[VerifyResult]:
        with progress(len(creds), "verifying") as bar:
            async with engine_for(config) as engine:
                return await verify_many(
                    engine, creds, as_type=as_type, model=model, cli=clis, progress=lambda r: bar.advance()
                )

    return run_sync(go())


def record(config: Config, creds: list[Credential], results: list[VerifyResult]) -> None:
    """Per-machine state, in the shape `apply --offline` and `status` read (no secrets)."""
    from credlib.reconcile.observe import fingerprint
    from credlib.state import State

    state = State.load(config.path)
    for cred, result in zip(creds, results, strict=True):
        if result.override:
            continue  # a run with --as says nothing about the saved type
        entry: dict[str, Any] = dict(result.to_json())
        entry.update(fingerprint=fingerprint(cred), checked_at=result.verified_at, ok=result.ok)
        state.record("verify", cred.id, entry)
    state.save()


def _latency(result: VerifyResult) -> str:
    total = sum(c.latency_ms or 0 for c in result.checks)
    return f"{total} ms" if total else "-"


def _type(result: VerifyResult) -> str:
    return result.tested_as + ("*" if result.override else "")


def _check_lines(result: VerifyResult) -> list[str]:
    lines = ["", f"{result.name}:"]
    for check in result.checks:
        took = f" ({check.latency_ms} ms)" if check.latency_ms is not None else ""
        lines.append(f"  {check.status:4}  {check.id}: {check.detail}{took}")
    return lines


def render(results: list[VerifyResult], *, verbose: bool = False) -> str:
    from credlib.output import render_table

    rows = [[r.name, r.status, _type(r), r.model or "-", _latency(r), r.short_reason] for r in results]
    lines = [render_table(["NAME", "STATUS", "TYPE", "MODEL", "TIME", "REASON"], rows)]
    overrides = sorted({(r.tested_as, r.api_type) for r in results if r.override})
    for tested, saved in overrides:
        lines.append(
            f"* tested as {tested} for this run only (temporary override); saved type {saved} unchanged"
        )
    for r in results:
        if verbose:
            lines.extend(_check_lines(r))
        for report in r.cli:
            lines.append("")
            lines.append(
                f"{r.name} with {report.cli}: {report.verdict.upper()} (model {report.model or '-'})"
            )
            for check in report.checks:
                if check.status in ("fail", "warn"):
                    lines.append(f"  {check.status}: {check.id}: {check.detail}")
                    if check.fix:
                        lines.append(f"        fix: {check.fix}")
            if report.hints:
                lines.append("  configure:")
                lines.extend(f"    {hint}" for hint in report.hints)
    return "\n".join(lines)


def payload(results: list[VerifyResult]) -> dict[str, Any]:
    return {
        "results": [r.to_json() for r in results],
        "summary": {
            "total": len(results),
            "ok": sum(1 for r in results if r.ok),
            "failed": sum(1 for r in results if not r.ok),
        },
    }


def exit_code(results: list[VerifyResult]) -> int:
    failed = any(not r.ok for r in results)
    cli_failed = any(report.verdict != "compatible" for r in results for report in r.cli)
    return ExitCode.CHECK_FAILED if failed or cli_failed else ExitCode.OK


@click.command(help="Verify keys: accepted, model list readable, right API type, one tiny generation.")
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option(
    "--as",
    "as_type",
    type=click.Choice(API_TYPES),
    help="Test as this API type for this run only; the saved type is not changed.",
)
@click.option(
    "--model", metavar="M", help="Model for the generation probe (default: the credential's first)."
)
@click.option(
    "--cli",
    "cli",
    type=click.Choice(CLI_CHOICES),
    help="Also tell whether Claude Code, Codex CLI or Gemini CLI works with the endpoint (or all).",
)
@json_option
@click.pass_obj
def verify(
    app: AppContext,
    names: tuple[str, ...],
    as_type: ApiType | None,
    model: str | None,
    cli: str | None,
    as_json: bool,
) -> int:
    from credlib.output import emit_json
    from credlib.probes.cli_compat import expand
    from credlib.store import load_config

    config = load_config(app.file)
    creds = select(config, names)
    if not creds:
        if as_json:
            emit_json(payload([]))
        else:
            click.echo("No credentials in the file.")
        return ExitCode.OK
    results = run_verify(config, creds, as_type=as_type, model=model, clis=expand(cli) if cli else [])
    record(config, creds, results)
    if as_json:
        emit_json(payload(results))
    else:
        click.echo(render(results, verbose=app.verbose > 0))
    return exit_code(results)
