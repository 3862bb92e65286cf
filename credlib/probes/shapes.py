"""Recognising the shape of an answer: model lists, generation replies and SSE streams per API type.

Each ``*_models`` parser returns None when the body is not that type's list, so the caller can tell
"another type's list" (``wrong_type``) from "no list at all" (``bad_response``). Parsers keep
unknown fields (relays add their own) and ignore entries without an id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from credlib.model import ApiType


@dataclass(frozen=True)
class ModelPage:
    models: list[dict[str, Any]]
    next_cursor: str | None = None  # Anthropic last_id (when has_more) / Gemini nextPageToken


def _entries(items: Any, id_field: str) -> list[dict[str, Any]] | None:
    if not isinstance(items, list):
        return None
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get(id_field), str) and item[id_field].strip():
            out.append(item)
        elif isinstance(item, str) and item.strip():
            out.append({id_field: item})
    if items and not out:
        return None
    return out


def openai_models(body: Any) -> ModelPage | None:
    """``{object:"list", data:[{id,…}]}``; also accepts a bare top-level list of model objects."""
    data = body.get("data") if isinstance(body, dict) else body
    entries = _entries(data, "id")
    if entries is None:
        return None
    return ModelPage([_model(e["id"], e) for e in entries])


def anthropic_models(body: Any) -> ModelPage | None:
    """``{data:[{type:"model",id,display_name}], has_more, last_id}``; LiteLLM-style OpenAI lists pass too."""
    if not isinstance(body, dict):
        return None
    entries = _entries(body.get("data"), "id")
    if entries is None:
        return None
    cursor = body.get("last_id") if body.get("has_more") is True else None
    return ModelPage(
        [_model(e["id"], e) for e in entries], cursor if isinstance(cursor, str) and cursor else None
    )


def gemini_models(body: Any) -> ModelPage | None:
    """``{models:[{name:"models/x", supportedGenerationMethods:[…]}], nextPageToken}``; prefix stripped."""
    if not isinstance(body, dict):
        return None
    entries = _entries(body.get("models"), "name")
    if entries is None:
        return None
    models = []
    for entry in entries:
        methods = entry.get("supportedGenerationMethods")
        # Embedding-only models cannot answer a prompt; lists without the field (New API) keep all.
        if isinstance(methods, list) and methods and "generateContent" not in methods:
            continue
        name = entry["name"].strip().removeprefix("models/").strip()
        if name:
            models.append(_model(name, entry))
    token = body.get("nextPageToken")
    return ModelPage(models, token if isinstance(token, str) and token else None)


_KEEP = (
    "display_name",
    "displayName",
    "owned_by",
    "created",
    "created_at",
    "inputTokenLimit",
    "outputTokenLimit",
)


def _model(model_id: str, raw: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": model_id.strip()}
    for key in _KEEP:
        value = raw.get(key)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            out[key] = value
    return out


def list_shape_of(body: Any) -> ApiType | None:
    """Which family's model list ``body`` is, judged from the body alone (for ``wrong_type``)."""
    if isinstance(body, dict):
        if isinstance(body.get("models"), list) and gemini_models(body) is not None and body["models"]:
            return "google"
        if isinstance(body.get("data"), list) and body["data"]:
            first = body["data"][0]
            if isinstance(first, dict) and first.get("type") == "model":
                return "anthropic"
            if openai_models(body) is not None:
                return "openai-compatible"
    return None


def models_page(api_type: ApiType, body: Any) -> ModelPage | None:
    if api_type == "anthropic":
        return anthropic_models(body)
    if api_type == "google":
        return gemini_models(body)
    return openai_models(body)


# ---- generation replies -------------------------------------------------------------------------


def chat_reply_ok(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("choices"), list)


def responses_reply_ok(body: Any) -> bool:
    return isinstance(body, dict) and (
        body.get("object") == "response" or isinstance(body.get("output"), list)
    )


def messages_reply_ok(body: Any) -> bool:
    return isinstance(body, dict) and (body.get("type") == "message" or isinstance(body.get("content"), list))


def gemini_reply_ok(body: Any) -> bool:
    # Thinking models may return no text part under a tiny budget: the candidate itself is the proof.
    return isinstance(body, dict) and (isinstance(body.get("candidates"), list) or "promptFeedback" in body)


# ---- server-sent events -------------------------------------------------------------------------


@dataclass(frozen=True)
class SseEvent:
    event: str  # the `event:` line, "" when absent
    data: str

    def json(self) -> Any:
        try:
            return json.loads(self.data)
        except ValueError:
            return None


def parse_sse(raw: bytes) -> list[SseEvent]:
    """Events of a text/event-stream body; ``\\r\\n`` and ``\\n`` line ends, comments ignored."""
    events: list[SseEvent] = []
    name = ""
    data: list[str] = []
    text = raw.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    for line in [*text.split("\n"), ""]:
        if not line:
            if data:
                events.append(SseEvent(name, "\n".join(data)))
            name, data = "", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
    return events
