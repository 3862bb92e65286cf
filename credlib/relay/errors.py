"""Error envelopes, exactly as each upstream family shapes them (research upstream-protocols §1.2, §3.1,
§4.1, §5, §6), and which family a request path belongs to."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, Literal

from credlib.relay.wire import RelayResponse

Protocol = Literal["openai", "anthropic", "gemini", "newapi", "sub2api"]

_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "request_forbidden",
    404: "invalid_request_error",
    413: "invalid_request_error",
    429: "requests",
}
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_GEMINI_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
    529: "UNAVAILABLE",
}
_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    529: "Overloaded",
}


def reason(status: int) -> str:
    if status in _REASONS:
        return _REASONS[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


GOOGLE_AUTH_STYLES = ("x-goog-api-key", "query-key")


def protocol_of(path: str, headers: Mapping[str, str], auth_style: str | None = None) -> Protocol:
    """The family whose error envelope a request on ``path`` gets. The shared ``/v1/models`` answers
    in the family the request looks like (new-api does the same): Anthropic when ``anthropic-version``
    is sent, Gemini for Google-style auth, else OpenAI."""
    if path.startswith("/v1beta/openai/"):
        return "openai"
    if path.startswith("/v1beta") or (path.startswith("/v1/models/") and ":" in path):
        return "gemini"
    if path.startswith("/v1/messages"):
        return "anthropic"
    if path in ("/v1/models", "/models") or path.startswith("/v1/models/"):
        if "anthropic-version" in headers:
            return "anthropic"
        return "gemini" if auth_style in GOOGLE_AUTH_STYLES else "openai"
    if path.startswith("/api/"):
        return "newapi"
    if path == "/v1/usage":
        return "sub2api"
    return "openai"


def gemini_status(status: int) -> str:
    return _GEMINI_STATUS.get(status, "UNKNOWN")


def request_id() -> str:
    return "req_" + secrets.token_hex(12)


def openai_error(
    status: int,
    message: str,
    *,
    type: str | None = None,
    code: str | int | None = None,
    param: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> RelayResponse:
    etype = type or _OPENAI_TYPES.get(status, "server_error")
    body = {"error": {"message": message, "type": etype, "param": param, "code": code}}
    hdrs = {"x-request-id": request_id()}
    hdrs.update(headers or {})
    return RelayResponse.json(body, status, hdrs)


def anthropic_error(
    status: int, message: str, *, type: str | None = None, headers: Mapping[str, str] | None = None
) -> RelayResponse:
    rid = request_id()
    etype = type or _ANTHROPIC_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    body = {"type": "error", "error": {"type": etype, "message": message}, "request_id": rid}
    hdrs = {"request-id": rid}
    hdrs.update(headers or {})
    return RelayResponse.json(body, status, hdrs)


def gemini_error(
    status: int,
    message: str,
    *,
    rpc_status: str | None = None,
    details: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> RelayResponse:
    body = {
        "error": {
            "code": status,
            "message": message,
            "status": rpc_status or _GEMINI_STATUS.get(status, "UNKNOWN"),
            "details": details or [],
        }
    }
    return RelayResponse.json(body, status, headers)


def gemini_error_info(reason_code: str) -> dict[str, Any]:
    return {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason_code,
        "domain": "googleapis.com",
        "metadata": {"service": "generativelanguage.googleapis.com"},
    }


def gemini_retry_info(seconds: float) -> dict[str, Any]:
    text = f"{int(seconds)}s" if float(seconds).is_integer() else f"{seconds:.3f}s"
    return {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": text}


def newapi_error(status: int, message: str, headers: Mapping[str, str] | None = None) -> RelayResponse:
    return RelayResponse.json({"success": False, "message": message}, status, headers)


def error_for(
    protocol: Protocol,
    status: int,
    message: str,
    *,
    code: str | None = None,
    type: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> RelayResponse:
    """A generic error of ``status`` in ``protocol``'s envelope (used by faults and auth checks)."""
    if protocol == "anthropic" or protocol == "sub2api":
        return anthropic_error(status, message, type=type, headers=headers)
    if protocol == "gemini":
        details = [gemini_error_info(code)] if code else None
        return gemini_error(status, message, details=details, headers=headers)
    if protocol == "newapi":
        return newapi_error(status, message, headers)
    return openai_error(status, message, type=type, code=code, headers=headers)


def invalid_key(protocol: Protocol, presented: bool) -> RelayResponse:
    """What each family answers for a missing or unknown key (Gemini: 400 invalid, 403 missing)."""
    if protocol == "gemini":
        if presented:
            return gemini_error(
                400,
                "API key not valid. Please pass a valid API key.",
                details=[gemini_error_info("API_KEY_INVALID")],
            )
        return gemini_error(
            403,
            "Method doesn't allow unregistered callers (callers without established identity). "
            "Please use API Key or other form of API consumer identity to call this API.",
        )
    if protocol in ("anthropic", "sub2api"):
        msg = "invalid x-api-key" if presented else "x-api-key header is required"
        return anthropic_error(401, msg)
    if protocol == "newapi":
        return newapi_error(401, "无效的令牌" if presented else "未提供令牌")
    if presented:
        # Real OpenAI echoes a redacted key; the relay never repeats any part of it.
        return openai_error(401, "Incorrect API key provided.", code="invalid_api_key")
    return openai_error(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header "
        "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
    )


def unknown_model(protocol: Protocol, model: str, action: str = "generateContent") -> RelayResponse:
    if protocol == "gemini":
        return gemini_error(
            404,
            f"models/{model} is not found for API version v1beta, or is not supported for {action}. "
            "Call ListModels to see the list of available models and their supported methods.",
        )
    if protocol in ("anthropic", "sub2api"):
        return anthropic_error(404, f"model: {model}")
    return openai_error(
        404,
        f"The model `{model}` does not exist or you do not have access to it.",
        code="model_not_found",
    )


def invalid_url(method: str, path: str) -> RelayResponse:
    """An unknown route: OpenAI's (and one-api's) JSON 404."""
    return openai_error(404, f"Invalid URL ({method} {path})")
