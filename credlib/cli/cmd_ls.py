"""`credlib ls [QUERY] [--tag T]... [--type T]`: search and filter credentials."""

from __future__ import annotations

import click

from credlib.cli.context import AppContext
from credlib.cli.options import json_option
from credlib.model import API_TYPES


@click.command()
@click.argument("query", required=False, default="")
@click.option("--tag", "tags", multiple=True, help="Only credentials with any of these tags. Repeatable.")
@click.option("--type", "types", multiple=True, type=click.Choice(API_TYPES), help="Only this API type.")
@json_option
@click.pass_obj
def ls(app: AppContext, query: str, tags: tuple[str, ...], types: tuple[str, ...], as_json: bool) -> None:
    """List credentials; QUERY matches name, base URL, tags and notes (case/width-insensitive)."""
    from credlib.output import credential_dict, emit_json, print_table
    from credlib.redact import redact_key
    from credlib.search import search
    from credlib.store import load_config

    config = load_config(app.file)
    found = search(config.credentials, query, tags, types)
    if as_json:
        emit_json({"results": [credential_dict(c) for c in found]})
        return
    rows = [
        [c.name, c.api_type, c.base_url, ",".join(c.tags), redact_key(c.api_key), (c.notes or "")[:40]]
        for c in found
    ]
    if not rows:
        from credlib.output import echo_err

        echo_err("no credentials match" if (query or tags or types) else "no credentials yet: `credlib add`")
        return
    print_table(["NAME", "TYPE", "BASE URL", "TAGS", "KEY", "NOTES"], rows)
