"""Gemini CLI's protocol: one ``POST /v1beta/models/{m}:streamGenerateContent?alt=sse`` per turn.

The body mirrors Gemini CLI 0.61 (observed against the local relay): ``contents``, a
``systemInstruction``, ``tools`` with ``functionDeclarations`` and a ``generationConfig`` with a
thinking budget for 2.5+ models; the key in ``x-goog-api-key`` only. With
``GEMINI_API_KEY_AUTH_MECHANISM=bearer`` the CLI adds a Bearer header, which is the one fallback a
user can switch.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from credlib.model import Credential
from credlib.probes.classify import Failure, model_missing
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
from credlib.redact import Scrubber
from credlib.urls import join_url

GEMINI_CLI_VERSION = "0.61.0"
SELECTED_TYPE = "settings.json security.auth.selectedType"


def _body(model: str) -> dict[str, Any]:
    config: dict[str, Any] = {"temperature": 1, "topP": 0.95, "topK": 64}
    if re.match(r"gemini-(2\.5|[3-9])", model):
        config["thinkingConfig"] = {"includeThoughts": True, "thinkingBudget": 8192}
    return {
        "contents": [{"role": "user", "parts": [{"text": PROMPT}]}],
        "systemInstruction": {"role": "user", "parts": [{"text": "You are an interactive CLI agent."}]},
        "tools": [
            {
                "functionDeclarations": [
                    {
                        "name": "list_directory",
                        "description": "Lists the names of files and subdirectories in a directory.",
                        "parametersJsonSchema": {
                            "type": "object",
                            "properties": {"dir_path": {"type": "string"}},
                            "required": ["dir_path"],
                        },
                    }
                ]
            }
        ],
        "generationConfig": config,
    }


def _problem(out: Outcome, scrub: Scrubber) -> Failure | None:
    failure = sse_problem(out, scrub)
    if failure is not None:
        return failure
    events = events_of(out)
    if not events:
        return Failure("bad_response", "the stream carried no data events")
    for _name, data in events:
        if not isinstance(data, dict):
            return Failure("bad_response", "a stream event is not a GenerateContentResponse")
        err = event_error(data, scrub)
        if err is not None:
            return Failure("bad_response", f"the stream carried an error: {err}")
    if not any(isinstance(data.get("candidates"), list) for _n, data in events):
        return Failure("bad_response", "no candidates in the stream")
    return None


async def run(engine: EngineLike, cred: Credential, model: str, report: CliReport) -> list[Failure]:
    scrub = Scrubber([cred.api_key])
    model_path = quote(model.removeprefix("models/"), safe="-._")
    # Gemini CLI always appends /v1beta to GOOGLE_GEMINI_BASE_URL, whatever the base ends in.
    url = join_url(cred.base_url, f"v1beta/models/{model_path}:streamGenerateContent")
    report.settings = {
        "GOOGLE_GEMINI_BASE_URL": cred.base_url,
        "GEMINI_API_KEY": KEY_PLACEHOLDER,
        "GEMINI_MODEL": model,
        SELECTED_TYPE: "gemini-api-key",
    }
    headers = {
        "x-goog-api-key": cred.api_key,
        "x-goog-api-client": "google-genai-sdk/1.30.0 gl-node/v20",
        "user-agent": f"GeminiCLI/{GEMINI_CLI_VERSION}/{model} (credlib probe)",
    }
    body = _body(model)
    out = await send(engine, "POST", url, headers=headers, json_body=body, params={"alt": "sse"})
    problem = _problem(out, scrub)
    # Google answers a key it cannot see with 403, a bad one with 400; relays often 401.
    if problem is not None and out.status in (401, 403):
        both = {**headers, "authorization": f"Bearer {cred.api_key}"}
        alt_out = await send(engine, "POST", url, headers=both, json_body=body, params={"alt": "sse"})
        alt_problem = _problem(alt_out, scrub)
        if alt_problem is None or alt_out.status not in (401, 403):
            report.settings["GEMINI_API_KEY_AUTH_MECHANISM"] = "bearer"
            report.check(
                "auth-header",
                "warn",
                "x-goog-api-key alone was refused; with a Bearer header as well it was accepted",
                alt_out.latency_ms,
                fix="set GEMINI_API_KEY_AUTH_MECHANISM=bearer",
            )
            out, problem = alt_out, alt_problem
    if problem is None:
        report.check(
            "stream-generate",
            "pass",
            f"POST {out.path}?alt=sse streamed a reply with tools offered",
            out.latency_ms,
        )
        return []
    report.check("stream-generate", "fail", problem.reason, out.latency_ms, fix=_fix(out, problem, cred))
    return [problem]


def _fix(out: Outcome, problem: Failure, cred: Credential) -> str:
    if problem.status == "auth_failed":
        return "check the key; Gemini CLI sends GEMINI_API_KEY as x-goog-api-key"
    if model_missing(out):
        return "pass -m (or set GEMINI_MODEL) with a model this endpoint serves"
    if problem.status in ("not_found", "wrong_type"):
        return (
            f"no native Gemini API at {cred.base_url}/v1beta; GOOGLE_GEMINI_BASE_URL must be the base "
            "without /v1beta, and the endpoint must speak Gemini, not only OpenAI-compatible"
        )
    if out.status == 400 and mentions(out, "function", "tool"):
        return "the endpoint refuses function declarations; Gemini CLI always sends its tools"
    return fallback_fix(problem, "the endpoint must stream :streamGenerateContent?alt=sse (see the detail)")


def hints(report: CliReport) -> list[str]:
    lines = [f"{k}={v}" for k, v in report.settings.items() if k != SELECTED_TYPE]
    lines.append('~/.gemini/settings.json: {"security": {"auth": {"selectedType": "gemini-api-key"}}}')
    return lines
