"""Validation of a decrypted credentials document: every problem at once, with field paths and lines."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from credlib.errors import ExitCode, ValidationError
from credlib.validate import slug, validate_data
from credlib.yamledit import line_locator, load_plain

KEY = "sk-test-validate-0123456789abcdef"


def base_doc() -> dict[str, Any]:
    return {
        "version": 1,
        "defaults": {
            "telemetry": {"method": "auto"},
            "limits": {"concurrency": 2, "burst": 4, "per_minute": 18},
            "timeout_s": 20,
        },
        "credentials": [
            {
                "name": "Company Relay Read-only Key",
                "id": "company-relay",
                "base_url": "https://relay.example.com/v1/",
                "api_key": KEY,
                "api_type": "openai-compatible",
                "tags": ["work", "production"],
                "notes": "Only supports Claude models",
                "models": ["claude-sonnet-4-5"],
                "expires_at": "2027-01-31T00:00:00Z",
                "telemetry": {
                    "method": "custom",
                    "endpoint": "/api/usage",
                    "mapping": {"balance": "data.balance", "today_cost": "$.data.today.cost"},
                    "quota_per_unit": 500000,
                },
            },
            {"name": "Personal", "base_url": "api.example.org", "api_key": "sk-personal-0000000000000"},
        ],
        "targets": [
            {
                "name": "ccr",
                "type": "claude-code-router",
                "path": "~/.claude-code-router/config.json",
                "select": {"tags": ["work"], "names": ["Personal"], "types": ["anthropic"]},
                "options": {"anything": {"nested": True}},
                "include_failing": False,
            }
        ],
    }


def problems_of(doc: object, **kw: Any) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as info:
        validate_data(doc, file="credentials.yaml", **kw)
    assert info.value.exit_code == ExitCode.INVALID_FILE
    return [(p.path, p.message) for p in info.value.problems]


def test_full_example_validates() -> None:
    cfg = validate_data(base_doc(), file="credentials.yaml")
    relay, personal = cfg.credentials
    assert relay.id == "company-relay"
    assert relay.base_url == "https://relay.example.com"
    assert relay.expires_at == "2027-01-31"
    assert relay.default_model == "claude-sonnet-4-5"
    assert relay.telemetry.method == "custom"
    assert relay.telemetry.mapping == {"balance": "data.balance", "today_cost": "$.data.today.cost"}
    assert personal.id == "personal"
    assert personal.base_url == "https://api.example.org"
    assert personal.telemetry.method == "auto"  # inherited from defaults
    assert personal.index == 1 and personal.source_file == "credentials.yaml"
    assert cfg.defaults.limits.per_minute == 18.0
    (target,) = cfg.targets
    assert target.select.types == ("anthropic",)
    assert target.options == {"anything": {"nested": True}}
    assert KEY not in repr(cfg)


def test_minimal_file_and_empty_credentials() -> None:
    cfg = validate_data({"version": 1}, file="f")
    assert cfg.credentials == () and cfg.targets == ()
    assert validate_data({"version": 1, "credentials": []}, file="f").credentials == ()


def test_every_problem_is_reported_at_once() -> None:
    doc = base_doc()
    doc["colour"] = "blue"
    doc["credentials"][0]["base_url"] = "ftp://relay.example.com"
    doc["credentials"][0]["tags"] = "work"
    doc["credentials"][1]["api_key"] = ""
    doc["credentials"][1]["favourite"] = True
    doc["targets"][0]["include_failing"] = "yes"
    found = problems_of(doc)
    paths = [p for p, _ in found]
    assert sorted(paths) == sorted(
        [
            "colour",
            "credentials[0].base_url",
            "credentials[0].tags",
            "credentials[1].api_key",
            "credentials[1].favourite",
            "targets[0].include_failing",
        ]
    )


@pytest.mark.parametrize(
    ("mutate", "path", "fragment"),
    [
        (lambda d: d.pop("version"), "version", "is required"),
        (lambda d: d.update(version=2), "version", "must be 1"),
        (lambda d: d.update(version="1"), "version", "must be an integer"),
        (lambda d: d.update(credentials={"a": 1}), "credentials", "must be a list"),
        (lambda d: d["credentials"][0].pop("name"), "credentials[0].name", "is required"),
        (lambda d: d["credentials"][0].pop("api_key"), "credentials[0].api_key", "is required"),
        (lambda d: d["credentials"][0].pop("base_url"), "credentials[0].base_url", "is required"),
        (lambda d: d["credentials"][0].update(api_key="  "), "credentials[0].api_key", "must not be empty"),
        (lambda d: d["credentials"][0].update(name=""), "credentials[0].name", "must not be empty"),
        (lambda d: d["credentials"][0].update(api_type="azure"), "credentials[0].api_type", "not one of"),
        (lambda d: d["credentials"][0].update(base_url="//relay"), "credentials[0].base_url", "must start"),
        (lambda d: d["credentials"][0].update(base_url=""), "credentials[0].base_url", "empty"),
        (lambda d: d["credentials"][0].update(models=[1]), "credentials[0].models[0]", "must be a string"),
        (lambda d: d["credentials"][0].update(expires_at="soon"), "credentials[0].expires_at", "date"),
        (lambda d: d["credentials"][0].update(id="has space"), "credentials[0].id", "not valid"),
        (lambda d: d["credentials"][0].update(extra=1), "credentials[0].extra", "unknown field"),
        (lambda d: d["credentials"].append(None), "credentials[2]", "must be a mapping"),
        (
            lambda d: d["defaults"]["limits"].update(concurrency=0),
            "defaults.limits.concurrency",
            "greater than 0",
        ),
        (lambda d: d["defaults"]["limits"].update(burst=1.5), "defaults.limits.burst", "integer"),
        (lambda d: d["defaults"].update(timeout_s=-1), "defaults.timeout_s", "greater than 0"),
        (
            lambda d: d["defaults"]["telemetry"].update(method="magic"),
            "defaults.telemetry.method",
            "not one of",
        ),
        (lambda d: d["targets"][0].pop("type"), "targets[0].type", "is required"),
        (lambda d: d["targets"][0].update(type=""), "targets[0].type", "must not be empty"),
        (lambda d: d["targets"][0].update(options=[]), "targets[0].options", "must be a mapping"),
        (lambda d: d["targets"][0].update(path=3), "targets[0].path", "must be a string"),
        (
            lambda d: d["targets"][0]["select"].update(types=["nope"]),
            "targets[0].select.types[0]",
            "not one of",
        ),
        (
            lambda d: d["targets"][0]["select"].update(colour=["x"]),
            "targets[0].select.colour",
            "unknown field",
        ),
        (lambda d: d["targets"][0].update(access_token=5), "targets[0].access_token", "must be a string"),
        (lambda d: d["targets"].append(dict(d["targets"][0])), "targets[1].name", "duplicate target name"),
    ],
)
def test_single_problem(mutate: Any, path: str, fragment: str) -> None:
    doc = base_doc()
    mutate(doc)
    found = problems_of(doc)
    assert any(p == path and fragment in m for p, m in found), found


def test_duplicate_names_ignore_case_and_width() -> None:
    doc = base_doc()
    doc["credentials"][1]["name"] = "ＣＯＭＰＡＮＹ relay read-only key"  # full-width letters
    doc["credentials"][1]["id"] = "other"
    found = problems_of(doc)
    assert found[0][0] == "credentials[1].name"
    assert found[0][1].startswith("duplicate name") and "(also credentials[0])" in found[0][1]


def test_duplicate_id_from_slug() -> None:
    doc = base_doc()
    doc["credentials"][1]["name"] = "company relay"
    doc["credentials"][0]["id"] = "company-relay"
    doc["credentials"].append(
        {"name": "Company  Relay!", "base_url": "x.example.com", "api_key": "sk-x1234567"}
    )
    found = problems_of(doc)
    assert any(p == "credentials[2].id" and "duplicate id 'company-relay'" in m for p, m in found)


def test_custom_telemetry_rules() -> None:
    doc = base_doc()
    tel = doc["credentials"][0]["telemetry"]
    tel["endpoint"] = "//evil.example.com/usage"
    doc["credentials"][1]["telemetry"] = {"method": "custom"}
    found = problems_of(doc)
    assert any(p == "credentials[0].telemetry.endpoint" and "//host" in m for p, m in found)
    assert ("credentials[1].telemetry.endpoint", "is required when method is custom") in found
    assert ("credentials[1].telemetry.mapping", "needs at least one metric when method is custom") in found


def test_custom_endpoint_same_origin_only() -> None:
    doc = base_doc()
    tel = doc["credentials"][0]["telemetry"]
    tel["endpoint"] = "https://relay.example.com:443/api/usage"
    validate_data(copy.deepcopy(doc), file="f")  # same origin (default port) is fine
    tel["endpoint"] = "https://other.example.com/api/usage"
    found = problems_of(doc)
    assert any(p == "credentials[0].telemetry.endpoint" and "another origin" in m for p, m in found)
    tel["endpoint"] = "http://relay.example.com/api/usage"  # scheme differs
    assert problems_of(doc)[0][0] == "credentials[0].telemetry.endpoint"
    tel["endpoint"] = "ftp://relay.example.com/x"
    assert problems_of(doc)[0][0] == "credentials[0].telemetry.endpoint"


def test_mapping_paths_and_metric_names() -> None:
    doc = base_doc()
    doc["credentials"][0]["telemetry"]["mapping"] = {
        "balance": "data..balance",
        "today_cost": "$.data[",
        "wealth": "data.x",
        "total_used": "",
    }
    found = problems_of(doc)
    paths = {p for p, _ in found}
    assert {
        "credentials[0].telemetry.mapping.balance",
        "credentials[0].telemetry.mapping.today_cost",
        "credentials[0].telemetry.mapping.wealth",
        "credentials[0].telemetry.mapping.total_used",
    } <= paths


def test_secret_values_never_in_messages() -> None:
    doc = base_doc()
    secret = "sk-very-secret-value-1234567890"
    doc["credentials"][0]["api_key"] = [secret]
    doc["targets"][0]["access_token"] = {"x": secret}
    with pytest.raises(ValidationError) as info:
        validate_data(doc, file="f")
    assert secret not in str(info.value)
    assert "credentials[0].api_key" in str(info.value)


def test_root_must_be_mapping() -> None:
    assert problems_of([1, 2]) == [("(root)", "must be a mapping, not a list")]


def test_line_numbers_from_yaml_text() -> None:
    text = (
        "# yaml-language-server: $schema=./credlib.schema.json\n"
        "version: 1\n"
        "credentials:\n"
        "    - name: A\n"
        "      base_url: ftp://a.example.com\n"
        "      api_key: ENC[AES256_GCM,data:xx,iv:yy,tag:zz,type:str]\n"
        "      colour: red\n"
        "    - base_url: https://b.example.com\n"
        "      api_key: ENC[AES256_GCM,data:xx,iv:yy,tag:zz,type:str]\n"
    )
    with pytest.raises(ValidationError) as info:
        validate_data(load_plain(text), file="c.yaml", line_of=line_locator(text))
    got = {(p.path, p.line) for p in info.value.problems}
    assert got == {
        ("credentials[0].base_url", 5),
        ("credentials[0].colour", 7),
        ("credentials[1].name", 8),  # missing: the line of its credential
    }
    rendered = str(info.value)
    assert "c.yaml:5: credentials[0].base_url:" in rendered
    # Problems come in file order.
    assert [p.line for p in info.value.problems] == sorted(p.line or 0 for p in info.value.problems)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Company Relay Read-only Key", "company-relay-read-only-key"), ("  Ａpi  ", "api"), ("x_y.z", "x-y-z")],
)
def test_slug(name: str, expected: str) -> None:
    assert slug(name) == expected


def test_slug_of_non_latin_name_is_stable_hash() -> None:
    assert slug("公司中转") == slug("公司中转")
    assert slug("公司中转").startswith("cred-")
    assert slug("公司中转") != slug("个人")


def test_empty_optional_fields_mean_unset() -> None:
    cfg = validate_data(
        {
            "version": 1,
            "defaults": None,
            "credentials": [
                {
                    "name": "A",
                    "base_url": "a.example.com",
                    "api_key": "sk-a1234567",
                    "notes": None,
                    "tags": None,
                }
            ],
            "targets": None,
        },
        file="f",
    )
    assert cfg.credentials[0].notes is None and cfg.credentials[0].tags == ()
    assert validate_data({"version": 1, "credentials": None}, file="f").credentials == ()
    found = problems_of(
        {"version": 1, "credentials": [{"name": None, "base_url": "x.example", "api_key": "k"}]}
    )
    assert ("credentials[0].name", "must be a string, not empty (null)") in found
