"""`credlib import --from all-api-hub|cc-switch|dotenv FILE [--dry-run]` (SPEC §7)."""

from __future__ import annotations

from pathlib import Path

import click

from credlib.cli.context import AppContext
from credlib.cli.options import json_option


@click.command("import")
@click.option(
    "--from",
    "kind",
    required=True,
    type=click.Choice(["all-api-hub", "cc-switch", "dotenv"]),
    help="What FILE is: an All API Hub backup JSON, a CC Switch database, SQL export or config.json, "
    "or a .env file.",
)
@click.argument("source", metavar="FILE", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Show what would be added; write nothing.")
@json_option
@click.pass_obj
def import_(app: AppContext, kind: str, source: Path, dry_run: bool, as_json: bool) -> None:
    """Add the credentials of FILE to the credentials file, skipping duplicates (type + base URL + key)."""
    from credlib.gitops.importers import run_import
    from credlib.redact import redact_key

    report = run_import(Path(app.file), kind, source, dry_run=dry_run)
    if as_json:
        from credlib.output import emit_json

        emit_json(report.to_json())
        return
    verb = "would add" if dry_run else "added"
    for item in report.added:
        tags = f" [{', '.join(item.get('tags', []))}]" if item.get("tags") else ""
        click.echo(
            f"+ {item['name']}  {item['base_url']}  {item.get('api_type', 'openai-compatible')}  "
            f"{redact_key(item['api_key'])}{tags}"
        )
    for skip in report.skipped:
        click.echo(f"  skipped {skip.source}: {skip.reason}")
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"import: {verb} {len(report.added)}, skipped {len(report.skipped)}", err=True)
