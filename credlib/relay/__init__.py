"""A faithful fake LLM relay on 127.0.0.1, for tests and ``credlib demo``.

It speaks the wire protocols of research/upstream-protocols.md well enough that the real Claude
Code, Codex CLI and Gemini CLI complete a headless turn against it, and it can misbehave on demand.

    from credlib.relay import Relay
    with Relay(latency_s=0.05, name="relay-a") as relay:
        relay.add_key(key, models=["gpt-4o-mini"], flavor="newapi", quota=7.5, used=2.5)
        relay.set_fault("status", path="/v1/chat/completions", status=429, retry_after=2, times=1)
        ...  # point clients at relay.url
        relay.log  # [LogEntry(method, path, query, headers, body, status, t_start, t_end, key), ...]

Routes (all on one server; each key answers the telemetry routes of its ``flavor``):

- OpenAI: ``GET /v1/models`` and ``/models`` (Anthropic format when ``anthropic-version`` is sent,
  Gemini format for ``x-goog-api-key``/``?key=`` auth, as new-api does),
  ``GET /v1/models/{id}``, ``POST /v1/chat/completions`` (plain, SSE ending in ``[DONE]``, tool calls,
  ``stream_options.include_usage``; reasoning models reject ``max_tokens``), ``POST /v1/responses``
  (plain, SSE events through ``response.completed``, function calls; ``max_output_tokens`` >= 16), and
  the ``/v1beta/openai/`` compatibility aliases. Auth ``Authorization: Bearer``.
- Anthropic: ``POST /v1/messages`` (``?beta=true`` accepted; SSE ``message_start`` ... ``message_stop``;
  ``tool_use``), ``POST /v1/messages/count_tokens``, paginated models. Auth ``x-api-key`` or Bearer.
- Gemini: ``GET /v1beta/models`` (``pageSize``/``pageToken``, ``models/`` prefix), ``GET
  /v1beta/models/{m}``, ``POST /v1beta/models/{m}:generateContent`` (also under ``/v1/``, which newer
  google-genai SDKs use), ``:streamGenerateContent``
  (``?alt=sse`` events, otherwise one streamed JSON array), ``:countTokens``, function calling. Auth
  ``x-goog-api-key`` or ``?key=``; an unknown key is HTTP 400 ``API_KEY_INVALID``, a missing one 403.
- Telemetry: ``GET /api/status`` (``quota_per_unit``), ``GET /api/usage/token/`` and ``GET
  /api/log/token`` (flavor newapi), ``GET /v1/dashboard/billing/subscription`` and ``.../usage``
  (newapi: new-api emulation; openai: one-api style with ``daily_costs``), ``GET /v1/credits`` (newapi),
  ``GET /v1/usage`` (flavor sub2api: modes quota_limited / wallet / subscription).
- ``HEAD /`` and ``GET /`` answer 200 (Claude Code probes the origin); unknown paths get OpenAI's JSON
  404 ``Invalid URL (METHOD /path)``.

With ``Relay(account_usage=True)`` every answered generation is charged to its key (New API consume
log, Sub2API today/total windows, ``used``/``quota``), so telemetry after a verify run moves.

The fake model answers ``reply`` (default "OK") unless the request forces a tool (Anthropic
``tool_choice`` any/tool, OpenAI ``required`` or a named function, Gemini ``mode: ANY``); then it calls
that tool with arguments built from the tool's schema. Token counts are estimates (4 chars/token).
Extended thinking (Anthropic ``thinking``) adds a signed thinking block, reasoning models on the
Responses API a reasoning item, Gemini thinking models with ``includeThoughts`` a thought part.

Faults: ``relay.set_fault(kind, *, path="*", method=None, key=None, times=None, **params)``. ``path`` is
an fnmatch glob on the path (no query), ``key`` limits it to one presented key, ``times`` to the next n
matching requests. Kinds:

- ``status``: answer ``status=`` (401, 403, 404, 429, 500, 502, 503, 529, ...) in the path's error
  envelope. ``retry_after=`` seconds (``retry_after_date=True`` sends it as an HTTP date),
  ``retry_after_ms=``; 429 messages say "try again in Ns"; Gemini 429s are Google's per-minute quota
  answer (``QuotaFailure`` on a ``PerMinute`` quota, ``RetryInfo.retryDelay`` instead of the header).
  Optional ``message=``, ``code=``, ``type=``.
- ``insufficient_quota``: OpenAI 429 ``insufficient_quota``, Anthropic 402 ``billing_error``, Gemini 429
  ``QuotaFailure`` on a ``PerDay`` quota (with a ``RetryInfo``, as Google sends), Sub2API 403
  ``billing_error``.
- ``delay``: wait ``seconds=`` before answering normally (adds to ``latency_s``).
- ``timeout``: never answer; the connection is closed after ``seconds=`` (capped at 30 s), when the
  client hangs up, or on ``stop()``.
- ``drop``: close the connection without any answer (a reset).
- ``truncate_stream``: close the connection after ``after_chunks=`` (default 2) stream chunks; a
  non-streamed body is cut in half under its full Content-Length.
- ``stream_error``: a 200 stream that sends ``after_chunks=`` (default 1) chunks, then its protocol's
  error event and ends: Anthropic ``event: error`` (``type=`` overloaded_error), Responses
  ``response.failed`` with ``error.code`` (``code=``), chat ``data: {"error": ...}`` without ``[DONE]``,
  Gemini ``data: {"error": ...}``. ``message=`` sets the text.
- ``no_tools``: ``mode="reject"`` (default) answers 400 to requests with ``tools``; ``mode="strip"``
  ignores the tools and answers text.
- ``no_stream``: ignore ``stream: true`` and answer one JSON body.
- ``reject_beta``: 400 ``invalid_request_error`` when ``anthropic-beta`` names a beta outside
  ``allowed=`` (default: none allowed).
- ``missing_responses``: ``/v1/responses`` answers 404 ``Invalid URL`` (a relay without the Responses API).
- ``wrong_type``: the relay only serves ``serves=`` (default ``("openai",)``); routes of the other
  families answer 404 ``Invalid URL`` and the model list uses a served format.
- ``auth_only``: only the auth ``styles=`` given are read (bearer, x-api-key, x-goog-api-key,
  query-key, query-api_key); a request carrying none of them looks like it has no key.
- ``max_tokens_limit``: 400 when the request asks for more than ``limit=`` (default 8192) output tokens.
- ``require_version``: Anthropic routes answer 400 without ``anthropic-version``.
- ``html``: an HTML page with ``status=`` (default 502: nginx's Bad Gateway page; 200: a web console).
- ``oversized``: a JSON body of ``size=`` bytes (default 10 MiB), ``chunked=True`` for no Content-Length.
- ``redirect``: ``status=`` (default 307) to the same path on the loopback origin ``to=``.
- ``error_200``: HTTP 200 whose body is the path's error envelope (``message=``).

The relay binds only 127.0.0.1, never prints requests (they carry keys), and keeps everything
clients sent in its in-memory log for tests to read.
"""

from __future__ import annotations

from credlib.relay.faults import FAULT_KINDS, Fault
from credlib.relay.keys import DEFAULT_MODELS, KeySpec, NewApiLog, RateLimitWindow, UsageWindow
from credlib.relay.server import Relay, Route
from credlib.relay.wire import Chunk, LogEntry, RelayRequest, RelayResponse

__all__ = [
    "DEFAULT_MODELS",
    "FAULT_KINDS",
    "Chunk",
    "Fault",
    "KeySpec",
    "LogEntry",
    "NewApiLog",
    "RateLimitWindow",
    "Relay",
    "RelayRequest",
    "RelayResponse",
    "Route",
    "UsageWindow",
]
