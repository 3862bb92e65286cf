"""Every fault of the relay produces its effect, scoped by path, key and count, and nothing hangs."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from credlib.relay import FAULT_KINDS, Relay
from tests.fixtures.env import fake_key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "ping"}]}
MSG = {"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "ping"}]}
GEN = {"contents": [{"role": "user", "parts": [{"text": "ping"}]}]}
TOOL_OPENAI = {
    "type": "function",
    "function": {"name": "f", "parameters": {"type": "object", "properties": {}}},
}
TOOL_ANTHROPIC = {"name": "f", "input_schema": {"type": "object", "properties": {}}}
TOOL_GEMINI = {"functionDeclarations": [{"name": "f", "parameters": {"type": "OBJECT", "properties": {}}}]}


def call(relay: Relay, key: str, family: str, **extra: Any) -> httpx.Response:
    """One generation request in ``family``'s protocol, with that family's auth header."""
    if family == "openai":
        return httpx.post(relay.url + "/v1/chat/completions", json={**CHAT, **extra}, headers=bearer(key))
    if family == "anthropic":
        return httpx.post(
            relay.url + "/v1/messages?beta=true",
            json={**MSG, **extra},
            headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
        )
    return httpx.post(
        relay.url + "/v1beta/models/gemini-2.5-flash:generateContent",
        json={**GEN, **extra},
        headers={"x-goog-api-key": key},
    )


@pytest.mark.parametrize("status", [401, 403, 404, 429, 500, 502, 503, 529])
@pytest.mark.parametrize("family", ["openai", "anthropic", "gemini"])
def test_status_fault_in_each_family_envelope(relay: Relay, relay_key: str, status: int, family: str) -> None:
    relay.set_fault("status", status=status)
    r = call(relay, relay_key, family)
    assert r.status_code == status
    body = r.json()
    if family == "openai":
        assert isinstance(body["error"]["message"], str) and "type" in body["error"]
    elif family == "anthropic":
        assert body["type"] == "error" and body["error"]["type"]
        if status == 529:
            assert body["error"]["type"] == "overloaded_error"
    else:
        assert body["error"]["code"] == status and body["error"]["status"]


def test_429_retry_after_seconds_date_and_ms(relay: Relay, relay_key: str) -> None:
    relay.set_fault("status", path="/v1/chat/completions", status=429, retry_after=2, times=1)
    r = call(relay, relay_key, "openai")
    assert r.status_code == 429 and r.headers["retry-after"] == "2"
    err = r.json()["error"]
    assert err["code"] == "rate_limit_exceeded" and "try again in 2s" in err["message"]
    assert call(relay, relay_key, "openai").status_code == 200  # times=1: the next one passes

    relay.set_fault("status", status=429, retry_after=30, retry_after_date=True, times=1)
    r = call(relay, relay_key, "anthropic")
    when = email.utils.parsedate_to_datetime(r.headers["retry-after"]).timestamp()
    assert 25 <= when - time.time() <= 35
    assert r.json()["error"]["type"] == "rate_limit_error"

    relay.set_fault("status", status=429, retry_after_ms=1500, times=1)
    r = call(relay, relay_key, "openai")
    assert r.headers["retry-after-ms"] == "1500" and "retry-after" not in r.headers


def test_gemini_429_carries_retry_info_not_header(relay: Relay, relay_key: str) -> None:
    relay.set_fault("status", status=429, retry_after=37)
    r = call(relay, relay_key, "gemini")
    assert r.status_code == 429 and "retry-after" not in r.headers
    details = r.json()["error"]["details"]
    retry = [d for d in details if d["@type"].endswith("google.rpc.RetryInfo")]
    assert retry == [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}]
    assert r.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    # Google's per-minute quota answer: a per-minute QuotaFailure, which clients may retry.
    assert quota_ids(details) == ["GenerateRequestsPerMinutePerProjectPerModel-FreeTier"]


def quota_ids(details: list[dict[str, Any]]) -> list[str]:
    return [
        v["quotaId"]
        for d in details
        if d["@type"].endswith("google.rpc.QuotaFailure")
        for v in d["violations"]
    ]


def test_insufficient_quota_per_family(relay: Relay, relay_key: str) -> None:
    relay.set_fault("insufficient_quota")
    r = call(relay, relay_key, "openai")
    assert r.status_code == 429
    assert (
        r.json()["error"]["type"] == "insufficient_quota"
        and r.json()["error"]["code"] == "insufficient_quota"
    )
    r = call(relay, relay_key, "anthropic")
    assert r.status_code == 402 and r.json()["error"]["type"] == "billing_error"
    r = call(relay, relay_key, "gemini")
    assert r.status_code == 429
    details = r.json()["error"]["details"]
    assert quota_ids(details) == ["GenerateRequestsPerDayPerProjectPerModel-FreeTier"]
    # Google attaches a RetryInfo even to a daily quota (waiting seconds cannot help).
    assert any(d["@type"].endswith("google.rpc.RetryInfo") for d in details)


def test_delay_fault_slows_the_answer(relay: Relay, relay_key: str) -> None:
    relay.set_fault("delay", path="/v1/models", seconds=1.0)
    t0 = time.monotonic()
    assert httpx.get(relay.url + "/v1/models", headers=bearer(relay_key)).status_code == 200
    assert time.monotonic() - t0 >= 1.0
    t0 = time.monotonic()
    call(relay, relay_key, "openai")
    assert time.monotonic() - t0 < 1.0  # other paths unaffected


def test_timeout_fault_never_answers_and_frees_the_thread(relay: Relay, relay_key: str) -> None:
    relay.set_fault("timeout", path="/v1/chat/completions")
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(relay.url + "/v1/chat/completions", json=CHAT, headers=bearer(relay_key), timeout=0.3)
    # The relay notices the client hung up and logs the request without a status.
    (entry,) = relay.wait_for(1, timeout_s=2)
    assert entry.status == 0 and entry.t_end - entry.t_start < 2


def test_timeout_fault_is_bounded(relay: Relay, relay_key: str) -> None:
    relay.set_fault("timeout", seconds=0.3)
    t0 = time.monotonic()
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(relay.url + "/v1/models", headers=bearer(relay_key), timeout=5)
    assert time.monotonic() - t0 < 2


def test_drop_fault_closes_without_answer(relay: Relay, relay_key: str) -> None:
    relay.set_fault("drop", path="/v1/models")
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(relay.url + "/v1/models", headers=bearer(relay_key), timeout=5)


@pytest.mark.parametrize(
    ("path", "payload", "complete_marker"),
    [
        ("/v1/chat/completions", {**CHAT, "stream": True}, b"[DONE]"),
        ("/v1/messages", {**MSG, "stream": True}, b"message_stop"),
        ("/v1/responses", {"model": "gpt-4o-mini", "input": "x", "stream": True}, b"response.completed"),
        ("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", GEN, b"finishReason"),
    ],
)
def test_truncate_stream_closes_mid_sse(
    relay: Relay, relay_key: str, path: str, payload: dict[str, Any], complete_marker: bytes
) -> None:
    relay.set_fault("truncate_stream", after_chunks=1)
    headers = {
        "x-goog-api-key" if "v1beta" in path else "x-api-key": relay_key,
        "anthropic-version": "2023-06-01",
    }
    received = b""
    with (
        pytest.raises(httpx.RemoteProtocolError),
        httpx.stream("POST", relay.url + path, json=payload, headers=headers, timeout=5) as r,
    ):
        assert r.status_code == 200 and r.headers["content-type"] == "text/event-stream"
        for part in r.iter_raw():
            received += part
    assert received.count(b"data: ") == 1
    assert complete_marker not in received


def test_truncate_plain_body(relay: Relay, relay_key: str) -> None:
    relay.set_fault("truncate_stream", path="/v1/models")
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(relay.url + "/v1/models", headers=bearer(relay_key), timeout=5)


@pytest.mark.parametrize(
    ("family", "tools"),
    [("openai", [TOOL_OPENAI]), ("anthropic", [TOOL_ANTHROPIC]), ("gemini", [TOOL_GEMINI])],
)
def test_no_tools_rejects_and_strips(relay: Relay, relay_key: str, family: str, tools: list[Any]) -> None:
    relay.set_fault("no_tools")
    assert call(relay, relay_key, family, tools=tools).status_code == 400
    assert call(relay, relay_key, family).status_code == 200  # no tools, no problem
    relay.clear_faults()
    relay.set_fault("no_tools", mode="strip")
    forced: dict[str, Any] = {
        "openai": {"tool_choice": "required"},
        "anthropic": {"tool_choice": {"type": "any"}},
        "gemini": {"toolConfig": {"functionCallingConfig": {"mode": "ANY"}}},
    }[family]
    r = call(relay, relay_key, family, tools=tools, **forced)
    assert r.status_code == 200
    assert "tool_calls" not in r.text and "tool_use" not in r.text and "functionCall" not in r.text


def test_no_stream_answers_json(relay: Relay, relay_key: str) -> None:
    relay.set_fault("no_stream")
    r = call(relay, relay_key, "anthropic", stream=True)
    assert r.headers["content-type"] == "application/json" and r.json()["type"] == "message"


def test_reject_beta(relay: Relay, relay_key: str) -> None:
    relay.set_fault("reject_beta", allowed=["prompt-caching-2024-07-31"])
    headers = {"x-api-key": relay_key, "anthropic-version": "2023-06-01"}
    url = relay.url + "/v1/messages?beta=true"
    r = httpx.post(
        url, json=MSG, headers={**headers, "anthropic-beta": "claude-code-20250219,prompt-caching-2024-07-31"}
    )
    assert r.status_code == 400
    assert (
        "anthropic-beta" in r.json()["error"]["message"]
        and "claude-code-20250219" in r.json()["error"]["message"]
    )
    assert httpx.post(
        url, json=MSG, headers={**headers, "anthropic-beta": "prompt-caching-2024-07-31"}
    ).is_success
    assert httpx.post(url, json=MSG, headers=headers).is_success


def test_missing_responses(relay: Relay, relay_key: str) -> None:
    relay.set_fault("missing_responses")
    r = httpx.post(
        relay.url + "/v1/responses", json={"model": "gpt-4o-mini", "input": "x"}, headers=bearer(relay_key)
    )
    assert r.status_code == 404 and r.json()["error"]["message"] == "Invalid URL (POST /v1/responses)"
    assert call(relay, relay_key, "openai").status_code == 200


def test_wrong_type_openai_only(relay: Relay, relay_key: str) -> None:
    relay.set_fault("wrong_type", serves=["openai"])
    assert call(relay, relay_key, "anthropic").status_code == 404
    assert call(relay, relay_key, "gemini").status_code == 404
    assert call(relay, relay_key, "openai").status_code == 200
    r = httpx.get(
        relay.url + "/v1/models", headers={"x-api-key": relay_key, "anthropic-version": "2023-06-01"}
    )
    assert r.status_code == 200 and r.json()["object"] == "list"  # OpenAI format even when asked as Anthropic


def test_wrong_type_anthropic_only(relay: Relay, relay_key: str) -> None:
    relay.set_fault("wrong_type", serves=["anthropic"])
    assert call(relay, relay_key, "openai").status_code == 404
    assert call(relay, relay_key, "anthropic").status_code == 200
    assert "has_more" in httpx.get(relay.url + "/v1/models", headers=bearer(relay_key)).json()


def test_auth_only_one_style(relay: Relay, relay_key: str) -> None:
    relay.set_fault("auth_only", styles=["bearer"])
    r = call(relay, relay_key, "anthropic")  # x-api-key
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    r = httpx.post(
        relay.url + "/v1/messages",
        json=MSG,
        headers={**bearer(relay_key), "anthropic-version": "2023-06-01"},
    )
    assert r.status_code == 200


def test_max_tokens_limit(relay: Relay, relay_key: str) -> None:
    relay.set_fault("max_tokens_limit", limit=8192)
    r = call(relay, relay_key, "anthropic", max_tokens=32000)
    assert r.status_code == 400 and "32000 > 8192" in r.json()["error"]["message"]
    assert call(relay, relay_key, "anthropic", max_tokens=8).status_code == 200


def test_require_version(relay: Relay, relay_key: str) -> None:
    relay.set_fault("require_version")
    r = httpx.post(relay.url + "/v1/messages", json=MSG, headers={"x-api-key": relay_key})
    assert r.status_code == 400 and "anthropic-version" in r.json()["error"]["message"]
    assert call(relay, relay_key, "anthropic").status_code == 200


@pytest.mark.parametrize("status", [200, 502])
def test_html_page(relay: Relay, relay_key: str, status: int) -> None:
    relay.set_fault("html", status=status)
    r = httpx.get(relay.url + "/api/usage/token/", headers=bearer(relay_key))
    assert r.status_code == status and r.headers["content-type"].startswith("text/html")
    assert r.text.lstrip().lower().startswith(("<html", "<!doctype html"))
    with pytest.raises(json.JSONDecodeError):
        r.json()


@pytest.mark.parametrize("chunked", [False, True])
def test_oversized_body(relay: Relay, relay_key: str, chunked: bool) -> None:
    relay.set_fault("oversized", size=10 * 1024 * 1024, chunked=chunked)
    r = httpx.get(relay.url + "/v1/models", headers=bearer(relay_key), timeout=10)
    assert len(r.content) == 10 * 1024 * 1024
    assert ("content-length" in r.headers) is (not chunked)


def test_oversized_client_may_hang_up_early(relay: Relay, relay_key: str) -> None:
    relay.set_fault("oversized", path="/v1/models", times=1)
    with httpx.stream("GET", relay.url + "/v1/models", headers=bearer(relay_key)) as r:
        first = next(r.iter_raw(1024))
        assert first.startswith(b'{"object":"list"')
    assert httpx.get(relay.url + "/v1/models", headers=bearer(relay_key)).status_code == 200


def test_redirect_to_another_loopback_origin(relay_factory: Callable[..., Relay]) -> None:
    a, b = relay_factory(name="a"), relay_factory(name="b")
    key = fake_key()
    a.add_key(key)
    b.add_key(key)
    a.set_fault("redirect", to=b.url)
    r = httpx.get(a.url + "/v1/models", params={"x": "1"}, headers=bearer(key))
    assert r.status_code == 307 and r.headers["location"] == b.url + "/v1/models?x=1"
    r = httpx.get(a.url + "/v1/models", headers=bearer(key), follow_redirects=True)
    assert r.status_code == 401  # httpx drops Authorization across origins, so b sees no key
    assert b.log[-1].key is None
    with pytest.raises(ValueError):
        a.set_fault("redirect")
    with pytest.raises(ValueError, match="loopback"):
        a.set_fault("redirect", to="http://example.com")


@pytest.mark.parametrize("family", ["openai", "anthropic", "gemini"])
def test_error_200(relay: Relay, relay_key: str, family: str) -> None:
    relay.set_fault("error_200", message="upstream saturated")
    r = call(relay, relay_key, family)
    assert r.status_code == 200
    body = r.json()
    assert "error" in body
    assert "upstream saturated" in json.dumps(body, ensure_ascii=False)


def test_fault_scoping_by_key_path_and_times(relay: Relay, relay_key: str) -> None:
    other = fake_key()
    relay.add_key(other)
    relay.set_fault("status", status=401, key=relay_key)
    assert call(relay, relay_key, "openai").status_code == 401
    assert call(relay, other, "openai").status_code == 200
    relay.clear_faults()
    relay.set_fault("status", status=503, path="/v1/messages", times=2)
    assert [call(relay, relay_key, "anthropic").status_code for _ in range(3)] == [503, 503, 200]
    assert call(relay, relay_key, "openai").status_code == 200
    assert relay.faults == []  # used-up faults disappear


def test_unknown_fault_kind_is_rejected(relay: Relay) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        relay.set_fault("explode")
    assert "timeout" in FAULT_KINDS and "truncate_stream" in FAULT_KINDS


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("status", {"status": "not-a-number"}),
        ("delay", {"seconds": "1"}),
        ("auth_only", {"styles": ["cookie"]}),
        ("wrong_type", {"serves": ["cohere"]}),
        ("no_tools", {"mode": "maybe"}),
        ("redirect", {"to": "https://127.0.0.1:1"}),
    ],
)
def test_fault_params_are_checked_when_set(relay: Relay, kind: str, params: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=kind):
        relay.set_fault(kind, **params)
    assert relay.faults == []


def test_stream_error_in_each_dialect(relay: Relay, relay_key: str) -> None:
    relay.set_fault("stream_error", after_chunks=1, code="rate_limit_exceeded", message="try again in 2s")
    r = call(relay, relay_key, "anthropic", stream=True)
    assert r.status_code == 200
    assert r.text.startswith("event: message_start")
    assert r.text.endswith(
        'event: error\ndata: {"type":"error","error":{"type":"overloaded_error",'
        '"message":"try again in 2s"}}\n\n'
    )
    r = call(relay, relay_key, "openai", stream=True)
    last = r.text.strip().split("\n\n")[-1]
    assert json.loads(last.removeprefix("data: "))["error"]["code"] == "rate_limit_exceeded"
    assert "[DONE]" not in r.text
    r = httpx.post(
        relay.url + "/v1/responses",
        json={"model": "gpt-4o-mini", "input": "x", "stream": True},
        headers=bearer(relay_key),
    )
    names = [b.split("\n")[0] for b in r.text.strip().split("\n\n")]
    assert names == ["event: response.created", "event: response.failed"]
    failed = json.loads(r.text.strip().split("\n\n")[-1].split("\n")[1].removeprefix("data: "))
    assert failed["response"]["error"] == {"code": "rate_limit_exceeded", "message": "try again in 2s"}
    assert "response.completed" not in r.text
    r = httpx.post(
        relay.url + "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        json=GEN,
        headers={"x-goog-api-key": relay_key},
    )
    last = r.text.strip().split("\r\n\r\n")[-1]
    assert json.loads(last.removeprefix("data: "))["error"]["status"] == "UNAVAILABLE"
    # A non-streamed answer is unaffected.
    assert call(relay, relay_key, "openai").json()["choices"][0]["message"]["content"] == "OK"


def test_auth_only_accepts_an_allowed_style_next_to_another(relay: Relay, relay_key: str) -> None:
    # Gemini CLI with GEMINI_API_KEY_AUTH_MECHANISM=bearer sends Bearer *and* x-goog-api-key.
    relay.set_fault("auth_only", styles=["x-goog-api-key"])
    both = {"x-goog-api-key": relay_key, **bearer(relay_key)}
    url = relay.url + "/v1beta/models/gemini-2.5-flash:generateContent"
    assert httpx.post(url, json=GEN, headers=both).status_code == 200
    r = httpx.post(url, json=GEN, headers=bearer(relay_key))
    assert r.status_code == 403 and r.json()["error"]["status"] == "PERMISSION_DENIED"
