"""Turning an upstream's answer into one status of SPEC §4 and a one-line, key-free reason.

Upstreams disagree about errors: OpenAI nests ``{error:{message,type,code}}``, Anthropic adds a
top-level ``type:"error"``, Gemini carries an RPC ``status`` and ``details[].reason`` (and calls a bad
key HTTP 400), relays put string codes in ``code``, answer HTTP 200 with an ``error`` body, or reply
``{success:false,message}`` / ``{code:"INVALID_API_KEY",message}``. ``parse_error`` reads all of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, get_args

from credlib.net.retry import quota_state
from credlib.probes.http import Outcome
from credlib.redact import Scrubber

Status = Literal[
    "ok",
    "auth_failed",
    "forbidden",
    "not_found",
    "wrong_type",
    "rate_limited",
    "no_quota",
    "unreachable",
    "timeout",
    "bad_response",
]
# Every status, in declaration order, read from the Literal so the two cannot drift apart.
STATUSES: tuple[Status, ...] = get_args(Status)

# When several checks fail, the one nearest the root cause names the credential's status.
PRIORITY: tuple[Status, ...] = (
    "unreachable",
    "timeout",
    "auth_failed",
    "forbidden",
    "no_quota",
    "rate_limited",
    "wrong_type",
    "not_found",
    "bad_response",
)

MAX_REASON = 200

_QUOTA_MARKERS = (
    "insufficient_quota",
    "billing_error",
    "quota_exhausted",
    "insufficient_user_quota",
    "insufficient balance",
    "insufficient_balance",
    "credit balance is too low",
    "plan and billing details",  # OpenAI insufficient_quota and Gemini quota exhaustion say this
    "quota is not enough",
    "quota exceeded for the key",
    "额度不足",
    "余额不足",
)
_AUTH_MARKERS = (
    "invalid_api_key",
    "api_key_invalid",
    "invalid api key",
    "api key not valid",
    "incorrect api key",
    "invalid x-api-key",
    "authentication_error",
    "invalid token",
    "unauthorized",
)
_MODEL_MARKERS = ("model_not_found", "not_found_error", "does not exist", "is not found", "no such model")


@dataclass(frozen=True)
class ErrorInfo:
    message: str = ""
    type: str = ""
    code: str = ""


def _first_str(*values: Any) -> str:
    for value in values:
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            return str(value)
    return ""


def parse_error(body: Any) -> ErrorInfo | None:
    """The error an upstream reported in ``body``, or None when the body is not an error."""
    if isinstance(body, list) and body and isinstance(body[0], dict) and "error" in body[0]:
        body = body[0]  # Gemini's non-SSE stream wraps errors in an array
    if not isinstance(body, dict):
        return None
    err = body.get("error")
    if isinstance(err, dict):
        reason = ""
        details = err.get("details")
        if isinstance(details, list):
            for item in details:
                if isinstance(item, dict) and isinstance(item.get("reason"), str):
                    reason = item["reason"]
                    break
        return ErrorInfo(
            message=_first_str(err.get("message"), body.get("message")),
            type=_first_str(err.get("type"), err.get("status"), body.get("reason")),
            code=_first_str(reason, err.get("code"), body.get("code")),
        )
    if isinstance(err, str) and err.strip():
        return ErrorInfo(
            message=_first_str(body.get("message"), err), type=err, code=_first_str(body.get("code"))
        )
    if body.get("type") == "error" or body.get("success") is False or body.get("isValid") is False:
        return ErrorInfo(
            message=_first_str(body.get("message"), body.get("msg")),
            type=_first_str(body.get("reason")),
            code=_first_str(body.get("code")),
        )
    # Sub2API middleware: {"code": "INVALID_API_KEY", "message": ...}
    code = body.get("code")
    if (
        isinstance(code, str)
        and code.isupper()
        and isinstance(body.get("message"), str)
        and "data" not in body
    ):
        return ErrorInfo(message=body["message"], code=code)
    return None


def _has(info: ErrorInfo | None, markers: tuple[str, ...]) -> bool:
    if info is None:
        return False
    hay = f"{info.type} {info.code} {info.message}".lower()
    return any(m in hay for m in markers)


def one_line(text: str, scrub: Scrubber, limit: int = MAX_REASON) -> str:
    """Scrubbed, single line, bounded: safe for tables, logs and state files."""
    flat = re.sub(r"\s+", " ", scrub(text)).strip()
    # HTML error pages are noise in a one-line reason.
    flat = re.sub(r"<[^>]{0,200}>", " ", flat)
    flat = re.sub(r"\s+", " ", flat).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def status_for_http(status: int, info: ErrorInfo | None) -> Status:
    """The SPEC §4 status for an HTTP error answer (``status`` may be 200 with an error body)."""
    if _has(info, _QUOTA_MARKERS) or status == 402:
        return "no_quota"
    if status == 401 or _has(info, ("api_key_invalid", "api key not valid", "invalid_api_key")):
        return "auth_failed"
    if status == 403:
        return "forbidden"
    if status in (404, 405, 410):
        return "not_found"
    if status == 408:
        return "timeout"
    if status == 429:
        return "rate_limited"
    if status < 300 and info is not None:
        # HTTP 200 with an error body (New API billing, some gateways): read the words.
        code = info.code
        if code.isdigit() and code != str(status):
            return status_for_http(int(code), info)
        if _has(info, _AUTH_MARKERS):
            return "auth_failed"
        if _has(info, _MODEL_MARKERS):
            return "not_found"
        if _has(info, ("rate_limit", "rate limit", "too many requests")):
            return "rate_limited"
    if _has(info, _MODEL_MARKERS) and status == 400:
        return "not_found"
    return "bad_response"


def _with_quota_details(status: Status, body: bytes) -> Status:
    """Let structured quota details overrule the words: Gemini says "You exceeded your current quota,
    please check your plan and billing details" for a per-minute quota too, and only its
    ``QuotaFailure`` tells a limit that clears in a minute from one that lasts until tomorrow."""
    state = quota_state(body)
    if state == "exhausted":
        return "no_quota"
    if state == "window" and status == "no_quota":
        return "rate_limited"
    return status


def status_for_net(kind: str) -> Status:
    if kind == "timeout":
        return "timeout"
    if kind == "unreachable":
        return "unreachable"
    return "bad_response"


def describe_net(kind: str, message: str, scrub: Scrubber) -> str:
    if kind == "redirect_blocked":
        return "redirected to another origin; the key was not sent there"
    if kind == "too_many_redirects":
        return "too many redirects"
    return one_line(message, scrub) or kind


@dataclass(frozen=True)
class Failure:
    status: Status
    reason: str
    # Busy or away (429, 5xx, timeout, no connection): says nothing about what the endpoint supports.
    transient: bool = False


def failure_of(out: Outcome, scrub: Scrubber) -> Failure | None:
    """Why ``out`` is not a usable answer, or None when it is one (2xx, complete, no error body).

    Shape checks (is this a model list, an SSE stream…) are the caller's: this only catches what
    is wrong whatever the expected shape.
    """
    where = f"{out.method} {out.path}"
    if out.net_error is not None:
        said = describe_net(out.net_error, out.net_message, scrub)
        # The engine's messages already name the request ("GET http://host/v1/models: …").
        reason = said if said.startswith(f"{out.method} ") else f"{where}: {said}"
        return Failure(
            status_for_net(out.net_error), reason, transient=out.net_error in ("timeout", "unreachable")
        )
    assert out.status is not None
    body = out.json()
    info = parse_error(body)
    if not out.ok or info is not None:
        code = _with_quota_details(status_for_http(out.status, info), out.body)
        if info is not None:
            detail = info.message or info.code or info.type or "error"
            # A bare number (Gemini's code repeats the HTTP status) says less than the type.
            tag = info.code if info.code and not info.code.isdigit() else info.type or info.code
            if tag and tag not in detail:
                detail = f"{tag}: {detail}"
        elif out.content_type == "text/html" or out.body.lstrip()[:1] == b"<":
            detail = "an HTML page instead of an API answer"
        else:
            detail = one_line(out.text, scrub, 120) or "empty body"
        transient = code in ("rate_limited", "timeout") or out.status >= 500
        return Failure(
            code, f"HTTP {out.status} from {where}: {one_line(detail, scrub)}", transient=transient
        )
    if out.truncated:
        return Failure("bad_response", f"{where}: the answer exceeded the size limit and was cut off")
    if out.incomplete:
        return Failure("bad_response", f"{where}: the connection closed before the answer was complete")
    return None


def model_missing(out: Outcome) -> bool:
    """A 404 about the model (not an unknown route, whose "Invalid URL" path may name /models/)."""
    text = out.text.lower()
    return out.status == 404 and "invalid url" not in text and "model" in text


def worst(statuses: list[Status]) -> Status:
    for status in PRIORITY:
        if status in statuses:
            return status
    return "ok"
