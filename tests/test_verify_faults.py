"""Every relay fault ends in the right `verify` status for its credential, end to end.

One sops-encrypted file, one relay, one key per fault (each fault is bound to its key with
``set_fault(..., key=)``), plus healthy credentials on the same relay and on a second one. A single
`credlib verify --json` run must give each credential its status, leave the healthy ones ``ok``,
finish within a bounded time, print no traceback and show no key anywhere.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from credlib.relay import Relay
from tests.fixtures.env import fake_key

EncryptedFile = Callable[..., Path]


@dataclass
class FaultCase:
    name: str
    kind: str
    status: str
    api_type: str = "openai-compatible"
    params: dict[str, Any] = field(default_factory=dict)
    path: str = "*"


def model_for(api_type: str) -> str:
    return {"anthropic": "claude-sonnet-4-5", "google": "gemini-2.5-flash"}.get(api_type, "gpt-4o-mini")


CASES = [
    FaultCase("status-401", "status", "auth_failed", params={"status": 401}),
    FaultCase("status-403", "status", "forbidden", params={"status": 403}),
    FaultCase("status-404", "status", "not_found", params={"status": 404}),
    FaultCase("status-429", "status", "rate_limited", params={"status": 429, "retry_after_ms": 20}),
    FaultCase("status-500", "status", "bad_response", params={"status": 500}),
    FaultCase("status-502", "status", "bad_response", params={"status": 502}),
    FaultCase("status-503", "status", "bad_response", params={"status": 503, "retry_after_ms": 20}),
    FaultCase("status-529", "status", "bad_response", "anthropic", {"status": 529, "retry_after_ms": 20}),
    FaultCase("quota-openai", "insufficient_quota", "no_quota"),
    FaultCase("quota-anthropic", "insufficient_quota", "no_quota", "anthropic"),
    FaultCase("quota-gemini", "insufficient_quota", "no_quota", "google"),
    FaultCase("gemini-429", "status", "rate_limited", "google", {"status": 429, "retry_after_ms": 20}),
    FaultCase("slow", "delay", "ok", params={"seconds": 0.3}),
    FaultCase("timeout", "timeout", "timeout", params={"seconds": 5}),
    FaultCase("drop", "drop", "unreachable"),
    FaultCase("truncated", "truncate_stream", "bad_response"),
    FaultCase("html-502", "html", "bad_response", params={"status": 502}),
    FaultCase("html-200", "html", "bad_response", params={"status": 200}),
    FaultCase("oversized", "oversized", "bad_response", params={"size": 6 * 1024 * 1024}),
    FaultCase(
        "oversized-chunked", "oversized", "bad_response", params={"size": 6 * 1024 * 1024, "chunked": True}
    ),
    FaultCase("error-200", "error_200", "bad_response"),
    FaultCase("no-responses-openai", "missing_responses", "not_found", "openai"),
    FaultCase("no-responses-compatible", "missing_responses", "ok"),
    FaultCase("gemini-on-openai-relay", "wrong_type", "wrong_type", "google", {"serves": ["openai"]}),
    FaultCase("anthropic-on-openai-relay", "wrong_type", "wrong_type", "anthropic", {"serves": ["openai"]}),
    FaultCase("bearer-only-anthropic", "auth_only", "ok", "anthropic", {"styles": ["bearer"]}),
    FaultCase("bearer-only-gemini", "auth_only", "ok", "google", {"styles": ["bearer"]}),
    FaultCase("no-tools", "no_tools", "ok"),
    FaultCase("no-stream", "no_stream", "ok"),
    FaultCase("reject-beta", "reject_beta", "ok", "anthropic"),
    FaultCase("max-tokens-limit", "max_tokens_limit", "ok", "anthropic", {"limit": 8192}),
    FaultCase("require-version", "require_version", "ok", "anthropic"),
    FaultCase("models-404-only", "status", "not_found", params={"status": 404}, path="*/models"),
]


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from credlib.cli import cli as group
    from credlib.cli.errors import run_cli

    code = run_cli(group, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.timeout(60)
def test_every_fault_gives_its_status(
    relay_factory: Callable[..., Relay], encrypted_file: EncryptedFile, capsys: pytest.CaptureFixture[str]
) -> None:
    relay = relay_factory(name="faulty")
    other = relay_factory(name="elsewhere")
    credentials: list[dict[str, Any]] = []
    keys: list[str] = []
    for case in CASES:
        key = fake_key()
        keys.append(key)
        relay.add_key(key)
        if case.kind == "redirect":
            continue
        relay.set_fault(case.kind, path=case.path, key=key, **case.params)
        credentials.append(
            {
                "name": case.name,
                "base_url": relay.url,
                "api_key": key,
                "api_type": case.api_type,
                "models": [model_for(case.api_type)],
            }
        )
    redirect_key = fake_key()
    keys.append(redirect_key)
    relay.add_key(redirect_key)
    other.add_key(redirect_key)
    relay.set_fault("redirect", key=redirect_key, to=other.url)
    credentials.append({"name": "cross-origin-redirect", "base_url": relay.url, "api_key": redirect_key})
    expected = {c.name: c.status for c in CASES} | {"cross-origin-redirect": "bad_response"}
    for api_type in ("openai-compatible", "openai", "anthropic", "google"):
        for where in (relay, other):
            key = fake_key()
            keys.append(key)
            where.add_key(key)
            name = f"healthy-{api_type}-{where.name}"
            expected[name] = "ok"
            credentials.append(
                {
                    "name": name,
                    "base_url": where.url,
                    "api_key": key,
                    "api_type": api_type,
                    "models": [model_for(api_type)],
                }
            )
    path = encrypted_file(
        {
            "version": 1,
            "defaults": {"timeout_s": 1, "limits": {"concurrency": 8, "burst": 200, "per_minute": 60000}},
            "credentials": credentials,
        }
    )

    started = time.monotonic()
    code, out, err = cli(capsys, "-f", str(path), "verify", "--json")
    elapsed = time.monotonic() - started

    assert code == 1, err
    assert "Traceback" not in out + err
    for key in keys:
        assert key not in out and key not in err
    doc = json.loads(out)
    assert doc["format_version"] == 1
    got = {r["name"]: r["status"] for r in doc["results"]}
    assert got == expected
    for result in doc["results"]:
        assert result["reason"] and "\n" not in result["reason"]
        for check in result["checks"]:
            assert set(check) >= {"id", "status", "detail", "latency_ms"}
    # The timeout fault holds its connection for 5 s; with timeout_s 1 the run must not wait for it.
    assert elapsed < 20
    # Other credentials were never slowed down into failure by the faulty ones: asserted by `got`.
    # No relay handler crashed on a probe request (clients hanging up on a held or oversized answer
    # show up as connection resets, which are expected here).
    crashes = [
        e for e in relay.handler_errors + other.handler_errors if "Connection" not in e and "Pipe" not in e
    ]
    assert crashes == []
