"""`credlib schema` and validation come from one declaration; the schema agrees with the model,
with .sops.yaml's encrypted_regex, and (for structure) with the validator itself."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from credlib.errors import ValidationError
from credlib.initproject import sops_config_text
from credlib.model import API_TYPES, METRIC_NAMES, TELEMETRY_METHODS, Credential, Target, TelemetryConfig
from credlib.schema import json_schema, secret_field_names
from credlib.validate import validate_data
from tests.fixtures.env import SOPS_RULE_REGEX


def mini_validate(schema: dict[str, Any], value: Any) -> bool:
    """The subset of JSON Schema credlib's schema uses (type, properties, required, enum, const,
    exclusiveMinimum, minLength, pattern, items, minProperties)."""
    kind = schema.get("type")
    if isinstance(kind, list):
        if value is None and "null" in kind:
            return True
        kind = kind[0]
    checks = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
    }
    if kind and not checks[kind](value):
        return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    if "const" in schema and value != schema["const"]:
        return False
    if "exclusiveMinimum" in schema and not value > schema["exclusiveMinimum"]:
        return False
    if "minLength" in schema and len(value.strip()) < schema["minLength"]:
        return False
    if "pattern" in schema and not re.search(schema["pattern"], value):
        return False
    if kind == "array":
        return all(mini_validate(schema.get("items", {}), v) for v in value)
    if kind == "object":
        props = schema.get("properties", {})
        if schema.get("additionalProperties") is False and set(value) - set(props):
            return False
        if any(r not in value for r in schema.get("required", [])):
            return False
        if len(value) < schema.get("minProperties", 0):
            return False
        return all(mini_validate(props[k], v) for k, v in value.items() if k in props)
    return True


def valid_doc() -> dict[str, Any]:
    return {
        "version": 1,
        "defaults": {"telemetry": {"method": "auto"}, "limits": {"concurrency": 2}, "timeout_s": 20},
        "credentials": [
            {
                "name": "A",
                "id": "a",
                "base_url": "https://a.example.com",
                "api_key": "sk-abcdef123456",
                "api_type": "anthropic",
                "tags": ["x"],
                "notes": "n",
                "models": ["m"],
                "expires_at": "2027-01-31",
                "telemetry": {"method": "custom", "endpoint": "/u", "mapping": {"balance": "data.b"}},
            }
        ],
        "targets": [{"name": "t", "type": "dotenv", "select": {"types": ["openai"]}, "options": {"k": 1}}],
    }


STRUCTURAL_BREAKS = [
    lambda d: d.update(version=2),
    lambda d: d.pop("version"),
    lambda d: d.update(extra=1),
    lambda d: d["credentials"][0].pop("api_key"),
    lambda d: d["credentials"][0].update(api_key=""),
    lambda d: d["credentials"][0].update(api_type="azure"),
    lambda d: d["credentials"][0].update(tags="x"),
    lambda d: d["credentials"][0].update(id="bad id"),
    lambda d: d["credentials"][0].update(expires_at="tomorrow"),
    lambda d: d["credentials"][0]["telemetry"].update(method="magic"),
    lambda d: d["credentials"][0]["telemetry"].update(mapping={"wealth": "x"}),
    lambda d: d["defaults"]["limits"].update(concurrency=0),
    lambda d: d["targets"][0].update(include_failing="yes"),
    lambda d: d["targets"][0]["select"].update(types=["nope"]),
    lambda d: d["targets"][0].pop("type"),
]


def test_valid_document_passes_both() -> None:
    schema = json_schema()
    doc = valid_doc()
    assert mini_validate(schema, doc)
    validate_data(doc, file="f")
    doc["credentials"][0]["notes"] = None  # optional and empty: fine for both
    assert mini_validate(schema, doc)
    validate_data(doc, file="f")


@pytest.mark.parametrize("breaker", STRUCTURAL_BREAKS)
def test_schema_and_validator_agree_on_structural_errors(breaker: Any) -> None:
    doc = valid_doc()
    breaker(doc)
    assert not mini_validate(json_schema(), doc)
    with pytest.raises(ValidationError):
        validate_data(doc, file="f")


def test_schema_covers_the_model() -> None:
    schema = json_schema()
    cred_props = set(schema["properties"]["credentials"]["items"]["properties"])
    internal = {"index", "source_file"}
    assert {f.name for f in dataclasses.fields(Credential)} - internal == cred_props
    target_props = set(schema["properties"]["targets"]["items"]["properties"])
    assert {f.name for f in dataclasses.fields(Target)} - {"index"} == target_props
    tel = schema["properties"]["defaults"]["properties"]["telemetry"]["properties"]
    assert set(tel) == {f.name for f in dataclasses.fields(TelemetryConfig)}
    assert tel["method"]["enum"] == list(TELEMETRY_METHODS)
    assert set(tel["mapping"]["properties"]) == set(METRIC_NAMES)
    assert schema["properties"]["credentials"]["items"]["properties"]["api_type"]["enum"] == list(API_TYPES)
    assert "sops" in schema["properties"]  # the encrypted file validates in editors too


def test_secret_fields_match_sops_rule() -> None:
    regex = re.search(r"encrypted_regex: '([^']+)'", sops_config_text(["age1x"]))
    assert regex is not None
    names = set(regex.group(1).strip("^$()").split("|"))
    assert names == secret_field_names() == {"api_key", "access_token", "management_key", "bearer_token"}
    assert regex.group(1) == SOPS_RULE_REGEX
