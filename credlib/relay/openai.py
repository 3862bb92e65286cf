"""OpenAI-compatible routes: model list, Chat Completions (plain, SSE, tools) and the Responses API
(plain and the SSE event sequence through ``response.completed`` that Codex requires).

Shapes follow research upstream-protocols §1 and §11.1.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from credlib.relay import anthropic, errors, gemini
from credlib.relay.generate import complete, estimate_tokens, example_arguments, new_id, text_pieces
from credlib.relay.keys import KeySpec
from credlib.relay.wire import RelayRequest, RelayResponse, paced, sse_data, sse_event

if TYPE_CHECKING:
    from credlib.relay.server import Relay, Route

MODEL_CREATED = 1721172741
_REASONING_MODEL = re.compile(r"^(o\d|gpt-5)")
RESPONSES_MIN_OUTPUT_TOKENS = 16


def owned_by(model: str) -> str:
    if model.startswith(("gpt", "o1", "o3", "o4", "chatgpt", "text-embedding")):
        return "openai"
    if model.startswith("claude"):
        return "anthropic"
    if model.startswith("gemini"):
        return "google"
    return "custom"


def model_object(model: str) -> dict[str, Any]:
    return {"id": model, "object": "model", "created": MODEL_CREATED, "owned_by": owned_by(model)}


def routes(relay: Relay) -> list[Route]:
    from credlib.relay.server import Route

    models = _models_handler(relay)
    chat = _chat_handler(relay)
    responses = _responses_handler(relay)
    return [
        Route("GET", "/v1/models", models),
        Route("GET", "/models", models),
        Route("GET", "/v1beta/openai/models", models),
        Route("GET", re.compile(r"/v1/models/[^/]+"), _model_handler(relay)),
        Route("POST", "/v1/chat/completions", chat),
        Route("POST", "/chat/completions", chat),
        Route("POST", "/v1beta/openai/chat/completions", chat),
        Route("POST", "/v1/responses", responses),
        Route("POST", "/responses", responses),
    ]


# ---- models ------------------------------------------------------------------------------------------
def _models_format(req: RelayRequest) -> errors.Protocol:
    """Which family's list ``/v1/models`` answers with; a ``wrong_type`` relay only knows its own."""
    if req.path.startswith("/v1beta/"):
        return "openai"  # Google's OpenAI-compatible surface
    wanted = errors.protocol_of(req.path, req.headers, req.auth_style)
    if req.has_fault("wrong_type"):
        served = [
            f for f in ("openai", "anthropic", "gemini") if f in req.fault_param("wrong_type", "serves")
        ]
        if wanted not in served:
            return "openai" if "openai" in served else "anthropic"
    return wanted


def _models_handler(relay: Relay) -> Any:
    def handle(req: RelayRequest) -> RelayResponse:
        fmt = _models_format(req)
        auth = relay.authenticate(req, fmt)
        if isinstance(auth, RelayResponse):
            return auth
        if fmt == "anthropic":
            return anthropic.list_models(req, auth)
        if fmt == "gemini":
            return gemini.list_models(req, auth)
        return RelayResponse.json({"object": "list", "data": [model_object(m) for m in auth.listed_models()]})

    return handle


def _model_handler(relay: Relay) -> Any:
    def handle(req: RelayRequest) -> RelayResponse:
        fmt = _models_format(req)
        auth = relay.authenticate(req, fmt)
        if isinstance(auth, RelayResponse):
            return auth
        model = req.path.rsplit("/", 1)[1]
        if fmt == "gemini":
            return gemini.get_model(auth, model)
        if model not in auth.listed_models():
            return errors.unknown_model(fmt, model)
        if fmt == "anthropic":
            return RelayResponse.json(anthropic.model_object(model, 0))
        return RelayResponse.json(model_object(model))

    return handle


# ---- shared validation ---------------------------------------------------------------------------------
def _check_model(body: dict[str, Any], spec: KeySpec) -> str | RelayResponse:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return errors.openai_error(400, "you must provide a model parameter", param="model")
    if not spec.serves(model):
        return errors.unknown_model("openai", model)
    return model


def _stream_requested(req: RelayRequest, body: dict[str, Any]) -> bool:
    return body.get("stream") is True and not req.has_fault("no_stream")


def _now() -> int:
    return int(time.time())


# ---- chat completions -----------------------------------------------------------------------------
def _forced_chat_tool(tools: list[dict[str, Any]], choice: Any) -> dict[str, Any] | None:
    functions: list[dict[str, Any]] = [
        t["function"] for t in tools if t.get("type") == "function" and isinstance(t.get("function"), dict)
    ]
    if not functions:
        return None
    if choice == "required":
        return functions[0]
    if isinstance(choice, dict) and choice.get("type") == "function":
        name = (choice.get("function") or {}).get("name")
        return next((f for f in functions if f.get("name") == name), None)
    return None


