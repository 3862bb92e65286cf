"""Switchable faults: what a misbehaving or incompatible relay does instead of the normal answer.

A fault matches requests by path glob (``fnmatch`` on the path without query), optionally by method
and by presented key, and can be limited to the first ``times`` matching requests. The kinds are
listed in ``FAULT_KINDS`` and documented in the package docstring.
"""

from __future__ import annotations

import email.utils
import fnmatch
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from credlib.relay import errors
from credlib.relay.errors import Protocol
from credlib.relay.keys import AUTH_STYLES, presented
from credlib.relay.wire import Chunk, RelayRequest, RelayResponse, sse_data, sse_event

# Faults the server acts on itself (they change timing or the connection, not the answer).
CONTROL_KINDS = frozenset({"delay", "timeout", "drop", "truncate_stream", "stream_error"})
# Faults the protocol handlers honour while building a normal answer.
BEHAVIOUR_KINDS = frozenset({"no_stream", "no_tools", "wrong_type"})
# The faults that replace the answer outright are the keys of _ANSWERS below.

TIMEOUT_CAP_S = 30.0
_FREE_TIER_METRIC = "generativelanguage.googleapis.com/generate_content_free_tier_requests"
_GEMINI_QUOTA_MESSAGE = (
    "You exceeded your current quota, please check your plan and billing details. For more "
    "information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits."
)


@dataclass
class Fault:
    kind: str
    path: str = "*"
    method: str | None = None
    key: str | None = None
    times: int | None = None  # None: every matching request; n: only the next n
    params: dict[str, Any] = field(default_factory=dict)

    def matches(self, method: str, path: str, key: str | None) -> bool:
        if self.method is not None and self.method.upper() != method:
            return False
        if self.key is not None and self.key != key:
            return False
        return fnmatch.fnmatchcase(path, self.path)


class FaultBook:
    """The relay's active faults, safe to change while requests are being served."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        validate(fault)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, method: str, path: str, key: str | None) -> list[Fault]:
        """The faults for this request, counting it against each fault's ``times``."""
        taken: list[Fault] = []
        with self._lock:
            for fault in self._faults:
                if fault.times is not None and fault.times <= 0:
                    continue
                if fault.matches(method, path, key):
                    if fault.times is not None:
                        fault.times -= 1
                    taken.append(fault)
            self._faults = [f for f in self._faults if f.times is None or f.times > 0]
        return taken


def retry_headers(params: Mapping[str, Any]) -> dict[str, str]:
    """``Retry-After`` in seconds (or as an HTTP date with ``retry_after_date=True``) and
    ``retry-after-ms``, as the params ask."""
    headers: dict[str, str] = {}
    after = params.get("retry_after")
    if after is not None:
        if params.get("retry_after_date"):
            headers["retry-after"] = email.utils.formatdate(time.time() + float(after), usegmt=True)
        else:
            headers["retry-after"] = f"{after:g}" if isinstance(after, float) else str(after)
    after_ms = params.get("retry_after_ms")
    if after_ms is not None:
        headers["retry-after-ms"] = str(after_ms)
    return headers


