"""`credlib plan` and `credlib apply` (SPEC §6): thin wrappers over credlib.reconcile.session."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from credlib.cli.context import AppContext
from credlib.cli.options import json_option
from credlib.errors import ExitCode, UsageError
from credlib.reconcile.plan import ReconcilePlan
from credlib.reconcile.session import DEFAULT_LOCK_WAIT_S, RunOptions, RunResult, run

F = TypeVar("F", bound=Callable[..., Any])

PROMPT = "Do you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value"


def target_option(func: F) -> F:
    return click.option(
        "--target", "-t", "targets", multiple=True, metavar="NAME",
        help="Only this target (repeatable). Default: every target in the file.",
    )(func)


def offline_option(func: F) -> F:
    return click.option(
        "--offline", is_flag=True,
        help="No verification or telemetry requests; reuse the last recorded verification.",
    )(func)


def lock_option(func: F) -> F:
    return click.option(
        "--lock-timeout", type=click.FloatRange(min=0), default=DEFAULT_LOCK_WAIT_S, show_default=True,
        metavar="SECONDS", help="How long to wait for another plan/apply on the same file to finish.",
    )(func)


_LINE_COLORS = {"+ ": "green", "~ ": "yellow", "- ": "red"}


def _colored(line: str) -> str:
    color = _LINE_COLORS.get(line.lstrip()[:2])
    return click.style(line, fg=color) if color else line


def _wants_color(err: bool) -> bool:
    """click.echo's own rule (``--color``-style context override, else a terminal), decided once."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.color is not None:
        return ctx.color
    stream = sys.stderr if err else sys.stdout
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def echo_lines(lines: list[str], *, err: bool = False) -> None:
    # One write for the whole plan: a 1,000-credential plan is tens of thousands of diff lines, and
    # a click.echo (with its ANSI check) per line cost more than rendering them.
    if not lines:
        return
    if _wants_color(err):
        lines = [_colored(line) for line in lines]
    click.echo("\n".join(lines), err=err)


def print_plan(result: RunResult, *, err: bool = False) -> None:
    from credlib.reconcile.report import plan_text

    echo_lines(plan_text(result.plan, result.credential_count), err=err)


@click.command(help="Show what apply would change in every target (writes no target).")
@target_option
@offline_option
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when changes are pending (0 none, 1 error).")
@lock_option
@json_option
@click.pass_obj
def plan(
    app: AppContext, targets: tuple[str, ...], offline: bool, detailed_exitcode: bool,
    lock_timeout: float, as_json: bool,
) -> int:
    result = run(RunOptions(file=app.file, targets=targets, offline=offline, lock_wait_s=lock_timeout))
    if as_json:
        from credlib.output import emit_json
        from credlib.reconcile.report import plan_json

        emit_json(plan_json(result.plan, command="plan"))
    else:
        print_plan(result)
    if result.plan.failed:
        return ExitCode.CHECK_FAILED
    if detailed_exitcode and result.plan.changes_pending:
        return ExitCode.CHANGES_PENDING
    return ExitCode.OK


def make_confirm(*, yes: bool, as_json: bool, credential_count: int) -> Callable[[ReconcilePlan], bool]:
    def confirm(plan_: ReconcilePlan) -> bool:
        if not as_json:
            from credlib.reconcile.report import plan_text

            echo_lines(plan_text(plan_, credential_count))
        if yes:
            return True
        if not sys.stdin.isatty():
            # Like terraform without -auto-approve when it cannot ask: never apply unreviewed.
            raise UsageError(
                "apply needs confirmation and stdin is not a terminal",
                hint="review with `credlib plan`, then run `credlib apply --yes`",
            )
        click.echo("", err=True)
        answer: str = click.prompt(PROMPT, default="", show_default=False, err=True)
        return answer.strip() == "yes"

    return confirm


def open_issued_links(plan_: ReconcilePlan) -> None:
    """Hand each deep link apply issued to the OS opener; a failure is a warning, not a failed apply."""
    from credlib.errors import CredlibError
    from credlib.exports.deliveries.deeplink import open_link

    for outcome in plan_.targets:
        if not outcome.applied:
            continue
        for link in outcome.links():
            try:
                open_link(link)
            except CredlibError as exc:
                click.echo(f'warning: target "{outcome.name}": {exc.message}', err=True)
                return
            except (OSError, subprocess.TimeoutExpired) as exc:
                reason = type(exc).__name__
                click.echo(f'warning: target "{outcome.name}": opener failed ({reason})', err=True)


@click.command(help="Verify, read telemetry and write every target whose rendering changed.")
@target_option
@offline_option
@click.option("--force", is_flag=True, help="Overwrite targets changed by hand since the last apply (drift).")
@click.option(
    "--yes", "-y", "--auto-approve", "yes", is_flag=True, help="Apply without asking for confirmation."
)
@click.option("--open", "open_links", is_flag=True, help="Hand deep links to the system's URL opener.")
@lock_option
@json_option
@click.pass_obj
def apply(
    app: AppContext, targets: tuple[str, ...], offline: bool, force: bool, yes: bool, open_links: bool,
    lock_timeout: float, as_json: bool,
) -> int:
    from credlib.reconcile.report import apply_text, plan_json
    from credlib.reconcile.session import load

    opts = RunOptions(file=app.file, targets=targets, offline=offline, force=force, lock_wait_s=lock_timeout)
    opts.config = load(opts)
    confirm = make_confirm(yes=yes, as_json=as_json, credential_count=len(opts.config.credentials))
    result = run(opts, confirm=confirm)
    plan_ = result.plan
    if open_links:
        open_issued_links(plan_)
    if as_json:
        from credlib.output import emit_json

        data = plan_json(plan_, command="apply")
        data["confirmed"] = result.confirmed
        emit_json(data)
    elif not plan_.changes_pending:
        print_plan(result)
    elif not result.confirmed:
        click.echo("Apply cancelled.")
        return ExitCode.CHECK_FAILED
    else:
        click.echo("")
        echo_lines(apply_text(plan_))
    if plan_.failed:
        return ExitCode.CHECK_FAILED
    return ExitCode.OK