def _chat_handler(relay: Relay) -> Any:
    def handle(req: RelayRequest) -> RelayResponse:
        auth = relay.authenticate(req, "openai")
        if isinstance(auth, RelayResponse):
            return auth
        body = req.json()
        model = _check_model(body, auth)
        if isinstance(model, RelayResponse):
            return model
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return errors.openai_error(400, "'messages' is a required property", param="messages")
        if "max_tokens" in body and _REASONING_MODEL.match(model):
            return errors.openai_error(
                400,
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead.",
                param="max_tokens",
                code="unsupported_parameter",
            )
        limit = body.get("max_completion_tokens", body.get("max_tokens"))
        tools = req.tools(body)
        forced = _forced_chat_tool(tools, body.get("tool_choice"))
        prompt_tokens = estimate_tokens(messages, tools)
        cid = new_id("chatcmpl-")
        created = _now()
        if forced is not None:
            arguments = json.dumps(example_arguments(forced.get("parameters")))
            call: dict[str, Any] = {
                "id": new_id("call_"),
                "type": "function",
                "function": {
                    "name": forced.get("name", "tool"),
                    "arguments": arguments,
                },
            }
            message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [call]}
            finish, out_tokens = "tool_calls", estimate_tokens(arguments)
        else:
            done = complete(relay.reply, limit if isinstance(limit, int) else None)
            message = {"role": "assistant", "content": done.text, "refusal": None}
            finish, out_tokens = ("length" if done.truncated else "stop"), done.output_tokens
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": out_tokens,
            "total_tokens": prompt_tokens + out_tokens,
        }
        headers = {"x-request-id": errors.request_id()}
        relay.account(auth, model, prompt_tokens, out_tokens, _stream_requested(req, body))
        if not _stream_requested(req, body):
            return RelayResponse.json(
                {
                    "id": cid,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                    "usage": usage,
                    "system_fingerprint": None,
                },
                headers=headers,
            )
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        events = _chat_stream(cid, created, model, message, finish, usage if include_usage else None)
        return RelayResponse.stream(paced(events, relay.stream_delay_s), headers=headers)

    return handle


def _chat_stream(
    cid: str, created: int, model: str, message: dict[str, Any], finish: str, usage: dict[str, Any] | None
) -> Iterator[bytes]:
    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        obj: dict[str, Any] = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        }
        if usage is not None:
            obj["usage"] = None
        return sse_data(obj)

    calls = message.get("tool_calls")
    if calls:
        call = calls[0]
        yield chunk(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "index": 0,
                        "id": call["id"],
                        "type": "function",
                        "function": {"name": call["function"]["name"], "arguments": ""},
                    }
                ],
            }
        )
        for piece in text_pieces(call["function"]["arguments"]):
            yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
    else:
        yield chunk({"role": "assistant", "content": ""})
        for piece in text_pieces(message["content"]):
            yield chunk({"content": piece})
    yield chunk({}, finish)
    if usage is not None:
        yield sse_data(
            {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": usage,
            }
        )
    yield b"data: [DONE]\n\n"


# ---- responses --------------------------------------------------------------------------------------
def _forced_response_tool(tools: list[dict[str, Any]], choice: Any) -> dict[str, Any] | None:
    functions = [t for t in tools if t.get("type") == "function" and isinstance(t.get("name"), str)]
    if not functions:
        return None
    if choice == "required":
        return functions[0]
    if isinstance(choice, dict) and choice.get("type") == "function":
        return next((f for f in functions if f.get("name") == choice.get("name")), None)
    return None


def _responses_handler(relay: Relay) -> Any:
    def handle(req: RelayRequest) -> RelayResponse:
        auth = relay.authenticate(req, "openai")
        if isinstance(auth, RelayResponse):
            return auth
        body = req.json()
        model = _check_model(body, auth)
        if isinstance(model, RelayResponse):
            return model
        limit = body.get("max_output_tokens")
        if isinstance(limit, int) and limit < RESPONSES_MIN_OUTPUT_TOKENS:
            return errors.openai_error(
                400,
                "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= "
                f"{RESPONSES_MIN_OUTPUT_TOKENS}, but got {limit} instead.",
                param="max_output_tokens",
                code="integer_below_min_value",
            )
        tools = req.tools(body)
        forced = _forced_response_tool(tools, body.get("tool_choice"))
        input_tokens = estimate_tokens(body.get("input"), body.get("instructions"), tools)
        if forced is not None:
            args = json.dumps(example_arguments(forced.get("parameters")))
            item: dict[str, Any] = {
                "type": "function_call",
                "id": new_id("fc_"),
                "call_id": new_id("call_"),
                "name": forced["name"],
                "arguments": args,
                "status": "completed",
            }
            out_tokens, truncated = estimate_tokens(args), False
        else:
            done = complete(relay.reply, limit if isinstance(limit, int) else None)
            item = {
                "type": "message",
                "id": new_id("msg_"),
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": done.text, "annotations": [], "logprobs": []}],
            }
            out_tokens, truncated = done.output_tokens, done.truncated
        reasoning_items = _reasoning_items(model, body)
        reasoning_tokens = sum(estimate_tokens(r["summary"]) for r in reasoning_items)
        response = {
            "id": new_id("resp_"),
            "object": "response",
            "created_at": _now(),
            "status": "incomplete" if truncated else "completed",
            "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if truncated else None,
            "instructions": body.get("instructions"),
            "max_output_tokens": limit,
            "model": model,
            "output": [*reasoning_items, item],
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": body.get("previous_response_id"),
            "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
            "store": body.get("store", True),
            "temperature": body.get("temperature", 1.0),
            "text": body.get("text") or {"format": {"type": "text"}},
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": tools,
            "top_p": body.get("top_p", 1.0),
            "truncation": "disabled",
            "usage": {
                "input_tokens": input_tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": out_tokens + reasoning_tokens,
                "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
                "total_tokens": input_tokens + out_tokens + reasoning_tokens,
            },
            "user": None,
            "metadata": body.get("metadata") or {},
        }
        headers = {"x-request-id": errors.request_id()}
        usage = response["usage"]
        relay.account(
            auth, model, usage["input_tokens"], usage["output_tokens"], _stream_requested(req, body)
        )
        if not _stream_requested(req, body):
            return RelayResponse.json(response, headers=headers)
        return RelayResponse.stream(paced(_responses_stream(response), relay.stream_delay_s), headers=headers)

    return handle


