"""The relay's server core: keys and auth styles, request log, custom routes, latency, concurrency, stop()."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from credlib.relay import Relay, RelayRequest, RelayResponse
from tests.fixtures.env import fake_key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_binds_loopback_only_and_ephemeral_port(relay: Relay) -> None:
    assert relay.url.startswith("http://127.0.0.1:")
    assert relay.port > 0
    assert relay._server is not None and relay._server.server_address[0] == "127.0.0.1"


def test_unknown_and_missing_key_are_rejected_openai_style(relay: Relay, relay_key: str) -> None:
    r = httpx.get(relay.url + "/v1/models", headers=bearer(fake_key()))
    assert r.status_code == 401
    err = r.json()["error"]
    assert err["code"] == "invalid_api_key" and err["type"] == "invalid_request_error"
    r = httpx.get(relay.url + "/v1/models")
    assert r.status_code == 401 and r.json()["error"]["code"] is None
    assert httpx.get(relay.url + "/v1/models", headers=bearer(relay_key)).status_code == 200


@pytest.mark.parametrize(
    ("headers", "params", "style"),
    [
        ({"authorization": "Bearer {k}"}, {}, "bearer"),
        ({"x-api-key": "{k}"}, {}, "x-api-key"),
        ({"x-goog-api-key": "{k}"}, {}, "x-goog-api-key"),
        ({}, {"key": "{k}"}, "query-key"),
    ],
)
def test_every_auth_style_is_accepted_and_logged(
    relay: Relay, relay_key: str, headers: dict[str, str], params: dict[str, str], style: str
) -> None:
    hdrs = {k: v.format(k=relay_key) for k, v in headers.items()}
    qs = {k: v.format(k=relay_key) for k, v in params.items()}
    r = httpx.get(relay.url + "/v1/models", headers=hdrs, params=qs)
    assert r.status_code == 200, style
    entry = relay.log[-1]
    assert entry.key == relay_key
    assert entry.path == "/v1/models"


def test_log_records_request_details_and_timing(relay: Relay, relay_key: str) -> None:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "ping"}], "max_tokens": 1}
    before = time.monotonic()
    r = httpx.post(
        relay.url + "/v1/chat/completions?trace=1",
        json=body,
        headers={**bearer(relay_key), "X-Custom": "yes"},
    )
    after = time.monotonic()
    assert r.status_code == 200
    (entry,) = relay.wait_for(1, timeout_s=2)
    assert entry.method == "POST"
    assert entry.path == "/v1/chat/completions"
    assert entry.query == {"trace": "1"}
    assert entry.headers["x-custom"] == "yes"
    assert entry.headers["authorization"] == f"Bearer {relay_key}"
    assert entry.json() == body
    assert entry.status == 200
    assert entry.key == relay_key
    assert before <= entry.t_start <= entry.t_end <= after
    relay.clear_log()
    assert relay.log == []


def test_wait_for_times_out(relay: Relay) -> None:
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        relay.wait_for(1, timeout_s=0.2)
    assert time.monotonic() - t0 < 1.0


def test_latency_is_applied_to_every_answer(relay_factory: Callable[..., Relay]) -> None:
    relay = relay_factory(latency_s=0.2)
    t0 = time.monotonic()
    httpx.get(relay.url + "/v1/models")
    assert time.monotonic() - t0 >= 0.2
    entry = relay.log[-1]
    assert entry.t_end - entry.t_start >= 0.2


def test_custom_route_takes_precedence_and_streams(relay: Relay) -> None:
    def handler(req: RelayRequest) -> RelayResponse:
        return RelayResponse.stream([(0.0, b"data: 1\n\n"), (0.05, b"data: " + req.path.encode() + b"\n\n")])

    relay.add_route("GET", "/v1/models", handler)
    relay.add_route("POST", "/custom/*", lambda req: RelayResponse.json({"got": req.json()}, status=201))
    r = httpx.get(relay.url + "/v1/models")
    assert r.headers["content-type"] == "text/event-stream"
    assert r.headers["transfer-encoding"] == "chunked"
    assert r.text == "data: 1\n\ndata: /v1/models\n\n"
    r = httpx.post(relay.url + "/custom/anything", json={"a": 1})
    assert r.status_code == 201 and r.json() == {"got": {"a": 1}}


def test_handler_exception_becomes_500_and_is_recorded(relay: Relay) -> None:
    def broken(req: RelayRequest) -> RelayResponse:
        raise RuntimeError("boom")

    relay.add_route("GET", "/broken", broken)
    r = httpx.get(relay.url + "/broken")
    assert r.status_code == 500
    assert r.json()["error"]["type"] == "server_error"
    assert relay.handler_errors == ["GET /broken: RuntimeError: boom"]


def test_unknown_path_is_openai_json_404_and_head_root_is_ok(relay: Relay) -> None:
    r = httpx.post(relay.url + "/v1/xyz", json={})
    assert r.status_code == 404
    assert r.json()["error"]["message"] == "Invalid URL (POST /v1/xyz)"
    assert httpx.head(relay.url + "/").status_code == 200


def test_keep_alive_serves_many_requests_on_one_connection(relay: Relay, relay_key: str) -> None:
    with httpx.Client(base_url=relay.url, headers=bearer(relay_key)) as client:
        for _ in range(20):
            assert client.get("/v1/models").status_code == 200
    assert len(relay.log) == 20


def test_chunked_request_body_is_read(relay: Relay, relay_key: str) -> None:
    def gen() -> object:
        yield b'{"model":"gpt-4o-mini",'
        yield b'"messages":[{"role":"user","content":"hi"}]}'

    r = httpx.post(relay.url + "/v1/chat/completions", content=gen(), headers=bearer(relay_key))  # type: ignore[arg-type]
    assert r.status_code == 200
    assert relay.log[-1].json()["model"] == "gpt-4o-mini"


def test_many_concurrent_connections(relay_factory: Callable[..., Relay]) -> None:
    relay = relay_factory(latency_s=0.5)
    key = fake_key()
    relay.add_key(key)
    results: list[int] = []
    lock = threading.Lock()
    client = httpx.Client(headers=bearer(key), timeout=20, limits=httpx.Limits(max_connections=100))

    def call() -> None:
        r = client.get(relay.url + "/v1/models")
        with lock:
            results.append(r.status_code)

    threads = [threading.Thread(target=call) for _ in range(60)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    client.close()
    assert results == [200] * 60
    # Served one after another, 60 answers of 0.5 s would take 30 s.
    assert time.monotonic() - t0 < 10.0
    events = sorted([(e.t_start, 1) for e in relay.log] + [(e.t_end, -1) for e in relay.log])
    in_flight = peak = 0
    for _, step in events:
        in_flight += step
        peak = max(peak, in_flight)
    assert peak >= 20


def test_stop_is_prompt_with_open_stream_and_held_request(relay_factory: Callable[..., Relay]) -> None:
    relay = relay_factory(stream_delay_s=10.0)
    key = fake_key()
    relay.add_key(key)
    relay.set_fault("timeout", path="/v1/models")
    errors: list[str] = []

    def stream() -> None:
        body = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "x"}]}
        try:
            with httpx.stream(
                "POST", relay.url + "/v1/chat/completions", json=body, headers=bearer(key), timeout=30
            ) as r:
                r.read()
        except httpx.HTTPError as exc:
            errors.append(type(exc).__name__)

    def held() -> None:
        try:
            httpx.get(relay.url + "/v1/models", headers=bearer(key), timeout=30)
        except httpx.HTTPError as exc:
            errors.append(type(exc).__name__)

    threads = [threading.Thread(target=stream), threading.Thread(target=held)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    relay.stop()
    assert time.monotonic() - t0 < 3.0
    for t in threads:
        t.join(3)
        assert not t.is_alive()
    assert len(errors) == 2  # both clients saw the connection end, neither hung
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{relay._port or 1}/", timeout=1)


def test_idle_keepalive_connection_does_not_block_stop(relay: Relay, relay_key: str) -> None:
    sock = socket.create_connection(("127.0.0.1", relay.port), timeout=2)
    try:
        sock.sendall(
            b"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + relay_key.encode() + b"\r\n\r\n"
        )
        assert sock.recv(100).startswith(b"HTTP/1.1 200")
        t0 = time.monotonic()
        relay.stop()
        assert time.monotonic() - t0 < 2.0
    finally:
        sock.close()


def test_context_manager_and_restart() -> None:
    with Relay(name="cm") as relay:
        url = relay.url
        assert httpx.head(url + "/").status_code == 200
    assert not relay.running
    with pytest.raises(RuntimeError):
        _ = relay.url


def test_add_key_validates_its_fields(relay: Relay) -> None:
    with pytest.raises(ValueError, match="flavor"):
        relay.add_key(fake_key(), flavor="oneapi")
    with pytest.raises(ValueError, match="models"):
        relay.add_key(fake_key(), models="gpt-4o-mini")
    with pytest.raises(TypeError):
        relay.add_key(fake_key(), quotas=1)
    spec = relay.add_key(fake_key(), models=["models/gemini-2.5-flash"])
    assert spec.models == ["gemini-2.5-flash"]


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/v1/models", {"authorization": "Bearer {k}"}),
        ("/v1/models", {"x-api-key": "{k}", "anthropic-version": "2023-06-01"}),
        ("/v1beta/models", {"x-goog-api-key": "{k}"}),
        ("/api/usage/token/", {"authorization": "Bearer {k}"}),
        ("/v1/usage", {"authorization": "Bearer {k}"}),
    ],
)
def test_rejected_keys_are_never_echoed(relay: Relay, path: str, headers: dict[str, str]) -> None:
    key = fake_key()
    r = httpx.get(relay.url + path, headers={k: v.format(k=key) for k, v in headers.items()})
    assert r.status_code in (400, 401)
    assert key not in r.text and key[3:12] not in r.text
    assert all(key not in v for v in r.headers.values())


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400),
        (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n", 413),
    ],
)
def test_unreadable_request_bodies(relay: Relay, raw: bytes, status: int) -> None:
    with socket.create_connection(("127.0.0.1", relay.port), timeout=5) as sock:
        sock.sendall(raw)
        head = sock.recv(4096)
    assert head.startswith(f"HTTP/1.1 {status} ".encode())
    assert relay.wait_for(1, timeout_s=2)[0].status == status
