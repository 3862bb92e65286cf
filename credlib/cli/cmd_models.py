"""`credlib models NAME`: the model catalog of one credential, read in its API type's protocol."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from credlib.cli.context import AppContext
from credlib.cli.options import json_option
from credlib.errors import ExitCode
from credlib.model import API_TYPES

if TYPE_CHECKING:
    from credlib.model import ApiType, Config, Credential
    from credlib.probes.models import ModelList


def fetch(config: Config, cred: Credential, as_type: ApiType | None) -> ModelList:
    from credlib.net import engine_for, run_sync
    from credlib.probes.models import list_models

    async def go() -> ModelList:
        async with engine_for(config) as engine:
            return await list_models(engine, cred, as_type)

    return run_sync(go())


def render(result: ModelList) -> str:
    from credlib.output import render_table

    note = ""
    if result.tested_as != result.api_type:
        note = f" (tested as {result.tested_as}: temporary override; saved type {result.api_type} unchanged)"
    if not result.ok:
        return f"{result.name}: {result.status}: {result.reason}{note}"
    rows = [
        [m["id"], str(m.get("display_name") or m.get("displayName") or m.get("owned_by") or "")]
        for m in result.models
    ]
    return render_table(["MODEL", "NAME / OWNER"], rows, title=f"{result.name}: {result.reason}{note}")


@click.command(help="List the models one credential can use (OpenAI, Anthropic or Gemini model list).")
@click.argument("name")
@click.option(
    "--as",
    "as_type",
    type=click.Choice(API_TYPES),
    help="Read the list as this API type for this run only; the saved type is not changed.",
)
@json_option
@click.pass_obj
def models(app: AppContext, name: str, as_type: ApiType | None, as_json: bool) -> int:
    from credlib.output import emit_json
    from credlib.store import find_credential, load_config

    config = load_config(app.file)
    cred = find_credential(config, name)
    result = fetch(config, cred, as_type)
    if as_json:
        emit_json({"results": [result.to_json()]})
    elif result.ok:
        click.echo(render(result))
    else:
        click.echo(render(result), err=True)
    return ExitCode.OK if result.ok else ExitCode.CHECK_FAILED