def _reasoning_items(model: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The reasoning item a reasoning model (o-series, gpt-5) puts first in ``output``; its summary only
    when ``reasoning.summary`` asks for one, its encrypted content only when ``include`` does."""
    reasoning = body.get("reasoning")
    if not _REASONING_MODEL.match(model) or not isinstance(reasoning, dict):
        return []
    summary = []
    if reasoning.get("summary") in ("auto", "concise", "detailed"):
        summary = [
            {"type": "summary_text", "text": "**Answering briefly**\n\nThe user asked for a short reply."}
        ]
    item: dict[str, Any] = {"type": "reasoning", "id": new_id("rs_"), "summary": summary}
    if "reasoning.encrypted_content" in (body.get("include") or []):
        item["encrypted_content"] = "gAAAAA" + new_id("", 48)
    return [item]


def _responses_stream(response: dict[str, Any]) -> Iterator[bytes]:
    seq = 0

    def event(kind: str, **fields: Any) -> bytes:
        nonlocal seq
        payload = {"type": kind, **fields, "sequence_number": seq}
        seq += 1
        return sse_event(kind, payload)

    start = {**response, "status": "in_progress", "output": [], "usage": None, "incomplete_details": None}
    yield event("response.created", response=start)
    yield event("response.in_progress", response=start)
    for index, item in enumerate(response["output"]):
        if item["type"] == "reasoning":
            yield event("response.output_item.added", output_index=index, item={**item, "summary": []})
            for sindex, part in enumerate(item["summary"]):
                ids = {"item_id": item["id"], "output_index": index, "summary_index": sindex}
                yield event("response.reasoning_summary_part.added", **ids, part={**part, "text": ""})
                for piece in text_pieces(part["text"]):
                    yield event("response.reasoning_summary_text.delta", **ids, delta=piece)
                yield event("response.reasoning_summary_text.done", **ids, text=part["text"])
                yield event("response.reasoning_summary_part.done", **ids, part=part)
        elif item["type"] == "function_call":
            yield event(
                "response.output_item.added",
                output_index=index,
                item={**item, "arguments": "", "status": "in_progress"},
            )
            for piece in text_pieces(item["arguments"]):
                yield event(
                    "response.function_call_arguments.delta",
                    item_id=item["id"],
                    output_index=index,
                    delta=piece,
                )
            yield event(
                "response.function_call_arguments.done",
                item_id=item["id"],
                output_index=index,
                arguments=item["arguments"],
            )
        else:
            yield event(
                "response.output_item.added",
                output_index=index,
                item={**item, "status": "in_progress", "content": []},
            )
            for cindex, part in enumerate(item["content"]):
                empty = {**part, "text": ""}
                yield event(
                    "response.content_part.added",
                    item_id=item["id"],
                    output_index=index,
                    content_index=cindex,
                    part=empty,
                )
                for piece in text_pieces(part["text"]):
                    yield event(
                        "response.output_text.delta",
                        item_id=item["id"],
                        output_index=index,
                        content_index=cindex,
                        delta=piece,
                        logprobs=[],
                    )
                yield event(
                    "response.output_text.done",
                    item_id=item["id"],
                    output_index=index,
                    content_index=cindex,
                    text=part["text"],
                    logprobs=[],
                )
                yield event(
                    "response.content_part.done",
                    item_id=item["id"],
                    output_index=index,
                    content_index=cindex,
                    part=part,
                )
        yield event("response.output_item.done", output_index=index, item=item)
    final = "response.incomplete" if response["status"] == "incomplete" else "response.completed"
    yield event(final, response=response)
