"""`credlib show NAME [--reveal]` and `credlib copy NAME [--what key|base_url|env]`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from credlib.model import Credential

from credlib.cli.context import AppContext
from credlib.cli.options import json_option


@click.command()
@click.argument("name")
@click.option("--reveal", is_flag=True, help="Show the key in full (it is redacted otherwise).")
@json_option
@click.pass_obj
def show(app: AppContext, name: str, reveal: bool, as_json: bool) -> None:
    """Show one credential (by name or id); the key is redacted unless --reveal."""
    from credlib.output import credential_dict, echo, emit_json
    from credlib.store import find_credential, load_config

    cred = find_credential(load_config(app.file), name)
    data = credential_dict(cred, reveal=reveal)
    if as_json:
        emit_json({"credential": data})
        return
    for key, value in data.items():
        if key == "telemetry":
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        elif isinstance(value, list):
            value = ", ".join(value)
        if value in (None, ""):
            continue
        echo(f"{key + ':':<11} {value}")


def clip_content(cred: Credential, what: str) -> str:
    if what == "key":
        return cred.api_key
    if what == "base_url":
        return cred.base_url
    return f"BASE_URL={cred.base_url}\nAPI_KEY={cred.api_key}\n"


@click.command()
@click.argument("name")
@click.option("--what", type=click.Choice(["key", "base_url", "env"]), default="key", show_default=True,
              help="What to copy: the key, the base URL, or BASE_URL=/API_KEY= lines.")
@click.option("--print", "to_stdout", is_flag=True, help="Print instead of using the clipboard.")
@json_option
@click.pass_obj
def copy(app: AppContext, name: str, what: str, to_stdout: bool, as_json: bool) -> None:
    """Copy a credential's key, base URL or env lines to the clipboard (printed when there is none)."""
    from credlib.clipboard import copy_text
    from credlib.output import echo_err, emit_json
    from credlib.store import find_credential, load_config

    cred = find_credential(load_config(app.file), name)
    content = clip_content(cred, what)
    tool = None if to_stdout else copy_text(content)
    if as_json:
        payload: dict[str, object] = {"name": cred.name, "what": what, "clipboard": tool}
        if tool is None:
            payload["value"] = content
        emit_json(payload)
        return
    if tool is None:
        click.echo(content.rstrip("\n"))
    else:
        echo_err(f"copied the {what.replace('_', ' ')} of {cred.name!r} to the clipboard ({tool})")
