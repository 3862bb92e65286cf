"""The types every telemetry method shares: metrics, attempts, results, and the method interface.

A method reads one kind of upstream endpoint and returns a ``Reading`` (metrics plus extras) or
raises ``MethodFailure`` saying whether the site simply lacks the endpoint (``unsupported``) or the
endpoint answered badly (``error``). ``credlib.telemetry.run`` turns readings into a
``TelemetryResult`` with a health verdict; the CLI and the reconciler only see results.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from credlib.telemetry.request import MethodContext

Health = Literal["healthy", "warning", "error", "unknown"]
Outcome = Literal["success", "unsupported", "empty", "error"]

MONEY_METRICS = ("balance", "today_cost", "total_used", "total_granted", "total_available")
COUNT_METRICS = (
    "today_requests",
    "today_prompt_tokens",
    "today_completion_tokens",
    "today_total_tokens",
)


@dataclass
class Metrics:
    """SPEC §5 metrics. ``None`` means the upstream did not say; nothing here is ever a default."""

    balance: float | None = None
    today_cost: float | None = None
    today_requests: int | None = None
    today_prompt_tokens: int | None = None
    today_completion_tokens: int | None = None
    today_total_tokens: int | None = None
    total_used: float | None = None
    total_granted: float | None = None
    total_available: float | None = None
    unlimited: bool | None = None
    expires_at: str | None = None  # ISO 8601, UTC

    def has_any(self) -> bool:
        return any(getattr(self, f.name) is not None for f in fields(self))

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Metrics:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class RateLimitWindow:
    """One spending window a site enforces on the key (Sub2API's 5h/1d/7d, subscription periods)."""

    window: str
    limit: float | None
    used: float | None
    remaining: float | None
    reset_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "limit": self.limit,
            "used": self.used,
            "remaining": self.remaining,
            "reset_at": self.reset_at,
        }


@dataclass(frozen=True)
class Attempt:
    """One request (or deliberate non-request) a method made. Secret-free by construction."""

    method: str
    endpoint: str  # absolute URL with every query value replaced by [REDACTED]
    outcome: Outcome
    status: int | None = None
    latency_ms: float | None = None
    message: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "endpoint": self.endpoint,
            "outcome": self.outcome,
            "status": self.status,
            "latency_ms": self.latency_ms,
            "message": self.message,
        }


@dataclass
class Reading:
    """What one method got out of the site."""

    metrics: Metrics = field(default_factory=Metrics)
    today_lower_bound: bool = False  # New API's log window was full: today's figures are at least this
    rate_limits: list[RateLimitWindow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. custom paths that matched nothing


class MethodFailure(Exception):
    """A method could not produce a reading. ``message`` is already scrubbed of secrets."""

    def __init__(
        self, kind: Literal["unsupported", "error"], message: str, *, site_down: bool = False
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        # No HTTP answer at all (unreachable, timeout, not HTTP): every other endpoint of the same
        # origin would fail the same way, so ``auto`` stops trying instead of waiting out each one.
        self.site_down = site_down


class TelemetryMethod(Protocol):
    @property
    def name(self) -> str: ...

    async def read(self, ctx: MethodContext) -> Reading: ...


@dataclass
class TelemetryResult:
    metrics: Metrics
    health: Health
    refreshed_at: str  # ISO 8601 UTC
    error: str | None = None  # why the health is not healthy, when it is not
    attempts: list[Attempt] = field(default_factory=list)
    method_used: str | None = None
    method: str = "auto"  # the configured method
    today_lower_bound: bool = False
    rate_limits: list[RateLimitWindow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.metrics.to_json(),
            "health": self.health,
            "refreshed_at": self.refreshed_at,
            "error": self.error,
            "warnings": list(self.warnings),
            "method": self.method,
            "method_used": self.method_used,
            "today_lower_bound": self.today_lower_bound,
            "rate_limits": [w.to_json() for w in self.rate_limits],
            "attempts": [a.to_json() for a in self.attempts],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TelemetryResult:
        """Rebuild a result from state (``status`` shows the last refresh without a request).

        State written by another credlib version may carry other keys; unknown ones are ignored.
        """
        health = data.get("health")
        return cls(
            metrics=Metrics.from_json(data),
            health=health if health in ("healthy", "warning", "error", "unknown") else "unknown",
            refreshed_at=str(data.get("refreshed_at", "")),
            error=data.get("error"),
            attempts=[_build(Attempt, a) for a in data.get("attempts", []) if isinstance(a, dict)],
            method_used=data.get("method_used"),
            method=str(data.get("method", "auto")),
            today_lower_bound=bool(data.get("today_lower_bound", False)),
            rate_limits=[
                _build(RateLimitWindow, w) for w in data.get("rate_limits", []) if isinstance(w, dict)
            ],
            warnings=[str(w) for w in data.get("warnings", [])],
        )


def _build(kind: Any, data: dict[str, Any]) -> Any:
    names = {f.name for f in fields(kind)}
    values = {k: v for k, v in data.items() if k in names}
    for f in fields(kind):
        values.setdefault(f.name, None)
    return kind(**values)


def iso_utc(moment: datetime) -> str:
    from datetime import UTC

    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
