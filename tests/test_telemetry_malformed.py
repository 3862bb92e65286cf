"""Malformed upstream answers and secrets: one credential's bad answer is that credential's error only."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from credlib.model import Credential, TelemetryConfig
from credlib.redact import redact_key
from credlib.relay.wire import RelayRequest, RelayResponse
from tests.fixtures.env import fake_key
from tests.fixtures.telemetry import TelemetrySite, dead_cred, read, read_many

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
    cred = dead_cred("newapi")
    res = read(cred)
    assert res.health == "error" and "unreachable" in (res.error or "")
    assert res.attempts[0].outcome == "error" and res.attempts[0].status is None


def test_bearer_and_key_are_redacted_from_errors(site: TelemetrySite) -> None:
    key = site.key

    def echo(req: RelayRequest) -> RelayResponse:
        # A careless upstream echoing the credential back in its error message.
        # ...and another secret it happens to know (not one credlib could redact by value).
        message = f"invalid {req.headers.get('authorization')} for key {key}; see sk-{other} or token={other}"
        return RelayResponse.json({"success": False, "message": message}, 401)

    other = "Q" * 32
    site.handler("/api/usage/token/", echo, public=True)
    site.absent("/v1/usage")
    site.absent("/v1/dashboard/billing/subscription")
    res = read(site.cred("auto"))
    dumped = json.dumps(res.to_json(), ensure_ascii=False)
    assert res.health == "error"
    assert key not in dumped and key[8:30] not in dumped and other not in dumped
    expected = (
        f"HTTP 401: invalid Bearer [REDACTED] for key {redact_key(key)}; "
        "see sk-[REDACTED] or token=[REDACTED]"
    )
    assert res.error == f"newapi: {expected}"
    assert res.attempts[0].message == expected


def test_transport_errors_of_one_credential_do_not_stop_the_others(site: TelemetrySite) -> None:
    site.json("/v1/usage", GOOD)
    gone = dead_cred("sub2api")
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


# ---- every method: one bad answer is that credential's error only ---------------------------------
# Per method: (main path, body with V in the field that carries the balance, V giving a good
# answer, the balance that good answer yields, the field name an error must name).
METHOD_CASES: dict[str, tuple[str, Callable[[Any], Any], Any, float, str]] = {
    "newapi": (
        "/api/usage/token/",
        lambda v: {
            "code": True,
            "message": "ok",
            "data": {"total_granted": 5_000_000, "total_used": 1_250_000, "total_available": v},
        },
        3_750_000,
        7.5,
        "total_available",
    ),
    "sub2api": ("/v1/usage", lambda v: {"balance": v}, 5, 5.0, "balance"),
    "openai-billing": (
        "/v1/dashboard/billing/subscription",
        lambda v: {"object": "billing_subscription", "hard_limit_usd": v, "access_until": 0},
        20,
        15.0,
        "hard_limit_usd",
    ),
    "custom": ("/custom/usage", lambda v: {"data": {"balance": v}}, 4.5, 4.5, "balance (data.balance)"),
}
TEN_MB = 10 * 1024 * 1024


def bad_bodies(method: str) -> list[tuple[str, bytes, str, str]]:
    """(case, raw body, content type, fragment the error must contain)."""
    _, body, _, _, field = METHOD_CASES[method]

    def with_value(value: Any) -> bytes:
        return json.dumps(body(value)).encode()

    wrong_shape = "no mapped path matched" if method == "custom" else "expected a JSON object, got list"
    # New API reports an overdrawn key with a negative total_available: legal there (clamped to 0).
    negative = ("negative", with_value(-3), "application/json", f"{field}: negative value")
    cases = [
        ("html", b"<!doctype html><html><body>Login</body></html>", "text/html", "response is not JSON"),
        ("wrong-shape", b"[1, 2, 3]", "application/json", wrong_shape),
        ("string", with_value("lots"), "application/json", f"{field}: expected a number, got the string"),
        ("nan-string", with_value("NaN"), "application/json", f"{field}: 'NaN' is not a finite number"),
        ("nan-literal", with_value("@").replace(b'"@"', b"NaN"), "application/json", "is not JSON"),
        ("10mb", json.dumps({"pad": "x" * TEN_MB}).encode(), "application/json", "too large"),
    ]
    return cases if method == "newapi" else [*cases, negative]


ALL_CASES = [(m, *case) for m in METHOD_CASES for case in bad_bodies(m)]


@pytest.mark.parametrize(
    ("method", "case", "body", "content_type", "fragment"),
    ALL_CASES,
    ids=[f"{c[0]}-{c[1]}" for c in ALL_CASES],
)
def test_every_method_isolates_a_malformed_answer(
    site: TelemetrySite, method: str, case: str, body: bytes, content_type: str, fragment: str
) -> None:
    path, good_body, good_value, good_balance, _ = METHOD_CASES[method]
    good_key = fake_key()
    site.handler(
        path,
        lambda req: (
            RelayResponse.json(good_body(good_value))
            if req.headers.get("authorization") == f"Bearer {good_key}"
            else RelayResponse(status=200, headers={"content-type": content_type}, body=body)
        ),
        public=True,
    )
    # The follow-ups the good credential's method makes.
    site.json("/api/status", {"success": True, "data": {"quota_per_unit": 500_000}}, public=True)
    site.json("/api/log/token", {"success": True, "data": []}, public=True)
    site.json("/v1/dashboard/billing/usage", {"object": "list", "total_usage": 500}, public=True)
    extra: dict[str, Any] = (
        {"endpoint": path, "mapping": {"balance": "data.balance"}} if method == "custom" else {}
    )
    bad_cred = site.cred(method, **extra)
    good_cred = Credential(
        name="Good",
        id="good",
        base_url=site.url,
        api_key=good_key,
        telemetry=TelemetryConfig(method=method, **extra),  # type: ignore[arg-type]
    )
    bad, good = read_many([bad_cred, good_cred])
    assert bad.health == "error", bad.to_json()
    assert fragment in (bad.error or ""), bad.error
    assert (bad.error or "").startswith(f"{method}: ")
    assert [a.outcome for a in bad.attempts] == ["error"]  # one request, no follow-up on a bad answer
    assert not bad.metrics.has_any()
    assert good.health == "healthy", good.to_json()
    assert good.metrics.balance == good_balance


def test_malformed_newapi_log_is_an_error_naming_the_entry(site: TelemetrySite) -> None:
    site.json(
        "/api/usage/token/",
        {"code": True, "data": {"total_granted": 10, "total_used": 0, "total_available": 10}},
    )
    site.absent("/api/status")
    site.json("/api/log/token", {"success": True, "data": [{"created_at": "yesterday", "quota": 5}]})
    res = read(site.cred("newapi"))
    assert res.health == "error"
    assert "/api/log/token data[0].created_at: expected a number, got the string 'yesterday'" in (
        res.error or ""
    )
    assert [(a.endpoint.rsplit("/api", 1)[1], a.outcome) for a in res.attempts] == [
        ("/usage/token/", "success"),
        ("/status", "unsupported"),
        ("/log/token", "error"),
    ]
