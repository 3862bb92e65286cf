"""Retry hints (every format of upstream-protocols §8), what is never retried, and the cap."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credlib.model import Limits
from credlib.net import Engine, Response, run_sync
from credlib.net.retry import (
    backoff,
    is_no_quota,
    parse_duration,
    parse_retry_after,
    quota_state,
    retry_hint,
    should_retry,
)
from tests.fixtures.net import LoopbackServer, Reply, Seen

pytestmark = pytest.mark.timeout(20)

FAST = Limits(concurrency=4, burst=50, per_minute=60_000)
Start = Callable[..., LoopbackServer]
NOW = 1_800_000_000.0


def gemini_429(delay: str, quota_id: str = "GenerateRequestsPerMinutePerProjectPerModel") -> bytes:
    return json.dumps(
        {
            "error": {
                "code": 429,
                "message": "Resource has been exhausted (e.g. check quota).",
                "status": "RESOURCE_EXHAUSTED",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                        "violations": [
                            {"quotaMetric": "generativelanguage.googleapis.com/x", "quotaId": quota_id}
                        ],
                    },
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay},
                ],
            }
        }
    ).encode()


def openai_error(code: str, message: str, type_: str = "requests") -> bytes:
    return json.dumps({"error": {"message": message, "type": type_, "param": None, "code": code}}).encode()


# ---- hint parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({"retry-after-ms": "1500"}, b"", 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, b"", 0.25),  # ms wins
        ({"retry-after": "2"}, b"", 2.0),
        ({"retry-after": "0.75"}, b"", 0.75),
        ({"retry-after": formatdate(NOW + 30, usegmt=True)}, b"", 30.0),
        ({"retry-after": formatdate(NOW - 30, usegmt=True)}, b"", 0.0),  # a date in the past: go now
        ({}, gemini_429("37s"), 37.0),
        ({}, gemini_429("1.5s"), 1.5),
        ({}, openai_error("rate_limit_exceeded", "Rate limit reached. Please try again in 1.5s."), 1.5),
        ({}, openai_error("rate_limit_exceeded", "Limit reached, try again in 20ms. Visit x"), 0.02),
        ({}, openai_error("rate_limit_exceeded", "Please try again in 6 seconds"), 6.0),
        ({}, openai_error("rate_limit_exceeded", "Limit 200000 TPM. Please try again in 1m30s."), 90.0),
        ({}, b"Too Many Requests. Try again in 3s", 3.0),
        ({"retry-after": "soon"}, b"", None),
        ({"retry-after-ms": "abc"}, b"", None),
        ({}, b'{"error": {"message": "slow down"}}', None),
        ({}, b"", None),
    ],
)
def test_retry_hint_formats(headers: dict[str, str], body: bytes, expected: float | None) -> None:
    assert retry_hint(headers, body, now=NOW) == (pytest.approx(expected) if expected is not None else None)


def test_header_hint_wins_over_body_hint() -> None:
    assert retry_hint({"retry-after": "4"}, gemini_429("37s"), now=NOW) == 4.0


def test_parse_retry_after_rejects_naive_and_garbage_dates() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00", now=NOW) is None  # no zone
    assert parse_retry_after("", now=NOW) is None
    assert parse_retry_after("nan", now=NOW) is None


# ---- what is retried --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503, 529])
def test_transient_statuses_are_retried(status: int) -> None:
    assert should_retry(status, {}, b"")


@pytest.mark.parametrize("status", [200, 400, 401, 403, 404, 500, 502])
def test_other_statuses_are_not(status: int) -> None:
    assert not should_retry(status, {}, b"")


@pytest.mark.parametrize(
    "body",
    [
        openai_error("insufficient_quota", "You exceeded your current quota", "insufficient_quota"),
        json.dumps({"type": "error", "error": {"type": "billing_error", "message": "no"}}).encode(),
        json.dumps({"error": {"code": "quota_exhausted", "message": "no"}}).encode(),
        json.dumps({"code": "SERVICE_QUOTA_EXCEEDED", "message": "no"}).encode(),
        gemini_429("30s", quota_id="GenerateRequestsPerDayPerProjectPerModel-FreeTier"),
    ],
)
def test_no_quota_bodies_are_never_retried(body: bytes) -> None:
    assert is_no_quota(body)
    assert not should_retry(429, {"retry-after": "1"}, body)


def test_rate_limit_bodies_are_not_mistaken_for_no_quota() -> None:
    assert not is_no_quota(openai_error("rate_limit_exceeded", "try again in 2s"))
    assert not is_no_quota(gemini_429("2s"))
    assert not is_no_quota(b"<html>insufficient_quota</html>")  # only structured codes count


def test_x_should_retry_false_is_respected() -> None:
    assert not should_retry(503, {"x-should-retry": "false"}, b"")


def test_backoff_grows_with_jitter_and_stays_bounded() -> None:
    rng = random.Random(7)  # noqa: S311 - a seeded test sequence
    delays = [backoff(n, rng) for n in range(1, 10)]
    assert 0.5 <= delays[0] <= 0.625
    assert 1.0 <= delays[1] <= 1.25
    assert all(8.0 <= d <= 10.0 for d in delays[5:])


# ---- honoured end to end ----------------------------------------------------------------------


def once_then_ok(first: Reply) -> Callable[[Seen], Reply]:
    calls: list[int] = []

    def handle(seen: Seen) -> Reply:
        calls.append(1)
        return first if len(calls) == 1 else Reply(200, "ok")

    return handle


def fetch(url: str, engine: Engine | None = None, **kwargs: Any) -> Response:
    async def go() -> Response:
        async with engine or Engine(FAST, timeout_s=3.0) as eng:
            return await eng.request(kwargs.pop("method", "GET"), url, **kwargs)

    return run_sync(go())


def gap(server: LoopbackServer) -> float:
    first, second = server.seen()
    return second.start - first.start


@pytest.mark.parametrize(
    ("reply", "wait"),
    [
        (Reply(429, "", {"retry-after-ms": "400"}), 0.4),
        (Reply(429, "", {"Retry-After": "1"}), 1.0),
        (Reply(503, "", {"Retry-After": "1"}), 1.0),
        (Reply(529, '{"type":"error","error":{"type":"overloaded_error"}}', {"retry-after-ms": "300"}), 0.3),
        (Reply(429, gemini_429("0.5s"), {"Content-Type": "application/json"}), 0.5),
        (Reply(429, openai_error("rate_limit_exceeded", "Please try again in 0.4s.")), 0.4),
    ],
)
def test_hint_is_honoured(loopback: Start, reply: Reply, wait: float) -> None:
    server = loopback(once_then_ok(reply))
    resp = fetch(server.url + "/v1/models")
    assert resp.status == 200 and resp.attempts == 2
    assert wait - 0.02 <= gap(server) < wait + 0.6


def test_http_date_hint_is_honoured(loopback: Start) -> None:
    # HTTP dates have one-second resolution: two seconds ahead means a wait in (1, 2].
    calls: list[Seen] = []

    def handle(seen: Seen) -> Reply:
        calls.append(seen)
        if len(calls) > 1:
            return Reply(200, "ok")
        return Reply(429, "", {"Retry-After": formatdate(time.time() + 2, usegmt=True)})

    server = loopback(handle)
    resp = fetch(server.url + "/")
    assert resp.status == 200 and resp.attempts == 2
    assert 0.95 <= gap(server) < 2.6  # the date is whole seconds: at least 1 s after the 429


def test_no_hint_backs_off_exponentially(loopback: Start) -> None:
    server = loopback(once_then_ok(Reply(503, "busy")))
    resp = fetch(server.url + "/")
    assert resp.status == 200 and resp.attempts == 2
    assert 0.5 <= gap(server) < 1.2


def test_dropped_connection_is_retried(loopback: Start) -> None:
    server = loopback(once_then_ok(Reply(action="drop")))
    resp = fetch(server.url + "/")
    assert resp.status == 200 and resp.attempts == 2 and len(server.seen()) == 2


def test_retries_are_bounded(loopback: Start) -> None:
    server = loopback(lambda seen: Reply(503, "", {"retry-after-ms": "10"}))
    resp = fetch(server.url + "/", Engine(FAST, max_retries=3))
    assert resp.status == 503 and resp.attempts == 4 and len(server.seen()) == 4
    assert resp.retry_after_s == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, openai_error("invalid_api_key", "Incorrect API key provided", "invalid_request_error")),
        (403, json.dumps({"type": "error", "error": {"type": "billing_error", "message": "x"}})),
        (403, ""),
        (429, openai_error("insufficient_quota", "You exceeded your current quota", "insufficient_quota")),
        (429, gemini_429("1s", quota_id="GenerateRequestsPerDayPerProjectPerModel")),
    ],
)
def test_never_retried(loopback: Start, status: int, body: str | bytes) -> None:
    server = loopback(
        lambda seen: Reply(status, body, {"Retry-After": "1", "Content-Type": "application/json"})
    )
    resp = fetch(server.url + "/")
    assert resp.status == status and resp.attempts == 1
    assert len(server.seen()) == 1


def test_retry_false_sends_exactly_once(loopback: Start) -> None:
    server = loopback(lambda seen: Reply(429, "", {"retry-after-ms": "10"}))
    resp = fetch(server.url + "/", retry=False)
    assert resp.status == 429 and resp.attempts == 1 and len(server.seen()) == 1
    assert resp.retry_after_s == pytest.approx(0.01)


def test_a_hint_beyond_the_cap_is_reported_not_slept(loopback: Start) -> None:
    # Retry-After 120 s with the default 60 s cap: never wait 120 s (nor 60 s for a retry that the
    # server says will fail); return the 429 with the hint, and hold the origin back at most 60 s.
    server = loopback(lambda seen: Reply(429, "", {"Retry-After": "120"}))
    engine = Engine(FAST)
    origin = server.url

    async def go() -> tuple[Response, float]:
        async with engine as eng:
            resp = await eng.request("GET", server.url + "/")
            return resp, eng.limiter.paused_for(origin)

    started = time.monotonic()
    resp, paused = run_sync(go())
    assert time.monotonic() - started < 2
    assert resp.status == 429 and resp.attempts == 1 and resp.retry_after_s == 120.0
    assert 59.0 < paused <= 60.0


def test_a_custom_cap_applies_too(loopback: Start) -> None:
    server = loopback(once_then_ok(Reply(429, "", {"Retry-After": "1"})))
    resp = fetch(server.url + "/", Engine(FAST, max_retry_wait_s=0.5))
    assert resp.status == 429 and resp.attempts == 1  # 1 s > 0.5 s cap: reported, not retried
    assert len(server.seen()) == 1


# ---- robustness: any header or body an upstream sends ----------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(
    headers=st.dictionaries(
        st.sampled_from(["retry-after", "retry-after-ms", "x-should-retry", "content-type"]),
        st.text(max_size=40),
    ),
    body=st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()),
)
def test_hint_parsing_never_raises_and_is_never_negative(headers: dict[str, str], body: bytes) -> None:
    hint = retry_hint(headers, body, now=NOW)
    assert hint is None or hint >= 0  # NaN fails this too
    assert isinstance(should_retry(429, headers, body), bool)


@settings(max_examples=100, deadline=None)
@given(value=json_values)
def test_no_quota_detection_accepts_any_json(value: object) -> None:
    assert isinstance(is_no_quota(json.dumps(value).encode()), bool)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("37s", 37.0), ("200ms", 0.2), ("1m30s", 90.0), ("6m0s", 360.0), ("6 seconds", 6.0), ("2", 2.0)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


def test_parse_duration_refuses_what_it_does_not_understand() -> None:
    assert parse_duration("soon") is None
    assert parse_duration("5 apples") is None
    assert parse_duration("") is None


@pytest.mark.parametrize(
    "code", ["insufficient_user_quota", "pre_consume_token_quota_failed", "usage_not_included"]
)
def test_relay_quota_codes_are_no_quota(code: str) -> None:
    body = json.dumps(
        {"error": {"message": "user quota is not enough", "type": "new_api_error", "code": code}}
    )
    assert is_no_quota(body.encode())


def test_retry_waits_add_up_to_at_most_the_cap(loopback: Start) -> None:
    server = loopback(lambda seen: Reply(429, "", {"retry-after-ms": "400"}))
    started = time.monotonic()
    resp = fetch(server.url + "/", Engine(FAST, max_retries=10, max_retry_wait_s=1.0))
    # 0.4 + 0.4 fit in 1 s, a third 0.4 would not: three attempts, about 0.8 s of waiting.
    assert resp.status == 429 and resp.attempts == 3 and len(server.seen()) == 3
    assert 0.75 <= time.monotonic() - started < 2.0


# ---- Gemini quotas: a daily (or zero) quota is exhausted, a per-minute one is a rate limit -----


def quota_failure_body(
    violation: dict[str, Any], typed: bool = True, retry_delay: str | None = "37s"
) -> bytes:
    failure: dict[str, Any] = {"violations": [violation]}
    if typed:
        failure["@type"] = "type.googleapis.com/google.rpc.QuotaFailure"
    details: list[dict[str, Any]] = [failure]
    if retry_delay is not None:
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay})
    message = "You exceeded your current quota, please check your plan and billing details."
    return json.dumps(
        {"error": {"code": 429, "message": message, "status": "RESOURCE_EXHAUSTED", "details": details}}
    ).encode()


@pytest.mark.parametrize(
    "violation",
    [
        {"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier", "quotaValue": "50"},
        {"quotaId": "GenerateContentInputTokensPerModelPerDay-FreeTier"},
        {"quotaMetric": "generativelanguage.googleapis.com/generate_requests_per_model_per_day"},
        {
            "subject": "project:1",
            "description": "Quota exceeded for metric 'Generate Content requests per day'",
        },
        # A limit of 0: the key's tier has no quota for this model at all.
        {"quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "quotaValue": "0"},
    ],
)
def test_a_daily_or_zero_gemini_quota_is_exhausted(violation: dict[str, Any]) -> None:
    body = quota_failure_body(violation)
    assert quota_state(body) == "exhausted" and is_no_quota(body)
    assert not should_retry(429, {}, body)
    # Relays that re-wrap Google's error may drop the @type.
    assert is_no_quota(quota_failure_body(violation, typed=False)) or "subject" in violation


def test_a_per_minute_gemini_quota_is_a_window() -> None:
    body = quota_failure_body(
        {"quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "quotaValue": "10"}
    )
    assert quota_state(body) == "window" and not is_no_quota(body)
    assert should_retry(429, {}, body)
    assert quota_state(openai_error("rate_limit_exceeded", "try again in 2s")) is None


def test_an_exhausted_quota_is_neither_retried_nor_pauses_the_origin(loopback: Start) -> None:
    # Google attaches RetryInfo (and relays a Retry-After) even to a daily quota: waiting cannot help
    # this key, and other keys on the same origin must not be held back by it.
    per_day = quota_failure_body(
        {"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}, retry_delay="30s"
    )

    def handle(seen: Seen) -> Reply:
        if seen.path == "/exhausted":
            return Reply(429, per_day, {"Content-Type": "application/json", "Retry-After": "30"})
        return Reply(200, "ok")

    server = loopback(handle)

    async def go() -> tuple[Response, float, Response, float]:
        async with Engine(FAST, timeout_s=3.0) as eng:
            first = await eng.request("GET", server.url + "/exhausted")
            paused = eng.limiter.paused_for(server.url)
            started = time.monotonic()
            other = await eng.request("GET", server.url + "/other-key")
            return first, paused, other, time.monotonic() - started

    first, paused, other, waited = run_sync(go())
    assert first.status == 429 and first.attempts == 1 and first.retry_after_s == 30.0
    assert paused == 0.0
    assert other.status == 200 and waited < 2.0
    assert [s.path for s in server.seen()] == ["/exhausted", "/other-key"]


def test_a_per_minute_gemini_quota_is_retried_after_its_delay(loopback: Start) -> None:
    body = quota_failure_body(
        {"quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "quotaValue": "10"},
        retry_delay="0.5s",
    )
    server = loopback(once_then_ok(Reply(429, body, {"Content-Type": "application/json"})))
    resp = fetch(server.url + "/")
    assert resp.status == 200 and resp.attempts == 2
    assert gap(server) >= 0.48