def _status_answer(params: Mapping[str, Any], protocol: Protocol) -> RelayResponse:
    status = int(params.get("status", 500))
    message = params.get("message")
    code = params.get("code")
    etype = params.get("type")
    headers = retry_headers(params)
    if status == 429:
        seconds = params.get("retry_after", params.get("retry_after_ms", 1000) / 1000)
        if protocol == "gemini":
            # Google's per-minute quota answer: the same words as a daily one ("check your plan and
            # billing details"); only the QuotaFailure's quotaId tells the window.
            details = [
                _quota_failure("GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "10"),
                errors.gemini_retry_info(seconds),
            ]
            headers.pop("retry-after", None)  # Google sends RetryInfo, not the header (research §8)
            return errors.gemini_error(
                429,
                message or f"{_GEMINI_QUOTA_MESSAGE} Please retry in {seconds:g}s.",
                details=details,
                headers=headers,
            )
        if protocol == "openai":
            return errors.openai_error(
                429,
                message or f"Rate limit reached for requests. Please try again in {seconds:g}s.",
                type=etype or "requests",
                code=code or "rate_limit_exceeded",
                headers=headers,
            )
    if status == 529 and protocol in ("anthropic", "sub2api"):
        return errors.anthropic_error(529, message or "Overloaded", type=etype, headers=headers)
    if status == 503 and protocol == "gemini":
        return errors.gemini_error(
            503, message or "The model is overloaded. Please try again later.", headers=headers
        )
    default = {
        401: "Invalid authentication credentials.",
        403: "You do not have permission to access this resource.",
        404: "Not found.",
        429: "Rate limited. Please slow down.",
    }.get(status, f"{status} {errors.reason(status)}")
    return errors.error_for(protocol, status, message or default, code=code, type=etype, headers=headers)


def _quota_failure(quota_id: str, value: str) -> dict[str, Any]:
    return {
        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
        "violations": [{"quotaMetric": _FREE_TIER_METRIC, "quotaId": quota_id, "quotaValue": value}],
    }


def _insufficient_quota(protocol: Protocol) -> RelayResponse:
    if protocol == "gemini":
        # A daily quota: Google still attaches a RetryInfo, though waiting seconds cannot help.
        return errors.gemini_error(
            429,
            f"{_GEMINI_QUOTA_MESSAGE} Please retry in 37s.",
            details=[
                _quota_failure("GenerateRequestsPerDayPerProjectPerModel-FreeTier", "50"),
                errors.gemini_retry_info(37),
            ],
        )
    if protocol == "anthropic":
        return errors.anthropic_error(
            402, "Your credit balance is too low to access the Anthropic API.", type="billing_error"
        )
    if protocol == "sub2api":
        return errors.anthropic_error(403, "Insufficient account balance", type="billing_error")
    if protocol == "newapi":
        return errors.newapi_error(403, "用户额度不足")
    return errors.openai_error(
        429,
        "You exceeded your current quota, please check your plan and billing details.",
        type="insufficient_quota",
        code="insufficient_quota",
    )


_NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
_SPA_INDEX = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Relay Console</title></head>'
    '<body><div id="root"></div><script src="/assets/index.js"></script></body></html>'
)


def _html(params: Mapping[str, Any]) -> RelayResponse:
    status = int(params.get("status", 502))
    if status == 200:
        page = _SPA_INDEX
    elif status == 502:
        page = _NGINX_502
    else:
        title = f"{status} {errors.reason(status)}"
        page = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
    return RelayResponse.text(page, status, "text/html; charset=utf-8")


def _oversized(params: Mapping[str, Any]) -> RelayResponse:
    size = int(params.get("size", 10 * 1024 * 1024))
    head, tail = b'{"object":"list","padding":"', b'"}'
    body = head + b"x" * max(0, size - len(head) - len(tail)) + tail
    if params.get("chunked"):
        piece = 64 * 1024
        return RelayResponse(
            200,
            {"content-type": "application/json"},
            [(0.0, body[i : i + piece]) for i in range(0, len(body), piece)],
        )
    return RelayResponse(200, {"content-type": "application/json"}, body)


def check_redirect_target(target: Any) -> str:
    """The redirect fault's ``to=``: an http origin on loopback (the relay never sends clients away)."""
    if not isinstance(target, str):
        raise ValueError("the redirect fault needs to=<loopback origin URL>")
    parts = urlsplit(target)
    if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("redirect faults may only point at a loopback http origin")
    return target.rstrip("/")


def _redirect(params: Mapping[str, Any], req: RelayRequest) -> RelayResponse:
    target = check_redirect_target(params.get("to"))
    location = target + req.path + (("?" + urlencode(req.query)) if req.query else "")
    status = int(params.get("status", 307))
    return RelayResponse(status, {"location": location, "content-type": "text/plain"}, b"Redirecting")


