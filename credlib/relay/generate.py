"""The fake model behind every protocol: a fixed reply, token counts, and tool-call arguments.

The relay answers with text unless the request forces a tool (Anthropic ``tool_choice`` any/tool,
OpenAI ``required``/named function, Gemini ``mode: ANY``), the way a real model answering "Reply
with OK" would: CLIs running one headless turn then finish cleanly.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

DEFAULT_REPLY = "OK"


@dataclass(frozen=True)
class Completion:
    text: str
    output_tokens: int
    truncated: bool  # stopped by the max-tokens limit


def new_id(prefix: str, n: int = 12) -> str:
    return prefix + secrets.token_hex(n)


def estimate_tokens(*parts: Any) -> int:
    """About four characters per token, like the usual rule of thumb; at least 1."""
    size = sum(len(p if isinstance(p, str) else json.dumps(p, ensure_ascii=False)) for p in parts if p)
    return max(1, size // 4)


def complete(reply: str, max_tokens: int | None) -> Completion:
    """``reply`` cut to ``max_tokens`` words (one word = one token here)."""
    words = reply.split()
    if max_tokens is not None and 0 <= max_tokens < len(words):
        return Completion(" ".join(words[:max_tokens]), max_tokens, True)
    return Completion(reply, max(1, len(words)), False)


def text_pieces(text: str, n: int = 2) -> list[str]:
    """The text split into at most ``n`` deltas that join back to it (streams send several)."""
    if len(text) < 2 or n < 2:
        return [text]
    cut = max(1, len(text) // n)
    return [text[:cut], text[cut:]]


def example_value(schema: Any, depth: int = 0) -> Any:
    """A small value that satisfies a JSON schema (OpenAPI subset for Gemini, upper-case types too)."""
    if not isinstance(schema, dict) or depth > 6:
        return "x"
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for combo in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(combo), list) and schema[combo]:
            return example_value(schema[combo][0], depth + 1)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    kind = str(kind).lower()
    if kind == "object":
        props = schema.get("properties") or {}
        required = schema.get("required") or []
        return {
            name: example_value(props.get(name, {}), depth + 1) for name in required if isinstance(name, str)
        }
    if kind == "array":
        return [example_value(schema.get("items", {}), depth + 1)]
    if kind in ("integer", "number"):
        minimum = schema.get("minimum")
        return minimum if isinstance(minimum, int | float) else 1
    if kind == "boolean":
        return True
    return "x"


def example_arguments(schema: Any) -> dict[str, Any]:
    value = example_value(schema if isinstance(schema, dict) else {"type": "object"})
    return value if isinstance(value, dict) else {}
