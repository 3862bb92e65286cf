"""Codex CLI's protocol: one streamed ``POST {base_url}/responses`` per turn (Responses API only).

The body mirrors Codex 0.171 (observed against the local relay): ``input`` items with a developer
message, flat function tools plus a ``web_search`` tool, ``tool_choice: auto``, ``reasoning``,
``store: false``, ``include``, ``stream: true``; the key as Bearer. Codex reads the ``type`` inside
each event's data and fails the turn unless the stream reaches ``response.completed`` with an id.
There is no fallback to try: the chat wire API was removed from Codex in 2026.
"""

from __future__ import annotations

from typing import Any

from credlib.model import Credential
from credlib.probes import endpoints
from credlib.probes.classify import Failure, model_missing
from credlib.probes.cli_report import (
    PROMPT,
    CliReport,
    event_error,
    events_of,
    fallback_fix,
    mentions,
    sse_problem,
)
from credlib.probes.http import EngineLike, Outcome, send
from credlib.redact import Scrubber
from credlib.urls import join_url

CODEX_VERSION = "0.171.0"
ENV_KEY = "CREDLIB_API_KEY"


def _body(model: str) -> dict[str, Any]:
    return {
        "model": model,
        "input": [
            {
                "type": "message",
                "role": "developer",
                "content": [
                    {"type": "input_text", "text": "You are a coding agent running in the Codex CLI."}
                ],
            },
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": PROMPT}]},
        ],
        "tools": [
            {
                "type": "function",
                "name": "exec_command",
                "description": "Runs a command in a PTY.",
                "strict": False,
                "parameters": {
                    "type": "object",
                    "properties": {"cmd": {"type": "string", "description": "Shell command to execute."}},
                    "required": ["cmd"],
                    "additionalProperties": False,
                },
            },
            {"type": "web_search"},
        ],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "reasoning": {"summary": "auto"},
        "store": False,
        "stream": True,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "credlib-probe",
    }


def _problem(out: Outcome, scrub: Scrubber) -> Failure | None:
    failure = sse_problem(out, scrub)
    if failure is not None:
        return failure
    for name, data in events_of(out):
        if name in ("response.failed", "error"):
            return Failure("bad_response", f"the stream reported {name}: {event_error(data, scrub) or name}")
        if name == "response.completed":
            response = data.get("response") if isinstance(data, dict) else None
            if isinstance(response, dict) and isinstance(response.get("id"), str) and response["id"]:
                return None
            return Failure("bad_response", "response.completed carries no response.id (Codex needs it)")
    return Failure("bad_response", "stream closed before response.completed (Codex fails the turn)")


async def run(engine: EngineLike, cred: Credential, model: str, report: CliReport) -> list[Failure]:
    scrub = Scrubber([cred.api_key])
    root = endpoints.api_root(cred.base_url, "openai")
    report.settings = {"model": model, "base_url": root, "wire_api": "responses", "env_key": ENV_KEY}
    headers = {
        "authorization": f"Bearer {cred.api_key}",
        "accept": "text/event-stream",
        "originator": "codex_exec",
        "user-agent": f"codex_exec/{CODEX_VERSION} (credlib probe)",
    }
    out = await send(engine, "POST", join_url(root, "responses"), headers=headers, json_body=_body(model))
    problem = _problem(out, scrub)
    bare = cred.base_url.rstrip("/")
    if problem is not None and problem.status == "not_found" and not model_missing(out) and root != bare:
        # Some gateways serve the Responses API at <base>/responses only; Codex appends /responses to
        # whatever base_url says, so base_url without /v1 is the fix.
        alt = await send(engine, "POST", join_url(bare, "responses"), headers=headers, json_body=_body(model))
        if _problem(alt, scrub) is None:
            report.settings["base_url"] = bare
            report.check(
                "base-url",
                "warn",
                f"POST {out.path} is not found but POST {alt.path} works",
                alt.latency_ms,
                fix=f'set base_url = "{bare}" (without /v1) for this provider',
            )
            out, problem = alt, None
    if problem is None:
        report.check(
            "responses-stream", "pass", f"POST {out.path} streamed to response.completed", out.latency_ms
        )
        return []
    report.check("responses-stream", "fail", problem.reason, out.latency_ms, fix=_fix(out, problem, root))
    return [problem]


def _fix(out: Outcome, problem: Failure, root: str) -> str:
    if problem.status == "auth_failed":
        return f"check the key; Codex sends the variable named by env_key ({ENV_KEY}) as a Bearer token"
    if model_missing(out):
        return "set Codex's model to one this endpoint serves (-m, or model = in config.toml)"
    if problem.status in ("not_found", "wrong_type"):
        return (
            f'no Responses API at {root}/responses: Codex only speaks wire_api = "responses" (the chat '
            "wire API was removed); base_url must end in /v1 and the endpoint must serve /v1/responses"
        )
    if out.status == 400 and mentions(out, "tool"):
        return "the endpoint refuses Codex's tools (function and web_search); Codex always sends them"
    return fallback_fix(
        problem, "the endpoint must stream Responses events ending in response.completed (see the detail)"
    )


def hints(report: CliReport) -> list[str]:
    s = report.settings
    return [
        f'~/.codex/config.toml: model = "{s.get("model", "")}", model_provider = "credlib"',
        f'[model_providers.credlib] name = "credlib", base_url = "{s.get("base_url", "")}", '
        f'env_key = "{ENV_KEY}", wire_api = "responses"',
        f"export {ENV_KEY}=<your key>",
    ]
