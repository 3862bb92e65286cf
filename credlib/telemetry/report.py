"""What ``credlib usage`` shows: alert thresholds, totals, table rows and the JSON document.

Pure functions over credentials and ``TelemetryResult``s; the click command only wires them up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from credlib.model import Credential
from credlib.telemetry.base import TelemetryResult
from credlib.telemetry.convert import parse_iso
from credlib.telemetry.health import Thresholds, balance_alert, expiry_alert


@dataclass(frozen=True)
class Alert:
    name: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "reason": self.reason}


def _expiry_of(cred: Credential, result: TelemetryResult) -> str | None:
    """The site's expiry if it reports one, else the informational ``expires_at`` of the file."""
    if result.metrics.expires_at:
        return result.metrics.expires_at
    if cred.expires_at:
        moment = parse_iso(str(cred.expires_at))
        return moment.isoformat() if moment else None
    return None


def alerts_for(
    creds: Sequence[Credential], results: Sequence[TelemetryResult], thresholds: Thresholds, now: datetime
) -> list[Alert]:
    """Credentials that crossed a threshold given on the command line (none when none was given).

    A credential whose telemetry failed cannot prove it is above the line, so it alerts too; one
    whose site reports no balance (or that is unlimited) is not checked against the balance line.
    """
    wanted_balance = thresholds.under_balance is not None
    wanted_expiry = thresholds.expiring_within_days is not None
    if not (wanted_balance or wanted_expiry):
        return []
    out: list[Alert] = []
    for cred, res in zip(creds, results, strict=True):
        if res.health == "error" and (wanted_balance or not _expiry_of(cred, res)):
            out.append(Alert(cred.name, f"telemetry failed: {res.error}"))
            continue
        if wanted_balance and (reason := balance_alert(res.metrics, thresholds.under_balance)):
            out.append(Alert(cred.name, reason))
        if wanted_expiry and (
            reason := expiry_alert(_expiry_of(cred, res), now, thresholds.expiring_within_days)
        ):
            out.append(Alert(cred.name, reason))
    return out


def totals(results: Sequence[TelemetryResult]) -> dict[str, float | None]:
    """Sum of the balances and of today's cost that were reported (unlimited keys have no balance)."""
    balances = [
        r.metrics.balance for r in results if r.metrics.balance is not None and not r.metrics.unlimited
    ]
    costs = [r.metrics.today_cost for r in results if r.metrics.today_cost is not None]
    return {
        "balance": round(sum(balances), 6) if balances else None,
        "today_cost": round(sum(costs), 6) if costs else None,
    }


def usage_json(
    creds: Sequence[Credential], results: Sequence[TelemetryResult], alerts: Sequence[Alert]
) -> dict[str, Any]:
    return {
        "results": [
            {"name": cred.name, "id": cred.id, **res.to_json()}
            for cred, res in zip(creds, results, strict=True)
        ],
        "totals": totals(results),
        "alerts": [a.to_json() for a in alerts],
    }


HEADERS = (
    "",
    "name",
    "health",
    "balance",
    "today",
    "requests",
    "tokens",
    "used",
    "expires",
    "method",
    "note",
)
MARKS = {"error": "✗", "warning": "!", "unknown": "?", "healthy": " "}


def money(value: float | None, *, lower_bound: bool = False) -> str:
    if value is None:
        return "-"
    return ("≥" if lower_bound else "") + f"${value:,.2f}"


def _count(value: int | None, *, lower_bound: bool = False) -> str:
    if value is None:
        return "-"
    return ("≥" if lower_bound else "") + f"{value:,}"


def _date(value: str | None) -> str:
    moment = parse_iso(value) if value else None
    return moment.astimezone(UTC).date().isoformat() if moment else "-"


def table_rows(creds: Sequence[Credential], results: Sequence[TelemetryResult]) -> list[tuple[str, ...]]:
    """One row per credential plus a totals row; the first column marks warning/error rows."""
    rows: list[tuple[str, ...]] = []
    for cred, res in zip(creds, results, strict=True):
        m, low = res.metrics, res.today_lower_bound
        balance = "unlimited" if m.unlimited else money(m.balance)
        rows.append(
            (
                MARKS.get(res.health, "?"),
                cred.name,
                res.health,
                balance,
                money(m.today_cost, lower_bound=low),
                _count(m.today_requests, lower_bound=low),
                _count(m.today_total_tokens, lower_bound=low),
                money(m.total_used),
                _date(m.expires_at),
                res.method_used or res.method,
                res.error or "",
            )
        )
    sums = totals(results)
    rows.append(("", "TOTAL", "", money(sums["balance"]), money(sums["today_cost"]), "", "", "", "", "", ""))
    return rows
