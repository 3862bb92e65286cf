"""`credlib rm`, `rename` and `set`: single edits without opening an editor."""

from __future__ import annotations

import sys

import click

from credlib.cli.context import AppContext
from credlib.cli.options import json_option
from credlib.errors import UsageError


@click.command()
@click.argument("name")
@json_option
@click.pass_obj
def rm(app: AppContext, name: str, as_json: bool) -> None:
    """Remove the credential NAME (name or id)."""
    from credlib import store
    from credlib.output import echo_err, emit_json

    cred = store.remove_credential(app.file, name)
    if as_json:
        emit_json({"removed": {"name": cred.name, "id": cred.id}})
    else:
        echo_err(f"removed {cred.name!r}")


@click.command()
@click.argument("old")
@click.argument("new")
@json_option
@click.pass_obj
def rename(app: AppContext, old: str, new: str, as_json: bool) -> None:
    """Rename credential OLD to NEW. Its id stays the same (exports and state refer to it)."""
    from credlib import store
    from credlib.output import echo_err, emit_json

    cred = store.rename_credential(app.file, old, new)
    if as_json:
        emit_json({"renamed": {"from": cred.name, "to": new.strip(), "id": cred.id}})
    else:
        echo_err(f"renamed {cred.name!r} to {new.strip()!r} (id {cred.id})")


@click.command("set")
@click.argument("name")
@click.argument("field")
@click.argument("value", required=False)
@click.option("--unset", is_flag=True, help="Remove the (optional) field instead of setting it.")
@json_option
@click.pass_obj
def set_(app: AppContext, name: str, field: str, value: str | None, unset: bool, as_json: bool) -> None:
    """Set FIELD of credential NAME to VALUE.

    FIELD is a credential field (notes, base_url, tags, models, api_type, expires_at, id, name) or a
    telemetry one (telemetry.method, telemetry.endpoint, telemetry.mapping.balance, …). Lists take
    comma-separated values. Secret fields (api_key, telemetry.bearer_token) are never taken from the
    command line: leave VALUE out and pipe the secret in, or type it at the hidden prompt.
    """
    from credlib import store
    from credlib.cli.cmd_add import read_secret
    from credlib.output import echo_err, emit_json
    from credlib.schema import SECRET_FIELD_NAMES

    secret = field.split(".")[-1] in SECRET_FIELD_NAMES
    new_value: object
    if unset:
        if value is not None:
            raise UsageError("--unset takes no VALUE")
        new_value = None
    elif secret:
        if value is not None:
            raise UsageError(
                f"{field} is a secret and is never read from the command line (shell history, ps); "
                f"pipe it in: `… | credlib set {name!r} {field}`"
            )
        new_value = read_secret(field)
    else:
        if value is None:
            if sys.stdin.isatty():
                raise UsageError("VALUE is missing")
            value = sys.stdin.read().rstrip("\n")
        new_value = value
    cred = store.set_field(app.file, name, field, new_value)
    if as_json:
        emit_json({"set": {"name": cred.name, "id": cred.id, "field": field, "unset": unset}})
    else:
        echo_err(f"{'unset' if unset else 'set'} {field} of {cred.name!r}")
