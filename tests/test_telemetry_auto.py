"""auto and disabled (research/all-api-hub.md §3.2, §12), over real HTTP."""

from __future__ import annotations

from tests.fixtures.telemetry import TelemetrySite, dead_cred, read

NEWAPI_USAGE = {
    "code": True,
    "message": "ok",
    "data": {
        "object": "token_usage",
        "total_granted": 5_000_000,
        "total_used": 1_250_000,
        "total_available": 3_750_000,
        "unlimited_quota": False,
        "expires_at": 0,
    },
}


def test_auto_falls_through_an_html_404_to_sub2api(site: TelemetrySite) -> None:
    site.absent("/api/usage/token/")  # an HTML front-end page, as many sites answer unknown routes
    site.json("/v1/usage", {"balance": 12, "usage": {"today": {"requests": 3, "cost": 1.25, "tokens": 4000}}})
    res = read(site.cred("auto"))
    assert res.method_used == "sub2api" and res.health == "healthy"
    assert (res.metrics.balance, res.metrics.today_cost, res.metrics.today_requests) == (12.0, 1.25, 3)
    assert [(a.method, a.outcome, a.status) for a in res.attempts] == [
        ("newapi", "unsupported", 404),
        ("sub2api", "success", 200),
    ]
    assert res.error is None
    assert site.paths() == ["/api/usage/token/", "/v1/usage"]


def serve_every_method(site: TelemetrySite) -> None:
    """A New API site that also answers every other method's endpoint and its own follow-ups."""
    site.json("/api/usage/token/", NEWAPI_USAGE)
    site.json("/api/status", {"success": True, "data": {"quota_per_unit": 500_000}}, public=True)
    site.json("/api/log/token", {"success": True, "message": "", "data": []})
    site.json("/v1/usage", {"balance": 99})
    site.json("/v1/dashboard/billing/subscription", {"hard_limit_usd": 99})


def test_auto_makes_exactly_one_request_when_the_first_method_answers(site: TelemetrySite) -> None:
    # All API Hub's "auto order" case (research/all-api-hub.md §12): fetch called exactly once.
    serve_every_method(site)
    res = read(site.cred("auto"))
    assert site.paths() == ["/api/usage/token/"]
    assert res.method_used == "newapi" and res.health == "healthy"
    m = res.metrics
    assert (m.balance, m.total_granted, m.total_used) == (7.5, 10.0, 2.5)  # ÷ 500 000 without asking
    # No log request, so today's figures are unknown: null, not 0.
    assert m.today_cost is None and m.today_requests is None and m.today_total_tokens is None
    assert [(a.method, a.endpoint, a.outcome) for a in res.attempts] == [
        ("newapi", site.url + "/api/usage/token/", "success")
    ]


def test_auto_uses_the_configured_quota_per_unit(site: TelemetrySite) -> None:
    serve_every_method(site)
    res = read(site.cred("auto", quota_per_unit=1_000_000))
    assert site.paths() == ["/api/usage/token/"]
    assert (res.metrics.balance, res.metrics.total_granted) == (3.75, 5.0)


def test_explicit_newapi_makes_its_follow_ups_and_records_each(site: TelemetrySite) -> None:
    serve_every_method(site)
    res = read(site.cred("newapi"))
    assert site.paths() == ["/api/usage/token/", "/api/status", "/api/log/token"]
    assert [(a.endpoint, a.outcome) for a in res.attempts] == [
        (site.url + "/api/usage/token/", "success"),
        (site.url + "/api/status", "success"),
        (site.url + "/api/log/token", "success"),
    ]
    assert res.metrics.balance == 7.5
    assert (res.metrics.today_cost, res.metrics.today_requests) == (0.0, 0)  # an empty log: truly none


