"""`credlib check [FILES]`: offline pre-commit check (SPEC §7); exit 1 when anything is found."""

from __future__ import annotations

from pathlib import Path

import click

from credlib.cli.context import AppContext
from credlib.cli.options import json_option
from credlib.errors import ExitCode, FileAccessError


@click.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--scan-only",
    is_flag=True,
    help="Only look for plaintext keys and age secret keys (for files that are not credentials files).",
)
@json_option
@click.pass_obj
def check(app: AppContext, files: tuple[Path, ...], scan_only: bool, as_json: bool) -> int:
    """Check credentials files without a key: encrypted, no plaintext keys, schema, recipients.

    With no FILES, checks the -f file (or every file of a credentials.d directory).
    """
    from credlib.gitops.check import check_paths

    targets = list(files)
    if not targets:
        default = Path(app.file)
        if not default.exists():
            raise FileAccessError(f"{default}: no such file", hint="pass FILES or -f PATH")
        targets = [default]
    results = check_paths(targets, scan_only=scan_only)
    failed = [r for r in results if not r.ok]
    if as_json:
        from credlib.output import emit_json

        emit_json(
            {
                "ok": not failed,
                "files": [
                    {"file": r.file, "ok": r.ok, "findings": [f.as_dict() for f in r.findings]}
                    for r in results
                ],
            }
        )
    else:
        for res in results:
            for finding in res.findings:
                click.echo(finding.render())
        total = sum(len(r.findings) for r in results)
        if failed:
            click.echo(
                f"credlib check: {total} problem(s) in {len(failed)} of {len(results)} file(s)", err=True
            )
        else:
            click.echo(f"credlib check: {len(results)} file(s) ok", err=True)
    return int(ExitCode.CHECK_FAILED if failed else ExitCode.OK)
