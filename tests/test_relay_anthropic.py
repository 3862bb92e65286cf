"""Anthropic routes of the relay: Messages (plain, SSE, tools), count_tokens, models (research §5, §10)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from credlib.relay import Relay
from tests.fixtures.env import fake_key

CLAUDE_CODE_BETAS = (
    "claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14"
)


def anthropic_headers(key: str, style: str = "x-api-key") -> dict[str, str]:
    auth = {"x-api-key": key} if style == "x-api-key" else {"Authorization": f"Bearer {key}"}
    return {**auth, "anthropic-version": "2023-06-01"}


def message_body(**extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 32000,
        "messages": [{"role": "user", "content": "Reply with OK"}],
        **extra,
    }


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in (b for b in text.split("\n\n") if b):
        name_line, data_line = block.split("\n")
        assert name_line.startswith("event: ") and data_line.startswith("data: ")
        events.append((name_line[7:], json.loads(data_line[6:])))
    return events


PING_TOOL = {
    "name": "ping_tool",
    "description": "ping",
    "input_schema": {"type": "object", "properties": {"host": {"type": "string"}}, "required": ["host"]},
}


@pytest.mark.parametrize("style", ["x-api-key", "bearer"])
def test_message_plain_shape_with_both_auth_styles(relay: Relay, relay_key: str, style: str) -> None:
    r = httpx.post(
        relay.url + "/v1/messages?beta=true", json=message_body(), headers=anthropic_headers(relay_key, style)
    )
    assert r.status_code == 200
    msg = r.json()
    assert msg["type"] == "message" and msg["role"] == "assistant" and msg["id"].startswith("msg_")
    assert msg["content"] == [{"type": "text", "text": "OK"}]
    assert msg["stop_reason"] == "end_turn" and msg["stop_sequence"] is None
    assert set(msg["usage"]) >= {
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    }
    assert r.headers["request-id"].startswith("req_")
    assert relay.log[-1].query == {"beta": "true"}


def test_claude_code_shaped_stream(relay: Relay, relay_key: str) -> None:
    # What Claude Code 2.1 sends (research §10): beta flags, system array with cache_control, many tools,
    # max_tokens 32000, no tool_choice. The answer must be a complete text stream.
    body = message_body(
        stream=True,
        system=[{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}],
        tools=[{**PING_TOOL, "name": f"tool_{i}"} for i in range(24)],
        metadata={"user_id": "u"},
    )
    headers = {**anthropic_headers(relay_key, "bearer"), "anthropic-beta": CLAUDE_CODE_BETAS, "x-app": "cli"}
    r = httpx.post(relay.url + "/v1/messages?beta=true", json=body, headers=headers)
    assert r.status_code == 200 and r.headers["content-type"] == "text/event-stream"
    events = sse_events(r.text)
    assert [n for n, _ in events] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert all(n == d["type"] for n, d in events)
    start = events[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None and start["model"] == "claude-sonnet-4-5"
    assert events[1][1]["content_block"] == {"type": "text", "text": ""}
    text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta")
    assert text == "OK"
    assert events[-2][1]["delta"]["stop_reason"] == "end_turn"
    assert events[-2][1]["usage"]["output_tokens"] >= 1
    assert relay.log[-1].headers["anthropic-beta"] == CLAUDE_CODE_BETAS


def test_forced_tool_use_plain_and_streamed(relay: Relay, relay_key: str) -> None:
    choice = {"type": "tool", "name": "ping_tool"}
    r = httpx.post(
        relay.url + "/v1/messages",
        json=message_body(max_tokens=8, tools=[PING_TOOL], tool_choice=choice),
        headers=anthropic_headers(relay_key),
    )
    msg = r.json()
    assert msg["stop_reason"] == "tool_use"
    (block,) = msg["content"]
    assert block["type"] == "tool_use" and block["name"] == "ping_tool" and block["id"].startswith("toolu_")
    assert block["input"] == {"host": "x"}

    r = httpx.post(
        relay.url + "/v1/messages",
        json=message_body(stream=True, tools=[PING_TOOL], tool_choice={"type": "any"}),
        headers=anthropic_headers(relay_key),
    )
    events = sse_events(r.text)
    opening = events[1][1]["content_block"]
    assert opening["type"] == "tool_use" and opening["input"] == {}
    partial = "".join(d["delta"]["partial_json"] for n, d in events if n == "content_block_delta")
    assert all(d["delta"]["type"] == "input_json_delta" for n, d in events if n == "content_block_delta")
    assert json.loads(partial) == {"host": "x"}
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"
    assert events[-1][0] == "message_stop"


def test_tool_result_turn_answers_text(relay: Relay, relay_key: str) -> None:
    messages = [
        {"role": "user", "content": "ping it"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "ping_tool", "input": {"host": "x"}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "pong"}]},
    ]
    r = httpx.post(
        relay.url + "/v1/messages",
        json=message_body(messages=messages, tools=[PING_TOOL]),
        headers=anthropic_headers(relay_key),
    )
    assert r.json()["content"][0]["type"] == "text"


def test_max_tokens_stop_reason(relay_factory: Callable[..., Relay]) -> None:
    relay = relay_factory(reply="one two")
    key = fake_key()
    relay.add_key(key)
    r = httpx.post(
        relay.url + "/v1/messages", json=message_body(max_tokens=1), headers=anthropic_headers(key)
    )
    msg = r.json()
    assert msg["stop_reason"] == "max_tokens" and msg["content"][0]["text"] == "one"


def test_errors_use_the_anthropic_envelope(relay: Relay, relay_key: str) -> None:
    r = httpx.post(relay.url + "/v1/messages", json=message_body(), headers=anthropic_headers(fake_key()))
    assert r.status_code == 401
    body = r.json()
    assert body["type"] == "error" and body["error"]["type"] == "authentication_error"
    assert body["request_id"] == r.headers["request-id"]

    no_max = message_body()
    del no_max["max_tokens"]
    r = httpx.post(relay.url + "/v1/messages", json=no_max, headers=anthropic_headers(relay_key))
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"

    r = httpx.post(
        relay.url + "/v1/messages",
        json=message_body(model="claude-nope"),
        headers=anthropic_headers(relay_key),
    )
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found_error"


def test_count_tokens(relay: Relay, relay_key: str) -> None:
    body = {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "x" * 400}]}
    r = httpx.post(relay.url + "/v1/messages/count_tokens", json=body, headers=anthropic_headers(relay_key))
    assert r.status_code == 200
    assert r.json() == {"input_tokens": r.json()["input_tokens"]}
    assert r.json()["input_tokens"] >= 100


def test_models_paginated(relay: Relay) -> None:
    key = fake_key()
    models = ["claude-opus-4-1", "claude-sonnet-4-5", "claude-haiku-4-5"]
    relay.add_key(key, models=models)
    url = relay.url + "/v1/models"
    page = httpx.get(url, params={"limit": 2}, headers=anthropic_headers(key)).json()
    assert [m["id"] for m in page["data"]] == models[:2]
    assert page["has_more"] is True and page["first_id"] == models[0] and page["last_id"] == models[1]
    assert all(m["type"] == "model" and m["created_at"].endswith("Z") for m in page["data"])
    nxt = httpx.get(
        url, params={"limit": 2, "after_id": page["last_id"]}, headers=anthropic_headers(key)
    ).json()
    assert [m["id"] for m in nxt["data"]] == models[2:] and nxt["has_more"] is False
    before = httpx.get(url, params={"before_id": models[2]}, headers=anthropic_headers(key)).json()
    assert [m["id"] for m in before["data"]] == models[:2]
    bad = httpx.get(url, params={"limit": 0}, headers=anthropic_headers(key))
    assert bad.status_code == 400 and bad.json()["type"] == "error"
    one = httpx.get(url + "/claude-haiku-4-5", headers=anthropic_headers(key)).json()
    assert one["type"] == "model" and one["id"] == "claude-haiku-4-5"


def test_extended_thinking_block_precedes_the_answer(relay: Relay, relay_key: str) -> None:
    # Claude Code 2.1 asks for thinking with budget max_tokens - 1 (research §10 traffic).
    body = message_body(stream=True, thinking={"type": "enabled", "budget_tokens": 31999})
    r = httpx.post(relay.url + "/v1/messages?beta=true", json=body, headers=anthropic_headers(relay_key))
    events = sse_events(r.text)
    starts = [d["content_block"] for n, d in events if n == "content_block_start"]
    assert [b["type"] for b in starts] == ["thinking", "text"]
    deltas = [d["delta"] for n, d in events if n == "content_block_delta" and d["index"] == 0]
    assert {d["type"] for d in deltas} == {"thinking_delta", "signature_delta"}
    assert deltas[-1]["type"] == "signature_delta" and deltas[-1]["signature"]
    text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta" and d["index"] == 1)
    assert text == "OK"
    plain = httpx.post(
        relay.url + "/v1/messages",
        json=message_body(thinking={"type": "enabled", "budget_tokens": 1024}),
        headers=anthropic_headers(relay_key),
    ).json()
    assert [b["type"] for b in plain["content"]] == ["thinking", "text"]


def test_thinking_constraints_of_the_api(relay: Relay, relay_key: str) -> None:
    r = httpx.post(
        relay.url + "/v1/messages",
        json=message_body(max_tokens=1024, thinking={"type": "enabled", "budget_tokens": 1024}),
        headers=anthropic_headers(relay_key),
    )
    assert r.status_code == 400 and "budget_tokens" in r.json()["error"]["message"]
    r = httpx.post(
        relay.url + "/v1/messages",
        json=message_body(
            thinking={"type": "enabled", "budget_tokens": 1024},
            tools=[PING_TOOL],
            tool_choice={"type": "any"},
        ),
        headers=anthropic_headers(relay_key),
    )
    assert r.status_code == 400 and "tool_choice" in r.json()["error"]["message"]
