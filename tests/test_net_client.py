"""The engine against real HTTP servers on 127.0.0.1: faults, body limits, redirects, leaks."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

from credlib.model import Config, Defaults, Limits
from credlib.net import Engine, NetError, Response, engine_for, run_sync
from tests.fixtures.env import fake_key
from tests.fixtures.net import LoopbackServer, Reply, Seen

pytestmark = pytest.mark.timeout(20)

FAST = Limits(concurrency=4, burst=50, per_minute=60_000)
Start = Callable[..., LoopbackServer]


def fetch(url: str, engine: Engine | None = None, **kwargs: Any) -> Response:
    async def go() -> Response:
        async with engine or Engine(FAST, timeout_s=2.0) as eng:
            return await eng.request(kwargs.pop("method", "GET"), url, **kwargs)

    return run_sync(go())


def fail(url: str, engine: Engine | None = None, **kwargs: Any) -> NetError:
    with pytest.raises(NetError) as info:
        fetch(url, engine, **kwargs)
    return info.value


def test_json_round_trip_and_headers(loopback: Start) -> None:
    server = loopback(
        lambda seen: Reply.json(200, '{"object": "list", "data": []}', headers={"X-Thing": "1"})
    )
    resp = fetch(
        server.url + "/v1/models", method="POST", json={"a": 1}, headers={"Authorization": "Bearer k"}
    )
    assert resp.status == 200 and resp.ok
    assert resp.json() == {"object": "list", "data": []}
    assert resp.headers["x-thing"] == "1"  # lower-case names
    assert resp.attempts == 1 and not resp.truncated and not resp.incomplete
    assert resp.elapsed_ms > 0
    (seen,) = server.seen()
    assert seen.method == "POST" and seen.body == b'{"a": 1}'
    assert seen.headers["content-type"] == "application/json"


def test_query_values_redacted_in_response_url(loopback: Start) -> None:
    key = fake_key("AIza")
    server = loopback(lambda seen: Reply(200, "ok"))
    resp = fetch(server.url + "/v1beta/models", params={"key": key, "pageSize": "1000"})
    assert key not in resp.url
    assert resp.url == server.url + "/v1beta/models?key=REDACTED&pageSize=REDACTED"
    assert server.seen()[0].path == f"/v1beta/models?key={key}&pageSize=1000"  # the server did get it


def test_html_error_page_is_a_response_not_an_error(loopback: Start) -> None:
    page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    server = loopback(lambda seen: Reply(502, page, {"Content-Type": "text/html; charset=utf-8"}))
    resp = fetch(server.url + "/v1/models")
    assert resp.status == 502 and "Bad Gateway" in resp.text
    with pytest.raises(ValueError, match=r"not JSON \(text/html") as info:
        resp.json()
    assert "Bad Gateway" not in str(info.value)  # the message never echoes the body


def test_server_that_never_answers_times_out(loopback: Start) -> None:
    server = loopback(lambda seen: Reply(action="hang"))
    started = time.monotonic()
    err = fail(server.url + "/v1/models", Engine(FAST, timeout_s=0.5))
    assert err.kind == "timeout"
    assert time.monotonic() - started < 3


def test_slow_drip_hits_the_overall_deadline(loopback: Start) -> None:
    # One byte every 0.1 s never trips a 0.5 s read timeout; the per-attempt deadline must.
    server = loopback(lambda seen: Reply(200, "x" * 100, action="drip", drip_interval_s=0.1))
    started = time.monotonic()
    err = fail(server.url + "/v1/models", Engine(FAST, timeout_s=0.5))
    assert err.kind == "timeout"
    assert time.monotonic() - started < 3


def test_per_request_timeout_overrides_the_engine_default(loopback: Start) -> None:
    server = loopback(lambda seen: Reply(200, "late", delay_s=1.0))
    engine = Engine(FAST, timeout_s=5.0)
    started = time.monotonic()
    assert fail(server.url + "/", engine, timeout_s=0.3).kind == "timeout"
    assert time.monotonic() - started < 1.0


def test_connection_refused_is_unreachable() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connections are refused
        err = fail(f"http://127.0.0.1:{port}/v1/models")
    assert err.kind == "unreachable"


def test_cut_body_keeps_what_arrived(loopback: Start) -> None:
    server = loopback(
        lambda seen: Reply(200, "data: {}\n\n", {"Content-Type": "text/event-stream"}, action="cut")
    )
    resp = fetch(server.url + "/v1/chat/completions", method="POST", json={})
    assert resp.incomplete and not resp.truncated
    assert resp.body == b"data: {}\n\n"


def test_huge_body_is_cut_at_the_cap_with_bounded_memory(loopback: Start) -> None:
    big = b"x" * (40 * 1024 * 1024)
    server = loopback(lambda seen: Reply(200, big))
    cap = 256 * 1024
    tracemalloc.start()
    try:
        resp = fetch(server.url + "/big", Engine(FAST, max_body_bytes=cap))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert resp.truncated and not resp.incomplete
    assert len(resp.body) == cap
    assert peak < 8 * 1024 * 1024  # far below the 40 MB the server offered


def test_gzip_bomb_is_inflated_only_up_to_the_cap(loopback: Start) -> None:
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024))  # ~64 KB on the wire
    server = loopback(lambda seen: Reply(200, bomb, {"Content-Encoding": "gzip"}))
    tracemalloc.start()
    try:
        resp = fetch(server.url + "/bomb", Engine(FAST, max_body_bytes=100_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert resp.truncated and len(resp.body) == 100_000
    assert peak < 8 * 1024 * 1024


def test_gzip_body_is_decoded(loopback: Start) -> None:
    server = loopback(lambda seen: Reply(200, gzip.compress(b'{"ok": true}'), {"Content-Encoding": "gzip"}))
    assert fetch(server.url + "/").json() == {"ok": True}


def test_body_exactly_at_the_cap_is_not_truncated(loopback: Start) -> None:
    server = loopback(lambda seen: Reply(200, b"y" * 1000))
    resp = fetch(server.url + "/", Engine(FAST, max_body_bytes=1000))
    assert not resp.truncated and len(resp.body) == 1000


def _redirecting(location: str, status: int = 302) -> Callable[[Seen], Reply]:
    def handle(seen: Seen) -> Reply:
        if seen.path.startswith("/final"):
            return Reply(200, "arrived")
        return Reply(status, "", {"Location": location})

    return handle


@pytest.mark.parametrize("header", ["Authorization", "x-api-key", "x-goog-api-key", "api-key"])
def test_redirect_to_another_origin_is_refused_and_never_carries_the_key(
    loopback: Start, header: str
) -> None:
    key = fake_key()
    other = loopback(lambda seen: Reply(200, "gotcha"))
    # Another port on the same host is another origin; so is localhost vs 127.0.0.1.
    for target in (other.url, f"http://localhost:{other.port}"):
        first = loopback(_redirecting(target + f"/steal?key={key}", 307))
        value = f"Bearer {key}" if header == "Authorization" else key
        err = fail(first.url + f"/v1/models?key={key}", headers={header: value})
        assert err.kind == "redirect_blocked"
        assert key not in str(err) and key not in err.render()
        assert len(first.seen()) == 1
    assert other.seen() == []  # the other origin never saw a request, let alone the key


def test_redirect_to_another_host_on_the_same_port_is_refused(loopback: Start) -> None:
    key = fake_key()
    holder: list[str] = []
    server = loopback(
        lambda seen: Reply(302, "", {"Location": holder[0]}) if seen.path == "/" else Reply(200, "x")
    )
    holder.append(f"http://localhost:{server.port}/final")  # same socket, but another origin
    err = fail(server.url + "/", headers={"x-api-key": key})
    assert err.kind == "redirect_blocked" and f"http://localhost:{server.port}" in str(err)
    assert [s.path for s in server.seen()] == ["/"]


def test_userinfo_password_is_scrubbed(loopback: Start) -> None:
    secret = fake_key("pw-")
    hang = loopback(lambda seen: Reply(action="hang"))
    err = fail(
        hang.url.replace("http://", f"http://user:{secret}@") + f"/{secret}", Engine(FAST, timeout_s=0.3)
    )
    assert err.kind == "timeout" and secret not in err.render()


def test_json_with_a_byte_order_mark(loopback: Start) -> None:
    server = loopback(
        lambda seen: Reply(200, '\ufeff{"a": 1}'.encode(), {"Content-Type": "application/json"})
    )
    assert fetch(server.url + "/").json() == {"a": 1}


def test_same_origin_redirect_keeps_headers_and_method(loopback: Start) -> None:
    key = fake_key()
    server = loopback(_redirecting("/final/here", 307))
    resp = fetch(server.url + "/v1/x", method="POST", json={"k": 1}, headers={"x-api-key": key})
    assert resp.status == 200 and resp.text == "arrived"
    _first, second = server.seen()
    assert second.path == "/final/here" and second.method == "POST" and second.body == b'{"k": 1}'
    assert second.headers["x-api-key"] == key
    assert resp.url == server.url + "/final/here"


def test_see_other_turns_post_into_get(loopback: Start) -> None:
    server = loopback(_redirecting("/final", 303))
    resp = fetch(server.url + "/start", method="POST", json={"a": 1})
    assert resp.status == 200
    assert [s.method for s in server.seen()] == ["POST", "GET"]
    assert server.seen()[1].body == b""


def test_redirect_loop_stops_after_five(loopback: Start) -> None:
    server = loopback(_redirecting("/again"))
    err = fail(server.url + "/again")
    assert err.kind == "too_many_redirects"
    assert len(server.seen()) == 6  # the request and five redirects followed


def test_key_never_in_errors_or_logs(loopback: Start, caplog: pytest.LogCaptureFixture) -> None:
    key = fake_key()
    caplog.set_level(logging.DEBUG, logger="credlib.net")
    hang = loopback(lambda seen: Reply(action="hang"))
    drop = loopback(lambda seen: Reply(action="drop"))
    echo = loopback(lambda seen: Reply(401, f'{{"error": {{"message": "bad key {key}"}}}}'))
    headers = {"Authorization": f"Bearer {key}", "x-goog-api-key": key}
    engine = Engine(FAST, timeout_s=0.3, max_retries=1)
    errors = [
        fail(hang.url + f"/v1/{key}?key={key}", engine, headers=headers),
        fail(drop.url + f"/v1/models?key={key}", engine, headers=headers),
    ]
    resp = fetch(echo.url + f"/v1/models?key={key}", headers=headers)
    texts = [str(e) for e in errors] + [e.render() for e in errors] + [repr(resp), resp.url]
    texts += [r.getMessage() for r in caplog.records]
    assert caplog.records, "the engine should log each attempt"
    for text in texts:
        assert key not in text
    assert [e.kind for e in errors] == ["timeout", "unreachable"]
    assert len(drop.seen()) == 2  # a dropped connection is retried (max_retries=1)


def test_log_lines_show_method_origin_path_status_latency(
    loopback: Start, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="credlib.net")
    server = loopback(lambda seen: Reply(404, "nope"))
    fetch(server.url + "/v1/models?secret_param=hidden", headers={"X-Custom": "header-value"})
    (line,) = [r.getMessage() for r in caplog.records if r.name == "credlib.net"]
    assert line.startswith(f"GET {server.url}/v1/models -> 404 (")
    assert "ms" in line
    assert "hidden" not in line and "header-value" not in line and "secret_param" not in line


def test_config_scrubber_covers_secrets_the_request_does_not_carry(loopback: Start) -> None:
    # A telemetry bearer token in the URL path (unusual but possible) is scrubbed via the config.
    token = fake_key("tok-")
    config = Config(version=1, defaults=Defaults(timeout_s=0.3), credentials=(), targets=())
    engine = engine_for(config, limits=FAST)
    engine._scrubber.add(token)
    hang = loopback(lambda seen: Reply(action="hang"))
    err = fail(hang.url + f"/usage/{token}", engine)
    assert err.kind == "timeout" and token not in str(err)
    assert engine.timeout_s == 0.3 and engine.max_retries == 3


def test_engine_for_takes_limits_timeout_and_secrets_from_config() -> None:
    from credlib.model import Credential

    key = fake_key()
    cred = Credential(name="a", id="a", base_url="https://a.example", api_key=key)
    limits = Limits(concurrency=3, burst=5, per_minute=30)
    config = Config(version=1, defaults=Defaults(limits=limits, timeout_s=7), credentials=(cred,), targets=())
    engine = engine_for(config, max_retries=0)
    assert engine.timeout_s == 7 and engine.max_retries == 0
    assert engine._limits == limits
    assert key not in engine._scrubber(f"error {key}")


def test_origin_override_sends_elsewhere_but_keeps_host_and_path(loopback: Start) -> None:
    server = loopback(lambda seen: Reply(200, seen.headers["host"]))
    engine = Engine(FAST, origin_overrides={"https://relay.example.com": server.url})
    resp = fetch("https://relay.example.com/v1/models?x=1", engine)
    assert resp.text == "relay.example.com"
    assert server.seen()[0].path == "/v1/models?x=1"
    assert resp.url == "https://relay.example.com/v1/models?x=REDACTED"


def test_origin_override_follows_same_origin_redirects(loopback: Start) -> None:
    holder: list[str] = []
    server = loopback(
        lambda seen: Reply(200, "done") if seen.path == "/final" else Reply(302, "", {"Location": holder[0]})
    )
    holder.append(server.url + "/final")  # the demo server names its own real address
    engine = Engine(FAST, origin_overrides={"https://relay.example.com": server.url})
    resp = fetch("https://relay.example.com/start", engine)
    assert resp.text == "done" and resp.url == "https://relay.example.com/final"


def test_environment_proxy_is_honoured(loopback: Start, monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = loopback(lambda seen: Reply(200, "via proxy"))
    for var in ("no_proxy", "NO_PROXY", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    resp = fetch("http://credlib-proxy-test.invalid/v1/models")
    assert resp.text == "via proxy"
    assert proxy.seen()[0].path == "http://credlib-proxy-test.invalid/v1/models"


def test_no_proxy_keeps_loopback_direct(loopback: Start, monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = loopback(lambda seen: Reply(200, "via proxy"))
    direct = loopback(lambda seen: Reply(200, "direct"))
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    assert fetch(direct.url + "/").text == "direct"
    assert proxy.seen() == []


def test_engine_outside_async_with_is_a_programming_error() -> None:
    async def go() -> None:
        await Engine().request("GET", "http://127.0.0.1:9/")

    with pytest.raises(RuntimeError, match="async with"):
        asyncio.run(go())


def test_invalid_url_is_a_protocol_error() -> None:
    assert fail("ftp://127.0.0.1/x").kind == "protocol"


@pytest.mark.parametrize("suffix", ["\n", "\r\nX-Injected: 1", "\u2019", " \x00"])
def test_key_with_characters_http_cannot_carry_is_refused_without_quoting_it(
    loopback: Start, suffix: str
) -> None:
    key = fake_key() + suffix
    server = loopback(lambda seen: Reply(200, "ok"))
    err = fail(server.url + "/v1/models", headers={"Authorization": f"Bearer {key}"})
    assert err.kind == "protocol" and "Authorization" in str(err)
    assert key.strip() not in err.render() and key[:-1] not in err.render()
    assert server.seen() == []


def test_cookies_are_never_carried_between_requests(loopback: Start) -> None:
    server = loopback(lambda seen: Reply(200, "ok", {"Set-Cookie": "session=abc; Path=/"}))

    async def go() -> None:
        async with Engine(FAST) as eng:
            await eng.request("GET", server.url + "/login")
            await eng.request("GET", server.url + "/v1/models")

    run_sync(go())
    assert all("cookie" not in s.headers for s in server.seen())


def test_user_agent_names_credlib_unless_the_caller_sets_one(loopback: Start) -> None:
    server = loopback(lambda seen: Reply(200, seen.headers.get("user-agent", "")))
    assert fetch(server.url + "/").text.startswith("credlib/")
    assert fetch(server.url + "/", headers={"User-Agent": "claude-cli/2.1"}).text == "claude-cli/2.1"


def test_timeout_messages_say_what_was_slow(loopback: Start) -> None:
    hang = loopback(lambda seen: Reply(action="hang"))
    drip = loopback(lambda seen: Reply(200, "x" * 100, action="drip", drip_interval_s=0.1))
    engine = Engine(FAST, timeout_s=0.4)
    assert "no data for 0.4 s" in str(fail(hang.url + "/", engine))
    assert "response not complete within 0.8 s" in str(fail(drip.url + "/", engine))


def test_connect_timeout_when_the_listen_queue_is_full() -> None:
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)  # never accepted: once the queue is full, new SYNs are dropped
        port = listener.getsockname()[1]
        fillers = []
        try:
            for _ in range(4):
                filler = socket.socket()
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", port))
                fillers.append(filler)
            time.sleep(0.1)
            started = time.monotonic()
            err = fail(f"http://127.0.0.1:{port}/", Engine(FAST, timeout_s=0.5))
        finally:
            for filler in fillers:
                filler.close()
    assert err.kind == "timeout" and "no connection within 0.5 s" in str(err)
    assert time.monotonic() - started < 2


def test_garbage_instead_of_http_is_a_protocol_error() -> None:
    import socket
    import threading

    key = fake_key()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(5)
    port = listener.getsockname()[1]
    connections: list[int] = []

    def serve() -> None:
        for _ in range(2):  # a second connection would be a (pointless) retry
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            connections.append(1)
            with conn:
                conn.recv(65536)
                conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        err = fail(
            f"http://127.0.0.1:{port}/v1/models?key={key}",
            Engine(FAST, max_retries=1),
            headers={"Authorization": f"Bearer {key}"},
        )
    finally:
        # A retry would have been answered (and counted) before fail() returned; wake the thread's
        # blocked accept() now (closing alone does not on Linux) instead of waiting out its timeout.
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        thread.join(timeout=5)
    assert not thread.is_alive()
    assert err.kind == "protocol" and "not an HTTP response" in str(err)
    assert key not in err.render()
    assert connections == [1]  # garbage is not worth another try
