"""OpenAI's legacy billing endpoints, as New API / one-api and similar relays emulate them.

``GET <base>/v1/dashboard/billing/subscription`` gives ``hard_limit_usd`` (what the key may spend in
total) and ``access_until`` (Unix seconds, 0 = never); ``GET …/usage`` gives ``total_usage`` in US
**cents**. balance = hard_limit − used. Relays report an unlimited key as ``hard_limit_usd =
100000000``; any limit ≥ 1 000 000 USD is treated as that sentinel (unlimited, only usage reported).
A subscription body carrying a numeric ``balance`` is taken as is (some gateways add it).

Relays answer errors with HTTP 200 and an ``error`` object; those are errors, not zeros.
api.openai.com itself refuses secret keys here (session keys only), so no request is sent there and
the method reports ``unsupported``.

``telemetry.quota_per_unit``, when set, means the site reports raw quota units instead of USD
(New API with the TOKENS display type); amounts are divided by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from credlib.telemetry.base import MethodFailure, Metrics, Reading
from credlib.telemetry.convert import ShapeError, non_negative, timestamp
from credlib.telemetry.request import MethodContext, unwrap
from credlib.telemetry.sanitize import redact_endpoint
from credlib.urls import join_url

NAME = "openai-billing"
SUBSCRIPTION_PATH = "/v1/dashboard/billing/subscription"
USAGE_PATH = "/v1/dashboard/billing/usage"
UNLIMITED_SENTINEL_USD = 1_000_000.0
RELAY_UNLIMITED = 100_000_000.0
# Official OpenAI capped the usage range at 100 days; relays ignore the range entirely.
_USAGE_RANGE_DAYS = 99
_OFFICIAL_HOSTS = frozenset({"api.openai.com"})


@dataclass(frozen=True)
class OpenAIBillingMethod:
    name: str = NAME

    async def read(self, ctx: MethodContext) -> Reading:
        base = ctx.cred.base_url
        sub_url = join_url(base, SUBSCRIPTION_PATH)
        if (urlsplit(base).hostname or "").lower() in _OFFICIAL_HOSTS:
            message = "api.openai.com only serves billing to browser session keys, not API keys"
            ctx.record(NAME, redact_endpoint(sub_url), "unsupported", message=message)
            raise MethodFailure("unsupported", message)
        sub = unwrap(await ctx.get_json(NAME, sub_url, token=ctx.cred.api_key))
        if not isinstance(sub, dict):
            raise ShapeError(f"{SUBSCRIPTION_PATH}: expected a JSON object, got {type(sub).__name__}")
        scale = float(ctx.cred.telemetry.quota_per_unit or 1.0)
        expires_at = timestamp(sub.get("access_until"), "access_until")
        balance = non_negative(sub.get("balance"), "balance")
        if balance is not None:
            return Reading(metrics=Metrics(balance=_scaled(balance, scale), expires_at=expires_at))
        hard = non_negative(sub.get("hard_limit_usd"), "hard_limit_usd")
        if hard is None:
            return Reading(metrics=Metrics(expires_at=expires_at))
        # Relays send exactly 100000000 for an unlimited key, whatever unit their amounts are in; in
        # USD any limit of a million or more is treated the same way (All API Hub's rule).
        unlimited = hard >= (UNLIMITED_SENTINEL_USD if scale == 1.0 else RELAY_UNLIMITED)
        hard = hard / scale
        used = await self._used_usd(ctx, scale)
        if unlimited:
            return Reading(metrics=Metrics(unlimited=True, total_used=used, expires_at=expires_at))
        metrics = Metrics(
            total_granted=round(hard, 6), total_used=used, unlimited=False, expires_at=expires_at
        )
        if used is not None:
            metrics.balance = metrics.total_available = round(max(0.0, hard - used), 6)
        return Reading(metrics=metrics)

    async def _used_usd(self, ctx: MethodContext, scale: float) -> float | None:
        today = ctx.now.astimezone().date()
        params = {
            "start_date": (today - timedelta(days=_USAGE_RANGE_DAYS)).isoformat(),
            "end_date": (today + timedelta(days=1)).isoformat(),
        }
        try:
            url = join_url(ctx.cred.base_url, USAGE_PATH)
            usage = unwrap(await ctx.get_json(NAME, url, params=params, token=ctx.cred.api_key))
        except MethodFailure:
            return None  # the limit alone is still worth reporting; the attempt records why
        if not isinstance(usage, dict):
            raise ShapeError(f"{USAGE_PATH}: expected a JSON object, got {type(usage).__name__}")
        cents = non_negative(usage.get("total_usage"), "total_usage")
        if cents is not None:
            return round(cents / 100 / scale, 6)
        used = non_negative(usage.get("used_usd"), "used_usd")
        return None if used is None else round(used / scale, 6)


def _scaled(value: float, scale: float) -> float:
    return round(value / scale, 6)
