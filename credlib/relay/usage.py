"""Key-authenticated telemetry routes, per key flavor (research upstream-protocols §2–§4):

- ``newapi``: ``GET /api/usage/token/`` (quota units), ``GET /api/log/token``, the billing emulation
  (``total_usage`` without ``daily_costs``; unlimited = 100000000) and ``GET /v1/credits``;
- ``openai``: one-api style billing with ``daily_costs`` and required dates;
- ``sub2api``: ``GET /v1/usage`` in its quota_limited and unrestricted (wallet, subscription) modes;
- ``plain``: none of them (404).

``GET /api/status`` (no auth) publishes the relay's ``quota_per_unit``.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from credlib.relay import errors
from credlib.relay.keys import KeySpec
from credlib.relay.wire import RelayRequest, RelayResponse

if TYPE_CHECKING:
    from credlib.relay.server import Relay, Route

UNLIMITED_SENTINEL = 100_000_000
GIN_404 = "404 page not found"


def routes(relay: Relay) -> list[Route]:
    from credlib.relay.server import Route

    subscription = _subscription_handler(relay)
    billing_usage = _billing_usage_handler(relay)
    return [
        Route("GET", "/api/status", _status_handler(relay)),
        Route("GET", "/api/usage/token/", _token_usage_handler(relay)),
        Route("GET", "/api/usage/token", _redirect_to("/api/usage/token/")),
        Route("GET", "/api/log/token", _log_handler(relay)),
        Route("GET", "/v1/dashboard/billing/subscription", subscription),
        Route("GET", "/dashboard/billing/subscription", subscription),
        Route("GET", "/v1/dashboard/billing/usage", billing_usage),
        Route("GET", "/dashboard/billing/usage", billing_usage),
        Route("GET", "/v1/credits", _credits_handler(relay)),
        Route("GET", "/v1/usage", _sub2api_handler(relay)),
    ]


def _gin_404() -> RelayResponse:
    return RelayResponse.text(GIN_404, 404)


def _redirect_to(location: str) -> Any:
    def handle(req: RelayRequest) -> RelayResponse:
        # Gin's RedirectTrailingSlash answers the slashless form with 301.
        return RelayResponse(
            301,
            {"location": location, "content-type": "text/html; charset=utf-8"},
            f'<a href="{location}">Moved Permanently</a>.\n\n'.encode(),
        )

    return handle


def _units(relay: Relay, usd: float) -> int:
    return round(usd * relay.quota_per_unit)


# ---- New API ---------------------------------------------------------------------------------------
def _status_handler(relay: Relay) -> Any:
    def handle(req: RelayRequest) -> RelayResponse:
        return RelayResponse.json(
            {
                "success": True,
                "message": "",
                "data": {
                    "system_name": "New API",
                    "quota_per_unit": relay.quota_per_unit,
                    "quota_display_type": "USD",
                    "display_in_currency": True,
                    "usd_exchange_rate": 7.3,
                },
            }
        )

    return handle


def _newapi_auth(relay: Relay, req: RelayRequest) -> KeySpec | RelayResponse:
    auth = relay.authenticate(req, "newapi")
    if isinstance(auth, RelayResponse):
        return auth
    if auth.flavor != "newapi":
        return _gin_404()
    return auth


def _token_usage_handler(relay: Relay) -> Any:
    def handle(req: RelayRequest) -> RelayResponse:
        auth = _newapi_auth(relay, req)
        if isinstance(auth, RelayResponse):
            return auth
        if req.auth_style != "bearer":
            # The handler itself reads only `Authorization: Bearer <key>`.
            return RelayResponse.json({"success": False, "message": "No Authorization header"})
        expires = 0 if auth.expires_at is None else auth.expires_at
        if auth.newapi_expiry_ms and expires:
            expires *= 1000
        available = _units(relay, auth.quota)
        used = _units(relay, auth.used)
        return RelayResponse.json(
            {
                "code": True,
                "message": "ok",
                "data": {
                    "object": "token_usage",
                    "name": auth.name,
                    "total_granted": available + used,
                    "total_used": used,
                    "total_available": available,
                    "unlimited_quota": auth.unlimited,
                    "model_limits": {m: True for m in auth.model_limits},
                    "model_limits_enabled": bool(auth.model_limits),
                    "expires_at": expires,
                },
            }
        )

    return handle


def _log_handler(relay: Relay) -> Any:
    def handle(req: RelayRequest) -> RelayResponse:
        auth = _newapi_auth(relay, req)
        if isinstance(auth, RelayResponse):
            return auth
        newest = sorted(auth.logs, key=lambda log: log.created_at, reverse=True)[: auth.log_window]
        data = [
            {
                "id": i + 1,
                "user_id": 1,
                "created_at": log.created_at,
                "type": log.type,
                "content": "",
                "username": "",
                "token_name": auth.name,
                "model_name": log.model_name,
                "quota": _units(relay, log.cost),
                "prompt_tokens": log.prompt_tokens,
                "completion_tokens": log.completion_tokens,
                "use_time": log.use_time,
                "is_stream": log.is_stream,
                "channel": 1,
                "token_id": 1,
                "group": "default",
                "other": "{}",
            }
            for i, log in enumerate(newest)
        ]
        return RelayResponse.json({"success": True, "message": "", "data": data})

    return handle


# ---- OpenAI billing emulation ----------------------------------------------------------------------
def _billing_auth(relay: Relay, req: RelayRequest) -> KeySpec | RelayResponse:
    auth = relay.authenticate(req, "openai")
    if isinstance(auth, RelayResponse):
        return auth
    if auth.flavor not in ("newapi", "openai"):
        return errors.invalid_url(req.method, req.path)
    return auth


def _billing_usd(spec: KeySpec, usd: float) -> float:
    """A billing amount as new-api reports it: the sentinel for an unlimited key."""
    return float(UNLIMITED_SENTINEL) if spec.unlimited else round(usd, 6)


def _subscription_handler(relay: Relay) -> Any:
    def handle(req: RelayRequest) -> RelayResponse:
        auth = _billing_auth(relay, req)
        if isinstance(auth, RelayResponse):
            return auth
        amount = _billing_usd(auth, auth.granted)
        body: dict[str, Any] = {
            "object": "billing_subscription",
            "has_payment_method": auth.has_payment_method,
            "soft_limit_usd": amount,
            "hard_limit_usd": amount,
            "system_hard_limit_usd": amount,
            "access_until": auth.expires_at or 0,
        }
        if auth.billing_balance is not None:
            body["balance"] = auth.billing_balance
        return RelayResponse.json(body)

    return handle


def _parse_day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _billing_usage_handler(relay: Relay) -> Any:
    def handle(req: RelayRequest) -> RelayResponse:
        auth = _billing_auth(relay, req)
        if isinstance(auth, RelayResponse):
            return auth
        cents = round(auth.used * 100, 6)
        if auth.flavor == "newapi":
            # new-api ignores the dates and sends no daily_costs.
            return RelayResponse.json({"object": "list", "total_usage": cents})
        start, end = _parse_day(req.query.get("start_date")), _parse_day(req.query.get("end_date"))
        if start is None or end is None:
            return errors.openai_error(400, "start_date and end_date are required, as YYYY-MM-DD")
        if (end - start).days > 100 or end < start:
            return errors.openai_error(400, "the date range must be between 0 and 100 days")
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        daily = [{"timestamp": today.timestamp(), "line_items": [{"name": "GPT-4o mini", "cost": cents}]}]
        return RelayResponse.json({"object": "list", "daily_costs": daily, "total_usage": cents})

    return handle


def _credits_handler(relay: Relay) -> Any:
    def handle(req: RelayRequest) -> RelayResponse:
        auth = _billing_auth(relay, req)
        if isinstance(auth, RelayResponse):
            return auth
        if auth.flavor != "newapi":
            return errors.invalid_url(req.method, req.path)
        remaining = _billing_usd(auth, auth.quota)
        return RelayResponse.json({"data": {"total_usage": remaining}})

    return handle


# ---- Sub2API ---------------------------------------------------------------------------------------
def _rfc3339(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _window(w: Any) -> dict[str, Any]:
    return {
        "requests": w.requests,
        "input_tokens": w.input_tokens,
        "output_tokens": w.output_tokens,
        "cache_creation_tokens": w.cache_creation_tokens,
        "cache_read_tokens": w.cache_read_tokens,
        "total_tokens": w.total_tokens,
        "cost": w.cost,
        "actual_cost": w.actual_cost,
    }


def _sub2api_usage(spec: KeySpec) -> dict[str, Any]:
    return {
        "today": _window(spec.today),
        "total": _window(spec.total),
        "average_duration_ms": 850,
        "rpm": 0,
        "tpm": 0,
    }


def _sub2api_handler(relay: Relay) -> Any:
    def handle(req: RelayRequest) -> RelayResponse:
        if req.key is None:
            return RelayResponse.json({"code": "API_KEY_REQUIRED", "message": "API key is required"}, 401)
        spec = relay.key_spec(req.key)
        if spec is None:
            return RelayResponse.json({"code": "INVALID_API_KEY", "message": "Invalid API key"}, 401)
        if spec.disabled:
            return RelayResponse.json({"code": "API_KEY_DISABLED", "message": "API key is disabled"}, 401)
        if spec.flavor != "sub2api":
            return errors.invalid_url(req.method, req.path)
        return RelayResponse.json(sub2api_body(spec))

    return handle


def sub2api_body(spec: KeySpec) -> dict[str, Any]:
    """The ``GET /v1/usage`` body for ``spec`` in its configured mode."""
    remaining = -1.0 if spec.unlimited else round(max(0.0, spec.quota), 6)
    if spec.sub2api_legacy:
        return {"isValid": True, "planName": spec.plan_name, "remaining": remaining, "unit": "USD"}
    body: dict[str, Any]
    if spec.sub2api_mode == "wallet":
        body = {
            "mode": "unrestricted",
            "isValid": True,
            "planName": "钱包余额",
            "remaining": remaining,
            "balance": remaining,
            "unit": "USD",
        }
    elif spec.sub2api_mode == "subscription":
        limits = spec.subscription_limits
        usage = spec.subscription_usage
        lefts = [max(0.0, lim - usage.get(k, 0.0)) for k, lim in limits.items() if lim is not None]
        sub: dict[str, Any] = {}
        for period in ("daily", "weekly", "monthly"):
            sub[f"{period}_usage_usd"] = usage.get(period, 0.0)
            sub[f"{period}_limit_usd"] = limits.get(period)
        sub["expires_at"] = _rfc3339(spec.expires_at) if spec.expires_at else None
        body = {
            "mode": "unrestricted",
            "isValid": True,
            "planName": spec.plan_name,
            "unit": "USD",
            "remaining": round(min(lefts), 6) if lefts else -1,
            "subscription": sub,
        }
    else:
        now = int(time.time())
        body = {
            "mode": "quota_limited",
            "isValid": True,
            "status": spec.status,
            "planName": spec.plan_name,
            "remaining": remaining,
            "unit": "USD",
            "quota": {
                "limit": round(spec.granted, 6),
                "used": round(spec.used, 6),
                "remaining": remaining,
                "unit": "USD",
            },
            "rate_limits": [
                {
                    "window": w.window,
                    "limit": w.limit,
                    "used": w.used,
                    "remaining": w.remaining,
                    "window_start": _rfc3339(now - {"5h": 5 * 3600, "1d": 86400, "7d": 7 * 86400}[w.window]),
                    **({"reset_at": _rfc3339(w.reset_at)} if w.reset_at else {}),
                }
                for w in spec.rate_limits
            ],
        }
        if spec.expires_at:
            body["expires_at"] = _rfc3339(spec.expires_at)
            body["days_until_expiry"] = max(0, (spec.expires_at - now) // 86400)
    body["usage"] = _sub2api_usage(spec)
    body["model_stats"] = []
    return body