def _error_200(params: Mapping[str, Any], protocol: Protocol) -> RelayResponse:
    message = str(params.get("message", "当前分组上游负载已饱和，请稍后再试"))
    if protocol == "newapi":
        return RelayResponse.json({"success": False, "message": message})
    if protocol in ("anthropic", "sub2api"):
        return RelayResponse.json({"type": "error", "error": {"type": "api_error", "message": message}})
    if protocol == "gemini":
        return RelayResponse.json({"error": {"code": 500, "message": message, "status": "INTERNAL"}})
    etype = str(params.get("type", "new_api_error"))
    return RelayResponse.json({"error": {"message": message, "type": etype, "param": None, "code": None}})


def _requested_tools(req: RelayRequest) -> bool:
    try:
        body = req.json()
    except ValueError:
        return False
    return bool(body.get("tools"))


def _max_tokens(req: RelayRequest) -> tuple[int, str] | None:
    try:
        body = req.json()
    except ValueError:
        return None
    for name in ("max_tokens", "max_completion_tokens", "max_output_tokens"):
        value = body.get(name)
        if isinstance(value, int):
            return value, str(body.get("model", ""))
    config = body.get("generationConfig")
    if isinstance(config, dict) and isinstance(config.get("maxOutputTokens"), int):
        return config["maxOutputTokens"], req.path
    return None


def _betas(req: RelayRequest) -> list[str]:
    return [b.strip() for b in req.headers.get("anthropic-beta", "").split(",") if b.strip()]


def _wrong_type(p: Mapping[str, Any], req: RelayRequest, protocol: Protocol) -> RelayResponse | None:
    served = set(p.get("serves", ("openai",)))
    if protocol not in ("openai", "anthropic", "gemini") or protocol in served:
        return None
    if req.path in ("/v1/models", "/models") and served & {"openai", "anthropic"}:
        return None  # the models route exists; the handler answers in the served format
    return errors.invalid_url(req.method, req.path)


def _missing_responses(p: Mapping[str, Any], req: RelayRequest, protocol: Protocol) -> RelayResponse | None:
    if req.path.rstrip("/") in ("/v1/responses", "/responses") or req.path.startswith("/v1/responses/"):
        return errors.invalid_url(req.method, req.path)
    return None


def _auth_only(p: Mapping[str, Any], req: RelayRequest, protocol: Protocol) -> RelayResponse | None:
    styles = presented(req.headers, req.query)
    if styles and not set(styles) & set(p.get("styles", ("bearer",))):
        return errors.invalid_key(protocol, presented=False)  # the relay never looked at those headers
    return None


def _reject_beta(p: Mapping[str, Any], req: RelayRequest, protocol: Protocol) -> RelayResponse | None:
    allowed = set(p.get("allowed", ()))
    rejected = [b for b in _betas(req) if b not in allowed]
    if not rejected:
        return None
    return errors.anthropic_error(
        400,
        f"Unexpected value(s) `{','.join(rejected)}` for the `anthropic-beta` header. Please consult "
        "our documentation at docs.anthropic.com or try again without the header.",
    )


def _no_tools(p: Mapping[str, Any], req: RelayRequest, protocol: Protocol) -> RelayResponse | None:
    if p.get("mode", "reject") != "reject" or not _requested_tools(req):
        return None  # "strip" mode: the handlers drop the tools and answer text
    if protocol == "gemini":
        return errors.gemini_error(400, "Function calling is not enabled for this model.")
    if protocol in ("anthropic", "sub2api"):
        return errors.anthropic_error(400, "tools: Extra inputs are not permitted")
    return errors.openai_error(400, "tools is not supported by this endpoint", param="tools")


def _max_tokens_limit(p: Mapping[str, Any], req: RelayRequest, protocol: Protocol) -> RelayResponse | None:
    limit = int(p.get("limit", 8192))
    found = _max_tokens(req)
    if found is None or found[0] <= limit:
        return None
    return errors.error_for(
        protocol,
        400,
        f"max_tokens: {found[0]} > {limit}, which is the maximum allowed number of output tokens "
        f"for {found[1]}",
    )


def _require_version(p: Mapping[str, Any], req: RelayRequest, protocol: Protocol) -> RelayResponse | None:
    if protocol == "anthropic" and "anthropic-version" not in req.headers:
        return errors.anthropic_error(400, "anthropic-version: header is required")
    return None