def test_auto_tries_billing_last(site: TelemetrySite) -> None:
    site.absent("/api/usage/token/", html=False)
    site.absent("/v1/usage")
    site.json("/v1/dashboard/billing/subscription", {"hard_limit_usd": 20.0, "access_until": 0})
    site.json("/v1/dashboard/billing/usage", {"total_usage": 100})
    res = read(site.cred("auto"))
    assert res.method_used == "openai-billing" and res.metrics.balance == 19.0
    assert [a.method for a in res.attempts] == ["newapi", "sub2api", "openai-billing", "openai-billing"]
    assert site.paths() == [
        "/api/usage/token/",
        "/v1/usage",
        "/v1/dashboard/billing/subscription",
        "/v1/dashboard/billing/usage",
    ]


def test_auto_with_nothing_supported_is_unknown_not_error(site: TelemetrySite) -> None:
    for path in ("/api/usage/token/", "/v1/usage", "/v1/dashboard/billing/subscription"):
        site.absent(path)
    res = read(site.cred("auto"))
    assert res.health == "unknown"
    assert "no telemetry endpoint answered" in (res.error or "")
    assert [a.outcome for a in res.attempts] == ["unsupported"] * 3
    assert not res.metrics.has_any()


def test_auto_skips_a_200_without_usage_fields(site: TelemetrySite) -> None:
    site.json("/api/usage/token/", {"success": True, "data": {"hello": "world"}})
    site.json("/v1/usage", {"mode": "unrestricted", "balance": 3.5, "remaining": 3.5})
    res = read(site.cred("auto"))
    assert res.method_used == "sub2api"
    assert res.attempts[0].outcome == "empty"


def test_auto_reports_the_first_error_when_nothing_answers(site: TelemetrySite) -> None:
    site.json("/api/usage/token/", {"success": False, "message": "令牌已过期 (token expired)"}, 401)
    site.absent("/v1/usage")
    site.absent("/v1/dashboard/billing/subscription")
    res = read(site.cred("auto"))
    assert res.health == "error"
    assert res.error == "newapi: HTTP 401: 令牌已过期 (token expired)"


def test_auto_error_precedence_is_the_first_error_in_method_order(site: TelemetrySite) -> None:
    # All API Hub's "error precedence" case: the first method's error, not a later one, not a generic line.
    site.json("/api/usage/token/", {"success": False, "message": "database is locked"}, 500)
    site.json("/v1/usage", {"error": {"type": "authentication_error", "message": "key revoked"}}, 401)
    site.absent("/v1/dashboard/billing/subscription")
    res = read(site.cred("auto"))
    assert res.health == "error"
    assert res.error == "newapi: HTTP 500: database is locked"
    assert [(a.method, a.outcome, a.status) for a in res.attempts] == [
        ("newapi", "error", 500),
        ("sub2api", "error", 401),
        ("openai-billing", "unsupported", 404),
    ]
    assert res.attempts[1].message == "HTTP 401: key revoked"


def test_disabled_makes_no_request(site: TelemetrySite) -> None:
    site.json("/api/usage/token/", NEWAPI_USAGE)
    res = read(site.cred("disabled"))
    assert site.relay.log == []
    assert res.health == "unknown" and res.attempts == [] and not res.metrics.has_any()
    assert res.to_json()["balance"] is None  # null, never 0


def test_auto_stops_at_an_unreachable_site() -> None:
    # Every method asks the same origin: when it gives no HTTP answer, trying the next one only waits again.
    res = read(dead_cred())
    assert res.health == "error" and (res.error or "").startswith("newapi: unreachable: ")
    assert [(a.method, a.outcome, a.status) for a in res.attempts] == [("newapi", "error", None)]


def test_auto_stops_at_a_site_that_times_out(site: TelemetrySite) -> None:
    from credlib.net import Engine, run_sync
    from credlib.telemetry import TelemetryResult, fetch_telemetry

    site.relay.set_fault("timeout", path="/api/usage/token/", seconds=3)
    site.json("/v1/usage", {"balance": 1})

    async def go() -> TelemetryResult:
        async with Engine(timeout_s=0.3, max_retries=0) as engine:
            return await fetch_telemetry(engine, site.cred("auto"))

    res = run_sync(go())
    assert res.health == "error" and "timeout" in (res.error or "")
    assert [a.method for a in res.attempts] == ["newapi"]
    assert "/v1/usage" not in site.paths()
