"""The engine against credlib's own fake relay: its request log and its wire formats for limits.

The loopback fixtures in tests/fixtures/net.py isolate each behaviour; these tests check the same
properties against the relay other areas test with, so the two agree on every retry-hint format.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from credlib.model import Limits
from credlib.net import Engine, NetError, Response, run_sync
from credlib.relay import Relay
from credlib.relay.wire import LogEntry
from tests.fixtures.env import fake_key

pytestmark = pytest.mark.timeout(30)

FAST = Limits(concurrency=4, burst=100, per_minute=60_000)
# The relay stamps t_end after its last write; by then the client may already have sent the next
# request. An overlap shorter than this is that race, not a second request in flight.
END_SLACK_S = 0.05
JITTER_S = 0.15  # server-side start stamps on a loaded machine (see test_net_limiter)


@pytest.fixture
def relays() -> Iterator[list[Relay]]:
    started = [Relay(latency_s=0.0, name=f"net-{i}", accept_any_key=True).start() for i in range(2)]
    yield started
    for relay in started:
        relay.stop()


def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {fake_key()}"}


def run(engine: Engine, calls: list[tuple[str, dict[str, Any]]], stagger_s: float = 0.0) -> list[Response]:
    async def go() -> list[Response]:
        async with engine as eng:
            tasks = []
            for url, kwargs in calls:
                tasks.append(asyncio.create_task(eng.request("GET", url, **kwargs)))
                if stagger_s:
                    await asyncio.sleep(stagger_s)
            return list(await asyncio.gather(*tasks))

    return run_sync(go())


def peak_in_flight(log: list[LogEntry]) -> int:
    return max(
        sum(1 for other in log if other.t_start <= entry.t_start < other.t_end - END_SLACK_S) for entry in log
    )


def test_concurrency_window_and_fifo_from_the_relay_log(relays: list[Relay]) -> None:
    relay = relays[0]
    relay.latency_s = 0.2
    limits = Limits(concurrency=2, burst=1, per_minute=600)  # starts >= 0.1 s apart: order is observable
    n = 10
    headers = bearer()
    run(
        Engine(limits),
        [(relay.url + "/v1/models", {"headers": headers, "params": {"n": str(i)}}) for i in range(n)],
    )
    log = sorted(relay.log, key=lambda e: e.t_start)
    assert len(log) == n and all(e.status == 200 for e in log)
    assert peak_in_flight(log) == 2
    assert [int(e.query["n"]) for e in log] == list(range(n))
    starts = [e.t_start for e in log]
    for i in range(n):
        for j in range(i, n):
            assert j - i + 1 <= limits.burst + 10 * (starts[j] - starts[i] + JITTER_S)


def test_relay_retry_after_pauses_only_its_origin(relays: list[Relay]) -> None:
    a, b = relays
    a.set_fault("status", path="/v1/models", status=429, retry_after=2, times=1)
    calls = [(a.url + "/v1/models", {"headers": bearer()})]
    calls += [(b.url + "/v1/models", {"headers": bearer()}) for _ in range(8)]
    responses = run(Engine(Limits(concurrency=1, burst=100, per_minute=60_000)), calls, stagger_s=0.25)
    assert all(r.status == 200 for r in responses) and responses[0].attempts == 2
    first, retry = a.log
    assert first.status == 429 and retry.status == 200
    assert retry.t_start >= first.t_end + 2.0 - END_SLACK_S
    assert len([e for e in b.log if first.t_end < e.t_start < first.t_end + 2.0]) >= 5


@pytest.mark.parametrize(
    ("path", "headers", "params", "wait"),
    [
        ("/v1/models", "bearer", {"retry_after": 1}, 1.0),
        ("/v1/models", "bearer", {"retry_after": 2, "retry_after_date": True}, 1.0),  # whole seconds
        ("/v1/models", "bearer", {"retry_after_ms": 300}, 0.3),
        ("/v1/chat/completions", "bearer", {}, 1.0),  # only "Please try again in 1s." in the body
        ("/v1beta/models", "goog", {"retry_after": 1}, 1.0),  # Gemini: RetryInfo.retryDelay, no header
        ("/v1/messages", "anthropic", {"retry_after": 1}, 1.0),
    ],
)
def test_every_relay_hint_format_is_honoured(
    relays: list[Relay], path: str, headers: str, params: dict[str, Any], wait: float
) -> None:
    relay = relays[0]
    key = fake_key()
    hdrs = {
        "bearer": {"Authorization": f"Bearer {key}"},
        "goog": {"x-goog-api-key": key},
        "anthropic": {"x-api-key": key, "anthropic-version": "2023-06-01"},
    }[headers]
    relay.set_fault("status", path=path, status=429, times=1, **params)
    method = "POST" if path.endswith(("completions", "messages")) else "GET"
    body = {"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}]}

    async def go() -> Response:
        async with Engine(FAST) as eng:
            return await eng.request(
                method, relay.url + path, headers=hdrs, json=body if method == "POST" else None
            )

    resp = run_sync(go())
    first, second = relay.log[:2]
    assert first.status == 429 and resp.attempts == 2
    assert second.t_start - first.t_end >= wait - END_SLACK_S
    assert second.t_start - first.t_end < wait + 1.0


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/v1/models", {"Authorization": "Bearer {key}"}),
        ("/v1beta/models", {"x-goog-api-key": "{key}"}),
    ],
)
def test_relay_quota_and_auth_failures_are_sent_once(
    relays: list[Relay], path: str, headers: dict[str, str]
) -> None:
    relay = relays[0]
    key = fake_key()
    hdrs = {k: v.format(key=key) for k, v in headers.items()}
    faults: list[tuple[str, dict[str, Any]]] = [
        ("insufficient_quota", {}),
        ("status", {"status": 401}),
        ("status", {"status": 403}),
    ]
    for kind, fault in faults:
        relay.clear_faults()
        relay.clear_log()
        relay.set_fault(kind, path=path, **fault)
        started = time.monotonic()
        resp = run(Engine(FAST), [(relay.url + path, {"headers": hdrs})])[0]
        assert resp.status >= 400 and resp.attempts == 1, (kind, fault)
        assert len(relay.log) == 1
        assert time.monotonic() - started < 1.0


def test_relay_faults_end_in_the_engine_flags_without_leaking_the_key(
    relays: list[Relay], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="credlib.net")
    a, b = relays
    key = fake_key()
    hdrs = {"Authorization": f"Bearer {key}"}
    chat = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    a.set_fault("oversized", path="/big", size=6 * 1024 * 1024, chunked=True)
    a.set_fault("truncate_stream", path="/v1/chat/completions", after_chunks=2)
    a.set_fault("html", path="/html", status=502)
    a.set_fault("redirect", path="/moved", to=b.url)
    a.set_fault("timeout", path="/hang", seconds=5)

    async def go() -> tuple[list[Response], list[NetError]]:
        async with Engine(FAST, timeout_s=0.5, max_retries=0) as eng:
            got = [
                await eng.request("GET", a.url + "/big", headers=hdrs),
                await eng.request("POST", a.url + "/v1/chat/completions", headers=hdrs, json=chat),
                await eng.request("GET", a.url + "/html", headers=hdrs),
            ]
            failures = []
            for path in ("/moved", "/hang"):
                try:
                    await eng.request("GET", a.url + path + f"?key={key}", headers=hdrs)
                except NetError as exc:
                    failures.append(exc)
            return got, failures

    (big, cut, html), failures = run_sync(go())
    assert big.truncated and len(big.body) == 4 * 1024 * 1024
    assert cut.incomplete and cut.status == 200 and cut.body.startswith(b"data: ")
    assert html.status == 502 and "Bad Gateway" in html.text
    assert [f.kind for f in failures] == ["redirect_blocked", "timeout"]
    assert b.log == []  # the redirect target never saw the key (or anything else)
    texts = [f.render() for f in failures] + [r.getMessage() for r in caplog.records]
    assert not [t for t in texts if key in t]
