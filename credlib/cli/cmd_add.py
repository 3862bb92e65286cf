"""`credlib add`: one credential from flags or prompts; the key only from stdin or a hidden prompt."""

from __future__ import annotations

import sys
from typing import Any

import click

from credlib.cli.context import AppContext
from credlib.cli.options import json_option
from credlib.errors import UsageError
from credlib.model import API_TYPES, TELEMETRY_METHODS


def read_secret(label: str = "API key") -> str:
    """The secret from stdin when it is piped, else a hidden prompt; never from argv."""
    if not sys.stdin.isatty():
        data = sys.stdin.readline()
        value = data.strip()
        if not value:
            raise UsageError(f"no {label} on stdin (pipe it in, e.g. `pass show x | credlib add …`)")
        return value
    value = click.prompt(label, hide_input=True, confirmation_prompt=False, err=True).strip()
    if not value:
        raise UsageError(f"the {label} must not be empty")
    return value


def _ask(value: str | None, label: str) -> str:
    if value:
        return value
    if not sys.stdin.isatty():
        raise UsageError(f"--{label.lower().replace(' ', '-')} is required when stdin is not a terminal")
    answer: str = click.prompt(label, err=True)
    return answer


@click.command()
@click.option("--name", help="Display name (unique, ignoring case).")
@click.option("--base-url", help="Base URL; normalized (the trailing /v1 is dropped).")
@click.option("--type", "api_type", type=click.Choice(API_TYPES), default="openai-compatible",
              show_default=True, help="API family.")
@click.option("--id", "cred_id", help="Stable id (default: slug of the name).")
@click.option("--tag", "tags", multiple=True, help="A tag. Repeatable.")
@click.option("--notes", help="Free-form notes.")
@click.option("--model", "models", multiple=True, help="A model; the first is the default. Repeatable.")
@click.option(
    "--expires",
    "expires_at",
    help="Expiry date, YYYY-MM-DD (usage --fail-expiring-within uses it when the site reports none).",
)
@click.option("--telemetry", "telemetry", type=click.Choice(TELEMETRY_METHODS),
              help="Telemetry method (default: the file's defaults, normally auto).")
@json_option
@click.pass_obj
def add(
    app: AppContext,
    name: str | None,
    base_url: str | None,
    api_type: str,
    cred_id: str | None,
    tags: tuple[str, ...],
    notes: str | None,
    models: tuple[str, ...],
    expires_at: str | None,
    telemetry: str | None,
    as_json: bool,
) -> None:
    """Add a credential. The key is read from stdin (piped) or a hidden prompt — never an argument.

    Example: `pass show relay | credlib add --name "Company Relay" --base-url relay.example.com/v1`
    """
    from credlib import store
    from credlib.output import credential_dict, echo_err, emit_json

    name = _ask(name, "Name")
    base_url = _ask(base_url, "Base URL")
    item: dict[str, Any] = {"name": name, "base_url": base_url}
    if cred_id:
        item["id"] = cred_id
    item["api_key"] = read_secret()
    if api_type != "openai-compatible":
        item["api_type"] = api_type
    if tags:
        item["tags"] = list(tags)
    if notes:
        item["notes"] = notes
    if models:
        item["models"] = list(models)
    if expires_at:
        item["expires_at"] = expires_at
    if telemetry:
        item["telemetry"] = {"method": telemetry}
    store.add_credentials(app.file, [item])
    config = store.load_config(app.file)
    cred = store.find_credential(config, name.strip())
    if as_json:
        emit_json({"added": credential_dict(cred)})
        return
    echo_err(f"added {cred.name!r} ({cred.base_url}) to {cred.source_file or app.file}")
