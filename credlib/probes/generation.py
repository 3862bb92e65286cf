"""One cheap generation request per API type (a one-word prompt, a token budget of one to sixteen).

- openai-compatible: ``POST <root>/chat/completions`` with ``max_tokens: 1``; reasoning models that
  refuse ``max_tokens`` are asked once more with ``max_completion_tokens``.
- openai: ``POST <root>/responses`` with ``max_output_tokens: 16`` (OpenAI's minimum).
- anthropic: ``POST <root>/messages`` with ``max_tokens: 1``.
- google: ``POST <root>/models/{m}:generateContent`` with ``maxOutputTokens: 8``; a thinking model may
  answer with no text part, so a candidate is enough.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from credlib.probes.classify import Failure, failure_of
from credlib.probes.http import Outcome
from credlib.probes.session import ProbeSession
from credlib.probes.shapes import chat_reply_ok, gemini_reply_ok, messages_reply_ok, responses_reply_ok

PROMPT = "ping"


@dataclass(frozen=True)
class GenerationResult:
    failure: Failure | None
    latency_ms: int
    outcome: Outcome

    @property
    def path(self) -> str:
        return self.outcome.path


def _request(session: ProbeSession, model: str) -> tuple[str, dict[str, Any], Callable[[Any], bool]]:
    kind = session.api_type
    if kind == "anthropic":
        body: dict[str, Any] = {
            "model": model,
            "max_tokens": 1,
            "messages": [{"role": "user", "content": PROMPT}],
        }
        return session.url("messages"), body, messages_reply_ok
    if kind == "google":
        model_path = quote(model.removeprefix("models/"), safe="-._")
        body = {
            "contents": [{"role": "user", "parts": [{"text": PROMPT}]}],
            "generationConfig": {"maxOutputTokens": 8},
        }
        return session.url(f"models/{model_path}:generateContent"), body, gemini_reply_ok
    if kind == "openai":
        return (
            session.url("responses"),
            {"model": model, "input": PROMPT, "max_output_tokens": 16},
            responses_reply_ok,
        )
    body = {"model": model, "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 1}
    return session.url("chat/completions"), body, chat_reply_ok


def _wants_completion_tokens(out: Outcome) -> bool:
    return out.status == 400 and "max_completion_tokens" in out.text


async def generate(session: ProbeSession, model: str) -> GenerationResult:
    url, body, shape_ok = _request(session, model)
    out = await session.call("POST", url, json_body=body)
    latency = out.latency_ms
    if session.api_type == "openai-compatible" and _wants_completion_tokens(out):
        body = {k: v for k, v in body.items() if k != "max_tokens"} | {"max_completion_tokens": 1}
        out = await session.call("POST", url, json_body=body)
        latency += out.latency_ms
    failure = failure_of(out, session.scrub)
    if failure is None and not shape_ok(out.json()):
        what = "an HTML page" if out.body.lstrip()[:1] == b"<" else f"not a {session.api_type} reply"
        failure = Failure("bad_response", f"POST {out.path} returned {what}")
    return GenerationResult(failure, latency, out)
