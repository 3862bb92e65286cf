"""auto against the local relay's built-in key flavors: telemetry and relay agree on the wire facts."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest

from credlib.model import Credential, TelemetryConfig, TelemetryMethod
from credlib.relay.keys import NewApiLog, RateLimitWindow, UsageWindow
from tests.fixtures.env import fake_key
from tests.fixtures.telemetry import TelemetrySite, read


def cred_for(site: TelemetrySite, key: str, method: TelemetryMethod = "auto") -> Credential:
    return Credential(
        name="R", id="r", base_url=site.url, api_key=key, telemetry=TelemetryConfig(method=method)
    )


def test_newapi_flavor_with_logs(site: TelemetrySite) -> None:
    now = datetime.now().astimezone().replace(hour=12, minute=0, second=0, microsecond=0)
    key = fake_key()
    site.relay.add_key(
        key,
        flavor="newapi",
        quota=7.5,
        used=2.5,
        expires_at=1_893_456_000,
        logs=[
            NewApiLog(
                created_at=int((now - timedelta(hours=1)).timestamp()),
                cost=0.5,
                prompt_tokens=10,
                completion_tokens=5,
            ),
            NewApiLog(created_at=int((now - timedelta(days=1)).timestamp()), cost=3.0),
        ],
    )
    res = read(cred_for(site, key, "newapi"), now=now)
    m = res.metrics
    assert res.method_used == "newapi"
    assert (m.balance, m.total_granted, m.total_used) == (7.5, 10.0, 2.5)
    assert (m.today_requests, m.today_cost, m.today_total_tokens) == (1, 0.5, 15)
    assert m.expires_at == "2030-01-01T00:00:00Z"
    assert site.paths() == ["/api/usage/token/", "/api/status", "/api/log/token"]


def test_newapi_flavor_under_auto_is_one_request(site: TelemetrySite) -> None:
    key = fake_key()
    site.relay.add_key(
        key, flavor="newapi", quota=7.5, used=2.5, logs=[NewApiLog(created_at=int(time.time()))]
    )
    res = read(cred_for(site, key, "auto"))
    assert site.paths() == ["/api/usage/token/"]
    assert (res.metrics.balance, res.metrics.total_used, res.metrics.today_requests) == (7.5, 2.5, None)


def test_newapi_flavor_full_log_window(site: TelemetrySite) -> None:
    now = datetime.now().astimezone().replace(hour=12, minute=0, second=0, microsecond=0)
    key = fake_key()
    logs = [
        NewApiLog(created_at=int((now - timedelta(minutes=i)).timestamp()), cost=0.01) for i in range(150)
    ]
    site.relay.add_key(key, flavor="newapi", logs=logs)
    res = read(cred_for(site, key, "newapi"), now=now)
    assert res.metrics.today_requests == 100 and res.today_lower_bound is True


def test_newapi_flavor_unlimited_via_billing(site: TelemetrySite) -> None:
    key = fake_key()
    site.relay.add_key(key, flavor="newapi", unlimited=True, used=1.88131)
    res = read(cred_for(site, key, "openai-billing"))
    assert res.metrics.unlimited is True and res.metrics.total_used == pytest.approx(1.88131)


@pytest.mark.parametrize("mode", ["quota_limited", "wallet", "subscription"])
def test_sub2api_flavor_modes(site: TelemetrySite, mode: str) -> None:
    key = fake_key()
    site.relay.add_key(
        key,
        flavor="sub2api",
        sub2api_mode=mode,
        quota=12.0,
        used=3.0,
        today=UsageWindow(requests=4, input_tokens=100, output_tokens=50, cost=1.0, actual_cost=0.8),
        rate_limits=[RateLimitWindow(window="5h", limit=5.0, used=1.0, reset_at=int(time.time()) + 3600)],
        subscription_limits={"daily": 10.0, "weekly": None, "monthly": None},
        subscription_usage={"daily": 4.0, "weekly": 0.0, "monthly": 0.0},
    )
    res = read(cred_for(site, key))
    m = res.metrics
    assert res.method_used == "sub2api", res.to_json()
    assert m.today_cost == 0.8 and m.today_requests == 4
    assert m.today_prompt_tokens == 100 and m.today_completion_tokens == 50
    if mode == "subscription":
        assert m.balance == 6.0
        assert any(w.window == "daily" and w.remaining == 6.0 for w in res.rate_limits)
    else:
        assert m.balance == 12.0
    # auto never reached billing: the first answer won.
    assert not any("billing" in p for p in site.paths())


def test_sub2api_flavor_unlimited(site: TelemetrySite) -> None:
    key = fake_key()
    site.relay.add_key(key, flavor="sub2api", unlimited=True, used=4.0)
    res = read(cred_for(site, key))
    assert res.metrics.unlimited is True and res.metrics.balance is None
    assert res.metrics.total_used == 4.0


def test_openai_flavor_billing(site: TelemetrySite) -> None:
    key = fake_key()
    site.relay.add_key(key, flavor="openai", quota=15.0, used=5.0)
    res = read(cred_for(site, key))
    assert res.method_used == "openai-billing"
    assert (res.metrics.total_granted, res.metrics.total_used, res.metrics.balance) == (20.0, 5.0, 15.0)


def test_plain_flavor_has_no_telemetry(site: TelemetrySite) -> None:
    key = fake_key()
    site.relay.add_key(key, flavor="plain")
    res = read(cred_for(site, key))
    assert res.health == "unknown", res.to_json()
    assert [a.outcome for a in res.attempts] == ["unsupported"] * 3


def test_status_is_fetched_once_per_site_per_run(site: TelemetrySite) -> None:
    from tests.fixtures.telemetry import read_many

    keys = [fake_key() for _ in range(3)]
    for i, key in enumerate(keys):
        site.relay.add_key(key, flavor="newapi", quota=float(i + 1))
    creds = [
        Credential(
            name=f"K{i}", id=f"k{i}", base_url=site.url, api_key=k, telemetry=TelemetryConfig(method="newapi")
        )
        for i, k in enumerate(keys)
    ]
    results = read_many(creds)
    assert [r.metrics.balance for r in results] == [1.0, 2.0, 3.0]
    assert site.paths().count("/api/status") == 1
