"""Malformed upstream answers and secrets: one credential's bad answer is that credential's error only."""

from __future__ import annotations

import json
import socket

import pytest

from credlib.model import Credential, TelemetryConfig
from credlib.relay.wire import RelayRequest, RelayResponse
from tests.fixtures.env import fake_key
from tests.fixtures.telemetry import TelemetrySite, read, read_many

GOOD = {"balance": 5, "usage": {"today": {"requests": 1, "actual_cost": 0.5}}}


@pytest.mark.parametrize(
    ("body", "content_type", "fragment"),
    [
        (b"<html><body>Welcome</body></html>", "text/html", "response is not JSON (content-type text/html)"),
        (b"", "application/json", "empty response body"),
        (b"[1, 2, 3]", "application/json", "expected a JSON object, got list"),
        (b'{"mode": "quota_limited", "quota": "lots"}', "application/json", "quota: expected an object"),
        (b'{"balance": "twelve dollars"}', "application/json", "balance: expected a number, got the string"),
        (b'{"balance": -3}', "application/json", "balance: negative value"),
        (b'{"balance": NaN}', "application/json", "response is not JSON"),
        (b'{"balance": "NaN"}', "application/json", "is not a finite number"),
        (
            b'{"balance": 1, "usage": {"today": {"requests": 2.5}}}',
            "application/json",
            "expected a whole number",
        ),
        (b'{"balance": true}', "application/json", "expected a number, got a boolean"),
    ],
)
def test_malformed_answer_is_an_error_for_that_credential_only(
    site: TelemetrySite, body: bytes, content_type: str, fragment: str
) -> None:
    good_key = fake_key()
    site.handler(
        "/v1/usage",
        lambda req: (
            RelayResponse.json(GOOD)
            if req.headers.get("authorization") == f"Bearer {good_key}"
            else RelayResponse(status=200, headers={"content-type": content_type}, body=body)
        ),
        public=True,
    )
    bad_cred = site.cred("sub2api")
    good_cred = Credential(
        name="Good",
        id="good",
        base_url=site.url,
        api_key=good_key,
        telemetry=TelemetryConfig(method="sub2api"),
    )
    bad, good = read_many([bad_cred, good_cred])
    assert bad.health == "error", bad.to_json()
    assert fragment in (bad.error or ""), bad.error
    assert bad.attempts[-1].outcome == "error"
    assert not bad.metrics.has_any()
    assert good.health == "healthy" and good.metrics.balance == 5.0


def test_newapi_wrong_types_are_errors(site: TelemetrySite) -> None:
    site.json(
        "/api/usage/token/",
        {"code": True, "data": {"total_granted": "5e6", "total_used": "abc", "total_available": 1}},
    )
    res = read(site.cred("newapi"))
    assert res.health == "error" and "total_used: expected a number, got the string 'abc'" in (
        res.error or ""
    )


def test_newapi_non_object_data_is_an_error(site: TelemetrySite) -> None:
    site.json("/api/usage/token/", {"code": True, "message": "ok", "data": "nope"})
    res = read(site.cred("newapi"))
    assert res.health == "error"


def test_ten_megabyte_body_is_an_error(site: TelemetrySite) -> None:
    huge = json.dumps({"balance": 1, "pad": "x" * (10 * 1024 * 1024)}).encode()
    site.raw("/v1/usage", huge)
    res = read(site.cred("sub2api"))
    assert res.health == "error"
    assert "too large" in (res.error or "")


def test_unreachable_site_is_an_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cred = Credential(
        name="Gone",
        id="gone",
        base_url=f"http://127.0.0.1:{port}",
        api_key=fake_key(),
        telemetry=TelemetryConfig(method="newapi"),
    )
    res = read(cred)
    assert res.health == "error" and "unreachable" in (res.error or "")
    assert res.attempts[0].outcome == "error" and res.attempts[0].status is None


def test_bearer_and_key_are_redacted_from_errors(site: TelemetrySite) -> None:
    key = site.key

    def echo(req: RelayRequest) -> RelayResponse:
        # A careless upstream echoing the credential back in its error message.
        return RelayResponse.json(
            {"success": False, "message": f"invalid {req.headers.get('authorization')} for key {key}"}, 401
        )

    site.handler("/api/usage/token/", echo, public=True)
    site.absent("/v1/usage")
    site.absent("/v1/dashboard/billing/subscription")
    res = read(site.cred("auto"))
    dumped = json.dumps(res.to_json(), ensure_ascii=False)
    assert res.health == "error"
    assert key not in dumped and key[8:30] not in dumped
    assert "Bearer [REDACTED]" in dumped or "sk-ab" in dumped or "…" in dumped


def test_transport_errors_of_one_credential_do_not_stop_the_others(site: TelemetrySite) -> None:
    site.json("/v1/usage", GOOD)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gone = Credential(
        name="Gone",
        id="gone",
        base_url=f"http://127.0.0.1:{port}",
        api_key=fake_key(),
        telemetry=TelemetryConfig(method="sub2api"),
    )
    results = read_many([gone, site.cred("sub2api")])
    assert [r.health for r in results] == ["error", "healthy"]


def test_a_site_that_never_answers_times_out(site: TelemetrySite) -> None:
    from credlib.net import Engine, run_sync
    from credlib.telemetry import fetch_telemetry

    site.relay.set_fault("timeout", path="/v1/usage", seconds=5)

    async def go() -> object:
        async with Engine(timeout_s=0.3, max_retries=0) as engine:
            return await fetch_telemetry(engine, site.cred("sub2api"))

    res = run_sync(go())
    assert res.health == "error" and "timeout" in (res.error or "")  # type: ignore[attr-defined]