_ANSWERS: dict[str, Callable[[Mapping[str, Any], RelayRequest, Protocol], RelayResponse | None]] = {
    "status": lambda p, req, protocol: _status_answer(p, protocol),
    "insufficient_quota": lambda p, req, protocol: _insufficient_quota(protocol),
    "html": lambda p, req, protocol: _html(p),
    "oversized": lambda p, req, protocol: _oversized(p),
    "redirect": lambda p, req, protocol: _redirect(p, req),
    "error_200": lambda p, req, protocol: _error_200(p, protocol),
    "wrong_type": _wrong_type,
    "missing_responses": _missing_responses,
    "auth_only": _auth_only,
    "reject_beta": _reject_beta,
    "no_tools": _no_tools,
    "max_tokens_limit": _max_tokens_limit,
    "require_version": _require_version,
}
ANSWER_KINDS = frozenset(_ANSWERS)
FAULT_KINDS = CONTROL_KINDS | ANSWER_KINDS | BEHAVIOUR_KINDS


def answer(fault: Fault, req: RelayRequest, protocol: Protocol) -> RelayResponse | None:
    """The answer that replaces the normal one, or None when this fault does not fire for ``req``."""
    build = _ANSWERS.get(fault.kind)
    return None if build is None else build(fault.params, req, protocol)


def validate(fault: Fault) -> None:
    """Refuses a fault whose kind or params could not work, when it is set rather than when it fires."""
    if fault.kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {fault.kind!r}; known: {', '.join(sorted(FAULT_KINDS))}")
    p = fault.params
    for name in ("status", "after_chunks", "size", "limit"):
        if name in p and not isinstance(p[name], int):
            raise ValueError(f"{fault.kind}: {name}= must be an integer")
    for name in ("seconds", "retry_after", "retry_after_ms"):
        if name in p and not isinstance(p[name], int | float):
            raise ValueError(f"{fault.kind}: {name}= must be a number")
    if fault.kind == "redirect":
        check_redirect_target(p.get("to"))
    if fault.kind == "auth_only":
        unknown = set(p.get("styles", ("bearer",))) - set(AUTH_STYLES)
        if unknown:
            raise ValueError(f"auth_only: unknown styles {sorted(unknown)}; known: {', '.join(AUTH_STYLES)}")
    if fault.kind == "wrong_type":
        unknown = set(p.get("serves", ("openai",))) - {"openai", "anthropic", "gemini"}
        if unknown:
            raise ValueError(f"wrong_type: serves= takes openai, anthropic, gemini; not {sorted(unknown)}")
    if fault.kind == "no_tools" and p.get("mode", "reject") not in ("reject", "strip"):
        raise ValueError("no_tools: mode= is reject or strip")


def _stream_error_event(protocol: Protocol, path: str, params: Mapping[str, Any], seq: int) -> bytes:
    """The error a relay sends inside an already-started 200 stream, in the stream's own dialect."""
    message = str(params.get("message", "Overloaded"))
    code = str(params.get("code", "server_error"))
    if protocol in ("anthropic", "sub2api"):
        etype = str(params.get("type", "overloaded_error"))
        return sse_event("error", {"type": "error", "error": {"type": etype, "message": message}})
    if protocol == "gemini":
        status = int(params.get("status", 503))
        err = {"code": status, "message": message, "status": errors.gemini_status(status)}
        return sse_data({"error": err}, crlf=True)
    if "/responses" in path:
        failed = {"status": "failed", "error": {"code": code, "message": message}, "output": []}
        return sse_event(
            "response.failed", {"type": "response.failed", "response": failed, "sequence_number": seq}
        )
    return sse_data({"error": {"message": message, "type": "server_error", "param": None, "code": code}})


def inject_stream_error(
    chunks: Iterable[Chunk], fault: Fault, protocol: Protocol, path: str
) -> Iterator[Chunk]:
    """The first ``after_chunks`` chunks of a stream, then its protocol's error event, then the end."""
    after = int(fault.params.get("after_chunks", 1))
    sent = 0
    for chunk in chunks:
        if sent >= after:
            break
        yield chunk
        sent += 1
    yield (0.0, _stream_error_event(protocol, path, fault.params, sent))
