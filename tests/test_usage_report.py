"""The pure parts of `credlib usage`: thresholds, totals and table rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from credlib.model import Credential
from credlib.telemetry.base import Health, Metrics, TelemetryResult
from credlib.telemetry.health import Thresholds
from credlib.telemetry.report import alerts_for, table_rows, totals, usage_json

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def cred(name: str, expires_at: str | None = None) -> Credential:
    return Credential(
        name=name,
        id=name.lower(),
        base_url="https://h.example",
        api_key="sk-" + "k" * 30,
        expires_at=expires_at,
    )


def result(health: Health = "healthy", error: str | None = None, **metrics: Any) -> TelemetryResult:
    return TelemetryResult(
        metrics=Metrics(**metrics),
        health=health,
        refreshed_at="2026-12-04T12:00:00Z",
        error=error,
    )


def test_no_thresholds_no_alerts() -> None:
    assert alerts_for([cred("A")], [result("error", "boom")], Thresholds(), NOW) == []


def test_balance_threshold() -> None:
    creds = [cred("Low"), cred("High"), cred("Unlimited"), cred("NoBalance"), cred("Failed"), cred("Zero")]
    results = [
        result(balance=4.99),
        result(balance=5.0),
        result(unlimited=True, total_used=100.0),
        result(total_used=3.0),
        result("error", "newapi: HTTP 500"),
        result(balance=0.0),
    ]
    alerts = alerts_for(creds, results, Thresholds(under_balance=5), NOW)
    assert [(a.name, a.reason) for a in alerts] == [
        ("Low", "balance $4.99 is below $5.00"),
        ("Failed", "telemetry failed: newapi: HTTP 500"),
        ("Zero", "balance exhausted ($0)"),
    ]


def test_expiry_threshold_uses_the_site_then_the_file() -> None:
    creds = [
        cred("Site"),
        cred("File", expires_at="2026-12-10"),
        cred("Later", expires_at="2027-06-01"),
        cred("Past"),
        cred("Never"),
    ]
    results = [
        result(expires_at="2026-12-06T12:00:00Z"),
        result(balance=1.0),
        result(balance=1.0),
        result(expires_at="2026-11-01T00:00:00Z"),
        result(balance=1.0),
    ]
    alerts = alerts_for(creds, results, Thresholds(expiring_within_days=7), NOW)
    assert [a.name for a in alerts] == ["Site", "File", "Past"]
    assert alerts[0].reason == "expires in 2.0 days (2026-12-06)"
    assert alerts[2].reason == "expired on 2026-11-01"


def test_totals_skip_nulls_and_unlimited() -> None:
    results = [
        result(balance=1.25, today_cost=0.5),
        result(unlimited=True, balance=None),
        result(),
        result(balance=2.0),
    ]
    assert totals(results) == {"balance": 3.25, "today_cost": 0.5}
    assert totals([result()]) == {"balance": None, "today_cost": None}


def test_rows_mark_health_and_show_blanks_not_zeros() -> None:
    lower = result(balance=1.0, today_cost=0.5, today_requests=100)
    lower.today_lower_bound = True
    rows = table_rows(
        [cred("A"), cred("B"), cred("C")], [lower, result("error", "boom"), result(unlimited=True)]
    )
    assert rows[0][:6] == (" ", "A", "healthy", "$1.00", "≥$0.50", "≥100")
    assert rows[1][0] == "✗" and rows[1][3] == "-" and rows[1][-1] == "boom"
    assert rows[2][3] == "unlimited"
    assert rows[-1][1] == "TOTAL" and rows[-1][3] == "$1.00"


def test_json_has_name_and_every_metric() -> None:
    doc = usage_json([cred("A")], [result(balance=1.0)], [])
    first = doc["results"][0]
    assert first["name"] == "A" and first["id"] == "a" and first["balance"] == 1.0
    assert first["today_cost"] is None and first["unlimited"] is None
    assert "sk-" not in str(doc)


def test_metrics_are_the_one_list_of_spec_metric_names() -> None:
    """model.METRIC_NAMES is the single list (mappings, schema, status and usage JSON read it)."""
    from dataclasses import fields

    from credlib.model import METRIC_NAMES
    from credlib.reconcile.status import TELEMETRY_FIELDS
    from credlib.telemetry.base import COUNT_METRICS, MONEY_METRICS

    assert tuple(f.name for f in fields(Metrics)) == METRIC_NAMES
    assert sorted([*MONEY_METRICS, *COUNT_METRICS, "unlimited", "expires_at"]) == sorted(METRIC_NAMES)
    assert TELEMETRY_FIELDS[: len(METRIC_NAMES)] == METRIC_NAMES
    doc = usage_json([cred("A")], [result()], [])
    assert all(doc["results"][0][name] is None for name in METRIC_NAMES)
