"""Gemini (generativelanguage v1beta) routes: paginated model list with the ``models/`` prefix,
``:generateContent``, ``:streamGenerateContent`` (``?alt=sse`` events, or one streamed JSON array
without it), ``:countTokens``, and function calling. Shapes follow research upstream-protocols §6 and §11.2.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from credlib.relay import errors
from credlib.relay.generate import complete, estimate_tokens, example_arguments, new_id
from credlib.relay.keys import KeySpec, strip_model_prefix
from credlib.relay.wire import RelayRequest, RelayResponse, dumps, paced, sse_data

if TYPE_CHECKING:
    from credlib.relay.server import Relay, Route

# Google serves both API versions; newer SDKs default to /v1.
_ACTION = re.compile(r"/v1(?:beta)?/models/([^/:]+):([A-Za-z]+)")
_ONE_MODEL = re.compile(r"/v1beta/models/([^/:]+)")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


def routes(relay: Relay) -> list[Route]:
    from credlib.relay.server import Route

    return [
        Route("GET", "/v1beta/models", _list_handler(relay)),
        Route("GET", _ONE_MODEL, _get_handler(relay)),
        Route("POST", _ACTION, _action_handler(relay)),
    ]


def model_object(model: str) -> dict[str, Any]:
    embedding = "embedding" in model
    methods = (
        ["embedContent"]
        if embedding
        else ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"]
    )
    obj: dict[str, Any] = {
        "name": f"models/{model}",
        "version": "001",
        "displayName": model,
        "description": f"{model} served by the credlib relay",
        "inputTokenLimit": 1048576,
        "outputTokenLimit": 65536,
        "supportedGenerationMethods": methods,
        "temperature": 1,
        "maxTemperature": 2,
        "topP": 0.95,
        "topK": 64,
    }
    if model.startswith("gemini-2.5") or model.startswith("gemini-3"):
        obj["thinking"] = True
    return obj


def list_models(req: RelayRequest, spec: KeySpec) -> RelayResponse:
    """The Gemini-format model list: ``pageSize``/``pageToken``, names with the ``models/`` prefix."""
    models = spec.listed_models()
    raw_size = req.query.get("pageSize", str(DEFAULT_PAGE_SIZE))
    token = req.query.get("pageToken", "")
    if not raw_size.isdigit() or (token and not token.isdigit()):
        return errors.gemini_error(400, "Invalid pageSize or pageToken.")
    size = min(int(raw_size) or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    start = int(token) if token else 0
    page = models[start : start + size]
    body: dict[str, Any] = {"models": [model_object(m) for m in page]}
    if start + size < len(models):
        body["nextPageToken"] = str(start + size)
    return RelayResponse.json(body)


def get_model(spec: KeySpec, model: str) -> RelayResponse:
    if model not in spec.listed_models():
        return errors.gemini_error(404, f"models/{model} is not found for API version v1beta.")
    return RelayResponse.json(model_object(model))


def _list_handler(relay: Relay) -> Any:
    def handle(req: RelayRequest) -> RelayResponse:
        auth = relay.authenticate(req, "gemini")
        return auth if isinstance(auth, RelayResponse) else list_models(req, auth)

    return handle


def _get_handler(relay: Relay) -> Any:
    def handle(req: RelayRequest) -> RelayResponse:
        auth = relay.authenticate(req, "gemini")
        if isinstance(auth, RelayResponse):
            return auth
        return get_model(auth, strip_model_prefix(req.path.rsplit("/", 1)[1]))

    return handle


def _declarations(req: RelayRequest, body: dict[str, Any]) -> list[dict[str, Any]]:
    if req.has_fault("no_tools") or not isinstance(body.get("tools"), list):
        return []
    found: list[dict[str, Any]] = []
    for tool in body["tools"]:
        if isinstance(tool, dict) and isinstance(tool.get("functionDeclarations"), list):
            found.extend(d for d in tool["functionDeclarations"] if isinstance(d, dict))
    return found


def _forced(decls: list[dict[str, Any]], body: dict[str, Any]) -> dict[str, Any] | None:
    config = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
    if not decls or str(config.get("mode", "")).upper() != "ANY":
        return None
    allowed = config.get("allowedFunctionNames") or []
    if allowed:
        return next((d for d in decls if d.get("name") in allowed), None)
    return decls[0]


def _action_handler(relay: Relay) -> Any:
    def handle(req: RelayRequest) -> RelayResponse:
        match = _ACTION.fullmatch(req.path)
        assert match is not None  # the route only matches this pattern
        model, action = strip_model_prefix(match.group(1)), match.group(2)
        if action not in ("generateContent", "streamGenerateContent", "countTokens"):
            return errors.gemini_error(400, f"Unknown action {action}.")
        auth = relay.authenticate(req, "gemini")
        if isinstance(auth, RelayResponse):
            return auth
        if not auth.serves(model):
            return errors.unknown_model("gemini", model, action)
        body = req.json()
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            return errors.gemini_error(400, "* GenerateContentRequest.contents: contents is not specified\n")
        prompt_tokens = estimate_tokens(body.get("systemInstruction"), contents, body.get("tools"))
        if action == "countTokens":
            return RelayResponse.json(
                {
                    "totalTokens": prompt_tokens,
                    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}],
                }
            )
        return _generate(relay, req, body, auth, model, action, prompt_tokens)

    return handle


def _generate(
    relay: Relay,
    req: RelayRequest,
    body: dict[str, Any],
    spec: KeySpec,
    model: str,
    action: str,
    prompt_tokens: int,
) -> RelayResponse:
    forced = _forced(_declarations(req, body), body)
    config = body.get("generationConfig") or {}
    limit = config.get("maxOutputTokens")
    response_id = new_id("", 11)
    if forced is not None:
        args = example_arguments(forced.get("parameters") or forced.get("parametersJsonSchema"))
        parts: list[dict[str, Any]] = [{"functionCall": {"name": forced.get("name", "tool"), "args": args}}]
        finish, out_tokens = "STOP", estimate_tokens(args)
    else:
        done = complete(relay.reply, limit if isinstance(limit, int) else None)
        parts = [{"text": done.text}]
        finish, out_tokens = ("MAX_TOKENS" if done.truncated else "STOP"), done.output_tokens
    thoughts = _thoughts(model, config)
    thought_tokens = estimate_tokens(thoughts[0]["text"]) if thoughts else 0
    usage: dict[str, Any] = {
        "promptTokenCount": prompt_tokens,
        "candidatesTokenCount": out_tokens,
        "totalTokenCount": prompt_tokens + out_tokens + thought_tokens,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}],
    }
    if thought_tokens:
        usage["thoughtsTokenCount"] = thought_tokens

    def chunk(chunk_parts: list[dict[str, Any]], finish_reason: str | None) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": chunk_parts}, "index": 0}
        if finish_reason:
            candidate["finishReason"] = finish_reason
        return {
            "candidates": [candidate],
            "usageMetadata": usage,
            "modelVersion": model,
            "responseId": response_id,
        }

    streamed = action == "streamGenerateContent" and not req.has_fault("no_stream")
    relay.account(spec, model, prompt_tokens, out_tokens + thought_tokens, streamed)
    if not streamed:
        return RelayResponse.json(chunk([*thoughts, *parts], finish))
    pieces = [chunk(thoughts, None)] if thoughts else []
    if "text" in parts[0]:
        pieces += [chunk(parts, None), chunk([{"text": ""}], finish)]
    else:
        pieces += [chunk(parts, finish)]
    if req.query.get("alt") == "sse":
        return RelayResponse.stream(paced((sse_data(p, crlf=True) for p in pieces), relay.stream_delay_s))
    return RelayResponse.stream(
        paced(_json_array(pieces), relay.stream_delay_s), headers={"content-type": "application/json"}
    )


def _thoughts(model: str, config: dict[str, Any]) -> list[dict[str, Any]]:
    """The thought summary part a thinking model sends first when ``includeThoughts`` asks for it."""
    thinking = config.get("thinkingConfig") or {}
    if not model_object(model).get("thinking") or thinking.get("includeThoughts") is not True:
        return []
    if thinking.get("thinkingBudget") == 0:
        return []
    return [{"text": "**Answering briefly**\n\nThe user asked for a short reply.", "thought": True}]


def _json_array(pieces: list[dict[str, Any]]) -> Iterator[bytes]:
    for i, piece in enumerate(pieces):
        yield (b"[" if i == 0 else b",\r\n") + dumps(piece)
    yield b"]"
