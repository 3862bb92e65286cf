"""New API (and its forks): ``GET /api/usage/token/`` with the relay key, plus today's log.

Amounts come in quota units: USD = quota ÷ quota_per_unit. The divisor is the credential's
``telemetry.quota_per_unit`` if set, else what the site publishes at ``GET /api/status``
(``data.quota_per_unit``, no auth needed, fetched once per origin per run), else 500 000.

- ``unlimited_quota: true`` or a negative ``total_granted`` means unlimited: granted/available/balance
  are meaningless then and stay null; ``total_used`` is still reported.
- A negative ``total_available`` is an overdrawn key: balance and available are clamped to 0.
- ``expires_at`` is Unix seconds (ms in the legacy handler); 0 or -1 means never.
- Today's requests/cost/tokens come from ``GET /api/log/token`` (the key's latest logs, newest
  first), filtered to the local calendar day. The site returns only the latest N entries (100 by
  default, 1000 in some forks), so when every returned entry is from today and there are at least
  100 of them, the figures are a lower bound and the result says so. A site without that route
  keeps the today metrics null.

Under ``auto`` (``ctx.probing``) only the usage request is made: the divisor is the override or
500 000, and today's metrics stay null. ``auto`` asks every site one question per method, so a
run over many keys of one site costs one request per key under its per-origin rate limit; the two
follow-ups are what ``method: newapi`` buys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from credlib.model import DEFAULT_QUOTA_PER_UNIT
from credlib.telemetry.base import MethodFailure, Metrics, Reading
from credlib.telemetry.convert import ShapeError, count, flag, non_negative, number, timestamp
from credlib.telemetry.request import MethodContext, unwrap
from credlib.urls import join_url, origin_of

NAME = "newapi"
USAGE_PATH = "/api/usage/token/"
STATUS_PATH = "/api/status"
LOG_PATH = "/api/log/token"
# The smallest log window a New API build ships (MaxRecentItems); a full window may hide older entries.
LOG_WINDOW = 100
_CONSUME = 2  # log type of a billed request
_USAGE_FIELDS = ("total_granted", "total_used", "total_available", "unlimited_quota", "expires_at")


@dataclass(frozen=True)
class NewApiMethod:
    name: str = NAME

    async def read(self, ctx: MethodContext) -> Reading:
        base = ctx.cred.base_url
        doc = await ctx.get_json(NAME, join_url(base, USAGE_PATH), token=ctx.cred.api_key)
        data = unwrap(doc)
        if not isinstance(data, dict):
            raise ShapeError(f"{USAGE_PATH}: expected a JSON object, got {type(data).__name__}")
        if not any(key in data for key in _USAGE_FIELDS):
            return Reading()  # a 200 from something that is not New API: nothing to report
        if ctx.probing:
            return Reading(metrics=usage_metrics(data, _configured_per_unit(ctx)))
        # Validate before any further request, so a shape error is pinned to this body's attempt.
        usage_metrics(data, float(DEFAULT_QUOTA_PER_UNIT))
        per_unit = await quota_per_unit(ctx)
        reading = Reading(metrics=usage_metrics(data, per_unit))
        await _add_today(ctx, reading, per_unit)
        return reading


def usage_metrics(data: dict[str, Any], per_unit: float) -> Metrics:
    granted = number(data.get("total_granted"), "total_granted")
    used = non_negative(data.get("total_used"), "total_used")
    available = number(data.get("total_available"), "total_available")
    unlimited = flag(data.get("unlimited_quota"), "unlimited_quota")
    if granted is not None and granted < 0:
        unlimited = True
    metrics = Metrics(
        total_used=_usd(used, per_unit),
        unlimited=unlimited,
        expires_at=timestamp(data.get("expires_at"), "expires_at"),
    )
    if not unlimited:
        metrics.total_granted = _usd(granted, per_unit)
        if available is not None:
            metrics.total_available = metrics.balance = _usd(max(0.0, available), per_unit)
    return metrics


def _usd(quota: float | None, per_unit: float) -> float | None:
    return None if quota is None else round(quota / per_unit, 6)


def _configured_per_unit(ctx: MethodContext) -> float:
    return float(ctx.cred.telemetry.quota_per_unit or DEFAULT_QUOTA_PER_UNIT)


async def quota_per_unit(ctx: MethodContext) -> float:
    if ctx.cred.telemetry.quota_per_unit:
        return _configured_per_unit(ctx)
    origin = origin_of(ctx.cred.base_url)
    url = join_url(ctx.cred.base_url, STATUS_PATH)

    async def fetch() -> float | None:
        try:
            doc = await ctx.get_json(NAME, url)  # public endpoint: the key is not sent
        except MethodFailure:
            return None
        data = unwrap(doc)
        try:
            value = (
                non_negative(data.get("quota_per_unit"), "quota_per_unit") if isinstance(data, dict) else None
            )
        except ShapeError:
            return None
        return value or None

    published = await ctx.cache.once(f"quota_per_unit:{origin}", fetch)
    return float(published) if published else float(DEFAULT_QUOTA_PER_UNIT)


def local_midnight(now: datetime) -> datetime:
    local = now.astimezone()
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


async def _add_today(ctx: MethodContext, reading: Reading, per_unit: float) -> None:
    url = join_url(ctx.cred.base_url, LOG_PATH)
    try:
        doc = await ctx.get_json(NAME, url, token=ctx.cred.api_key)
    except MethodFailure:
        return  # usage worked; today's figures just stay unknown (the attempt says why)
    logs = unwrap(doc) if not isinstance(doc, list) else doc
    if isinstance(doc, dict) and isinstance(doc.get("data"), list):
        logs = doc["data"]
    if not isinstance(logs, list):
        raise ShapeError(f"{LOG_PATH}: expected a list of logs in data, got {type(logs).__name__}")
    summary = summarize_today(logs, local_midnight(ctx.now), per_unit)
    m = reading.metrics
    m.today_requests, m.today_cost = summary.requests, summary.cost
    m.today_prompt_tokens, m.today_completion_tokens = summary.prompt_tokens, summary.completion_tokens
    m.today_total_tokens = summary.prompt_tokens + summary.completion_tokens
    reading.today_lower_bound = summary.window_full


@dataclass(frozen=True)
class TodaySummary:
    requests: int
    cost: float
    prompt_tokens: int
    completion_tokens: int
    window_full: bool


def summarize_today(logs: list[Any], midnight: datetime, per_unit: float) -> TodaySummary:
    start = midnight.timestamp()
    end = (midnight + timedelta(days=1)).timestamp()
    requests = prompt = completion = 0
    quota = 0.0
    all_today = True
    for i, entry in enumerate(logs):
        where = f"{LOG_PATH} data[{i}]"
        if not isinstance(entry, dict):
            raise ShapeError(f"{where}: expected an object, got {type(entry).__name__}")
        created = number(entry.get("created_at"), f"{where}.created_at")
        if created is None:
            raise ShapeError(f"{where}.created_at: missing")
        if created >= 1e12:
            created /= 1000
        if not start <= created < end:
            all_today = False
            continue
        kind = entry.get("type")
        if kind is not None and kind != _CONSUME:
            continue
        requests += 1
        quota += non_negative(entry.get("quota"), f"{where}.quota") or 0.0
        prompt += count(entry.get("prompt_tokens"), f"{where}.prompt_tokens") or 0
        completion += count(entry.get("completion_tokens"), f"{where}.completion_tokens") or 0
    return TodaySummary(
        requests=requests,
        cost=round(quota / per_unit, 6),
        prompt_tokens=prompt,
        completion_tokens=completion,
        window_full=all_today and len(logs) >= LOG_WINDOW,
    )
