"""One request as the probes see it: a response or a network failure, never an exception.

Probes branch on what came back (status, shape, failure kind), so ``send`` folds the engine's
``NetError`` into an ``Outcome`` with the same fields a response has. The engine is typed as a
protocol: the probes need only ``request``, and tests may pass any object that has it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from credlib.net.errors import NetError


class ResponseLike(Protocol):
    @property
    def status(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def body(self) -> bytes: ...
    @property
    def elapsed_ms(self) -> float: ...
    @property
    def truncated(self) -> bool: ...
    @property
    def incomplete(self) -> bool: ...


class EngineLike(Protocol):
    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = ...,
        json: Any = ...,
        params: Mapping[str, str] | None = ...,
        retry: bool = ...,
    ) -> Any: ...


_NO_JSON = object()


@dataclass
class Outcome:
    """What one probe request produced. ``status`` is None when no HTTP response arrived."""

    method: str
    url: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    latency_ms: int = 0
    truncated: bool = False
    incomplete: bool = False
    net_error: str | None = None  # NetError.kind
    net_message: str = ""
    _parsed: Any = field(default=_NO_JSON, repr=False)

    @property
    def path(self) -> str:
        """The path (no query: a query may hold a key) for messages."""
        return urlsplit(self.url).path or "/"

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    def json(self) -> Any:
        """The parsed body, or None when it is not JSON."""
        if self._parsed is _NO_JSON:
            try:
                # Some gateways (IIS, a few PHP relays) prefix JSON with a byte-order mark.
                text = self.body.decode("utf-8", errors="replace").lstrip("\ufeff")
                self._parsed = json.loads(text) if text.strip() else None
            except ValueError:
                self._parsed = None
        return self._parsed

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


async def send(
    engine: EngineLike,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    json_body: Any = None,
    params: Mapping[str, str] | None = None,
) -> Outcome:
    """Send one request through the engine (and so through its per-origin limiter)."""
    out = Outcome(method=method, url=url)
    started = time.monotonic()
    try:
        if json_body is None:
            resp = await engine.request(method, url, headers=dict(headers), params=params)
        else:
            resp = await engine.request(method, url, headers=dict(headers), json=json_body, params=params)
    except NetError as exc:
        out.net_error = exc.kind
        out.net_message = exc.message
        # Includes queueing in the limiter; the engine reports no finer figure for a failure.
        out.latency_ms = round((time.monotonic() - started) * 1000)
        return out
    out.status = int(resp.status)
    out.headers = {str(k).lower(): str(v) for k, v in dict(resp.headers).items()}
    out.body = bytes(resp.body)
    out.latency_ms = round(float(resp.elapsed_ms))
    out.truncated = bool(resp.truncated)
    out.incomplete = bool(resp.incomplete)
    return out
