"""`credlib sync`: `git pull --ff-only`, then plan + apply this machine's targets (SPEC §7)."""

from __future__ import annotations

from pathlib import Path

import click

from credlib.cli.context import AppContext
from credlib.cli.options import json_option
from credlib.errors import ExitCode


@click.command()
@click.option("--offline", is_flag=True, help="No verification or telemetry requests during apply.")
@click.option("--force", is_flag=True, help="Overwrite targets changed by hand since the last apply (drift).")
@click.option("--yes", "-y", "yes", is_flag=True, help="Apply without asking for confirmation.")
@click.option("--no-apply", is_flag=True, help="Only pull and show the plan.")
@json_option
@click.pass_obj
def sync(app: AppContext, offline: bool, force: bool, yes: bool, no_apply: bool, as_json: bool) -> int:
    """Fast-forward to the upstream branch, then apply the targets this machine uses.

    Which targets apply here, and where they write, comes from this machine's machine.yaml in
    credlib's config directory (never in Git). A non-fast-forward pull is refused.
    """
    from credlib.cli.cmd_reconcile import echo_lines, make_confirm, print_plan
    from credlib.gitops.machine import unknown_target_names
    from credlib.gitops.sync import machine_view, pull_ff_only
    from credlib.reconcile.report import apply_text, plan_json
    from credlib.reconcile.session import RunOptions, run
    from credlib.store import load_config

    path = Path(app.file)
    pulled = pull_ff_only(path)
    if not as_json:
        if pulled.updated:
            click.echo(f"sync: {pulled.before[:10]}..{pulled.after[:10]} from {pulled.upstream}", err=True)
        else:
            click.echo(f"sync: already up to date with {pulled.upstream}", err=True)
    full = load_config(app.file)
    config, machine = machine_view(full, path)
    for name in unknown_target_names(full, machine):
        click.echo(
            f"warning: {machine.source} names target {name!r}, which the credentials file lacks", err=True
        )
    opts = RunOptions(file=app.file, offline=offline, force=force, config=config)
    if no_apply:
        result = run(opts)
    else:
        result = run(
            opts, confirm=make_confirm(yes=yes, as_json=as_json, credential_count=len(config.credentials))
        )
    plan_ = result.plan
    if as_json:
        from credlib.output import emit_json

        data = plan_json(plan_, command="plan" if no_apply else "apply")
        data.update(
            pulled={"from": pulled.before, "to": pulled.after, "upstream": pulled.upstream},
            machine_targets=[t.name for t in config.targets],
            confirmed=result.confirmed,
        )
        emit_json(data)
    elif no_apply or not plan_.changes_pending:
        print_plan(result)
    elif not result.confirmed:
        click.echo("Apply cancelled.")
        return int(ExitCode.CHECK_FAILED)
    else:
        echo_lines(apply_text(plan_))
    return int(ExitCode.CHECK_FAILED if plan_.failed else ExitCode.OK)
