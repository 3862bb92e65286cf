"""When to retry a response, and how long to wait first (research: upstream-protocols §8).

Pure functions over status, headers and body so every hint format is unit-testable.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any, Literal

RETRY_STATUSES = frozenset({429, 503, 529})

# Error codes/types that mean "no money or quota left": waiting does not help, so never retry.
_NO_QUOTA_MARKERS = (
    "insufficient_quota",  # OpenAI
    "billing_error",  # Anthropic, Sub2API
    "billing_not_active",
    "quota_exhausted",  # Sub2API key status
    "service_quota_exceeded",  # Sub2API service quota
    "insufficient_user_quota",  # one-api/new-api
    "pre_consume_token_quota_failed",  # new-api
    "usage_not_included",  # Codex: the plan does not include API use
)
# "try again in 1.5s", "in 20ms", "in 6 seconds", Go-style "in 1m30s".
_TRY_AGAIN = re.compile(r"try again in\s+((?:\d+(?:\.\d+)?\s*[a-z]*\s*)+)", re.I)
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]*)", re.I)
_UNIT_SECONDS = {
    "": 1.0,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "ms": 0.001,
    "millisecond": 0.001,
    "milliseconds": 0.001,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
}
_BODY_SCAN_LIMIT = 64 * 1024  # hints live in small error bodies; never scan a huge one


def _json_body(body: bytes) -> Any:
    if not body or len(body) > _BODY_SCAN_LIMIT:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def _walk(value: Any) -> list[Any]:
    """Every dict/list node of a JSON value (bounded: error bodies are small)."""
    out: list[Any] = []
    stack = [value]
    while stack and len(out) < 1000:
        node = stack.pop()
        out.append(node)
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return out


QuotaState = Literal["exhausted", "window"]

# Gemini names the window of a violated quota in its id ("GenerateRequestsPerDayPerProjectPerModel"),
# its metric (".../generate_requests_per_model_per_day") or, in older answers, its description.
_DAILY = re.compile(r"per[ _-]?day|daily", re.I)


def _violation_state(violation: dict[str, Any]) -> QuotaState:
    """One ``google.rpc.QuotaFailure`` violation: a daily quota, or a limit of 0 (the key's tier has
    no quota for that model at all), stays exhausted; any other clears within its window."""
    if str(violation.get("quotaValue", "")).strip() == "0":
        return "exhausted"
    for field in ("quotaId", "quotaMetric", "description"):
        value = violation.get(field)
        if isinstance(value, str) and _DAILY.search(value):
            return "exhausted"
    return "window"


def quota_state(body: bytes) -> QuotaState | None:
    """What a structured error body says about quota.

    ``"exhausted"``: no money or quota left until a top-up or a daily reset (OpenAI
    ``insufficient_quota``, Anthropic ``billing_error``, relay quota codes, a Gemini ``QuotaFailure``
    on a daily or zero quota): waiting does not help. ``"window"``: a Gemini ``QuotaFailure`` on a
    per-minute quota, a rate limit in all but name. None: the body says neither.
    """
    data = _json_body(body)
    if data is None:
        return None
    state: QuotaState | None = None
    for node in _walk(data):
        if not isinstance(node, dict):
            continue
        for field in ("code", "type", "status"):
            value = node.get(field)
            if isinstance(value, str) and value.lower() in _NO_QUOTA_MARKERS:
                return "exhausted"
        for violation in _quota_violations(node):
            if _violation_state(violation) == "exhausted":
                return "exhausted"
            state = "window"
    return state


def _quota_violations(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The violations of a ``QuotaFailure`` detail (relays that re-wrap it may drop its ``@type``)."""
    violations = node.get("violations")
    if not isinstance(violations, list):
        return []
    found = [v for v in violations if isinstance(v, dict)]
    typed = str(node.get("@type", "")).endswith("QuotaFailure")
    return found if typed or any("quotaId" in v or "quotaMetric" in v for v in found) else []


def is_no_quota(body: bytes) -> bool:
    """The body says the account is out of quota or has a billing problem (not a rate limit)."""
    return quota_state(body) == "exhausted"


def parse_retry_after(value: str, now: float | None = None) -> float | None:
    """``Retry-After``: delta seconds (int or float) or an HTTP date."""
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, seconds) if seconds == seconds else None  # NaN guard


def parse_duration(text: str) -> float | None:
    """``"37s"``, ``"1.5s"``, ``"200ms"``, ``"6 seconds"``, ``"1m30s"``, bare seconds; None if unsure."""
    total, pos, found = 0.0, 0, False
    text = text.strip()
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if not match or match.group(2).lower() not in _UNIT_SECONDS:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
        found = True
        pos = match.end()
        while pos < len(text) and text[pos] in " ,":
            pos += 1
        if text.startswith("and ", pos):
            pos += 4
    return total if found else None


def retry_hint(headers: Mapping[str, str], body: bytes, now: float | None = None) -> float | None:
    """Seconds the server asks us to wait, from the first hint found in the documented order.

    ``headers`` must have lower-case names.
    """
    if "retry-after-ms" in headers:
        try:
            ms = float(headers["retry-after-ms"])
            if ms >= 0:
                return ms / 1000.0
        except ValueError:
            pass
    if "retry-after" in headers:
        parsed = parse_retry_after(headers["retry-after"], now)
        if parsed is not None:
            return parsed
    data = _json_body(body)
    for node in _walk(data) if data is not None else []:
        if isinstance(node, dict) and isinstance(node.get("retryDelay"), str):
            delay = parse_duration(node["retryDelay"])
            if delay is not None:
                return delay
    if body and len(body) <= _BODY_SCAN_LIMIT:
        match = _TRY_AGAIN.search(body.decode("utf-8", "replace"))
        if match:
            return parse_duration(match.group(1))
    return None


def should_retry(status: int, headers: Mapping[str, str], body: bytes) -> bool:
    """A transient failure worth another attempt (the caller still checks retry=False and the count)."""
    if status not in RETRY_STATUSES:
        return False
    if headers.get("x-should-retry", "").lower() == "false":
        return False
    return not is_no_quota(body)


def backoff(attempt: int, rng: random.Random | None = None) -> float:
    """Delay before retry ``attempt`` (1-based) when the server gave no hint: 0.5 s·2^(n-1), ≤ 8 s, +≤25 %."""
    base = min(8.0, 0.5 * 2.0 ** (attempt - 1))
    jitter = rng.random() if rng is not None else random.random()  # noqa: S311 - jitter, not crypto
    return base * (1.0 + 0.25 * jitter)
