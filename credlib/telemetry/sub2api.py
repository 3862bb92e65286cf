"""Sub2API: ``GET <base>/v1/usage`` with the key (top-level JSON, amounts already in USD).

Two modes:
- ``quota_limited``: ``quota{limit, used, remaining}`` → granted/used/available, top-level
  ``remaining`` → balance, ``rate_limits[]`` (5h/1d/7d USD windows), ``expires_at`` (RFC 3339).
- ``unrestricted``: a wallet (``balance``/``remaining`` = wallet balance) or a subscription group
  (``remaining`` = the tightest daily/weekly/monthly window, ``-1`` = no limit → unlimited;
  ``subscription{…_usage_usd, …_limit_usd, expires_at}`` → windows and expiry).
Today's figures come from ``usage.today`` in the *server's* day (Sub2API's configured timezone):
``actual_cost`` (what was deducted) is preferred over the list-price ``cost``; ``input_tokens`` /
``output_tokens`` / ``total_tokens`` (older names ``prompt_tokens`` / ``completion_tokens`` /
``tokens`` are accepted too). ``usage.total`` gives total used when ``quota`` does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from credlib.telemetry.base import Metrics, RateLimitWindow, Reading
from credlib.telemetry.convert import ShapeError, count, flag, non_negative, number, timestamp
from credlib.telemetry.request import MethodContext, unwrap
from credlib.urls import join_url

NAME = "sub2api"
USAGE_PATH = "/v1/usage"
_MARKERS = ("mode", "isValid", "remaining", "balance", "quota", "usage", "planName")
_SUBSCRIPTION_WINDOWS = ("daily", "weekly", "monthly")


@dataclass(frozen=True)
class Sub2ApiMethod:
    name: str = NAME

    async def read(self, ctx: MethodContext) -> Reading:
        doc = unwrap(
            await ctx.get_json(NAME, join_url(ctx.cred.base_url, USAGE_PATH), token=ctx.cred.api_key)
        )
        if not isinstance(doc, dict):
            raise ShapeError(f"{USAGE_PATH}: expected a JSON object, got {type(doc).__name__}")
        if not any(key in doc for key in _MARKERS):
            return Reading()  # some other /v1/usage: nothing we can read
        return parse_usage(doc)


def parse_usage(doc: dict[str, Any]) -> Reading:
    m = Metrics()
    reading = Reading(metrics=m)
    remaining = number(doc.get("remaining"), "remaining")
    balance = number(doc.get("balance"), "balance")
    if remaining is not None and remaining < 0 and remaining != -1:
        raise ShapeError(f"remaining: negative value {remaining:g} (only -1, meaning no limit, is allowed)")
    if balance is not None and balance < 0:
        raise ShapeError(f"balance: negative value {balance:g}")
    if remaining == -1 and balance is None:
        m.unlimited = True
    else:
        m.balance = balance if balance is not None else remaining
        if m.balance is not None:
            m.unlimited = False

    quota = doc.get("quota")
    if quota is not None:
        if not isinstance(quota, dict):
            raise ShapeError(f"quota: expected an object, got {type(quota).__name__}")
        m.total_used = non_negative(quota.get("used"), "quota.used")
        if not m.unlimited:
            # With no limit the quota block echoes -1 / 0; only the amount used means anything then.
            m.total_granted = non_negative(quota.get("limit"), "quota.limit")
            m.total_available = non_negative(quota.get("remaining"), "quota.remaining")

    usage = _object(doc.get("usage"), "usage")
    today = _object(usage.get("today"), "usage.today")
    total = _object(usage.get("total"), "usage.total")
    m.today_cost = _cost(today, "usage.today")
    m.today_requests = count(today.get("requests"), "usage.today.requests")
    m.today_prompt_tokens = _first_count(today, "usage.today", "input_tokens", "prompt_tokens")
    m.today_completion_tokens = _first_count(today, "usage.today", "output_tokens", "completion_tokens")
    m.today_total_tokens = _first_count(today, "usage.today", "total_tokens", "tokens")
    if m.total_used is None:
        m.total_used = _cost(total, "usage.total")

    subscription = doc.get("subscription")
    sub = _object(subscription, "subscription")
    m.expires_at = timestamp(doc.get("expires_at"), "expires_at") or timestamp(
        sub.get("expires_at"), "subscription.expires_at"
    )
    reading.rate_limits = _windows(doc.get("rate_limits")) + _subscription_windows(sub)
    if flag(doc.get("isValid"), "isValid") is False:
        status = doc.get("status")
        reading.warnings.append(f"the site reports the key as not valid ({status or 'no status given'})")
    return reading


def _object(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ShapeError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _cost(block: dict[str, Any], where: str) -> float | None:
    actual = non_negative(block.get("actual_cost"), f"{where}.actual_cost")
    return actual if actual is not None else non_negative(block.get("cost"), f"{where}.cost")


def _first_count(block: dict[str, Any], where: str, *names: str) -> int | None:
    for name in names:
        value = count(block.get(name), f"{where}.{name}")
        if value is not None:
            return value
    return None


def _windows(raw: Any) -> list[RateLimitWindow]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ShapeError(f"rate_limits: expected a list, got {type(raw).__name__}")
    out = []
    for i, item in enumerate(raw):
        where = f"rate_limits[{i}]"
        entry = _object(item, where)
        out.append(
            RateLimitWindow(
                window=str(entry.get("window", f"#{i}")),
                limit=non_negative(entry.get("limit"), f"{where}.limit"),
                used=non_negative(entry.get("used"), f"{where}.used"),
                remaining=non_negative(entry.get("remaining"), f"{where}.remaining"),
                reset_at=timestamp(entry.get("reset_at"), f"{where}.reset_at"),
            )
        )
    return out


def _subscription_windows(sub: dict[str, Any]) -> list[RateLimitWindow]:
    out = []
    for period in _SUBSCRIPTION_WINDOWS:
        limit = non_negative(sub.get(f"{period}_limit_usd"), f"subscription.{period}_limit_usd")
        used = non_negative(sub.get(f"{period}_usage_usd"), f"subscription.{period}_usage_usd")
        if limit is None and used is None:
            continue
        remaining = None if limit is None or used is None else round(max(0.0, limit - used), 6)
        out.append(RateLimitWindow(window=period, limit=limit, used=used, remaining=remaining))
    return out
