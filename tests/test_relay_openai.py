"""OpenAI-compatible routes of the relay: the shapes of research upstream-protocols §1, over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from credlib.relay import Relay
from tests.fixtures.env import fake_key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def chat_body(**extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "ping"}], **extra}


def sse_data_lines(text: str) -> list[str]:
    assert "event:" not in text  # chat streams carry no event names
    blocks = [b for b in text.split("\n\n") if b]
    assert all(b.startswith("data: ") for b in blocks), blocks
    return [b[len("data: ") :] for b in blocks]


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in (b for b in text.split("\n\n") if b):
        lines = block.split("\n")
        assert lines[0].startswith("event: ") and lines[1].startswith("data: "), block
        events.append((lines[0][len("event: ") :], json.loads(lines[1][len("data: ") :])))
    return events


GET_X = {
    "type": "function",
    "function": {
        "name": "get_x",
        "description": "x",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city", "days"],
        },
    },
}


def test_models_list_shape_and_alias(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key, models=["gpt-4o-mini", "o3-mini"])
    for path in ("/v1/models", "/models", "/v1beta/openai/models"):
        r = httpx.get(relay.url + path, headers=bearer(key))
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/json"
        body = r.json()
        assert body["object"] == "list"
        assert [m["id"] for m in body["data"]] == ["gpt-4o-mini", "o3-mini"]
        assert all(
            m["object"] == "model" and isinstance(m["created"], int) and m["owned_by"] for m in body["data"]
        )
    r = httpx.get(relay.url + "/v1/models/o3-mini", headers=bearer(key))
    assert r.json()["id"] == "o3-mini"
    assert httpx.get(relay.url + "/v1/models/nope", headers=bearer(key)).status_code == 404


def test_models_in_anthropic_format_when_anthropic_version_is_sent(relay: Relay, relay_key: str) -> None:
    r = httpx.get(
        relay.url + "/v1/models", headers={"x-api-key": relay_key, "anthropic-version": "2023-06-01"}
    )
    body = r.json()
    assert "object" not in body
    assert body["data"][0]["type"] == "model" and "display_name" in body["data"][0]
    assert body["has_more"] is False and body["first_id"] == "gpt-4o-mini"


def test_chat_completion_shape(relay: Relay, relay_key: str) -> None:
    r = httpx.post(
        relay.url + "/v1/chat/completions", json=chat_body(max_tokens=5), headers=bearer(relay_key)
    )
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    assert body["model"] == "gpt-4o-mini"
    choice = body["choices"][0]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop"
    assert choice["message"] == {"role": "assistant", "content": "OK", "refusal": None}
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert "x-request-id" in r.headers


def test_chat_max_tokens_cuts_the_reply(relay_factory: Callable[..., Relay]) -> None:
    relay = relay_factory(reply="one two three")
    key = fake_key()
    relay.add_key(key)
    r = httpx.post(relay.url + "/v1/chat/completions", json=chat_body(max_tokens=1), headers=bearer(key))
    choice = r.json()["choices"][0]
    assert choice["message"]["content"] == "one" and choice["finish_reason"] == "length"


def test_chat_stream_sequence_ends_with_done(relay: Relay, relay_key: str) -> None:
    body = chat_body(stream=True, stream_options={"include_usage": True})
    r = httpx.post(relay.url + "/v1/chat/completions", json=body, headers=bearer(relay_key))
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/event-stream"
    data = sse_data_lines(r.text)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert content == "OK"
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["total_tokens"] > 0
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert len({c["id"] for c in chunks}) == 1


def test_chat_forced_tool_call_plain_and_streamed(relay: Relay, relay_key: str) -> None:
    choice = {"type": "function", "function": {"name": "get_x"}}
    r = httpx.post(
        relay.url + "/v1/chat/completions",
        json=chat_body(tools=[GET_X], tool_choice=choice),
        headers=bearer(relay_key),
    )
    msg = r.json()["choices"][0]
    assert msg["finish_reason"] == "tool_calls"
    call = msg["message"]["tool_calls"][0]
    assert call["type"] == "function" and call["id"].startswith("call_")
    assert call["function"]["name"] == "get_x"
    assert set(json.loads(call["function"]["arguments"])) == {"city", "days"}

    r = httpx.post(
        relay.url + "/v1/chat/completions",
        json=chat_body(tools=[GET_X], tool_choice="required", stream=True),
        headers=bearer(relay_key),
    )
    chunks = [json.loads(d) for d in sse_data_lines(r.text)[:-1]]
    first = chunks[0]["choices"][0]["delta"]["tool_calls"][0]
    assert first["index"] == 0 and first["function"] == {"name": "get_x", "arguments": ""}
    args = "".join(
        tc["function"].get("arguments", "")
        for c in chunks
        for tc in c["choices"][0]["delta"].get("tool_calls", [])
    )
    assert json.loads(args)["days"] == 1
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_chat_without_forced_tool_answers_text(relay: Relay, relay_key: str) -> None:
    r = httpx.post(
        relay.url + "/v1/chat/completions", json=chat_body(tools=[GET_X]), headers=bearer(relay_key)
    )
    assert r.json()["choices"][0]["message"]["content"] == "OK"


def test_reasoning_model_rejects_max_tokens(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key, models=["o3-mini"])
    r = httpx.post(
        relay.url + "/v1/chat/completions", json=chat_body(model="o3-mini", max_tokens=1), headers=bearer(key)
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "unsupported_parameter"
    assert "max_completion_tokens" in r.json()["error"]["message"]
    r = httpx.post(
        relay.url + "/v1/chat/completions",
        json=chat_body(model="o3-mini", max_completion_tokens=1),
        headers=bearer(key),
    )
    assert r.status_code == 200


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/responses"])
def test_unknown_model_is_404_model_not_found(relay: Relay, relay_key: str, path: str) -> None:
    r = httpx.post(relay.url + path, json=chat_body(model="gpt-nope", input="x"), headers=bearer(relay_key))
    assert r.status_code == 404
    err = r.json()["error"]
    assert err["code"] == "model_not_found" and "gpt-nope" in err["message"]


def test_bad_json_and_missing_fields_are_400(relay: Relay, relay_key: str) -> None:
    r = httpx.post(relay.url + "/v1/chat/completions", content=b"{nope", headers=bearer(relay_key))
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    r = httpx.post(
        relay.url + "/v1/chat/completions", json={"model": "gpt-4o-mini"}, headers=bearer(relay_key)
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages"


def test_responses_plain_shape(relay: Relay, relay_key: str) -> None:
    body = {"model": "gpt-4o-mini", "input": "Say OK", "max_output_tokens": 16}
    r = httpx.post(relay.url + "/v1/responses", json=body, headers=bearer(relay_key))
    assert r.status_code == 200
    resp = r.json()
    assert resp["object"] == "response" and resp["id"].startswith("resp_") and resp["status"] == "completed"
    (item,) = resp["output"]
    assert item["type"] == "message" and item["role"] == "assistant"
    assert item["content"][0]["type"] == "output_text" and item["content"][0]["text"] == "OK"
    usage = resp["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert "cached_tokens" in usage["input_tokens_details"]
    assert "reasoning_tokens" in usage["output_tokens_details"]


def test_responses_rejects_small_max_output_tokens(relay: Relay, relay_key: str) -> None:
    body = {"model": "gpt-4o-mini", "input": "x", "max_output_tokens": 8}
    r = httpx.post(relay.url + "/v1/responses", json=body, headers=bearer(relay_key))
    assert r.status_code == 400 and r.json()["error"]["param"] == "max_output_tokens"


RESPONSES_TEXT_SEQUENCE = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


def test_responses_stream_sequence_as_codex_needs(relay: Relay, relay_key: str) -> None:
    # The body Codex sends (research §11.1): developer messages in input, store false, non-function tools.
    body = {
        "model": "gpt-4o-mini",
        "stream": True,
        "store": False,
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "reasoning": {"summary": "auto"},
        "include": ["reasoning.encrypted_content"],
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "be brief"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Reply with OK"}]},
        ],
        "tools": [
            {"type": "function", "name": "exec_command", "parameters": {"type": "object", "properties": {}}},
            {"type": "namespace", "name": "multi_agent_v1"},
            {"type": "web_search"},
        ],
    }
    r = httpx.post(relay.url + "/v1/responses", json=body, headers=bearer(relay_key))
    assert r.status_code == 200 and r.headers["content-type"] == "text/event-stream"
    assert "[DONE]" not in r.text
    events = sse_events(r.text)
    assert [name for name, _ in events] == RESPONSES_TEXT_SEQUENCE
    assert all(name == data["type"] for name, data in events)
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    deltas = "".join(d["delta"] for n, d in events if n == "response.output_text.delta")
    assert deltas == "OK"
    done_item = events[-2][1]["item"]
    assert done_item["type"] == "message" and done_item["content"][0]["text"] == "OK"
    completed = events[-1][1]["response"]
    assert completed["id"].startswith("resp_") and completed["status"] == "completed"
    assert completed["usage"]["output_tokens"] >= 1
    assert events[0][1]["response"]["id"] == completed["id"]


def test_responses_forced_function_call_stream(relay: Relay, relay_key: str) -> None:
    tool = {"type": "function", "name": "get_x", "parameters": GET_X["function"]["parameters"]}  # type: ignore[index]
    body = {
        "model": "gpt-4o-mini",
        "stream": True,
        "input": "x",
        "tools": [tool],
        "tool_choice": {"type": "function", "name": "get_x"},
    }
    events = sse_events(httpx.post(relay.url + "/v1/responses", json=body, headers=bearer(relay_key)).text)
    names = [n for n, _ in events]
    assert names[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert names[-3:] == [
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert "response.function_call_arguments.delta" in names
    item = events[-2][1]["item"]
    assert item["type"] == "function_call" and item["name"] == "get_x" and item["call_id"].startswith("call_")
    assert set(json.loads(item["arguments"])) == {"city", "days"}


def test_responses_alias_without_v1(relay: Relay, relay_key: str) -> None:
    r = httpx.post(
        relay.url + "/responses", json={"model": "gpt-4o-mini", "input": "x"}, headers=bearer(relay_key)
    )
    assert r.status_code == 200 and r.json()["object"] == "response"


def test_gemini_openai_compat_chat(relay: Relay, relay_key: str) -> None:
    r = httpx.post(
        relay.url + "/v1beta/openai/chat/completions",
        json=chat_body(model="gemini-2.5-flash"),
        headers=bearer(relay_key),
    )
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "OK"


def test_any_model_when_key_has_no_model_list(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key, models=None)
    r = httpx.post(
        relay.url + "/v1/chat/completions", json=chat_body(model="whatever-1"), headers=bearer(key)
    )
    assert r.status_code == 200 and r.json()["model"] == "whatever-1"


def test_disabled_key_is_401(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key, disabled=True)
    r = httpx.post(relay.url + "/v1/chat/completions", json=chat_body(), headers=bearer(key))
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    assert key not in r.text


def test_reasoning_model_streams_a_reasoning_item_first(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key, models=["gpt-5.1-codex"])
    body = {
        "model": "gpt-5.1-codex",
        "stream": True,
        "input": "x",
        "reasoning": {"summary": "auto"},
        "include": ["reasoning.encrypted_content"],
    }
    events = sse_events(httpx.post(relay.url + "/v1/responses", json=body, headers=bearer(key)).text)
    names = [n for n, _ in events]
    assert names[:8] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
    ]
    assert names[8] == "response.output_item.done" and names[-1] == "response.completed"
    reasoning = events[8][1]["item"]
    assert reasoning["type"] == "reasoning" and reasoning["id"].startswith("rs_")
    assert reasoning["summary"][0]["type"] == "summary_text" and reasoning["encrypted_content"]
    final = events[-1][1]["response"]
    assert [o["type"] for o in final["output"]] == ["reasoning", "message"]
    assert final["usage"]["output_tokens_details"]["reasoning_tokens"] > 0
    # A non-reasoning model ignores the reasoning request (as relays in front of it do).
    relay.add_key(key, models=["gpt-4o-mini"])
    plain = httpx.post(
        relay.url + "/v1/responses",
        json={**body, "model": "gpt-4o-mini", "stream": False},
        headers=bearer(key),
    ).json()
    assert [o["type"] for o in plain["output"]] == ["message"]


def test_responses_cut_by_max_output_tokens_is_incomplete(relay_factory: Callable[..., Relay]) -> None:
    relay = relay_factory(reply=" ".join(f"w{i}" for i in range(20)))
    key = fake_key()
    relay.add_key(key)
    body = {"model": "gpt-4o-mini", "input": "x", "max_output_tokens": 16}
    resp = httpx.post(relay.url + "/v1/responses", json=body, headers=bearer(key)).json()
    assert resp["status"] == "incomplete" and resp["incomplete_details"] == {"reason": "max_output_tokens"}
    assert len(resp["output"][0]["content"][0]["text"].split()) == 16
    events = sse_events(
        httpx.post(relay.url + "/v1/responses", json={**body, "stream": True}, headers=bearer(key)).text
    )
    assert events[-1][0] == "response.incomplete"
    assert all(name != "response.completed" for name, _ in events)
