"""Sub2API's GET /v1/usage in both modes (research/upstream-protocols.md §4.2), over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.telemetry import TelemetrySite, read


def usage_block(**today: Any) -> dict[str, Any]:
    base = {
        "requests": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_creation_tokens": 0,
        "cache_read_tokens": 0,
        "total_tokens": 0,
        "cost": 0.0,
        "actual_cost": 0.0,
    }
    return {
        "today": {**base, **today},
        "total": {**base, "cost": 40.0, "actual_cost": 20.0},
        "average_duration_ms": 900,
        "rpm": 1,
        "tpm": 100,
    }


def test_quota_limited_mode(site: TelemetrySite) -> None:
    site.json(
        "/v1/usage",
        {
            "mode": "quota_limited",
            "isValid": True,
            "status": "active",
            "quota": {"limit": 50.0, "used": 12.5, "remaining": 37.5, "unit": "USD"},
            "remaining": 37.5,
            "unit": "USD",
            "rate_limits": [
                {
                    "window": "5h",
                    "limit": 5.0,
                    "used": 1.0,
                    "remaining": 4.0,
                    "window_start": "2026-12-04T10:00:00Z",
                    "reset_at": "2026-12-04T15:00:00Z",
                },
                {
                    "window": "1d",
                    "limit": 10.0,
                    "used": 2.0,
                    "remaining": 8.0,
                    "window_start": "2026-12-04T00:00:00Z",
                },
            ],
            "expires_at": "2027-03-01T00:00:00+08:00",
            "days_until_expiry": 87,
            "usage": usage_block(
                requests=7, input_tokens=1200, output_tokens=300, total_tokens=1600, cost=2.0, actual_cost=1.2
            ),
            "model_stats": [],
        },
    )
    res = read(site.cred("sub2api"))
    m = res.metrics
    assert (m.total_granted, m.total_used, m.total_available, m.balance) == (50.0, 12.5, 37.5, 37.5)
    assert m.today_cost == 1.2  # actual_cost (what was deducted), not the list price
    assert (m.today_requests, m.today_prompt_tokens, m.today_completion_tokens, m.today_total_tokens) == (
        7,
        1200,
        300,
        1600,
    )
    assert m.expires_at == "2027-02-28T16:00:00Z"
    assert m.unlimited is False
    assert [(w.window, w.limit, w.used, w.remaining) for w in res.rate_limits] == [
        ("5h", 5.0, 1.0, 4.0),
        ("1d", 10.0, 2.0, 8.0),
    ]
    assert res.rate_limits[0].reset_at == "2026-12-04T15:00:00Z"
    assert res.health == "healthy" and res.method_used == "sub2api"
    assert site.paths() == ["/v1/usage"]  # the /v1 the stored base URL does not carry


def test_unrestricted_subscription_with_no_limit_is_unlimited(site: TelemetrySite) -> None:
    site.json(
        "/v1/usage",
        {
            "mode": "unrestricted",
            "isValid": True,
            "planName": "Claude Max group",
            "unit": "USD",
            "remaining": -1,
            "subscription": {
                "daily_usage_usd": 3.0,
                "weekly_usage_usd": 9.0,
                "monthly_usage_usd": 30.0,
                "daily_limit_usd": 0,
                "weekly_limit_usd": 0,
                "monthly_limit_usd": 100.0,
                "expires_at": "2027-01-31T00:00:00Z",
            },
            "usage": usage_block(requests=2, cost=0.5),  # actual_cost 0.0 is still preferred: it was deducted
        },
    )
    res = read(site.cred("sub2api"))
    m = res.metrics
    assert m.unlimited is True and m.balance is None
    assert m.expires_at == "2027-01-31T00:00:00Z"
    assert m.today_cost == 0.0 and m.today_requests == 2
    assert m.total_used == 20.0  # usage.total.actual_cost
    monthly = next(w for w in res.rate_limits if w.window == "monthly")
    assert (monthly.limit, monthly.used, monthly.remaining) == (100.0, 30.0, 70.0)


def test_unrestricted_wallet(site: TelemetrySite) -> None:
    site.json(
        "/v1/usage",
        {
            "mode": "unrestricted",
            "isValid": True,
            "planName": "钱包余额",
            "remaining": 42.25,
            "balance": 42.25,
            "unit": "USD",
            "usage": usage_block(requests=1, cost=0.3),
        },
    )
    m = read(site.cred("sub2api")).metrics
    assert m.balance == 42.25 and m.unlimited is False
    assert m.today_cost == 0.0  # actual_cost present (0.0) wins over cost


def test_all_api_hub_fixture_shape(site: TelemetrySite) -> None:
    site.json("/v1/usage", {"balance": 12, "usage": {"today": {"requests": 3, "cost": 1.25, "tokens": 4000}}})
    m = read(site.cred("sub2api")).metrics
    assert (m.balance, m.today_cost, m.today_requests, m.today_total_tokens) == (12.0, 1.25, 3, 4000)
    # Not given, so not invented:
    assert m.today_prompt_tokens is None and m.total_granted is None


def test_exhausted_window_and_invalid_key_warn(site: TelemetrySite) -> None:
    site.json(
        "/v1/usage",
        {
            "mode": "quota_limited",
            "isValid": False,
            "status": "quota_exhausted",
            "quota": {"limit": 5.0, "used": 5.0, "remaining": 0.0},
            "remaining": 0.0,
            "rate_limits": [{"window": "5h", "limit": 2.0, "used": 2.0, "remaining": 0.0}],
        },
    )
    res = read(site.cred("sub2api"))
    assert res.health == "warning"
    assert "balance exhausted" in (res.error or "")
    assert "5h spending window used up" in (res.error or "")
    assert "quota_exhausted" in (res.error or "")


@pytest.mark.parametrize("remaining", [-5, -0.5])
def test_negative_remaining_other_than_minus_one_is_an_error(site: TelemetrySite, remaining: float) -> None:
    site.json("/v1/usage", {"mode": "unrestricted", "remaining": remaining, "unit": "USD"})
    res = read(site.cred("sub2api"))
    assert res.health == "error" and "remaining: negative value" in (res.error or "")


def test_anthropic_style_error_body(site: TelemetrySite) -> None:
    site.json(
        "/v1/usage", {"type": "error", "error": {"type": "authentication_error", "message": "bad key"}}, 401
    )
    res = read(site.cred("sub2api"))
    assert res.health == "error" and res.error == "sub2api: HTTP 401: bad key"
