"""OpenAI legacy billing as relays emulate it (research/upstream-protocols.md §2), over real HTTP."""

from __future__ import annotations

import pytest

from credlib.model import Credential, TelemetryConfig
from tests.fixtures.telemetry import TelemetrySite, read

SUB = "/v1/dashboard/billing/subscription"
USAGE = "/v1/dashboard/billing/usage"


def subscription(hard: float, access_until: int = 0) -> dict[str, object]:
    return {
        "object": "billing_subscription",
        "has_payment_method": True,
        "soft_limit_usd": hard,
        "hard_limit_usd": hard,
        "system_hard_limit_usd": hard,
        "access_until": access_until,
    }


def test_limit_minus_usage_in_cents(site: TelemetrySite) -> None:
    site.json(SUB, subscription(20.0, access_until=1_893_456_000))
    site.json(USAGE, {"object": "list", "total_usage": 550.0})
    res = read(site.cred("openai-billing"))
    m = res.metrics
    assert (m.total_granted, m.total_used, m.balance, m.total_available) == (20.0, 5.5, 14.5, 14.5)
    assert m.expires_at == "2030-01-01T00:00:00Z"
    assert res.health == "healthy"
    usage_req = next(e for e in site.relay.log if e.path == USAGE)
    assert set(usage_req.query) == {"start_date", "end_date"}
    # Query values are redacted in the recorded attempt.
    usage_attempt = next(a for a in res.attempts if USAGE in a.endpoint)
    assert "start_date=[REDACTED]" in usage_attempt.endpoint and usage_req.query["start_date"] not in str(
        res.to_json()
    )


def test_unlimited_sentinel(site: TelemetrySite) -> None:
    site.json(SUB, subscription(100_000_000))
    site.json(USAGE, {"object": "list", "total_usage": 188.131})
    m = read(site.cred("openai-billing")).metrics
    assert m.unlimited is True
    assert m.total_used == pytest.approx(1.88131)
    assert m.balance is None and m.total_granted is None


def test_balance_field_is_used_directly(site: TelemetrySite) -> None:
    site.json(SUB, {**subscription(50.0), "balance": 7.25})
    m = read(site.cred("openai-billing")).metrics
    assert m.balance == 7.25
    assert USAGE not in site.paths()


def test_http_200_with_error_object_is_an_error(site: TelemetrySite) -> None:
    site.json(SUB, {"error": {"message": "该令牌额度已用尽", "type": "new_api_error"}})
    res = read(site.cred("openai-billing"))
    assert res.health == "error"
    assert res.error == "openai-billing: HTTP 200: 该令牌额度已用尽"
    assert res.metrics.balance is None and res.metrics.total_used is None


def test_session_key_refusal_is_unsupported(site: TelemetrySite) -> None:
    site.json(
        SUB,
        {
            "error": {
                "message": "Your request to GET /v1/dashboard/billing/subscription must be made "
                "with a session key (that is, it can only be made from the browser).",
                "type": "server_error",
                "param": None,
                "code": None,
            }
        },
        200,
    )
    res = read(site.cred("openai-billing"))
    assert res.health == "unknown"
    assert res.attempts[0].outcome == "unsupported"


def test_api_openai_com_is_unsupported_without_a_request() -> None:
    from credlib.net import run_sync
    from credlib.telemetry import fetch_telemetry

    cred = Credential(
        name="OpenAI",
        id="openai",
        base_url="https://api.openai.com",
        api_key="sk-" + "q" * 40,
        api_type="openai",
        telemetry=TelemetryConfig(method="openai-billing"),
    )

    class NoNetwork:
        calls = 0

        async def request(self, *args: object, **kwargs: object) -> object:
            NoNetwork.calls += 1
            raise AssertionError("no request may be sent to api.openai.com billing")

    res = run_sync(fetch_telemetry(NoNetwork(), cred))
    assert NoNetwork.calls == 0
    assert res.health == "unknown"
    assert res.attempts[0].outcome == "unsupported"
    assert res.attempts[0].endpoint == "https://api.openai.com/v1/dashboard/billing/subscription"
    assert "session keys" in (res.error or "")


def test_usage_failure_keeps_the_limit(site: TelemetrySite) -> None:
    site.json(SUB, subscription(20.0))
    site.absent(USAGE, html=False)
    res = read(site.cred("openai-billing"))
    assert res.metrics.total_granted == 20.0
    assert res.metrics.total_used is None and res.metrics.balance is None  # not invented from a missing usage
    assert [a.outcome for a in res.attempts] == ["success", "unsupported"]


def test_quota_per_unit_scales_raw_quota_but_not_the_sentinel(site: TelemetrySite) -> None:
    site.json(SUB, subscription(10_000_000))  # raw quota units (TOKENS display type)
    site.json(USAGE, {"total_usage": 250_000_000})  # cents of quota units
    m = read(site.cred("openai-billing", quota_per_unit=500_000)).metrics
    assert (m.total_granted, m.total_used, m.balance) == (20.0, 5.0, 15.0)
    site.relay.clear_log()
    site.json(SUB, subscription(100_000_000))
    m = read(site.cred("openai-billing", quota_per_unit=500_000)).metrics
    assert m.unlimited is True and m.balance is None
