"""Gemini routes of the relay: models, generateContent, SSE and array streams, tools, errors (research §6)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from credlib.relay import Relay
from tests.fixtures.env import fake_key


def goog(key: str) -> dict[str, str]:
    return {"x-goog-api-key": key}


def gen_body(**extra: Any) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": "Reply with OK"}]}], **extra}


GET_X = {
    "functionDeclarations": [
        {
            "name": "get_x",
            "description": "x",
            "parameters": {"type": "OBJECT", "properties": {"n": {"type": "INTEGER"}}, "required": ["n"]},
        },
        {"name": "other", "parameters": {"type": "OBJECT", "properties": {}}},
    ]
}


def test_models_paginated_with_prefix(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key, models=["gemini-2.5-flash", "gemini-2.5-pro", "text-embedding-004"])
    url = relay.url + "/v1beta/models"
    page = httpx.get(url, params={"pageSize": 2}, headers=goog(key)).json()
    assert [m["name"] for m in page["models"]] == ["models/gemini-2.5-flash", "models/gemini-2.5-pro"]
    assert "generateContent" in page["models"][0]["supportedGenerationMethods"]
    token = page["nextPageToken"]
    rest = httpx.get(url, params={"pageSize": 2, "pageToken": token}, headers=goog(key)).json()
    assert [m["name"] for m in rest["models"]] == ["models/text-embedding-004"]
    assert rest["models"][0]["supportedGenerationMethods"] == ["embedContent"]
    assert "nextPageToken" not in rest
    one = httpx.get(url + "/gemini-2.5-pro", params={"key": key}).json()
    assert one["name"] == "models/gemini-2.5-pro" and one["inputTokenLimit"] > 0


def test_generate_content_shape_with_query_key(relay: Relay, relay_key: str) -> None:
    r = httpx.post(
        relay.url + "/v1beta/models/gemini-2.5-flash:generateContent",
        params={"key": relay_key},
        json=gen_body(generationConfig={"maxOutputTokens": 8, "thinkingConfig": {"thinkingBudget": 0}}),
    )
    assert r.status_code == 200
    body = r.json()
    cand = body["candidates"][0]
    assert cand["content"] == {"role": "model", "parts": [{"text": "OK"}]}
    assert cand["finishReason"] == "STOP" and cand["index"] == 0
    usage = body["usageMetadata"]
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["candidatesTokenCount"]
    assert body["modelVersion"] == "gemini-2.5-flash" and body["responseId"]
    assert relay.log[-1].key == relay_key


def test_stream_sse_as_gemini_cli_reads_it(relay: Relay, relay_key: str) -> None:
    body = gen_body(
        systemInstruction={"parts": [{"text": "be brief"}]},
        tools=[GET_X],
        generationConfig={
            "temperature": 1,
            "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 8192},
        },
    )
    r = httpx.post(
        relay.url + "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        params={"alt": "sse"},
        json=body,
        headers=goog(relay_key),
    )
    assert r.status_code == 200 and r.headers["content-type"] == "text/event-stream"
    assert r.text.endswith("\r\n\r\n") and "event:" not in r.text and "[DONE]" not in r.text
    blocks = [b for b in r.text.split("\r\n\r\n") if b]
    chunks = [json.loads(b.removeprefix("data: ")) for b in blocks]
    assert all(b.startswith("data: ") for b in blocks)
    parts = [p for c in chunks for p in c["candidates"][0]["content"]["parts"]]
    # includeThoughts on a thinking model: a thought part comes first, then the answer.
    assert parts[0]["thought"] is True and parts[0]["text"]
    assert "".join(p.get("text", "") for p in parts if not p.get("thought")) == "OK"
    assert "finishReason" not in chunks[0]["candidates"][0]
    assert chunks[-1]["usageMetadata"]["thoughtsTokenCount"] > 0
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert chunks[-1]["usageMetadata"]["totalTokenCount"] > 0


def test_no_thoughts_without_include_thoughts_or_with_zero_budget(relay: Relay, relay_key: str) -> None:
    url = relay.url + "/v1beta/models/gemini-2.5-flash:generateContent"
    for config in ({}, {"thinkingConfig": {"includeThoughts": True, "thinkingBudget": 0}}):
        body = httpx.post(url, json=gen_body(generationConfig=config), headers=goog(relay_key)).json()
        assert body["candidates"][0]["content"]["parts"] == [{"text": "OK"}]
        assert "thoughtsTokenCount" not in body["usageMetadata"]


def test_stream_without_alt_is_one_json_array(relay: Relay, relay_key: str) -> None:
    r = httpx.post(
        relay.url + "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        json=gen_body(),
        headers=goog(relay_key),
    )
    assert r.headers["content-type"] == "application/json"
    arr = json.loads(r.text)
    assert isinstance(arr, list) and arr[-1]["candidates"][0]["finishReason"] == "STOP"


def test_function_calling_mode_any(relay: Relay, relay_key: str) -> None:
    config = {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_x"]}}
    r = httpx.post(
        relay.url + "/v1beta/models/gemini-2.5-flash:generateContent",
        json=gen_body(tools=[GET_X], toolConfig=config),
        headers=goog(relay_key),
    )
    assert r.status_code == 200
    part = r.json()["candidates"][0]["content"]["parts"][0]
    assert part == {"functionCall": {"name": "get_x", "args": {"n": 1}}}
    r = httpx.post(
        relay.url + "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        json=gen_body(tools=[GET_X], toolConfig=config),
        headers=goog(relay_key),
    )
    last = json.loads(r.text.strip().split("\r\n\r\n")[-1].removeprefix("data: "))
    assert last["candidates"][0]["content"]["parts"][0]["functionCall"]["name"] == "get_x"


def test_count_tokens(relay: Relay, relay_key: str) -> None:
    r = httpx.post(
        relay.url + "/v1beta/models/gemini-2.5-flash:countTokens", json=gen_body(), headers=goog(relay_key)
    )
    assert r.status_code == 200 and r.json()["totalTokens"] >= 1


def test_errors_use_the_google_envelope(relay: Relay, relay_key: str) -> None:
    url = relay.url + "/v1beta/models/gemini-2.5-flash:generateContent"
    r = httpx.post(url, json=gen_body(), headers=goog(fake_key()))
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == 400 and err["status"] == "INVALID_ARGUMENT"
    assert err["details"][0]["reason"] == "API_KEY_INVALID"
    r = httpx.post(url, json=gen_body())
    assert r.status_code == 403 and r.json()["error"]["status"] == "PERMISSION_DENIED"
    r = httpx.post(
        relay.url + "/v1beta/models/gemini-nope:generateContent", json=gen_body(), headers=goog(relay_key)
    )
    assert r.status_code == 404 and r.json()["error"]["status"] == "NOT_FOUND"
    assert "models/gemini-nope is not found" in r.json()["error"]["message"]
    r = httpx.post(url, json={"contents": []}, headers=goog(relay_key))
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_max_output_tokens_finish_reason(relay: Relay, relay_key: str) -> None:
    relay.reply = "one two three"
    r = httpx.post(
        relay.url + "/v1beta/models/gemini-2.5-flash:generateContent",
        json=gen_body(generationConfig={"maxOutputTokens": 2}),
        headers=goog(relay_key),
    )
    cand = r.json()["candidates"][0]
    assert cand["finishReason"] == "MAX_TOKENS" and cand["content"]["parts"][0]["text"] == "one two"


def test_v1_api_version_paths_as_newer_sdks_use(relay: Relay, relay_key: str) -> None:
    r = httpx.post(
        relay.url + "/v1/models/gemini-2.5-flash:generateContent", json=gen_body(), headers=goog(relay_key)
    )
    assert r.status_code == 200 and r.json()["candidates"][0]["content"]["parts"] == [{"text": "OK"}]
    r = httpx.post(
        relay.url + "/v1/models/gemini-2.5-flash:generateContent", json=gen_body(), headers=goog("bad")
    )
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_shared_models_route_answers_in_the_callers_family(relay: Relay, relay_key: str) -> None:
    gem = httpx.get(relay.url + "/v1/models", headers=goog(relay_key)).json()
    assert gem["models"][0]["name"].startswith("models/")
    assert "models" in httpx.get(relay.url + "/v1/models", params={"key": relay_key}).json()
    one = httpx.get(relay.url + "/v1/models/gemini-2.5-flash", headers=goog(relay_key)).json()
    assert one["name"] == "models/gemini-2.5-flash"
    openai = httpx.get(relay.url + "/v1/models", headers={"Authorization": f"Bearer {relay_key}"}).json()
    assert openai["object"] == "list"
    relay.set_fault("wrong_type", serves=["openai"])
    assert httpx.get(relay.url + "/v1/models", headers=goog(relay_key)).json()["object"] == "list"
