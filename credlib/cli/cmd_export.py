"""`credlib export NAME --to TYPE [--option K=V]...`: print one rendering (a deep link or file content)."""

from __future__ import annotations

import click

from credlib.cli.context import AppContext


@click.command(help="Render one credential for one target type and print it (holds the key).")
@click.argument("name")
@click.option("--to", "type_name", required=True, metavar="TYPE", help="Target type, e.g. cherry-studio.")
@click.option("--option", "-o", "pairs", multiple=True, metavar="K=V", help="Type option (repeatable).")
@click.option("--template", metavar="FILE", help="Your own Jinja template instead of the shipped one.")
@click.pass_obj
def export(app: AppContext, name: str, type_name: str, pairs: tuple[str, ...], template: str | None) -> None:
    from pathlib import Path

    from credlib.exports.export import export_text, parse_options
    from credlib.exports.registry import get_target_type
    from credlib.store import find_credential, load_config

    get_target_type(type_name)  # an unknown type fails before the file is decrypted
    options = parse_options(pairs)
    config = load_config(app.file)
    cred = find_credential(config, name)
    text = export_text(cred, type_name, options, template=template, base_dir=Path.cwd())
    click.echo(text, nl=not text.endswith("\n"))
