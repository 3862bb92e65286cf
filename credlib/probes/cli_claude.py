"""Claude Code's protocol: ``POST /v1/messages?beta=true`` as Claude Code 2.1 sends it every turn.

The request mirrors the pinned release (observed against the local relay): SSE, a tool list, a
``system`` array with cache_control, ``max_tokens`` 32000 with extended thinking, its five
``anthropic-beta`` values, ``x-app: cli`` and the key as Bearer (``ANTHROPIC_AUTH_TOKEN``).

When that request fails, the probe tries what a user can switch in Claude Code, in the order the
failures surface, and keeps each change that helps (it then becomes a ``warn`` with its ``fix``):
1. the other auth variable (``ANTHROPIC_API_KEY`` sends ``x-api-key``);
2. ``CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1`` (two stable betas, no ``context_management``);
3. ``CLAUDE_CODE_MAX_OUTPUT_TOKENS`` set to the limit the endpoint names;
4. no streaming: Claude Code itself re-sends a failed stream as a plain request.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, replace
from typing import Any, Literal

from credlib.model import Credential
from credlib.probes import endpoints
from credlib.probes.classify import Failure, failure_of, model_missing
from credlib.probes.cli_report import (
    KEY_PLACEHOLDER,
    PROMPT,
    CliReport,
    event_error,
    events_of,
    fallback_fix,
    mentions,
    sse_problem,
)
from credlib.probes.http import EngineLike, Outcome, send
from credlib.probes.shapes import messages_reply_ok
from credlib.redact import Scrubber
from credlib.urls import join_url

CLAUDE_CODE_VERSION = "2.1.197"
CLAUDE_BETAS = (
    "claude-code-20250219",
    "interleaved-thinking-2025-05-14",
    "thinking-token-count-2026-05-13",
    "context-management-2025-06-27",
    "prompt-caching-scope-2026-01-05",
)
# What it still sends with CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1.
CLAUDE_STABLE_BETAS = ("claude-code-20250219", "interleaved-thinking-2025-05-14")
CLAUDE_MAX_TOKENS = 32000
_AUTH_REFUSED = ("auth_failed", "forbidden")

Auth = Literal["bearer", "x-api-key"]


@dataclass(frozen=True)
class _Shape:
    auth: Auth = "bearer"
    betas: tuple[str, ...] = CLAUDE_BETAS
    max_tokens: int = CLAUDE_MAX_TOKENS
    stream: bool = True


def _body(model: str, shape: _Shape) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": shape.max_tokens,
        "system": [
            {"type": "text", "text": f"x-anthropic-billing-header: cc_version={CLAUDE_CODE_VERSION};"},
            {
                "type": "text",
                "text": "You are a Claude agent, built on Anthropic's Claude Agent SDK.",
                "cache_control": {"type": "ephemeral"},
            },
        ],
        "messages": [{"role": "user", "content": [{"type": "text", "text": PROMPT}]}],
        "tools": [
            {
                "name": "Bash",
                "description": "Executes a given bash command.",
                "input_schema": {
                    "type": "object",
                    "properties": {"command": {"type": "string", "description": "The command to execute"}},
                    "required": ["command"],
                    "additionalProperties": False,
                },
            }
        ],
        "metadata": {"user_id": "credlib-probe"},
    }
    if not re.search(r"claude-3-(?!7)", model):
        # Claude Code asks for extended thinking (budget max_tokens - 1); a small budget keeps the
        # probe cheap while an endpoint that refuses thinking still refuses it.
        body["thinking"] = {"type": "enabled", "budget_tokens": min(1024, shape.max_tokens - 1)}
    if shape.betas == CLAUDE_BETAS:
        body["context_management"] = {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}
    if shape.stream:
        body["stream"] = True
    return body


def _headers(shape: _Shape, key: str) -> dict[str, str]:
    headers = {
        "anthropic-version": endpoints.ANTHROPIC_VERSION,
        "x-app": "cli",
        "user-agent": f"claude-cli/{CLAUDE_CODE_VERSION} (external, sdk-cli)",
        "accept": "application/json",
    }
    if shape.betas:
        headers["anthropic-beta"] = ",".join(shape.betas)
    if shape.auth == "bearer":
        headers["authorization"] = f"Bearer {key}"
    else:
        headers["x-api-key"] = key
    return headers


def _problem(out: Outcome, shape: _Shape, scrub: Scrubber) -> Failure | None:
    if not shape.stream:
        failure = failure_of(out, scrub)
        if failure is None and not messages_reply_ok(out.json()):
            return Failure("bad_response", f"POST {out.path} did not return an Anthropic message")
        return failure
    failure = sse_problem(out, scrub)
    if failure is not None:
        return failure
    names = []
    for name, data in events_of(out):
        if name == "error":
            return Failure("bad_response", f"the stream carried an error: {event_error(data, scrub) or name}")
        names.append(name)
    if "message_start" not in names:
        return Failure("bad_response", "the stream has no message_start event")
    if "message_stop" not in names:
        return Failure("bad_response", "the stream ended before message_stop")
    return None


def _stated_limit(out: Outcome) -> int | None:
    """The output-token limit an endpoint names in its refusal ("max_tokens: 32000 > 8192 …")."""
    # Read only the error message: the rest of the body (request ids, type names) can hold digit
    # runs that look like limits.
    message = out.text
    with contextlib.suppress(ValueError, KeyError, AttributeError, TypeError):
        message = str(json.loads(out.text)["error"]["message"])
    stated = re.search(r"max_tokens:\s*\d+\s*>\s*(\d+)", message)
    if stated:
        return int(stated.group(1))
    # New API and One API append "(request id: 2026…)" to messages; ids and versions are not limits,
    # nor is a digit run inside a longer token.
    message = re.sub(r"\(request id:[^)]*\)", " ", message, flags=re.I)
    numbers = [int(n) for n in re.findall(r"(?<![\w.-])\d{3,6}(?![\w.-])", message)]
    below = [n for n in numbers if 0 < n < CLAUDE_MAX_TOKENS]
    return max(below) if below else None


def _stream_broken(out: Outcome, problem: Failure) -> bool:
    """A 2xx (or cut-off) answer that is not a usable stream: Claude Code retries it without SSE."""
    return problem.status == "bad_response" and (out.ok or out.incomplete or out.net_error == "protocol")


async def run(engine: EngineLike, cred: Credential, model: str, report: CliReport) -> list[Failure]:
    scrub = Scrubber([cred.api_key])
    # Claude Code always appends /v1/messages to ANTHROPIC_BASE_URL, whatever the base ends in.
    url = join_url(cred.base_url, "v1/messages")
    report.settings = {
        "ANTHROPIC_BASE_URL": cred.base_url,
        "ANTHROPIC_AUTH_TOKEN": KEY_PLACEHOLDER,
        "ANTHROPIC_MODEL": model,
    }

    async def attempt(shape: _Shape) -> tuple[Outcome, Failure | None]:
        out = await send(
            engine,
            "POST",
            url,
            headers=_headers(shape, cred.api_key),
            json_body=_body(model, shape),
            params={"beta": "true"},
        )
        return out, _problem(out, shape, scrub)

    shape = _Shape()
    out, problem = await attempt(shape)

    if problem is not None and problem.status in _AUTH_REFUSED:
        alt = replace(shape, auth="x-api-key")
        alt_out, alt_problem = await attempt(alt)
        if alt_problem is not None and alt_problem.status in _AUTH_REFUSED:
            report.check(
                "auth-header",
                "fail",
                f"the key was refused as Bearer and as x-api-key: {problem.reason}",
                out.latency_ms,
                fix="check the key (credlib verify) and that it may use the Anthropic Messages API",
            )
            return [problem]
        shape, out, problem = alt, alt_out, alt_problem
        del report.settings["ANTHROPIC_AUTH_TOKEN"]
        report.settings["ANTHROPIC_API_KEY"] = KEY_PLACEHOLDER
        report.check(
            "auth-header",
            "warn",
            "Bearer (ANTHROPIC_AUTH_TOKEN) was refused; x-api-key (ANTHROPIC_API_KEY) was accepted",
            alt_out.latency_ms,
            fix="set ANTHROPIC_API_KEY (not ANTHROPIC_AUTH_TOKEN) to the key",
        )
    elif problem is None:
        report.check("auth-header", "pass", "key accepted as Bearer (ANTHROPIC_AUTH_TOKEN)")

    if problem is not None and out.status == 400 and mentions(out, "anthropic-beta"):
        alt = replace(shape, betas=CLAUDE_STABLE_BETAS)
        alt_out, alt_problem = await attempt(alt)
        if alt_problem is not None and alt_out.status == 400 and mentions(alt_out, "anthropic-beta"):
            report.check(
                "beta-headers",
                "fail",
                f"{alt_problem.reason} (also with CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1, which still "
                f"sends {', '.join(CLAUDE_STABLE_BETAS)})",
                alt_out.latency_ms,
                fix="the endpoint must accept (or drop) anthropic-beta; Claude Code always sends it",
            )
            return [alt_problem]
        shape, out, problem = alt, alt_out, alt_problem
        report.settings["CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS"] = "1"
        report.check(
            "beta-headers",
            "warn",
            "the endpoint refuses Claude Code's experimental anthropic-beta values and accepts the "
            f"stable ones ({', '.join(CLAUDE_STABLE_BETAS)})",
            alt_out.latency_ms,
            fix="set CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1",
        )
    elif problem is None:
        report.check("beta-headers", "pass", "anthropic-beta accepted")

    if problem is not None and out.status == 400 and mentions(out, "max_tokens"):
        limit = _stated_limit(out)
        if limit is not None:
            alt = replace(shape, max_tokens=limit)
            alt_out, alt_problem = await attempt(alt)
            if alt_problem is None or not (alt_out.status == 400 and mentions(alt_out, "max_tokens")):
                shape, out, problem = alt, alt_out, alt_problem
                report.settings["CLAUDE_CODE_MAX_OUTPUT_TOKENS"] = str(limit)
                report.check(
                    "max-tokens",
                    "warn",
                    f"the endpoint refuses max_tokens {CLAUDE_MAX_TOKENS} and accepts {limit}",
                    alt_out.latency_ms,
                    fix=f"set CLAUDE_CODE_MAX_OUTPUT_TOKENS={limit}",
                )

    if problem is not None and _stream_broken(out, problem):
        alt = replace(shape, stream=False)
        alt_out, alt_problem = await attempt(alt)
        if alt_problem is None:
            report.check(
                "streaming",
                "warn",
                f"{problem.reason}; Claude Code falls back to a plain request, which works (no live output)",
                alt_out.latency_ms,
                fix="stream Server-Sent Events for stream:true at the endpoint",
            )
            out, problem = alt_out, None

    if problem is not None:
        report.check("messages-stream", "fail", problem.reason, out.latency_ms, fix=_fix(out, problem, cred))
        return [problem]
    report.check(
        "messages-stream", "pass", f"POST {out.path}?beta=true answered with tools offered", out.latency_ms
    )
    return []


def _fix(out: Outcome, problem: Failure, cred: Credential) -> str:
    if model_missing(out):
        return "set ANTHROPIC_MODEL (and ANTHROPIC_DEFAULT_HAIKU_MODEL) to a model this endpoint serves"
    if problem.status in ("not_found", "wrong_type"):
        return (
            f"no Anthropic Messages API at {cred.base_url}/v1/messages; ANTHROPIC_BASE_URL must be the "
            "base without /v1, and the endpoint must speak Anthropic"
        )
    if out.status == 400 and mentions(out, "max_tokens"):
        return "set CLAUDE_CODE_MAX_OUTPUT_TOKENS to the limit the endpoint names"
    if out.status == 400 and mentions(out, "tool"):
        return "the endpoint refuses tool definitions; Claude Code always sends its tools"
    return fallback_fix(problem, "the endpoint must answer Claude Code's Messages request (see the detail)")


def haiku_check(ids: list[str], model: str, report: CliReport) -> None:
    """Claude Code sends background calls to the haiku tier: point it at a model that exists."""
    haiku = next((m for m in ids if "haiku" in m.lower()), None)
    report.settings["ANTHROPIC_DEFAULT_HAIKU_MODEL"] = haiku or model
    if haiku:
        report.check("haiku-model", "pass", f"background model: {haiku}")
    elif ids:
        report.check(
            "haiku-model",
            "warn",
            "no haiku-class model is listed; background calls need one",
            fix=f"set ANTHROPIC_DEFAULT_HAIKU_MODEL={model}",
        )
    else:
        report.check(
            "haiku-model",
            "skip",
            "no model list to look in",
            fix=f"set ANTHROPIC_DEFAULT_HAIKU_MODEL={model}",
        )
