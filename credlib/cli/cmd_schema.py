"""`credlib schema`: the JSON Schema of the credentials file (from the same source as validation)."""

from __future__ import annotations

import json

import click

from credlib.cli.options import json_option


@click.command()
@json_option
def schema(as_json: bool) -> None:
    """Print the JSON Schema of the credentials file (for editors and CI).

    `credlib init` writes it beside the file as credlib.schema.json and points the file's
    yaml-language-server modeline at it. With --json it is wrapped as {"format_version": 1, "schema": …}.
    """
    from credlib.schema import json_schema

    if as_json:
        from credlib.output import emit_json

        emit_json({"schema": json_schema()})
        return
    click.echo(json.dumps(json_schema(), indent=2))
