"""Health of a telemetry result that has metrics, and the alert thresholds of ``credlib usage``.

Rules (README "telemetry" documents them):
- ``error``: the fetch failed — transport error, non-2xx other than 404/405, a body that is not the
  expected JSON, an impossible value — or an explicitly configured method's endpoint does not exist.
- ``unknown``: telemetry is disabled, or ``auto`` found no endpoint that answers on this site.
- ``warning``: metrics were read but something needs attention: balance at or below zero (or below
  ``--fail-under-balance``), the key expired or expires within 7 days (or ``--fail-expiring-within``),
  a rate-limit window used up, the site says the key is invalid, or custom paths that matched nothing.
- ``healthy``: metrics were read and none of the above applies. An unlimited key has no balance alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from credlib.telemetry.base import Metrics, RateLimitWindow
from credlib.telemetry.convert import parse_iso

DEFAULT_EXPIRY_WARNING_DAYS = 7.0


@dataclass(frozen=True)
class Thresholds:
    under_balance: float | None = None  # USD
    expiring_within_days: float | None = None


def balance_alert(metrics: Metrics, under: float | None) -> str | None:
    if metrics.unlimited or metrics.balance is None:
        return None
    if metrics.balance <= 0:
        return "balance exhausted ($0)"
    if under is not None and metrics.balance < under:
        return f"balance ${metrics.balance:,.2f} is below ${under:,.2f}"
    return None


def expiry_alert(expires_at: str | None, now: datetime, within_days: float | None) -> str | None:
    moment = parse_iso(expires_at) if expires_at else None
    if moment is None:
        return None
    if moment <= now:
        return f"expired on {moment.date().isoformat()}"
    days = DEFAULT_EXPIRY_WARNING_DAYS if within_days is None else within_days
    if moment - now <= timedelta(days=days):
        left = (moment - now).total_seconds() / 86400
        return f"expires in {left:.1f} days ({moment.date().isoformat()})"
    return None


def window_alerts(windows: list[RateLimitWindow]) -> list[str]:
    return [
        f"{w.window} spending window used up"
        for w in windows
        if w.remaining is not None and w.remaining <= 0 and (w.limit or 0) > 0
    ]


def assess(
    metrics: Metrics,
    windows: list[RateLimitWindow],
    warnings: list[str],
    now: datetime,
    thresholds: Thresholds | None = None,
) -> list[str]:
    """Everything that makes a result ``warning``; empty means ``healthy``."""
    thresholds = thresholds or Thresholds()
    reasons = [
        r
        for r in (
            balance_alert(metrics, thresholds.under_balance),
            expiry_alert(metrics.expires_at, now, thresholds.expiring_within_days),
        )
        if r
    ]
    return reasons + window_alerts(windows) + list(warnings)
