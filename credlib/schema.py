"""The shape of the credentials file, declared once (SPEC §1).

``credlib.validate`` checks a decrypted document against these declarations and ``credlib schema``
renders the same declarations as JSON Schema, so the two can never disagree. Rules that a JSON Schema
cannot express (URL normalization, same-origin telemetry endpoints, unique names) live in
``credlib.validate`` on top of this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from credlib.model import API_TYPES, METRIC_NAMES, TELEMETRY_METHODS

Kind = Literal["string", "integer", "number", "boolean", "object", "array", "map", "date"]

SCHEMA_VERSION = 1
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$"
SCHEMA_ID = "https://credlib.invalid/schema/credentials-v1.json"


@dataclass(frozen=True)
class Field:
    """One key of a mapping in the credentials file."""

    name: str
    kind: Kind
    description: str
    required: bool = False
    enum: tuple[str, ...] = ()
    item_kind: Kind | None = None  # arrays: the kind of each item
    fields: tuple[Field, ...] = ()  # objects, and arrays of objects: the item's keys
    map_keys: tuple[str, ...] = ()  # maps: the allowed keys (values are non-empty strings)
    secret: bool = False  # encrypted by sops (the .sops.yaml encrypted_regex covers it)
    positive: bool = False  # numbers: > 0
    free_form: bool = False  # objects whose keys are not checked here (target options)
    const: int | None = None
    pattern: str | None = None


TELEMETRY_FIELDS: tuple[Field, ...] = (
    Field("method", "string", "How balance and usage are read.", enum=TELEMETRY_METHODS),
    Field(
        "endpoint",
        "string",
        "custom only: a root-relative path, or an absolute URL on the same origin as base_url.",
    ),
    Field(
        "mapping",
        "map",
        "custom only: metric -> dot path (data.items.0.x) or JSONPath ($.data.items[0].x).",
        map_keys=METRIC_NAMES,
    ),
    Field("quota_per_unit", "number", "newapi/openai-billing: quota units per USD.", positive=True),
    Field("bearer_token", "string", "custom only: a dedicated read-only token (encrypted).", secret=True),
)

LIMITS_FIELDS: tuple[Field, ...] = (
    Field("concurrency", "integer", "Requests in flight per origin.", positive=True),
    Field("burst", "integer", "Token bucket size per origin.", positive=True),
    Field("per_minute", "number", "Token bucket refill rate per origin.", positive=True),
)

DEFAULTS_FIELDS: tuple[Field, ...] = (
    Field("telemetry", "object", "Telemetry settings every credential inherits.", fields=TELEMETRY_FIELDS),
    Field("limits", "object", "Per-origin request limits.", fields=LIMITS_FIELDS),
    Field("timeout_s", "number", "Connect/read timeout in seconds.", positive=True),
)

CREDENTIAL_FIELDS: tuple[Field, ...] = (
    Field("name", "string", "Display name; unique ignoring case.", required=True),
    Field(
        "id",
        "string",
        "Stable slug; defaults to slug(name); unique.",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
    ),
    Field("base_url", "string", "Base URL; normalized on save (no /v1).", required=True),
    Field("api_key", "string", "The API key (always encrypted).", required=True, secret=True),
    Field("api_type", "string", "The API family.", enum=API_TYPES),
    Field("tags", "array", "Free-form tags.", item_kind="string"),
    Field("notes", "string", "Free-form notes."),
    Field("models", "array", "Models; the first is the default for probes and exports.", item_kind="string"),
    Field("expires_at", "date", "Informational expiry date (YYYY-MM-DD)."),
    Field("telemetry", "object", "Balance/usage telemetry settings.", fields=TELEMETRY_FIELDS),
)

SELECT_FIELDS: tuple[Field, ...] = (
    Field("tags", "array", "Credentials with any of these tags.", item_kind="string"),
    Field("names", "array", "Credentials with these names or ids.", item_kind="string"),
    Field("types", "array", "Credentials of these API types.", item_kind="string", enum=API_TYPES),
)

TARGET_FIELDS: tuple[Field, ...] = (
    Field("name", "string", "Target name; unique.", required=True),
    Field("type", "string", "Target type (cherry-studio, claude-code-router, ...).", required=True),
    Field("path", "string", "File targets: the file to write (~ expanded)."),
    Field("url", "string", "HTTP targets: the admin API base URL."),
    Field("select", "object", "Which credentials this target takes.", fields=SELECT_FIELDS),
    Field("options", "object", "Type-specific options.", free_form=True),
    Field("template", "string", "A Jinja template of your own instead of the shipped one."),
    Field("include_failing", "boolean", "Keep credentials that failed verification."),
    Field("access_token", "string", "Admin token for HTTP targets (encrypted).", secret=True),
    Field("management_key", "string", "CLIProxyAPI management key (encrypted).", secret=True),
)

ROOT_FIELDS: tuple[Field, ...] = (
    Field("version", "integer", "File format version.", required=True, const=SCHEMA_VERSION),
    Field("defaults", "object", "Defaults for every credential.", fields=DEFAULTS_FIELDS),
    Field("credentials", "array", "The credentials.", item_kind="object", fields=CREDENTIAL_FIELDS),
    Field("targets", "array", "Where `credlib apply` delivers.", item_kind="object", fields=TARGET_FIELDS),
)

SECRET_FIELD_NAMES: tuple[str, ...] = ("api_key", "access_token", "management_key", "bearer_token")


def _collect_secret_names(fields: tuple[Field, ...], out: set[str]) -> None:
    for f in fields:
        if f.secret:
            out.add(f.name)
        _collect_secret_names(f.fields, out)


def secret_field_names() -> set[str]:
    """Every key whose value sops must encrypt (used for .sops.yaml and checked against it in tests)."""
    out: set[str] = set()
    _collect_secret_names(ROOT_FIELDS, out)
    return out


def encrypted_regex() -> str:
    return "^(" + "|".join(SECRET_FIELD_NAMES) + ")$"


def _kind_schema(kind: Kind, f: Field | None) -> dict[str, Any]:
    if kind == "date":
        # sops re-emits an unquoted date as a timestamp (2027-01-31T00:00:00Z); both are accepted.
        return {"type": "string", "pattern": DATE_PATTERN}
    if kind == "object" and f is not None:
        return _object_schema(f.fields, free_form=f.free_form)
    if kind == "map" and f is not None:
        return {
            "type": "object",
            "properties": {k: {"type": "string", "minLength": 1} for k in f.map_keys},
            "additionalProperties": False,
            "minProperties": 1,
        }
    return {"type": kind}


def _field_schema(f: Field) -> dict[str, Any]:
    if f.kind == "array":
        item_kind = f.item_kind or "string"
        items = _object_schema(f.fields) if item_kind == "object" else _kind_schema(item_kind, None)
        if f.enum:
            items = {**items, "enum": list(f.enum)}
        out: dict[str, Any] = {"type": "array", "items": items}
    else:
        out = _kind_schema(f.kind, f)
    out["description"] = f.description
    if f.enum and f.kind != "array":
        out["enum"] = list(f.enum)
    if f.positive:
        out["exclusiveMinimum"] = 0
    if f.const is not None:
        out["const"] = f.const
    if f.pattern:
        out["pattern"] = f.pattern
    if f.kind == "string" and (f.required or f.secret):
        out["minLength"] = 1
    if not f.required and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]  # `notes:` with no value means "not set"
    return out


def _object_schema(fields: tuple[Field, ...], *, free_form: bool = False) -> dict[str, Any]:
    if free_form:
        return {"type": "object"}
    out: dict[str, Any] = {
        "type": "object",
        "properties": {f.name: _field_schema(f) for f in fields},
        "additionalProperties": False,
    }
    required = [f.name for f in fields if f.required]
    if required:
        out["required"] = required
    return out


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a credentials file, encrypted or decrypted."""
    root = _object_schema(ROOT_FIELDS)
    # An encrypted file also carries sops' metadata block; editors validate the file as stored.
    root["properties"]["sops"] = {"type": "object", "description": "sops metadata (do not edit)."}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "credlib credentials file",
        **root,
    }
