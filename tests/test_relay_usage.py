"""Telemetry routes of the relay: New API, OpenAI billing emulation and Sub2API (research §2–§4)."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from credlib.relay import NewApiLog, RateLimitWindow, Relay, UsageWindow
from tests.fixtures.env import fake_key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# ---- New API ---------------------------------------------------------------------------------------
def test_status_publishes_quota_per_unit_without_auth(relay_factory: Callable[..., Relay]) -> None:
    relay = relay_factory(quota_per_unit=1_000_000)
    body = httpx.get(relay.url + "/api/status").json()
    assert body["success"] is True
    assert body["data"]["quota_per_unit"] == 1_000_000 and body["data"]["quota_display_type"] == "USD"


def test_token_usage_in_quota_units(relay: Relay) -> None:
    key = fake_key()
    expires = int(time.time()) + 86400
    relay.add_key(key, quota=7.5, used=2.5, expires_at=expires, name="team", model_limits=["gpt-4o-mini"])
    r = httpx.get(relay.url + "/api/usage/token/", headers=bearer(key))
    assert r.status_code == 200
    body = r.json()
    assert body["code"] is True and body["message"] == "ok"
    data = body["data"]
    # research all-api-hub §3.3 fixture: granted 5 000 000 / used 1 250 000 / available 3 750 000.
    assert data == {
        "object": "token_usage",
        "name": "team",
        "total_granted": 5_000_000,
        "total_used": 1_250_000,
        "total_available": 3_750_000,
        "unlimited_quota": False,
        "model_limits": {"gpt-4o-mini": True},
        "model_limits_enabled": True,
        "expires_at": expires,
    }


def test_token_usage_unlimited_overdrawn_never_and_legacy_ms(relay: Relay) -> None:
    unlimited, overdrawn, legacy = fake_key(), fake_key(), fake_key()
    relay.add_key(unlimited, unlimited=True, quota=0, used=1.88131)
    relay.add_key(overdrawn, quota=-0.5, used=3.0)
    relay.add_key(legacy, expires_at=1_800_000_000, newapi_expiry_ms=True)
    data = httpx.get(relay.url + "/api/usage/token/", headers=bearer(unlimited)).json()["data"]
    assert data["unlimited_quota"] is True and data["total_used"] == 940_655 and data["expires_at"] == 0
    data = httpx.get(relay.url + "/api/usage/token/", headers=bearer(overdrawn)).json()["data"]
    assert data["total_available"] == -250_000
    data = httpx.get(relay.url + "/api/usage/token/", headers=bearer(legacy)).json()["data"]
    assert data["expires_at"] == 1_800_000_000_000


def test_token_usage_errors_and_slashless_redirect(relay: Relay, relay_key: str) -> None:
    r = httpx.get(relay.url + "/api/usage/token/")
    assert r.status_code == 401 and r.json()["success"] is False
    r = httpx.get(relay.url + "/api/usage/token/", headers=bearer(fake_key()))
    assert r.status_code == 401 and r.json() == {"success": False, "message": r.json()["message"]}
    r = httpx.get(relay.url + "/api/usage/token/", headers={"x-api-key": relay_key})
    assert r.status_code == 200 and r.json()["success"] is False  # the handler reads only Bearer
    r = httpx.get(relay.url + "/api/usage/token", headers=bearer(relay_key))
    assert r.status_code == 301 and r.headers["location"] == "/api/usage/token/"


def test_log_token_newest_first_capped_by_window(relay: Relay) -> None:
    key = fake_key()
    now = int(time.time())
    logs = [
        NewApiLog(created_at=now - i * 60, cost=0.002, prompt_tokens=10, completion_tokens=5)
        for i in range(5)
    ]
    relay.add_key(key, logs=list(reversed(logs)), log_window=3)
    body = httpx.get(relay.url + "/api/log/token", headers=bearer(key)).json()
    assert body["success"] is True
    assert [e["created_at"] for e in body["data"]] == [now, now - 60, now - 120]
    first = body["data"][0]
    assert first["type"] == 2 and first["quota"] == 1000 and first["prompt_tokens"] == 10
    assert first["completion_tokens"] == 5 and first["model_name"] == "gpt-4o-mini"


# ---- OpenAI billing --------------------------------------------------------------------------------
def test_newapi_billing_emulation(relay: Relay) -> None:
    key, unlimited = fake_key(), fake_key()
    relay.add_key(key, quota=7.5, used=2.5, expires_at=1_900_000_000)
    relay.add_key(unlimited, unlimited=True, used=1.88131)
    for prefix in ("/v1", ""):
        sub = httpx.get(relay.url + prefix + "/dashboard/billing/subscription", headers=bearer(key)).json()
        assert sub["object"] == "billing_subscription" and sub["has_payment_method"] is True
        assert sub["hard_limit_usd"] == sub["soft_limit_usd"] == sub["system_hard_limit_usd"] == 10.0
        assert sub["access_until"] == 1_900_000_000
    usage = httpx.get(
        relay.url + "/v1/dashboard/billing/usage?start_date=2026-01-01&end_date=2026-12-04",
        headers=bearer(key),
    ).json()
    assert usage == {"object": "list", "total_usage": 250.0}  # cents; new-api sends no daily_costs
    sub = httpx.get(relay.url + "/v1/dashboard/billing/subscription", headers=bearer(unlimited)).json()
    assert sub["hard_limit_usd"] == 100_000_000
    usage = httpx.get(relay.url + "/v1/dashboard/billing/usage", headers=bearer(unlimited)).json()
    assert usage["total_usage"] == pytest.approx(188.131)
    credits = httpx.get(relay.url + "/v1/credits", headers=bearer(key)).json()
    assert credits == {"data": {"total_usage": 7.5}}


def test_oneapi_style_billing_with_daily_costs(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key, flavor="openai", quota=95.0, used=5.0, billing_balance=95.0)
    sub = httpx.get(relay.url + "/v1/dashboard/billing/subscription", headers=bearer(key)).json()
    assert sub["hard_limit_usd"] == 100.0 and sub["balance"] == 95.0
    r = httpx.get(relay.url + "/v1/dashboard/billing/usage", headers=bearer(key))
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    usage = httpx.get(
        relay.url + "/v1/dashboard/billing/usage",
        params={"start_date": "2026-12-01", "end_date": "2026-12-04"},
        headers=bearer(key),
    ).json()
    assert usage["object"] == "list" and usage["total_usage"] == 500.0
    assert usage["daily_costs"][0]["line_items"][0]["cost"] == 500.0
    assert httpx.get(relay.url + "/v1/credits", headers=bearer(key)).status_code == 404


def test_billing_error_in_http_200(relay: Relay, relay_key: str) -> None:
    relay.set_fault("error_200", path="/v1/dashboard/billing/*", message="token quota unavailable")
    r = httpx.get(relay.url + "/v1/dashboard/billing/subscription", headers=bearer(relay_key))
    assert r.status_code == 200
    assert r.json()["error"] == {
        "message": "token quota unavailable",
        "type": "new_api_error",
        "param": None,
        "code": None,
    }


# ---- Sub2API ---------------------------------------------------------------------------------------
def test_sub2api_quota_limited(relay: Relay) -> None:
    key = fake_key()
    expires = int(time.time()) + 10 * 86400 + 60
    relay.add_key(
        key,
        flavor="sub2api",
        quota=18.0,
        used=2.0,
        expires_at=expires,
        today=UsageWindow(requests=3, input_tokens=3000, output_tokens=1000, cost=1.5, actual_cost=1.25),
        total=UsageWindow(requests=40, input_tokens=40000, output_tokens=9000, cost=2.4, actual_cost=2.0),
        rate_limits=[RateLimitWindow("5h", limit=5.0, used=1.0), RateLimitWindow("1d", limit=10.0, used=2.0)],
    )
    body = httpx.get(relay.url + "/v1/usage", headers=bearer(key)).json()
    assert body["mode"] == "quota_limited" and body["isValid"] is True and body["status"] == "active"
    assert body["remaining"] == 18.0 and body["unit"] == "USD"
    assert body["quota"] == {"limit": 20.0, "used": 2.0, "remaining": 18.0, "unit": "USD"}
    windows = {w["window"]: w for w in body["rate_limits"]}
    assert windows["5h"]["remaining"] == 4.0 and windows["1d"]["limit"] == 10.0
    assert body["expires_at"].startswith(time.strftime("%Y-", time.gmtime(expires)))
    assert body["days_until_expiry"] == 10
    today = body["usage"]["today"]
    assert today["requests"] == 3 and today["total_tokens"] == 4000
    assert today["cost"] == 1.5 and today["actual_cost"] == 1.25
    assert body["usage"]["total"]["requests"] == 40
    assert {"rpm", "tpm", "average_duration_ms"} <= set(body["usage"])
    assert "data" not in body  # top-level, not wrapped


def test_sub2api_unrestricted_wallet_and_subscription(relay: Relay) -> None:
    wallet, sub, nolimit = fake_key(), fake_key(), fake_key()
    relay.add_key(wallet, flavor="sub2api", sub2api_mode="wallet", quota=12.0)
    relay.add_key(
        sub,
        flavor="sub2api",
        sub2api_mode="subscription",
        plan_name="Claude Max",
        subscription_limits={"daily": 10.0, "weekly": 50.0, "monthly": None},
        subscription_usage={"daily": 4.0, "weekly": 45.0, "monthly": 60.0},
        expires_at=1_900_000_000,
    )
    relay.add_key(nolimit, flavor="sub2api", sub2api_mode="subscription")
    body = httpx.get(relay.url + "/v1/usage", headers={"x-api-key": wallet}).json()
    assert body["mode"] == "unrestricted" and body["planName"] == "钱包余额"
    assert body["balance"] == 12.0 and body["remaining"] == 12.0
    body = httpx.get(relay.url + "/v1/usage", params={"key": sub}).json()
    assert body["mode"] == "unrestricted" and body["planName"] == "Claude Max"
    assert body["remaining"] == 5.0  # min over configured windows: weekly 50 - 45
    assert body["subscription"]["daily_limit_usd"] == 10.0
    assert body["subscription"]["monthly_limit_usd"] is None
    assert body["subscription"]["expires_at"].startswith("2030-")
    body = httpx.get(relay.url + "/v1/usage", headers=bearer(nolimit)).json()
    assert body["remaining"] == -1


def test_sub2api_unlimited_legacy_and_auth_errors(relay: Relay) -> None:
    unlimited, legacy = fake_key(), fake_key()
    relay.add_key(unlimited, flavor="sub2api", unlimited=True)
    relay.add_key(legacy, flavor="sub2api", sub2api_legacy=True, quota=3.0, plan_name="basic")
    assert httpx.get(relay.url + "/v1/usage", headers=bearer(unlimited)).json()["remaining"] == -1
    body = httpx.get(relay.url + "/v1/usage", headers=bearer(legacy)).json()
    assert body == {"isValid": True, "planName": "basic", "remaining": 3.0, "unit": "USD"}
    r = httpx.get(relay.url + "/v1/usage")
    assert r.status_code == 401 and r.json()["code"] == "API_KEY_REQUIRED"
    r = httpx.get(relay.url + "/v1/usage", headers=bearer(fake_key()))
    assert r.status_code == 401 and r.json()["code"] == "INVALID_API_KEY"


def test_flavor_decides_which_telemetry_routes_exist(relay: Relay) -> None:
    plain, sub2, newapi = fake_key(), fake_key(), fake_key()
    relay.add_key(plain, flavor="plain")
    relay.add_key(sub2, flavor="sub2api")
    relay.add_key(newapi, flavor="newapi")
    for key in (plain, sub2):
        r = httpx.get(relay.url + "/api/usage/token/", headers=bearer(key))
        assert r.status_code == 404 and r.text == "404 page not found"
        assert (
            httpx.get(relay.url + "/v1/dashboard/billing/subscription", headers=bearer(key)).status_code
            == 404
        )
    for key in (plain, newapi):
        r = httpx.get(relay.url + "/v1/usage", headers=bearer(key))
        assert r.status_code == 404 and "Invalid URL" in r.json()["error"]["message"]


def test_account_usage_charges_answered_generations(relay_factory: Callable[..., Relay]) -> None:
    relay = relay_factory(account_usage=True, price_per_mtok=(1_000_000.0, 1_000_000.0))  # $1 per token
    newapi, sub2 = fake_key(), fake_key()
    relay.add_key(newapi, quota=1000.0)
    relay.add_key(sub2, flavor="sub2api", quota=1000.0)
    chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "ping"}]}
    r = httpx.post(relay.url + "/v1/chat/completions", json=chat, headers=bearer(newapi))
    charged = r.json()["usage"]["total_tokens"]
    msg = {"model": "claude-sonnet-4-5", "max_tokens": 8, "messages": [{"role": "user", "content": "ping"}]}
    httpx.post(relay.url + "/v1/messages", json=msg, headers={"x-api-key": newapi})
    httpx.post(
        relay.url + "/v1beta/models/gemini-2.5-flash:generateContent",
        json={"contents": [{"parts": [{"text": "ping"}]}]},
        headers={"x-goog-api-key": sub2},
    )
    httpx.post(relay.url + "/v1/chat/completions", json={**chat, "model": "nope"}, headers=bearer(newapi))
    logs = httpx.get(relay.url + "/api/log/token", headers=bearer(newapi)).json()["data"]
    assert len(logs) == 2  # the 404 was not charged
    assert {entry["model_name"] for entry in logs} == {"gpt-4o-mini", "claude-sonnet-4-5"}
    usage = httpx.get(relay.url + "/api/usage/token/", headers=bearer(newapi)).json()["data"]
    assert usage["total_used"] >= charged * 500_000
    assert usage["total_available"] == 1000 * 500_000 - usage["total_used"]
    today = httpx.get(relay.url + "/v1/usage", headers=bearer(sub2)).json()["usage"]["today"]
    assert today["requests"] == 1 and today["total_tokens"] > 0 and today["actual_cost"] > 0


def test_usage_is_not_charged_by_default(relay: Relay, relay_key: str) -> None:
    chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "ping"}]}
    httpx.post(relay.url + "/v1/chat/completions", json=chat, headers=bearer(relay_key))
    assert httpx.get(relay.url + "/api/log/token", headers=bearer(relay_key)).json()["data"] == []
