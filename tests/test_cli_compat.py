"""`check_cli` against the local relay, without the real CLIs (those are in test_real_clis.py):
the requests each probe sends, verdicts for failures that say nothing about compatibility, model
suggestion, fixes and hints."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

import pytest

from credlib.model import Credential, Limits
from credlib.net import Engine
from credlib.probes.cli_claude import CLAUDE_BETAS
from credlib.probes.cli_compat import CLI_NAMES, CliReport, check_cli, expand, suggest_model
from credlib.relay import Relay, RelayResponse
from credlib.relay.wire import sse_event
from tests.fixtures.env import fake_key


def cred(relay: Relay, key: str, models: Sequence[str] = ()) -> Credential:
    return Credential(name="c", id="c", base_url=relay.url, api_key=key, models=tuple(models))


def check(c: Credential, cli: str, model: str | None = None, timeout_s: float = 5) -> CliReport:
    async def go() -> CliReport:
        async with Engine(Limits(4, 100, 60000), timeout_s=timeout_s, max_retries=0) as engine:
            return await check_cli(engine, c, cli, model=model)

    return asyncio.run(go())


def test_claude_code_request_mirrors_the_cli(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key)
    report = check(cred(relay, key, ["claude-sonnet-4-5"]), "claude-code")
    assert report.verdict == "compatible"
    (post,) = [e for e in relay.log if e.method == "POST"]
    assert post.path == "/v1/messages" and post.query == {"beta": "true"}
    assert post.headers["authorization"] == f"Bearer {key}" and "x-api-key" not in post.headers
    assert post.headers["anthropic-beta"] == ",".join(CLAUDE_BETAS)
    assert post.headers["x-app"] == "cli"
    body = post.json()
    assert body["stream"] is True and body["tools"] and body["max_tokens"] == 32000
    assert isinstance(body["system"], list) and body["system"][1]["cache_control"] == {"type": "ephemeral"}


def test_codex_request_mirrors_the_cli(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key)
    report = check(cred(relay, key, ["gpt-4o-mini"]), "codex")
    assert report.verdict == "compatible"
    (post,) = relay.log
    assert post.path == "/v1/responses" and post.headers["authorization"] == f"Bearer {key}"
    body = post.json()
    assert body["stream"] is True and body["store"] is False and body["tool_choice"] == "auto"
    assert {t["type"] for t in body["tools"]} == {"function", "web_search"}
    assert report.settings == {
        "model": "gpt-4o-mini",
        "base_url": relay.url + "/v1",
        "wire_api": "responses",
        "env_key": "CREDLIB_API_KEY",
    }


def test_gemini_request_mirrors_the_cli(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key)
    report = check(cred(relay, key, ["gemini-2.5-flash"]), "gemini-cli")
    assert report.verdict == "compatible"
    (post,) = relay.log
    assert post.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent" and post.query == {
        "alt": "sse"
    }
    assert post.headers["x-goog-api-key"] == key and "authorization" not in post.headers
    assert post.json()["tools"][0]["functionDeclarations"]
    assert report.settings["GOOGLE_GEMINI_BASE_URL"] == relay.url


@pytest.mark.parametrize("cli", CLI_NAMES)
@pytest.mark.parametrize(
    ("fault", "params"),
    [
        ("status", {"status": 500}),
        ("status", {"status": 429, "retry_after_ms": 10}),
        ("status", {"status": 503}),
    ],
)
def test_busy_or_broken_upstream_is_unknown(
    relay: Relay, cli: str, fault: str, params: dict[str, int]
) -> None:
    key = fake_key()
    relay.add_key(key)
    relay.set_fault(fault, method="POST", **params)
    report = check(cred(relay, key, ["claude-sonnet-4-5", "gpt-4o-mini", "gemini-2.5-flash"]), cli)
    assert report.verdict == "unknown", report.to_json()
    failed = [c for c in report.checks if c.status == "fail"]
    assert failed and "try again later" in failed[0].fix


def test_timeout_is_unknown(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key)
    relay.set_fault("timeout", method="POST", seconds=5)
    report = check(cred(relay, key, ["gpt-4o-mini"]), "codex", timeout_s=0.5)
    assert report.verdict == "unknown"


def test_no_model_at_all_is_unknown_and_sends_nothing_else(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key, models=[])
    report = check(cred(relay, key), "codex")
    assert report.verdict == "unknown" and report.model is None
    assert report.checks[0].fix == "pass --model"
    assert [e.method for e in relay.log] == ["GET"]


def test_model_suggested_from_the_list_in_the_cli_protocol(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key, models=["text-embedding-3", "o3-mini", "claude-haiku-4-5", "claude-sonnet-4-5"])
    report = check(cred(relay, key), "codex")
    assert report.model == "o3-mini" and report.model_source == "suggested from the model list"
    report = check(cred(relay, key), "claude-code")
    assert report.model == "claude-haiku-4-5"
    assert report.settings["ANTHROPIC_DEFAULT_HAIKU_MODEL"] == "claude-haiku-4-5"
    anthropic_list = [e for e in relay.log if e.method == "GET"][-1]
    assert anthropic_list.headers.get("anthropic-version") == "2023-06-01"


def test_suggest_model_families() -> None:
    ids = ["text-embedding-3", "models/gemini-2.5-pro", "o4-mini", "gpt-4.1", "claude-opus-4"]
    assert suggest_model("claude-code", ids) == "claude-opus-4"
    assert suggest_model("codex", ids) == "o4-mini"
    assert suggest_model("gemini-cli", ids) == "gemini-2.5-pro"
    assert suggest_model("codex", ["omni-x", "claude"]) is None


def test_claude_output_limit_fix(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key)
    relay.set_fault("max_tokens_limit", limit=8192)
    report = check(cred(relay, key, ["claude-sonnet-4-5"]), "claude-code")
    assert report.verdict == "compatible"
    assert report.settings["CLAUDE_CODE_MAX_OUTPUT_TOKENS"] == "8192"
    warn = next(c for c in report.checks if c.id == "max-tokens")
    assert warn.status == "warn" and warn.fix == "set CLAUDE_CODE_MAX_OUTPUT_TOKENS=8192"


def test_claude_stream_fallback(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key)
    relay.set_fault("no_stream")
    report = check(cred(relay, key, ["claude-sonnet-4-5"]), "claude-code")
    assert report.verdict == "compatible"
    assert next(c for c in report.checks if c.id == "streaming").status == "warn"
    posts = [e.json() for e in relay.log if e.method == "POST"]
    assert posts[0]["stream"] is True and "stream" not in posts[1]


def test_codex_needs_an_id_in_response_completed(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key)
    events = [
        sse_event("response.created", {"type": "response.created", "response": {}}),
        sse_event("response.completed", {"type": "response.completed", "response": {"status": "completed"}}),
    ]
    relay.add_route("POST", "/v1/responses", lambda req: RelayResponse.stream([(0.0, e) for e in events]))
    report = check(cred(relay, key, ["gpt-4o-mini"]), "codex")
    assert report.verdict == "incompatible"
    assert "response.id" in report.checks[-1].detail


def test_codex_response_failed_is_reported(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key)
    failed = {
        "type": "response.failed",
        "response": {"id": "r", "error": {"code": "x", "message": "tool type web_search"}},
    }
    relay.add_route(
        "POST",
        "/v1/responses",
        lambda req: RelayResponse.stream([(0.0, sse_event("response.failed", failed))]),
    )
    report = check(cred(relay, key, ["gpt-4o-mini"]), "codex")
    assert report.verdict == "incompatible" and "tool type web_search" in report.checks[-1].detail


def test_wrong_key_never_leaks(relay: Relay) -> None:
    relay.add_key(fake_key())
    bad = fake_key()
    for cli in CLI_NAMES:
        report = check(cred(relay, bad, ["claude-sonnet-4-5", "gpt-4o-mini", "gemini-2.5-flash"]), cli)
        assert report.verdict == "incompatible"
        text = json.dumps(report.to_json())
        assert bad not in text and bad[3:20] not in text


def test_expand_and_unknown_cli(relay: Relay) -> None:
    assert expand("all") == list(CLI_NAMES) and expand("codex") == ["codex"]
    with pytest.raises(ValueError, match="unknown CLI"):
        check(cred(relay, fake_key()), "vim")


def test_codex_base_url_without_v1_when_only_that_works(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key)
    relay.set_fault("missing_responses", path="/v1/responses")
    report = check(cred(relay, key, ["gpt-4o-mini"]), "codex")
    assert report.verdict == "compatible"
    assert report.settings["base_url"] == relay.url
    warn = next(c for c in report.checks if c.id == "base-url")
    assert warn.status == "warn" and "without /v1" in warn.fix


def test_stated_limit_ignores_digits_outside_the_message() -> None:
    # A request id full of digit runs below 32000 once made the probe pick a wrong "limit".
    from credlib.probes.cli_claude import _stated_limit
    from credlib.probes.http import Outcome

    body = {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: 32000 > 8192, the maximum"},
        "request_id": "req_011CU29999x31000y",
    }
    out = Outcome("POST", "http://127.0.0.1/v1/messages", status=400, body=json.dumps(body).encode())
    assert _stated_limit(out) == 8192
    plain = Outcome("POST", "http://127.0.0.1/v1/messages", status=400, body=b"limit is 4096 tokens")
    assert _stated_limit(plain) == 4096


@pytest.mark.parametrize(
    ("message", "limit"),
    [
        # New API appends a request id of digits to its messages; the limit is the standalone number.
        ("max_tokens is too large, the maximum is 8192 (request id: 202612043100012345)", 8192),
        ("This model supports at most 4096 completion tokens, whereas you provided 32000.", 4096),
        ("max_tokens too large for model claude-3-5-sonnet-20241022 (limit 8192)", 8192),
        ("max_tokens too large (request id: 20261204211800123)", None),
    ],
)
def test_stated_limit_reads_standalone_numbers_only(message: str, limit: int | None) -> None:
    from credlib.probes.cli_claude import _stated_limit
    from credlib.probes.http import Outcome

    body = {"error": {"message": message, "type": "new_api_error"}}
    out = Outcome("POST", "http://127.0.0.1/v1/messages", status=400, body=json.dumps(body).encode())
    assert _stated_limit(out) == limit
