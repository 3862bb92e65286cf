"""Keys the relay accepts, the telemetry each key reports, and how a request presents its key.

Amounts are always given in **USD** here; each telemetry endpoint converts them to its own unit
(New API quota units = USD x ``quota_per_unit``, billing ``total_usage`` in cents, Sub2API USD).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Flavor = Literal["newapi", "sub2api", "openai", "plain"]
FLAVORS: tuple[str, ...] = ("newapi", "sub2api", "openai", "plain")
Sub2ApiMode = Literal["quota_limited", "wallet", "subscription"]

DEFAULT_MODELS: tuple[str, ...] = ("gpt-4o-mini", "claude-sonnet-4-5", "gemini-2.5-flash")

# Key extraction order of Sub2API's middleware, the most permissive relay in the research (§4.1).
AUTH_STYLES: tuple[str, ...] = ("bearer", "x-api-key", "x-goog-api-key", "query-key", "query-api_key")


@dataclass
class UsageWindow:
    """Sub2API ``usage.today`` / ``usage.total``: ``cost`` is the list price, ``actual_cost`` what was
    deducted."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0
    cost: float = 0.0
    actual_cost: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_creation_tokens + self.cache_read_tokens


@dataclass
class NewApiLog:
    """One consume log as New API's ``GET /api/log/token`` lists it (``cost`` in USD, sent as quota)."""

    created_at: int  # unix seconds
    model_name: str = "gpt-4o-mini"
    cost: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    type: int = 2  # 2 = consume
    is_stream: bool = False
    use_time: int = 1


@dataclass
class RateLimitWindow:
    """A Sub2API key limit window (USD)."""

    window: Literal["5h", "1d", "7d"]
    limit: float
    used: float
    reset_at: int | None = None  # unix seconds

    @property
    def remaining(self) -> float:
        return max(0.0, self.limit - self.used)


@dataclass
class KeySpec:
    """A key the relay accepts, with the data its telemetry endpoints report.

    ``relay.add_key(key, **fields)`` takes these fields by name:

    - ``models``: names this key may use and lists (default ``DEFAULT_MODELS``); ``None`` accepts
      any model name and lists ``DEFAULT_MODELS``. Anything else gets each family's 404.
    - ``flavor``: which telemetry routes answer for it: ``newapi`` (``/api/usage/token/``,
      ``/api/log/token``, new-api billing emulation, ``/v1/credits``), ``openai`` (one-api style
      billing), ``sub2api`` (``/v1/usage``), ``plain`` (none).
    - ``quota`` (remaining, negative = overdrawn) and ``used``: USD. New API reports them in quota
      units (x ``Relay.quota_per_unit``), billing in USD and cents, Sub2API in USD.
    - ``unlimited``: New API ``unlimited_quota``, billing's 100000000 sentinel, Sub2API ``remaining: -1``.
    - ``expires_at``: unix seconds or None (never); ``newapi_expiry_ms`` sends it in milliseconds.
    - ``disabled``: every authenticated route answers 401 (a revoked key).
    - New API: ``name``, ``model_limits``, ``logs`` (``NewApiLog`` list), ``log_window``.
    - Sub2API: ``sub2api_mode`` (quota_limited | wallet | subscription), ``plan_name``, ``status``,
      ``today``/``total`` (``UsageWindow``), ``rate_limits`` (``RateLimitWindow`` list),
      ``subscription_limits``/``subscription_usage`` (daily/weekly/monthly USD), ``sub2api_legacy``.
    - Billing: ``has_payment_method``, ``billing_balance`` (an extra ``balance`` field).
    """

    key: str
    models: list[str] | None = field(default_factory=lambda: list(DEFAULT_MODELS))
    flavor: Flavor = "newapi"
    name: str = "credlib-test"
    quota: float = 10.0
    used: float = 0.0
    unlimited: bool = False
    expires_at: int | None = None
    disabled: bool = False  # every authenticated route answers 401 (a revoked key)
    # New API
    newapi_expiry_ms: bool = False  # the legacy credit_summary handler sends milliseconds
    model_limits: list[str] = field(default_factory=list)
    logs: list[NewApiLog] = field(default_factory=list)
    log_window: int = 100  # MaxRecentItems: /api/log/token lists at most this many, newest first
    # Sub2API
    sub2api_mode: Sub2ApiMode = "quota_limited"
    plan_name: str = "default"
    status: str = "active"
    sub2api_legacy: bool = False  # the Dec-2025 handler: only {isValid, planName, remaining, unit}
    today: UsageWindow = field(default_factory=UsageWindow)
    total: UsageWindow = field(default_factory=UsageWindow)
    rate_limits: list[RateLimitWindow] = field(default_factory=list)
    subscription_limits: Mapping[str, float | None] = field(
        default_factory=lambda: {"daily": None, "weekly": None, "monthly": None}
    )
    subscription_usage: Mapping[str, float] = field(
        default_factory=lambda: {"daily": 0.0, "weekly": 0.0, "monthly": 0.0}
    )
    # OpenAI billing
    has_payment_method: bool = True
    billing_balance: float | None = None  # some gateways add a `balance` field to the subscription

    def __post_init__(self) -> None:
        if self.flavor not in FLAVORS:
            raise ValueError(f"flavor must be one of {', '.join(FLAVORS)}, not {self.flavor!r}")
        if self.sub2api_mode not in ("quota_limited", "wallet", "subscription"):
            raise ValueError(f"unknown sub2api_mode {self.sub2api_mode!r}")
        if self.models is not None:
            if isinstance(self.models, str) or not all(isinstance(m, str) for m in self.models):
                raise ValueError("models must be a list of model names (or None for any model)")
            self.models = [strip_model_prefix(m) for m in self.models]

    def serves(self, model: str) -> bool:
        return self.models is None or strip_model_prefix(model) in self.models

    def listed_models(self) -> list[str]:
        return list(DEFAULT_MODELS) if self.models is None else list(self.models)

    @property
    def granted(self) -> float:
        return self.quota + self.used

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or time.time())


def strip_model_prefix(model: str) -> str:
    return model[len("models/") :] if model.startswith("models/") else model


def presented(headers: Mapping[str, str], query: Mapping[str, str]) -> dict[str, str]:
    """Every credential the request carries, by auth style (Gemini CLI may send two)."""
    found: dict[str, str] = {}
    auth = headers.get("authorization", "").strip()
    if auth[:7].lower() == "bearer " and auth[7:].strip():
        found["bearer"] = auth[7:].strip()
    for header in ("x-api-key", "x-goog-api-key"):
        if headers.get(header, "").strip():
            found[header] = headers[header].strip()
    for param, style in (("key", "query-key"), ("api_key", "query-api_key")):
        if query.get(param, "").strip():
            found[style] = query[param].strip()
    return found


def extract_key(headers: Mapping[str, str], query: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The presented credential and the style it came in, first match in ``AUTH_STYLES`` order."""
    auth = headers.get("authorization", "").strip()
    if auth[:7].lower() == "bearer ":
        token = auth[7:].strip()
        if token:
            return token, "bearer"
    for header, style in (("x-api-key", "x-api-key"), ("x-goog-api-key", "x-goog-api-key")):
        value = headers.get(header, "").strip()
        if value:
            return value, style
    for param, style in (("key", "query-key"), ("api_key", "query-api_key")):
        value = query.get(param, "").strip()
        if value:
            return value, style
    return None, None
