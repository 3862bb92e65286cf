"""The relay's request/response/log records and the body encoders every protocol module shares."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

# A streamed body is a sequence of (delay before this chunk in seconds, bytes to send).
Chunk = tuple[float, bytes]
Body = bytes | Iterable[Chunk]


class BadJSON(ValueError):
    """The request body is not the JSON object the route expects."""


@dataclass(frozen=True)
class RelayRequest:
    """One parsed request as handlers see it. ``key`` is whatever credential the client presented."""

    method: str
    path: str  # without the query string
    query: dict[str, str]  # first value of each parameter
    headers: dict[str, str]  # lower-case names
    body: bytes
    key: str | None = None
    auth_style: str | None = None  # bearer | x-api-key | x-goog-api-key | query-key | query-api_key
    # kind -> params of the faults active for this request (handlers honour no_stream, no_tools, ...)
    fault_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        """The body as a JSON object, or ``BadJSON`` (handlers turn it into a 400)."""
        if not self.body:
            raise BadJSON("request body is empty")
        try:
            data = json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadJSON(f"request body is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise BadJSON("request body must be a JSON object")
        return data

    def has_fault(self, kind: str) -> bool:
        return kind in self.fault_params

    def fault_param(self, kind: str, name: str, default: Any = None) -> Any:
        return self.fault_params.get(kind, {}).get(name, default)

    def tools(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """The tool objects ``body`` offers, as the model sees them."""
        if self.has_fault("no_tools"):
            return []  # "strip" mode: the relay drops tools silently (reject mode answered earlier)
        tools = body.get("tools")
        return [t for t in tools if isinstance(t, dict)] if isinstance(tools, list) else []


@dataclass
class RelayResponse:
    """What a handler answers. ``body`` as bytes is sent with Content-Length; an iterable of chunks
    is sent with chunked transfer encoding, each chunk flushed after its delay."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Body = b""
    # Close the connection after this many chunks without finishing the response (a truncated stream).
    truncate_after_chunks: int | None = None

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> RelayResponse:
        hdrs = {"content-type": "application/json"}
        hdrs.update(headers or {})
        return cls(status=status, headers=hdrs, body=dumps(obj))

    @classmethod
    def text(
        cls, text: str, status: int = 200, content_type: str = "text/plain; charset=utf-8"
    ) -> RelayResponse:
        return cls(status=status, headers={"content-type": content_type}, body=text.encode())

    @classmethod
    def stream(
        cls, chunks: Iterable[Chunk], status: int = 200, headers: Mapping[str, str] | None = None
    ) -> RelayResponse:
        hdrs = {"content-type": "text/event-stream", "cache-control": "no-cache"}
        hdrs.update(headers or {})
        return cls(status=status, headers=hdrs, body=chunks)

    @property
    def is_stream(self) -> bool:
        return not isinstance(self.body, bytes)


@dataclass(frozen=True)
class LogEntry:
    """One request as the relay saw it. ``t_start``/``t_end`` are ``time.monotonic()`` values:
    from the request line being parsed to the last byte written (or the connection dropped)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    status: int  # 0 when no status line was ever sent (timeout, dropped connection)
    t_start: float
    t_end: float
    key: str | None

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def sse_data(obj: Any, *, crlf: bool = False) -> bytes:
    """One ``data:`` event without an event name (OpenAI chat, Gemini)."""
    end = "\r\n\r\n" if crlf else "\n\n"
    return b"data: " + dumps(obj) + end.encode()


def sse_event(name: str, obj: Any) -> bytes:
    """One named event (Anthropic Messages, OpenAI Responses)."""
    return b"event: " + name.encode() + b"\ndata: " + dumps(obj) + b"\n\n"


def paced(events: Iterable[bytes], delay_s: float = 0.0) -> Iterator[Chunk]:
    """Chunks for a stream, each event sent after ``delay_s`` (the first one immediately)."""
    for i, ev in enumerate(events):
        yield (0.0 if i == 0 else delay_s, ev)
