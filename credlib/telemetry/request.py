"""One telemetry GET through the shared engine, classified and recorded as an ``Attempt``.

Every method goes through ``MethodContext.get_json``, so the rules are the same everywhere:
404/405 mean the site lacks the endpoint (``unsupported``); any other non-2xx, a transport failure, a
truncated or non-JSON body, a ``{success: false}`` envelope or an HTTP 200 body carrying an
``error`` object is an ``error`` with a short, scrubbed reason. Endpoints are recorded with every
query value redacted, and no message ever holds the key.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from credlib.model import Credential
from credlib.probes.http import EngineLike, ResponseLike  # the engine as every caller types it
from credlib.telemetry.base import Attempt, MethodFailure, Outcome
from credlib.telemetry.sanitize import redact_endpoint, scrub_text


@dataclass
class RunCache:
    """Per-run memo shared by every credential of one ``fetch_many`` (e.g. /api/status per origin)."""

    tasks: dict[str, asyncio.Task[Any]] = field(default_factory=dict)

    async def once(self, key: str, factory: Callable[[], Any]) -> Any:
        task = self.tasks.get(key)
        if task is None:
            task = asyncio.ensure_future(factory())
            self.tasks[key] = task
        return await asyncio.shield(task)


@dataclass
class MethodContext:
    engine: EngineLike
    cred: Credential
    now: datetime  # timezone-aware; "today" is its local calendar day
    scrub: Callable[[str], str]  # known secrets of this credential -> redacted form
    cache: RunCache = field(default_factory=RunCache)
    # ``auto`` is probing: each method asks its one main question and no follow-up (see run.py).
    probing: bool = False
    attempts: list[Attempt] = field(default_factory=list)

    def record(
        self,
        method: str,
        endpoint: str,
        outcome: Outcome,
        *,
        status: int | None = None,
        latency_ms: float | None = None,
        message: str | None = None,
    ) -> None:
        text = scrub_text(message, self.scrub) if message else None
        self.attempts.append(Attempt(method, endpoint, outcome, status, latency_ms, text))

    def amend_last(self, method: str, outcome: Outcome, message: str) -> None:
        """Re-classify this method's last attempt once its body has been read (a shape error)."""
        for i in range(len(self.attempts) - 1, -1, -1):
            old = self.attempts[i]
            if old.method == method:
                self.attempts[i] = Attempt(
                    old.method,
                    old.endpoint,
                    outcome,
                    old.status,
                    old.latency_ms,
                    scrub_text(message, self.scrub),
                )
                return

    async def get_json(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        token: str | None = None,
    ) -> Any:
        """GET ``url`` and return its decoded JSON (a ``{success, data}`` envelope is kept as is)."""
        from credlib.net.errors import NetError

        endpoint = redact_endpoint(url, params)
        headers = {"Accept": "application/json", "Pragma": "no-cache"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        started = time.monotonic()
        try:
            resp = await self.engine.request("GET", url, headers=headers, params=params, retry=True)
        except NetError as exc:
            latency = round((time.monotonic() - started) * 1000, 1)
            reason = f"{exc.kind}: {exc.message}"
            self.record(method, endpoint, "error", latency_ms=latency, message=reason)
            site_down = exc.kind in ("unreachable", "timeout", "protocol")
            raise MethodFailure("error", scrub_text(reason, self.scrub), site_down=site_down) from None
        latency = _latency(resp, started)
        status = int(resp.status)

        def fail(kind: Outcome, message: str) -> MethodFailure:
            self.record(method, endpoint, kind, status=status, latency_ms=latency, message=message)
            assert kind in ("unsupported", "error")
            return MethodFailure(kind, scrub_text(message, self.scrub))

        if getattr(resp, "truncated", False):
            raise fail(
                "error", f"HTTP {status}: response body too large ({len(resp.body)} bytes read, cut off)"
            )
        doc, decode_error = _decode(resp)
        if status in (404, 405):
            raise fail("unsupported", f"HTTP {status}: endpoint not available on this site")
        if not 200 <= status < 300:
            detail = upstream_message(doc) if decode_error is None else None
            raise fail("error", f"HTTP {status}" + (f": {detail}" if detail else ""))
        if getattr(resp, "incomplete", False):
            raise fail("error", f"HTTP {status}: response ended before the body was complete")
        if decode_error is not None:
            raise fail("error", f"HTTP {status}: {decode_error}")
        problem = body_error(doc)
        if problem is not None:
            kind: Outcome = "unsupported" if "session key" in problem else "error"
            raise fail(kind, f"HTTP {status}: {problem}")
        self.record(method, endpoint, "success", status=status, latency_ms=latency)
        return doc


def _latency(resp: Any, started: float) -> float:
    elapsed = getattr(resp, "elapsed_ms", None)
    if isinstance(elapsed, int | float):
        return round(float(elapsed), 1)
    return round((time.monotonic() - started) * 1000, 1)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _decode(resp: ResponseLike) -> tuple[Any, str | None]:
    """(document, None) or (None, why it is not JSON)."""
    ctype = str(resp.headers.get("content-type", "")).split(";")[0].strip().lower()
    raw = resp.body if isinstance(resp.body, bytes | bytearray) else str(resp.body).encode()
    if not raw.strip():
        return None, "empty response body"
    try:
        text = bytes(raw).decode("utf-8-sig")
        return json.loads(text, parse_constant=_reject_constant), None
    except (UnicodeDecodeError, ValueError):
        what = f"content-type {ctype}" if ctype else "no content-type"
        return None, f"response is not JSON ({what})"


def upstream_message(doc: Any) -> str | None:
    """The human message an upstream put in its error envelope, if any."""
    if not isinstance(doc, dict):
        return None
    err = doc.get("error")
    if isinstance(err, dict):
        for key in ("message", "msg", "type", "code"):
            if isinstance(err.get(key), str) and err[key].strip():
                return str(err[key])
    if isinstance(err, str) and err.strip():
        return err
    for key in ("message", "msg", "detail"):
        value = doc.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def body_error(doc: Any) -> str | None:
    """Why a 2xx body is really an error: ``{success: false}``, or an ``error`` object (relays
    emulating OpenAI billing answer HTTP 200 with ``{"error": {...}}``)."""
    if not isinstance(doc, dict):
        return None
    if doc.get("success") is False or doc.get("code") is False:
        return upstream_message(doc) or "the site answered success=false"
    err = doc.get("error")
    if (isinstance(err, dict) and err) or (isinstance(err, str) and err.strip()):
        return upstream_message(doc) or "the site answered with an error object"
    if doc.get("type") == "error":
        return upstream_message(doc) or "the site answered with an error"
    return None


def unwrap(doc: Any) -> Any:
    """The payload of a New API ``{success|code, message, data: {...}}`` envelope, else ``doc``."""
    if (
        isinstance(doc, dict)
        and isinstance(doc.get("data"), dict)
        and ("success" in doc or "code" in doc or "message" in doc)
    ):
        return doc["data"]
    return doc
