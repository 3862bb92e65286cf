"""New API telemetry over real HTTP: /api/usage/token/, /api/status and today's /api/log/token.

Numbers are All API Hub's fixtures (research/all-api-hub.md §3.3, §12) and New API's shapes
(research/upstream-protocols.md §3).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.fixtures.telemetry import TelemetrySite, read


def token_usage(**data: Any) -> dict[str, Any]:
    body = {
        "object": "token_usage",
        "name": "ci",
        "model_limits": {},
        "model_limits_enabled": False,
        "expires_at": 0,
        "unlimited_quota": False,
    }
    body.update(data)
    return {"code": True, "message": "ok", "data": body}


def noon_today() -> datetime:
    return datetime.now().astimezone().replace(hour=12, minute=0, second=0, microsecond=0)


def test_quota_divided_by_500000(site: TelemetrySite) -> None:
    site.json(
        "/api/usage/token/",
        token_usage(total_granted=5_000_000, total_used=1_250_000, total_available=3_750_000),
    )
    site.absent("/api/status")
    site.absent("/api/log/token")
    res = read(site.cred("newapi"))
    m = res.metrics
    assert (m.total_granted, m.total_used, m.total_available, m.balance) == (10.0, 2.5, 7.5, 7.5)
    assert m.unlimited is False
    assert m.expires_at is None  # 0 = never
    # No log route: today's figures are unknown, not zero.
    assert m.today_cost is None and m.today_requests is None and m.today_total_tokens is None
    assert res.health == "healthy" and res.method_used == "newapi"
    assert site.paths()[0] == "/api/usage/token/"  # the trailing slash New API registers


def test_unlimited_reports_only_used(site: TelemetrySite) -> None:
    site.json(
        "/api/usage/token/",
        token_usage(unlimited_quota=True, total_granted=0, total_used=940_655, total_available=0),
    )
    site.absent("/api/status")
    site.absent("/api/log/token")
    m = read(site.cred("newapi")).metrics
    assert m.unlimited is True
    assert m.total_used == pytest.approx(1.88131)
    assert m.balance is None and m.total_granted is None and m.total_available is None


def test_negative_granted_means_unlimited(site: TelemetrySite) -> None:
    site.json("/api/usage/token/", token_usage(total_granted=-1, total_used=10, total_available=-1))
    site.absent("/api/status")
    site.absent("/api/log/token")
    m = read(site.cred("newapi")).metrics
    assert m.unlimited is True and m.balance is None


def test_overdrawn_key_is_clamped_to_zero_and_warns(site: TelemetrySite) -> None:
    site.json(
        "/api/usage/token/",
        token_usage(total_granted=1_000_000, total_used=1_250_000, total_available=-250_000),
    )
    site.absent("/api/status")
    site.absent("/api/log/token")
    res = read(site.cred("newapi"))
    assert res.metrics.balance == 0.0 and res.metrics.total_available == 0.0
    assert res.health == "warning" and "exhausted" in (res.error or "")


def test_quota_per_unit_published_by_the_site(site: TelemetrySite) -> None:
    site.json(
        "/api/usage/token/",
        token_usage(total_granted=3_000_000, total_used=1_000_000, total_available=2_000_000),
    )
    site.json(
        "/api/status",
        {"success": True, "data": {"quota_per_unit": 1_000_000, "quota_display_type": "USD"}},
        public=True,
    )
    site.absent("/api/log/token")
    m = read(site.cred("newapi")).metrics
    assert (m.total_granted, m.balance) == (3.0, 2.0)
    status_req = next(e for e in site.relay.log if e.path == "/api/status")
    assert "authorization" not in status_req.headers  # a public endpoint gets no key


def test_quota_per_unit_override_skips_status(site: TelemetrySite) -> None:
    site.json("/api/usage/token/", token_usage(total_granted=300, total_used=100, total_available=200))
    site.absent("/api/log/token")
    m = read(site.cred("newapi", quota_per_unit=100)).metrics
    assert (m.total_granted, m.total_used, m.balance) == (3.0, 1.0, 2.0)
    assert "/api/status" not in site.paths()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1_893_456_000, "2030-01-01T00:00:00Z"),  # seconds
        (1_893_456_000_000, "2030-01-01T00:00:00Z"),  # ms (legacy credit_summary)
        (0, None),
        (-1, None),
    ],
)
def test_expiry_in_seconds_or_ms(site: TelemetrySite, raw: int, expected: str | None) -> None:
    site.json(
        "/api/usage/token/", token_usage(total_granted=10, total_used=0, total_available=10, expires_at=raw)
    )
    site.absent("/api/status")
    site.absent("/api/log/token")
    assert read(site.cred("newapi")).metrics.expires_at == expected


def log(created: datetime, quota: int, prompt: int, completion: int, kind: int = 2) -> dict[str, Any]:
    return {
        "created_at": int(created.timestamp()),
        "type": kind,
        "model_name": "gpt-4o-mini",
        "quota": quota,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "use_time": 1,
        "is_stream": False,
        "token_name": "ci",
        "other": "{}",
    }


def test_today_figures_from_the_token_log(site: TelemetrySite) -> None:
    now = noon_today()
    site.json(
        "/api/usage/token/",
        token_usage(total_granted=5_000_000, total_used=1_250_000, total_available=3_750_000),
    )
    site.absent("/api/status")
    site.json(
        "/api/log/token",
        {
            "success": True,
            "message": "",
            "data": [
                log(now - timedelta(minutes=5), 250_000, 100, 50),
                log(now - timedelta(hours=2), 500_000, 1000, 500),
                log(now - timedelta(hours=3), 0, 0, 0, kind=1),  # a top-up, not a request
                log(now - timedelta(hours=13), 9_999_999, 9, 9),  # yesterday (before local midnight)
            ],
        },
    )
    res = read(site.cred("newapi"), now=now)
    m = res.metrics
    assert m.today_requests == 2
    assert m.today_cost == pytest.approx(1.5)
    assert (m.today_prompt_tokens, m.today_completion_tokens, m.today_total_tokens) == (1100, 550, 1650)
    assert res.today_lower_bound is False
    log_req = next(e for e in site.relay.log if e.path == "/api/log/token")
    assert log_req.headers["authorization"] == f"Bearer {site.key}"


def test_full_log_window_is_flagged_as_lower_bound(site: TelemetrySite) -> None:
    now = noon_today()
    site.json("/api/usage/token/", token_usage(total_granted=10, total_used=0, total_available=10))
    site.absent("/api/status")
    site.json(
        "/api/log/token",
        {"success": True, "data": [log(now - timedelta(seconds=i * 10), 5_000, 10, 5) for i in range(100)]},
    )
    res = read(site.cred("newapi"), now=now)
    assert res.metrics.today_requests == 100
    assert res.today_lower_bound is True
    assert res.to_json()["today_lower_bound"] is True


def test_unknown_key_is_an_error_without_the_key(site: TelemetrySite) -> None:
    site.json("/api/usage/token/", token_usage(total_granted=10, total_used=0, total_available=10))
    other = "sk-" + "z" * 40
    res = read(site.cred("newapi", key=other))
    assert res.health == "error"
    assert "HTTP 401" in (res.error or "") and "invalid token" in (res.error or "")
    assert other not in str(res.to_json())
