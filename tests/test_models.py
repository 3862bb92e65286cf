"""`list_models` and `credlib models` against the local relay: each API type's list protocol,
pagination, auth fallbacks, relay variants and failures."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from credlib.model import ApiType, Credential, Limits
from credlib.net import Engine
from credlib.probes.models import MAX_PAGES, ModelList, list_models
from credlib.relay import Relay, RelayRequest, RelayResponse
from tests.fixtures.env import fake_key

EncryptedFile = Callable[..., Path]


def cred_for(
    relay: Relay, key: str, api_type: ApiType = "openai-compatible", base: str | None = None
) -> Credential:
    return Credential(name="c", id="c", base_url=base or relay.url, api_key=key, api_type=api_type)


def fetch(cred: Credential, as_type: ApiType | None = None) -> ModelList:
    async def go() -> ModelList:
        async with Engine(Limits(4, 100, 60000), timeout_s=5, max_retries=0) as engine:
            return await list_models(engine, cred, as_type)

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("api_type", "path"),
    [
        ("openai-compatible", "/v1/models"),
        ("openai", "/v1/models"),
        ("anthropic", "/v1/models"),
        ("google", "/v1beta/models"),
    ],
)
def test_each_type_reads_its_list(relay: Relay, api_type: ApiType, path: str) -> None:
    key = fake_key()
    relay.add_key(key, models=["gpt-4o-mini", "claude-haiku-4-5", "gemini-2.5-flash"])
    result = fetch(cred_for(relay, key, api_type))
    assert result.ok, result.reason
    assert result.ids == ["gpt-4o-mini", "claude-haiku-4-5", "gemini-2.5-flash"]
    assert result.source == path
    sent = relay.log[-1]
    if api_type == "anthropic":
        assert sent.headers["x-api-key"] == key and sent.headers["anthropic-version"] == "2023-06-01"
        assert "authorization" not in sent.headers
    elif api_type == "google":
        assert sent.headers["x-goog-api-key"] == key and "key" not in sent.query
    else:
        assert sent.headers["authorization"] == f"Bearer {key}"


def test_anthropic_pages_are_followed(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key)
    pages = {"": (["claude-a", "claude-b"], True), "claude-b": (["claude-c"], False)}

    def handler(req: RelayRequest) -> RelayResponse:
        ids, more = pages[req.query.get("after_id", "")]
        data = [
            {"type": "model", "id": i, "display_name": i.upper(), "created_at": "2025-01-01T00:00:00Z"}
            for i in ids
        ]
        return RelayResponse.json({"data": data, "has_more": more, "first_id": ids[0], "last_id": ids[-1]})

    relay.add_route("GET", "/v1/models", handler)
    result = fetch(cred_for(relay, key, "anthropic"))
    assert result.ids == ["claude-a", "claude-b", "claude-c"]
    assert result.models[0]["display_name"] == "CLAUDE-A"
    assert [e.query.get("after_id") for e in relay.log] == [None, "claude-b"]


def test_gemini_pages_prefix_and_embedding_models(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key)

    def handler(req: RelayRequest) -> RelayResponse:
        if req.query.get("pageToken") == "p2":
            return RelayResponse.json({"models": [{"name": "models/gemini-2.5-pro"}]})
        return RelayResponse.json(
            {
                "models": [
                    {"name": "models/gemini-2.5-flash", "supportedGenerationMethods": ["generateContent"]},
                    {"name": "models/text-embedding-004", "supportedGenerationMethods": ["embedContent"]},
                ],
                "nextPageToken": "p2",
            }
        )

    relay.add_route("GET", "/v1beta/models", handler)
    result = fetch(cred_for(relay, key, "google"))
    assert result.ids == ["gemini-2.5-flash", "gemini-2.5-pro"]


def test_a_relay_that_always_has_more_is_bounded(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key)
    counter = {"n": 0}

    def handler(req: RelayRequest) -> RelayResponse:
        counter["n"] += 1
        n = counter["n"]
        return RelayResponse.json(
            {"data": [{"id": f"claude-{n}"}], "has_more": True, "last_id": f"claude-{n}"}
        )

    relay.add_route("GET", "/v1/models", handler)
    result = fetch(cred_for(relay, key, "anthropic"))
    assert result.ok and len(result.ids) == MAX_PAGES == counter["n"]


def test_openai_falls_back_to_models_without_v1(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key, models=["gpt-4o-mini"])
    relay.set_fault("status", path="/v1/models", status=404)
    result = fetch(cred_for(relay, key))
    assert result.ok and result.source == "/models" and result.ids == ["gpt-4o-mini"]


def test_complete_prefix_base_is_used_as_is(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key)
    relay.add_route(
        "GET", "/api/coding/v3/models", lambda req: RelayResponse.json({"data": [{"id": "doubao-x"}]})
    )
    result = fetch(cred_for(relay, key, base=relay.url + "/api/coding/v3"))
    assert result.ok and result.ids == ["doubao-x"] and result.source == "/api/coding/v3/models"


@pytest.mark.parametrize("api_type", ["anthropic", "google"])
def test_bearer_fallback_when_the_native_header_is_refused(relay: Relay, api_type: ApiType) -> None:
    key = fake_key()
    relay.add_key(key)
    relay.set_fault("auth_only", styles=["bearer"])
    result = fetch(cred_for(relay, key, api_type))
    assert result.ok and result.bearer_fallback, result.reason
    assert "Bearer" in result.reason
    assert relay.log[-1].headers["authorization"] == f"Bearer {key}"


def test_refused_both_ways_reports_the_native_answer(relay: Relay) -> None:
    # Google answers a valid key without access 403 PERMISSION_DENIED, and the same key as Bearer
    # 401 (it expects an OAuth token there): the key is not bad, the project lacks access.
    key = fake_key()
    relay.add_key(key)

    def handler(req: RelayRequest) -> RelayResponse:
        if "x-goog-api-key" in req.headers:
            error = {"code": 403, "status": "PERMISSION_DENIED", "message": "API has not been used"}
            return RelayResponse.json({"error": error}, 403)
        error = {"code": 401, "status": "UNAUTHENTICATED", "message": "Expected OAuth 2 access token"}
        return RelayResponse.json({"error": error}, 401)

    relay.add_route("GET", "/v1beta/models", handler)
    result = fetch(cred_for(relay, key, "google"))
    assert [e.headers.get("authorization", "native") for e in relay.log] == ["native", f"Bearer {key}"]
    assert result.status == "forbidden" and "API has not been used" in result.reason
    assert not result.bearer_fallback


def test_tolerates_relay_variants(relay: Relay) -> None:
    """Extra fields, bare string entries and duplicate ids are accepted; the list stays clean."""
    key = fake_key()
    relay.add_key(key)
    body = {
        "object": "list",
        "success": True,
        "data": [
            {
                "id": " gpt-4o ",
                "object": "model",
                "owned_by": "custom",
                "permission": [],
                "supported_endpoint_types": [],
            },
            {"id": "gpt-4o"},
            "o3-mini",
            {"no_id": True},
        ],
    }
    relay.add_route("GET", "/v1/models", lambda req: RelayResponse.json(body))
    result = fetch(cred_for(relay, key))
    assert result.ids == ["gpt-4o", "o3-mini"]
    assert result.models[0]["owned_by"] == "custom"


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        (
            {
                "error": {
                    "message": "Authentication Error",
                    "type": "auth_error",
                    "param": "None",
                    "code": "401",
                }
            },
            200,
            "auth_failed",
        ),
        ({"error": {"message": "bad key", "type": "auth_error", "code": "401"}}, 401, "auth_failed"),
        ({"success": False, "message": "无效的令牌"}, 401, "auth_failed"),
        ({"code": "INVALID_API_KEY", "message": "Invalid API key"}, 401, "auth_failed"),
        ({"error": {"message": "upstream saturated", "type": "new_api_error"}}, 200, "bad_response"),
        ({"object": "list", "data": "nope"}, 200, "bad_response"),
        ({"models": [{"name": "models/gemini-2.5-flash"}]}, 200, "wrong_type"),
    ],
)
def test_error_variants(relay: Relay, body: dict[str, Any], status: int, expected: str) -> None:
    key = fake_key()
    relay.add_key(key)
    relay.add_route("GET", "/v1/models", lambda req: RelayResponse.json(body, status))
    result = fetch(cred_for(relay, key))
    assert result.status == expected, result.reason
    assert not result.ok and result.models == []
    assert key not in result.reason


def test_gemini_list_on_an_openai_only_relay_is_wrong_type(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key)
    relay.set_fault("wrong_type", serves=["openai"])
    result = fetch(cred_for(relay, key, "google"))
    assert result.status == "wrong_type"
    assert "--as openai-compatible" in result.reason


def test_as_type_override_reads_another_protocol(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key)
    result = fetch(cred_for(relay, key, "openai-compatible"), as_type="google")
    assert result.ok and result.tested_as == "google" and result.api_type == "openai-compatible"
    assert result.to_json()["override"] is True
    assert relay.log[-1].path == "/v1beta/models"


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from credlib.cli import cli as group
    from credlib.cli.errors import run_cli

    code = run_cli(group, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_models_command_table_json_and_failures(
    relay: Relay, encrypted_file: EncryptedFile, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = fake_key(), fake_key()
    relay.add_key(good, models=["gpt-4o-mini", "claude-sonnet-4-5"])
    path = encrypted_file(
        {
            "version": 1,
            "credentials": [
                {"name": "Good", "base_url": relay.url + "/v1", "api_key": good},
                {"name": "Bad", "base_url": relay.url, "api_key": bad, "api_type": "anthropic"},
            ],
        }
    )
    code, out, err = cli(capsys, "-f", str(path), "models", "good")
    assert code == 0, err
    assert "gpt-4o-mini" in out and "claude-sonnet-4-5" in out and "2 models from GET /v1/models" in out

    code, out, err = cli(capsys, "-f", str(path), "models", "Good", "--json", "--as", "anthropic")
    doc = json.loads(out)
    assert code == 0 and doc["format_version"] == 1
    (result,) = doc["results"]
    assert result["tested_as"] == "anthropic" and result["api_type"] == "openai-compatible"
    assert [m["id"] for m in result["models"]] == ["gpt-4o-mini", "claude-sonnet-4-5"]

    code, out, err = cli(capsys, "-f", str(path), "models", "Bad")
    assert code == 1 and "auth_failed" in err and bad not in out + err

    code, out, err = cli(capsys, "-f", str(path), "models", "Nobody")
    assert code == 8 and "no credential named" in err and "Traceback" not in err

    code, out, err = cli(capsys, "-f", str(path), "models", "Good", "--as", "cohere")
    assert code == 64 and "Traceback" not in err
