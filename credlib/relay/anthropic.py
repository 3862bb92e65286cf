"""Anthropic Messages routes: ``/v1/messages`` (``?beta=true`` as Claude Code sends it; plain and the
SSE sequence ``message_start`` … ``message_stop``; tool_use), ``/v1/messages/count_tokens`` and the
paginated Anthropic-format model list. Shapes follow research upstream-protocols §5, §7.1 and §10.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from credlib.relay import errors
from credlib.relay.generate import complete, estimate_tokens, example_arguments, new_id, text_pieces
from credlib.relay.keys import KeySpec
from credlib.relay.wire import RelayRequest, RelayResponse, paced, sse_event

if TYPE_CHECKING:
    from credlib.relay.server import Relay, Route

_NEWEST_MODEL_DATE = datetime(2025, 9, 29, tzinfo=UTC)


def routes(relay: Relay) -> list[Route]:
    from credlib.relay.server import Route

    return [
        Route("POST", "/v1/messages", _messages_handler(relay)),
        Route("POST", "/v1/messages/count_tokens", _count_tokens_handler(relay)),
    ]


def model_object(model: str, index: int) -> dict[str, Any]:
    created = _NEWEST_MODEL_DATE - timedelta(days=30 * index)
    return {
        "type": "model",
        "id": model,
        "display_name": model,
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def list_models(req: RelayRequest, spec: KeySpec) -> RelayResponse:
    """``GET /v1/models`` in Anthropic's format: newest first, ``limit``/``after_id``/``before_id``."""
    models = spec.listed_models()
    raw_limit = req.query.get("limit", "20")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 1000:
        return errors.anthropic_error(400, "limit: Input should be between 1 and 1000")
    limit = int(raw_limit)
    start, end = 0, len(models)
    if req.query.get("after_id"):
        if req.query["after_id"] not in models:
            return errors.anthropic_error(400, "after_id: unknown model id")
        start = models.index(req.query["after_id"]) + 1
    if req.query.get("before_id"):
        if req.query["before_id"] not in models:
            return errors.anthropic_error(400, "before_id: unknown model id")
        end = models.index(req.query["before_id"])
        start = max(start, end - limit)
    page = models[start : min(end, start + limit)]
    data = [model_object(m, models.index(m)) for m in page]
    has_more = start + limit < end if not req.query.get("before_id") else start > 0
    return RelayResponse.json(
        {
            "data": data,
            "has_more": has_more,
            "first_id": page[0] if page else None,
            "last_id": page[-1] if page else None,
        }
    )


def _check(body: dict[str, Any], spec: KeySpec, *, need_max_tokens: bool) -> str | RelayResponse:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return errors.anthropic_error(400, "model: Field required")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return errors.anthropic_error(400, "messages: Field required")
    if need_max_tokens and not isinstance(body.get("max_tokens"), int):
        return errors.anthropic_error(400, "max_tokens: Field required")
    if not spec.serves(model):
        return errors.unknown_model("anthropic", model)
    return model


def _forced_tool(tools: list[dict[str, Any]], choice: Any) -> dict[str, Any] | None:
    if not tools or not isinstance(choice, dict):
        return None
    if choice.get("type") == "any":
        return tools[0]
    if choice.get("type") == "tool":
        return next((t for t in tools if t.get("name") == choice.get("name")), None)
    return None


def _messages_handler(relay: Relay) -> Any:
    def handle(req: RelayRequest) -> RelayResponse:
        auth = relay.authenticate(req, "anthropic")
        if isinstance(auth, RelayResponse):
            return auth
        body = req.json()
        model = _check(body, auth, need_max_tokens=True)
        if isinstance(model, RelayResponse):
            return model
        tools = req.tools(body)
        forced = _forced_tool(tools, body.get("tool_choice"))
        input_tokens = estimate_tokens(body.get("system"), body.get("messages"), tools)
        thinking = _thinking(body, forced is not None)
        if isinstance(thinking, RelayResponse):
            return thinking
        if forced is not None:
            block: dict[str, Any] = {
                "type": "tool_use",
                "id": new_id("toolu_"),
                "name": forced.get("name", "tool"),
                "input": example_arguments(forced.get("input_schema")),
            }
            stop_reason, out_tokens = "tool_use", estimate_tokens(block["input"])
        else:
            done = complete(relay.reply, body["max_tokens"])
            block = {"type": "text", "text": done.text}
            stop_reason = "max_tokens" if done.truncated else "end_turn"
            out_tokens = done.output_tokens
        message = {
            "id": new_id("msg_"),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [*thinking, block],
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": input_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": out_tokens,
            },
        }
        headers = {"request-id": errors.request_id()}
        streamed = body.get("stream") is True and not req.has_fault("no_stream")
        relay.account(auth, model, input_tokens, out_tokens, streamed)
        if streamed:
            return RelayResponse.stream(
                paced(_message_stream(message), relay.stream_delay_s), headers=headers
            )
        return RelayResponse.json(message, headers=headers)

    return handle


THOUGHT = "The user asked for a short reply."


def _thinking(body: dict[str, Any], forced_tool: bool) -> list[dict[str, Any]] | RelayResponse:
    """The thinking block extended thinking adds before the answer (none when not asked for), or the
    API's 400 for a budget it refuses."""
    thinking = body.get("thinking")
    if not isinstance(thinking, dict) or thinking.get("type") not in ("enabled", "adaptive"):
        return []
    if thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or budget >= body["max_tokens"]:
            return errors.anthropic_error(400, "`max_tokens` must be greater than `thinking.budget_tokens`.")
    if forced_tool:
        return errors.anthropic_error(400, "Thinking may not be enabled when tool_choice forces tool use.")
    return [{"type": "thinking", "thinking": THOUGHT, "signature": new_id("Ev", 24)}]


def _message_stream(message: dict[str, Any]) -> Iterator[bytes]:
    usage = message["usage"]
    start = {
        **message,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**usage, "output_tokens": 1},
    }
    yield sse_event("message_start", {"type": "message_start", "message": start})
    for index, block in enumerate(message["content"]):
        if block["type"] == "tool_use":
            opening = {**block, "input": {}}
            pieces = ["", *text_pieces(json.dumps(block["input"]))]
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in pieces]
        elif block["type"] == "thinking":
            opening = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [{"type": "thinking_delta", "thinking": p} for p in text_pieces(block["thinking"])]
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
        else:
            opening = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": p} for p in text_pieces(block["text"])]
        yield sse_event(
            "content_block_start", {"type": "content_block_start", "index": index, "content_block": opening}
        )
        if index == 0:
            yield sse_event("ping", {"type": "ping"})
        for delta in deltas:
            yield sse_event(
                "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
            )
        yield sse_event("content_block_stop", {"type": "content_block_stop", "index": index})
    yield sse_event(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": usage["output_tokens"]},
        },
    )
    yield sse_event("message_stop", {"type": "message_stop"})


def _count_tokens_handler(relay: Relay) -> Any:
    def handle(req: RelayRequest) -> RelayResponse:
        auth = relay.authenticate(req, "anthropic")
        if isinstance(auth, RelayResponse):
            return auth
        body = req.json()
        model = _check(body, auth, need_max_tokens=False)
        if isinstance(model, RelayResponse):
            return model
        tokens = estimate_tokens(body.get("system"), body.get("messages"), body.get("tools"))
        return RelayResponse.json({"input_tokens": tokens})

    return handle
