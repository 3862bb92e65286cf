"""`verify_credential` / `verify_many` and the `credlib verify` command against the local relay."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from credlib.model import ApiType, Credential, Limits
from credlib.net import Engine
from credlib.probes.verify import VerifyResult, verify_credential, verify_many
from credlib.relay import Relay
from credlib.state import State
from tests.fixtures.env import fake_key

EncryptedFile = Callable[..., Path]


def cred(
    relay: Relay, key: str, api_type: ApiType = "openai-compatible", models: Sequence[str] = ()
) -> Credential:
    return Credential(
        name="c", id="c", base_url=relay.url, api_key=key, api_type=api_type, models=tuple(models)
    )


def verify(c: Credential, **kwargs: Any) -> VerifyResult:
    async def go() -> VerifyResult:
        async with Engine(Limits(4, 100, 60000), timeout_s=5, max_retries=0) as engine:
            return await verify_credential(engine, c, **kwargs)

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("api_type", "model", "gen_path"),
    [
        ("openai-compatible", "gpt-4o-mini", "/v1/chat/completions"),
        ("openai", "gpt-4o-mini", "/v1/responses"),
        ("anthropic", "claude-sonnet-4-5", "/v1/messages"),
        ("google", "gemini-2.5-flash", "/v1beta/models/gemini-2.5-flash:generateContent"),
    ],
)
def test_ok_per_type_with_a_tiny_generation(
    relay: Relay, api_type: ApiType, model: str, gen_path: str
) -> None:
    key = fake_key()
    relay.add_key(key)
    result = verify(cred(relay, key, api_type, [model]))
    assert result.ok and result.status == "ok", result.reason
    assert [c.id for c in result.checks] == ["models", "shape", "generate"]
    assert all(c.status == "pass" for c in result.checks)
    assert result.checks[0].latency_ms is not None and result.checks[2].latency_ms is not None
    post = [e for e in relay.log if e.method == "POST"]
    assert [e.path for e in post] == [gen_path]
    body = post[0].json()
    budget = (
        body.get("max_tokens") or body.get("max_output_tokens") or body["generationConfig"]["maxOutputTokens"]
    )
    assert budget <= 16
    assert result.reason == f"key accepted; 3 models; {model} answered"


def test_no_model_known_skips_generation(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key)
    result = verify(cred(relay, key))
    assert result.ok and result.model is None
    assert result.checks[-1].status == "skip" and "--model" in result.checks[-1].detail
    assert all(e.method == "GET" for e in relay.log)


def test_model_option_wins_over_the_credential_models(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key, models=["gpt-4o-mini", "gpt-4.1"])
    result = verify(cred(relay, key, models=["gpt-4o-mini"]), model="gpt-4.1")
    assert result.ok and result.model == "gpt-4.1"
    assert relay.log[-1].json()["model"] == "gpt-4.1"


def test_unknown_model_is_not_found(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key, models=["gpt-4o-mini"])
    result = verify(cred(relay, key, models=["gpt-nope"]))
    assert result.status == "not_found" and "gpt-nope" in result.reason


def test_reasoning_model_retries_with_max_completion_tokens(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key, models=["o3-mini"])
    result = verify(cred(relay, key, models=["o3-mini"]))
    assert result.ok, result.reason
    bodies = [e.json() for e in relay.log if e.method == "POST"]
    assert "max_tokens" in bodies[0] and bodies[-1].get("max_completion_tokens") == 1


def test_as_override_is_temporary_and_said(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key)
    result = verify(cred(relay, key, "openai-compatible", ["gemini-2.5-flash"]), as_type="google")
    assert result.ok and result.tested_as == "google" and result.api_type == "openai-compatible"
    assert result.override and "temporary override" in result.reason
    assert result.to_json()["override"] is True


def test_wrong_key_skips_generation(relay: Relay) -> None:
    relay.add_key(fake_key())
    result = verify(cred(relay, fake_key(), "anthropic", ["claude-sonnet-4-5"]))
    assert result.status == "auth_failed"
    assert result.checks[-1].status == "skip"
    assert not any(e.method == "POST" for e in relay.log)


def test_verify_many_runs_origins_concurrently(relay_factory: Callable[..., Relay]) -> None:
    """Two slow origins verify in about the time of one: credentials do not wait for each other."""
    relays = [relay_factory(latency_s=0.3) for _ in range(2)]
    creds = []
    for i, r in enumerate(relays):
        key = fake_key()
        r.add_key(key)
        creds.append(
            Credential(name=f"c{i}", id=f"c{i}", base_url=r.url, api_key=key, models=("gpt-4o-mini",))
        )
    seen: list[str] = []

    async def go() -> tuple[list[VerifyResult], float]:
        # Engine setup (loading CA certificates) is slow on a loaded machine and not what is timed.
        async with Engine(Limits(2, 4, 600), timeout_s=5) as engine:
            return await _timed(lambda: verify_many(engine, creds, progress=lambda r: seen.append(r.name)))

    results, elapsed = asyncio.run(go())
    assert [r.name for r in results] == ["c0", "c1"] and all(r.ok for r in results)
    assert sorted(seen) == ["c0", "c1"]
    assert elapsed < 1.1  # two sequential requests of 0.3 s each, not four


async def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    loop = asyncio.get_running_loop()
    start = loop.time()
    value = await fn()
    return value, loop.time() - start


# ---- the command ---------------------------------------------------------------------------------


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from credlib.cli import cli as group
    from credlib.cli.errors import run_cli

    code = run_cli(group, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project(relay: Relay, encrypted_file: EncryptedFile) -> dict[str, Any]:
    keys = {"good": fake_key(), "claude": fake_key(), "revoked": fake_key()}
    relay.add_key(keys["good"])
    relay.add_key(keys["claude"])
    data = {
        "version": 1,
        # The default 18 requests a minute per origin would make these tests wait on the limiter.
        "defaults": {"limits": {"concurrency": 4, "burst": 100, "per_minute": 60000}},
        "credentials": [
            {"name": "Good Relay", "base_url": relay.url, "api_key": keys["good"], "models": ["gpt-4o-mini"]},
            {
                "name": "Claude Relay",
                "base_url": relay.url,
                "api_key": keys["claude"],
                "api_type": "anthropic",
                "models": ["claude-sonnet-4-5"],
            },
            {"name": "Revoked", "base_url": relay.url, "api_key": keys["revoked"]},
        ],
    }
    return {"path": encrypted_file(data), "keys": keys}


def assert_no_key(keys: dict[str, str], *texts: str) -> None:
    for text in texts:
        for key in keys.values():
            assert key not in text and key[3:20] not in text


def test_table_exit_code_and_state(project: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "-f", str(project["path"]), "verify")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "TYPE", "MODEL", "TIME", "REASON"]
    assert any(line.startswith("Good Relay") and " ok " in line for line in lines)
    assert any(line.startswith("Revoked") and "auth_failed" in line for line in lines)
    assert_no_key(project["keys"], out, err)
    state = State.load(project["path"])
    assert state.get("verify", "good-relay")["status"] == "ok"
    assert state.get("verify", "revoked")["status"] == "auth_failed"
    assert_no_key(project["keys"], state.path.read_text())

    code, out, err = cli(capsys, "-f", str(project["path"]), "verify", "Good Relay", "claude relay")
    assert code == 0, out + err


def test_json_shape(project: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "-f", str(project["path"]), "verify", "--json")
    doc = json.loads(out)
    assert code == 1 and doc["format_version"] == 1
    assert doc["summary"] == {"total": 3, "ok": 2, "failed": 1}
    first = doc["results"][0]
    assert {"name", "status", "api_type", "tested_as", "model", "checks", "reason"} <= set(first)
    assert first["checks"][0].keys() >= {"id", "status", "detail", "latency_ms"}
    assert_no_key(project["keys"], out, err)


def test_as_override_in_output_and_not_in_state(
    project: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "-f", str(project["path"]), "verify", "Good Relay", "--as", "anthropic")
    assert code == 0, out + err
    assert "anthropic*" in out
    assert (
        "tested as anthropic for this run only (temporary override); saved type openai-compatible unchanged"
        in out
    )
    assert State.load(project["path"]).get("verify", "good-relay") is None


def test_cli_report_in_human_output(project: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "-f", str(project["path"]), "verify", "Claude Relay", "--cli", "claude-code")
    assert code == 0, out + err
    assert "Claude Relay with claude-code: COMPATIBLE (model claude-sonnet-4-5)" in out
    assert "ANTHROPIC_BASE_URL=" in out and "ANTHROPIC_AUTH_TOKEN=<your key>" in out
    assert_no_key(project["keys"], out, err)


@pytest.mark.parametrize(
    ("argv", "code", "words"),
    [
        (["verify", "Nobody"], 8, "no credential named"),
        (["verify", "--as", "cohere"], 64, "cohere"),
        (["verify", "--cli", "vim"], 64, "vim"),
    ],
)
def test_bad_input(
    project: dict[str, Any], capsys: pytest.CaptureFixture[str], argv: list[str], code: int, words: str
) -> None:
    got, _out, err = cli(capsys, "-f", str(project["path"]), *argv)
    assert got == code and words in err and "Traceback" not in err


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = cli(capsys, "-f", str(tmp_path / "none.yaml"), "verify")
    assert code not in (0, 1, 2) and "Traceback" not in err


def test_empty_file(encrypted_file: EncryptedFile, capsys: pytest.CaptureFixture[str]) -> None:
    path = encrypted_file({"version": 1, "credentials": []})
    code, out, _err = cli(capsys, "-f", str(path), "verify", "--json")
    assert code == 0 and json.loads(out)["results"] == []


def test_cli_json_shape_and_exit_code(project: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "-f", str(project["path"]), "verify", "Good Relay", "--cli", "all", "--json")
    doc = json.loads(out)
    (result,) = doc["results"]
    assert [r["cli"] for r in result["cli"]] == ["claude-code", "codex", "gemini-cli"]
    for report in result["cli"]:
        assert {"cli", "verdict", "checks", "hints"} <= set(report)
        assert report["verdict"] == "compatible", report
        assert all({"id", "status", "detail", "latency_ms", "fix"} <= set(c) for c in report["checks"])
    assert code == 0
    assert_no_key(project["keys"], out, err)

    code, out, err = cli(capsys, "-f", str(project["path"]), "verify", "Revoked", "--cli", "codex", "--json")
    (result,) = json.loads(out)["results"]
    assert code == 1 and result["cli"][0]["verdict"] == "incompatible"
    assert result["cli"][0]["checks"][0]["fix"] == "check the key (credlib verify)"


def test_verbose_lists_every_check(project: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "-f", str(project["path"]), "-v", "verify", "Good Relay")
    assert code == 0, err
    assert "  pass  models: 3 models from GET /v1/models (" in out
    assert "  pass  generate: gpt-4o-mini answered (POST /v1/chat/completions) (" in out


def test_every_probe_request_stays_inside_the_origin_limits(relay_factory: Callable[..., Relay]) -> None:
    """verify and --cli probes of many credentials on one origin: never more than `concurrency` in flight
    and never more than `burst + rate * t` requests in a window of t seconds (from the relay's log)."""
    relay = relay_factory(latency_s=0.05)
    creds = []
    for i in range(4):
        key = fake_key()
        relay.add_key(key)
        creds.append(
            Credential(name=f"c{i}", id=f"c{i}", base_url=relay.url, api_key=key, models=("gpt-4o-mini",))
        )
    limits = Limits(concurrency=2, burst=2, per_minute=600)

    async def go() -> list[VerifyResult]:
        async with Engine(limits, timeout_s=5) as engine:
            return await verify_many(engine, creds, cli=["codex", "gemini-cli"])

    results = asyncio.run(go())
    assert all(r.ok and all(c.verdict == "compatible" for c in r.cli) for r in results)
    log = sorted(relay.log, key=lambda e: e.t_start)
    assert len(log) >= 4 * 4
    for entry in log:
        overlapping = [e for e in log if e.t_start <= entry.t_start < e.t_end]
        assert len(overlapping) <= limits.concurrency
    rate = limits.per_minute / 60
    # The relay stamps a request when its line is parsed, after it left the limiter; a request that
    # opened a connection is stamped later than the rest, which can squeeze one window by a token.
    # (The limiter's exact arithmetic is tested in test_net_limiter.py; here the point is that no
    # probe request bypasses it: unlimited, all of them would arrive at once.)
    for i, first in enumerate(log):
        for j in range(i, len(log)):
            window = log[j].t_start - first.t_start
            assert j - i + 1 <= limits.burst + rate * window + 1
