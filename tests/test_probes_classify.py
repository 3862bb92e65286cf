"""Pure pieces of the probes: error envelopes, status mapping, list shapes, SSE parsing, URL roots."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credlib.probes import endpoints
from credlib.probes.classify import (
    STATUSES,
    ErrorInfo,
    failure_of,
    one_line,
    parse_error,
    status_for_http,
    worst,
)
from credlib.probes.http import Outcome
from credlib.probes.shapes import anthropic_models, gemini_models, list_shape_of, openai_models, parse_sse
from credlib.redact import Scrubber


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"error": {"message": "m", "type": "t", "param": None, "code": "invalid_api_key"}},
            ErrorInfo("m", "t", "invalid_api_key"),
        ),
        ({"error": {"message": "m", "type": "auth_error", "code": 401}}, ErrorInfo("m", "auth_error", "401")),
        (
            {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}},
            ErrorInfo("invalid x-api-key", "authentication_error", ""),
        ),
        (
            {
                "error": {
                    "code": 400,
                    "message": "API key not valid.",
                    "status": "INVALID_ARGUMENT",
                    "details": [{"@type": "x", "reason": "API_KEY_INVALID"}],
                }
            },
            ErrorInfo("API key not valid.", "INVALID_ARGUMENT", "API_KEY_INVALID"),
        ),
        (
            [{"error": {"code": 404, "message": "nf", "status": "NOT_FOUND"}}],
            ErrorInfo("nf", "NOT_FOUND", "404"),
        ),
        ({"success": False, "message": "无效的令牌"}, ErrorInfo("无效的令牌", "", "")),
        (
            {"code": "INVALID_API_KEY", "message": "Invalid API key"},
            ErrorInfo("Invalid API key", "", "INVALID_API_KEY"),
        ),
        ({"error": "rate_limited", "message": "slow down"}, ErrorInfo("slow down", "rate_limited", "")),
    ],
)
def test_parse_error_reads_every_envelope(body: Any, expected: ErrorInfo) -> None:
    assert parse_error(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        {"object": "list", "data": []},
        {"code": True, "message": "ok", "data": {}},
        [1, 2],
        "text",
        None,
        {"choices": []},
    ],
)
def test_parse_error_leaves_answers_alone(body: Any) -> None:
    assert parse_error(body) is None


@pytest.mark.parametrize(
    ("status", "info", "expected"),
    [
        (401, None, "auth_failed"),
        (400, ErrorInfo("API key not valid", "INVALID_ARGUMENT", "API_KEY_INVALID"), "auth_failed"),
        (403, None, "forbidden"),
        (403, ErrorInfo("用户额度不足", "", ""), "no_quota"),
        (402, None, "no_quota"),
        (
            429,
            ErrorInfo("You exceeded your current quota", "insufficient_quota", "insufficient_quota"),
            "no_quota",
        ),
        (429, ErrorInfo("Please try again in 2s", "requests", "rate_limit_exceeded"), "rate_limited"),
        (404, None, "not_found"),
        (405, None, "not_found"),
        (
            400,
            ErrorInfo("The model `x` does not exist", "invalid_request_error", "model_not_found"),
            "not_found",
        ),
        (408, None, "timeout"),
        (500, None, "bad_response"),
        (529, ErrorInfo("Overloaded", "overloaded_error", ""), "bad_response"),
        (200, ErrorInfo("Authentication Error", "auth_error", "401"), "auth_failed"),
        (200, ErrorInfo("invalid token", "", ""), "auth_failed"),
        (200, ErrorInfo("upstream saturated", "new_api_error", ""), "bad_response"),
    ],
)
def test_status_for_http(status: int, info: ErrorInfo | None, expected: str) -> None:
    assert status_for_http(status, info) == expected


@given(
    st.integers(min_value=100, max_value=599),
    st.text(max_size=50),
    st.text(max_size=20),
    st.text(max_size=20),
)
def test_status_is_always_in_the_vocabulary(status: int, message: str, etype: str, code: str) -> None:
    assert status_for_http(status, ErrorInfo(message, etype, code)) in STATUSES


def test_worst_prefers_the_root_cause() -> None:
    assert worst([]) == "ok"
    assert worst(["bad_response", "auth_failed", "not_found"]) == "auth_failed"
    assert worst(["not_found", "wrong_type"]) == "wrong_type"


def test_failure_reason_is_one_scrubbed_line() -> None:
    key = "sk-" + "z" * 40
    out = Outcome(
        "GET",
        "http://127.0.0.1:1/v1/models?key=" + key,
        status=401,
        headers={"content-type": "application/json"},
        body=(
            '{"error":{"message":"Incorrect API key provided: '
            + key
            + '\\nline two","code":"invalid_api_key"}}'
        ).encode(),
    )
    failure = failure_of(out, Scrubber([key]))
    assert failure is not None and failure.status == "auth_failed"
    assert key not in failure.reason and "\n" not in failure.reason
    assert failure.reason.startswith("HTTP 401 from GET /v1/models:")
    assert "key=" not in failure.reason


def _gemini_quota(quota_id: str) -> Outcome:
    body = {
        "error": {
            "code": 429,
            "message": "You exceeded your current quota, please check your plan and billing details.",
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [{"quotaId": quota_id, "quotaValue": "10"}],
                },
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"},
            ],
        }
    }
    return Outcome(
        "POST",
        "http://h/v1beta/models/gemini-2.5-flash:generateContent",
        status=429,
        headers={"content-type": "application/json"},
        body=json.dumps(body).encode(),
    )


def test_gemini_quota_window_decides_between_rate_limited_and_no_quota() -> None:
    # Google words a per-minute and a daily quota alike; only the QuotaFailure tells them apart.
    minute = failure_of(_gemini_quota("GenerateRequestsPerMinutePerProjectPerModel-FreeTier"), Scrubber())
    assert minute is not None and minute.status == "rate_limited" and minute.transient
    day = failure_of(_gemini_quota("GenerateRequestsPerDayPerProjectPerModel-FreeTier"), Scrubber())
    assert day is not None and day.status == "no_quota" and not day.transient
    # The RPC status names the error better than Gemini's numeric code (the HTTP status again).
    assert "RESOURCE_EXHAUSTED: You exceeded" in day.reason


def test_html_page_is_named_not_dumped() -> None:
    out = Outcome(
        "GET",
        "http://h/v1/models",
        status=502,
        headers={"content-type": "text/html"},
        body=b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    )
    failure = failure_of(out, Scrubber())
    assert failure is not None and failure.status == "bad_response" and failure.transient
    assert "HTML page" in failure.reason and "<" not in failure.reason


def test_one_line_bounds_length() -> None:
    assert len(one_line("x" * 1000, Scrubber())) == 200


def test_list_shapes() -> None:
    assert openai_models({"object": "list", "data": [{"id": "a"}]}) is not None
    assert openai_models({"models": [{"name": "a"}]}) is None
    assert gemini_models({"data": [{"id": "a"}]}) is None
    assert anthropic_models({"data": [{"id": "a"}], "has_more": True, "last_id": "a"}).next_cursor == "a"  # type: ignore[union-attr]
    assert list_shape_of({"data": [{"type": "model", "id": "claude"}]}) == "anthropic"
    assert list_shape_of({"data": [{"id": "gpt", "object": "model"}]}) == "openai-compatible"
    assert list_shape_of({"models": [{"name": "models/g"}]}) == "google"
    assert list_shape_of({"data": []}) is None


def test_parse_sse_handles_crlf_names_comments_and_multiline() -> None:
    raw = b': ping\r\nevent: message_start\r\ndata: {"a": 1}\r\n\r\ndata: x\ndata: y\n\ndata: [DONE]\n\n'
    events = parse_sse(raw)
    assert [(e.event, e.data) for e in events] == [
        ("message_start", '{"a": 1}'),
        ("", "x\ny"),
        ("", "[DONE]"),
    ]
    assert events[0].json() == {"a": 1} and events[2].json() is None


@pytest.mark.parametrize(
    ("base", "api_type", "root"),
    [
        ("https://api.example.com", "openai-compatible", "https://api.example.com/v1"),
        ("https://api.example.com", "google", "https://api.example.com/v1beta"),
        ("https://example.com/api", "anthropic", "https://example.com/api/v1"),
        ("https://ark.example.com/api/coding/v3", "openai", "https://ark.example.com/api/coding/v3"),
        ("https://relay.example.com/v1", "google", "https://relay.example.com/v1"),
        ("https://example.com/v1beta2", "google", "https://example.com/v1beta2"),
        ("https://example.com/vision", "openai", "https://example.com/vision/v1"),
    ],
)
def test_api_root(base: str, api_type: Any, root: str) -> None:
    assert endpoints.api_root(base, api_type) == root


@given(st.binary(max_size=400))
def test_parse_sse_never_raises(raw: bytes) -> None:
    for event in parse_sse(raw):
        assert isinstance(event.data, str)
        event.json()


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(_json)
def test_parsers_accept_any_json(body: Any) -> None:
    info = parse_error(body)
    assert info is None or isinstance(info.message, str)
    for parser in (openai_models, anthropic_models, gemini_models):
        page = parser(body)
        assert page is None or all(isinstance(m["id"], str) and m["id"] for m in page.models)
    list_shape_of(body)


def test_gemini_bare_prefix_is_not_a_model() -> None:
    page = gemini_models({"models": [{"name": "models/"}, {"name": "models/gemini-x"}]})
    assert page is not None and [m["id"] for m in page.models] == ["gemini-x"]


def test_outcome_json_tolerates_a_bom_and_garbage() -> None:
    assert Outcome("GET", "http://h/", status=200, body='\ufeff{"a": 1}'.encode()).json() == {"a": 1}
    assert Outcome("GET", "http://h/", status=200, body=b"<html>").json() is None
    assert Outcome("GET", "http://h/", status=200, body=b"  ").json() is None


def test_a_network_failure_names_the_request_once() -> None:
    message = "GET http://127.0.0.1:1/v1/models: cannot connect (All connection attempts failed)"
    out = Outcome("GET", "http://127.0.0.1:1/v1/models", net_error="unreachable", net_message=message)
    failure = failure_of(out, Scrubber())
    assert failure is not None and failure.status == "unreachable" and failure.transient
    assert failure.reason == message
    blocked = Outcome("GET", "http://127.0.0.1:1/v1/models", net_error="redirect_blocked", net_message="x")
    failure = failure_of(blocked, Scrubber())
    assert failure is not None and failure.reason.startswith("GET /v1/models: redirected to another origin")
