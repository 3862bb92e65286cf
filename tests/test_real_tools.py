"""Real downstream tools accept credlib's exports: each tool is installed (cached) and run against the
local relay with the configuration credlib rendered and merged, under an isolated HOME.

Versions are the ones research/downstream.md §9 saw working on Node 20.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from credlib.model import Credential
from credlib.relay import Relay
from tests.exports_helpers import apply, cred, new_state, target
from tests.fixtures.tools import npm_tool, pip_tool

pytestmark = pytest.mark.slow

CCR = ("@musistudio/claude-code-router", "1.0.73", "ccr")
LITELLM = ("litellm[proxy]==1.108.7", "litellm", "litellm-1.108.7")
OPENCODE = ("opencode-ai", "1.18.33", "opencode")
CODEX = ("@openai/codex", "0.171.0", "codex")
CLAUDE = ("@anthropic-ai/claude-code", "2.1.197", "claude")
KILO = ("@kilocode/cli", "7.7.7", "kilo")  # 7.8.1 has no Linux platform package (research §9)


def run_tool(
    argv: list[str], *, env: dict[str, str], cwd: Path, timeout: int
) -> subprocess.CompletedProcess[str]:
    """One headless run of a real tool (no stdin: a tool that asks a question fails instead of hanging)."""
    return subprocess.run(
        argv,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the tool exited early with {proc.returncode}")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listened on port {port} within {timeout_s} s")


@contextmanager
def running(cmd: list[str], env: dict[str, str], cwd: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)


def tool_env(home: Path, bin_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "ANTHROPIC", "GEMINI"))}
    env.update(
        HOME=str(home),
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        TMPDIR=str(home / "tmp"),
    )
    (home / "tmp").mkdir(exist_ok=True)
    env.update(extra)
    return env


# ---------------------------------------------------------------- Claude Code Router 1.x


def three_api_types(relay: Relay) -> tuple[Credential, Credential, Credential]:
    """An openai-compatible, an anthropic and a google credential, each with a key the relay accepts."""
    creds = (
        cred("Team Relay", cid="team-relay", base_url=relay.url, models=("gpt-4o-mini",)),
        cred(
            "Claude Direct",
            cid="claude-direct",
            api_type="anthropic",
            base_url=relay.url,
            models=("claude-sonnet-4-5",),
        ),
        cred("Gem", cid="gem", api_type="google", base_url=relay.url, models=("gemini-2.5-flash",)),
    )
    for c in creds:
        relay.add_key(c.api_key, models=list(c.models))
    return creds


def test_claude_code_router_forwards_with_rendered_config(tmp_path: Path, relay: Relay) -> None:
    ccr = npm_tool(*CCR)
    home = Path(os.environ["HOME"])
    port = free_port()
    relay_cred, claude_cred, gem_cred = three_api_types(relay)
    config = home / ".claude-code-router" / "config.json"
    config.parent.mkdir(parents=True)
    hand_added = {
        "name": "hand",
        "api_base_url": "http://127.0.0.1:9/v1/chat/completions",
        "api_key": "hand-added-key",
        "models": ["m"],
    }
    config.write_text(json.dumps({"PORT": port, "LOG": False, "Providers": [hand_added]}, indent=2))
    creds = [relay_cred, claude_cred, gem_cred]
    plan = apply(target("ccr", "claude-code-router", config), creds, new_state(tmp_path))
    assert plan.error is None and plan.action == "update"
    written = json.loads(config.read_text())
    assert written["Providers"][0] == hand_added and written["PORT"] == port

    env = tool_env(home, ccr.parent)
    with running([str(ccr), "start"], env, home, tmp_path / "ccr.log") as proc:
        wait_port(port, proc)
        base = f"http://127.0.0.1:{port}"
        body = {
            "model": "claude-3-5-haiku",
            "max_tokens": 64,
            "messages": [{"role": "user", "content": "ping"}],
        }
        resp = httpx.post(f"{base}/v1/messages", json=body, timeout=30)
        assert resp.status_code == 200, resp.text
        assert resp.json()["type"] == "message"
        chat = [e for e in relay.log if e.path == "/v1/chat/completions"]
        assert chat, relay.log
        assert chat[-1].key == relay_cred.api_key
        assert chat[-1].json()["model"] == "gpt-4o-mini"  # Router.default credlib set

        # The anthropic credential went in with the Anthropic transformer and the /v1/messages endpoint.
        body["model"] = "claude-direct,claude-sonnet-4-5"
        resp = httpx.post(f"{base}/v1/messages", json=body, timeout=30)
        assert resp.status_code == 200, resp.text
        messages = [e for e in relay.log if e.path == "/v1/messages"]
        assert messages and messages[-1].key == claude_cred.api_key
        assert messages[-1].json()["model"] == "claude-sonnet-4-5"

        # The google credential went in with the gemini transformer and .../v1beta/models/.
        body["model"] = "gem,gemini-2.5-flash"
        resp = httpx.post(f"{base}/v1/messages", json=body, timeout=30)
        assert resp.status_code == 200, resp.text
        gemini = [e for e in relay.log if e.path.startswith("/v1beta/models/gemini-2.5-flash:")]
        assert gemini and gemini[-1].key == gem_cred.api_key
        subprocess.run([str(ccr), "stop"], env=env, cwd=home, capture_output=True, timeout=30, check=False)


# ---------------------------------------------------------------- LiteLLM proxy


def test_litellm_proxy_forwards_with_rendered_config(tmp_path: Path, relay: Relay) -> None:
    litellm = pip_tool(LITELLM[0], LITELLM[1], venv_name=LITELLM[2])
    home = Path(os.environ["HOME"])
    relay_cred, claude_cred, gem_cred = three_api_types(relay)
    config = tmp_path / "litellm" / "config.yaml"
    config.parent.mkdir()
    config.write_text(
        "# my proxy\nmodel_list:\n  - model_name: canned  # hand-added\n    litellm_params:\n"
        "      model: openai/canned\n      mock_response: canned answer\n"
        "litellm_settings:\n  drop_params: true\n"
    )
    creds = [relay_cred, claude_cred, gem_cred]
    plan = apply(target("litellm", "litellm", config), creds, new_state(tmp_path))
    assert plan.error is None, plan.error
    text = config.read_text()
    assert "# my proxy" in text and "# hand-added" in text and "drop_params: true" in text

    port = free_port()
    master = "sk-master-" + "m" * 20
    env = tool_env(
        home,
        litellm.parent,
        LITELLM_MASTER_KEY=master,
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        LITELLM_TELEMETRY="False",
        DISABLE_SCHEMA_UPDATE="True",
    )
    cmd = [str(litellm), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
    with running(cmd, env, home, tmp_path / "litellm.log") as proc:
        wait_port(port, proc, timeout_s=120)
        headers = {"Authorization": f"Bearer {master}"}
        base = f"http://127.0.0.1:{port}"
        for model in ("gpt-4o-mini", "claude-sonnet-4-5", "gemini-2.5-flash"):
            body = {"model": model, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 16}
            resp = httpx.post(f"{base}/chat/completions", json=body, headers=headers, timeout=60)
            assert resp.status_code == 200, (resp.status_code, resp.text[:500])
            assert resp.json()["choices"][0]["message"]["content"]
        chat = [e for e in relay.log if e.path == "/v1/chat/completions"]
        assert chat and chat[-1].key == relay_cred.api_key and chat[-1].json()["model"] == "gpt-4o-mini"
        messages = [e for e in relay.log if e.path == "/v1/messages"]
        assert messages and messages[-1].key == claude_cred.api_key
        assert messages[-1].json()["model"] == "claude-sonnet-4-5"
        gemini = [e for e in relay.log if e.path.startswith("/v1beta/models/gemini-2.5-flash:")]
        assert gemini and gemini[-1].key == gem_cred.api_key
        canned = httpx.post(
            f"{base}/chat/completions",
            headers=headers,
            timeout=60,
            json={"model": "canned", "messages": [{"role": "user", "content": "x"}]},
        )
        assert canned.json()["choices"][0]["message"]["content"] == "canned answer"


# ---------------------------------------------------------------- OpenCode


def test_opencode_loads_rendered_providers_and_runs_each_api_type(tmp_path: Path, relay: Relay) -> None:
    opencode = npm_tool(*OPENCODE)
    home = Path(os.environ["HOME"])
    creds = [
        cred("Team Relay", cid="team-relay", base_url=relay.url, models=("gpt-4o-mini",)),
        cred("Claude", cid="claude", api_type="anthropic", base_url=relay.url, models=("claude-sonnet-4-5",)),
        cred("Gem", cid="gem", api_type="google", base_url=relay.url, models=("gemini-2.5-flash",)),
        cred("OAI", cid="oai", api_type="openai", base_url=relay.url, models=("gpt-4o-mini",)),
    ]
    for c in creds:
        relay.add_key(c.api_key, models=list(c.models))
    config = home / ".config" / "opencode" / "opencode.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"$schema": "https://opencode.ai/config.json", "autoupdate": False}))
    plan = apply(target("opencode", "opencode", config), creds, new_state(tmp_path))
    assert plan.error is None, plan.error
    env = tool_env(
        home,
        opencode.parent,
        OPENCODE_DISABLE_MODELS_FETCH="1",
        OPENCODE_DISABLE_AUTOUPDATE="1",
        OPENCODE_DISABLE_DEFAULT_PLUGINS="1",
        OPENCODE_DISABLE_PROJECT_CONFIG="1",
    )
    shown = run_tool([str(opencode), "debug", "config"], env=env, cwd=home, timeout=180)
    assert shown.returncode == 0, shown.stderr[-2000:]
    resolved = json.loads(shown.stdout)
    assert resolved["provider"]["team-relay"]["options"]["baseURL"] == relay.url + "/v1"
    assert resolved["model"] == "team-relay/gpt-4o-mini" and resolved["autoupdate"] is False
    # Each API type goes out through its AI SDK package to the path that package appends.
    expected = {
        "team-relay/gpt-4o-mini": ("/v1/chat/completions", creds[0]),
        "claude/claude-sonnet-4-5": ("/v1/messages", creds[1]),
        "gem/gemini-2.5-flash": ("/v1beta/models/gemini-2.5-flash:streamGenerateContent", creds[2]),
        "oai/gpt-4o-mini": ("/v1/responses", creds[3]),
    }
    for model, (path, credential) in expected.items():
        relay.clear_log()
        run = run_tool(
            [str(opencode), "run", "--format", "json", "--model", model, "Reply with OK"],
            env=env,
            cwd=home,
            timeout=240,
        )
        assert run.returncode == 0, (model, run.stderr[-2000:])
        events = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
        assert any(ev.get("type") == "text" and ev["part"]["text"] == "OK" for ev in events), run.stdout[
            -2000:
        ]
        calls = [e for e in relay.log if e.path == path]
        assert calls and all(e.key == credential.api_key for e in calls), (model, relay.log)


# ---------------------------------------------------------------- Codex CLI


def test_codex_runs_headless_with_rendered_config_and_env_file(tmp_path: Path, relay: Relay) -> None:
    codex = npm_tool(*CODEX)
    home = Path(os.environ["HOME"])
    relay_cred = cred("Team Relay", cid="team-relay", base_url=relay.url, models=("gpt-4o-mini",))
    relay.add_key(relay_cred.api_key, models=["gpt-4o-mini"])
    codex_home = home / ".codex"
    codex_home.mkdir()
    config = codex_home / "config.toml"
    # The user's own settings (what research saw keep Codex offline), with a comment credlib must keep.
    config.write_text(
        "# my codex settings\ncheck_for_update_on_startup = false\n\n[analytics]\nenabled = false\n\n"
        "[feedback]\nenabled = false\n\n[features]\nplugins = false\n"
    )
    plan = apply(target("codex", "codex", config), [relay_cred], new_state(tmp_path))
    assert plan.error is None, plan.error
    assert config.read_text().startswith("# my codex settings\n")
    assert relay_cred.api_key not in config.read_text(), "the key lives only in $CODEX_HOME/.env"
    assert (codex_home / ".env").stat().st_mode & 0o777 == 0o600
    env = tool_env(home, codex.parent, CODEX_HOME=str(codex_home))
    env.pop("CREDLIB_TEAM_RELAY_API_KEY", None)
    proc = run_tool(
        [str(codex), "exec", "--skip-git-repo-check", "--json", "Reply with OK"],
        env=env,
        cwd=home,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert any(ev.get("type") == "turn.completed" for ev in events)
    responses = [e for e in relay.log if e.path == "/v1/responses"]
    assert responses and responses[-1].key == relay_cred.api_key
    assert responses[-1].json()["model"] == "gpt-4o-mini"


# ---------------------------------------------------------------- Claude Code


def test_claude_code_runs_headless_from_settings_env(tmp_path: Path, relay: Relay) -> None:
    claude = npm_tool(*CLAUDE)
    home = Path(os.environ["HOME"])
    claude_cred = cred(
        "Claude Direct",
        cid="claude-direct",
        api_type="anthropic",
        base_url=relay.url,
        models=("claude-sonnet-4-5",),
    )
    relay.add_key(claude_cred.api_key, models=["claude-sonnet-4-5"])
    settings = home / ".claude" / "settings.json"
    settings.parent.mkdir()
    mine = {"DISABLE_TELEMETRY": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}
    settings.write_text(json.dumps({"env": mine, "permissions": {"allow": []}}))
    plan = apply(target("claude", "claude-code", settings), [claude_cred], new_state(tmp_path))
    assert plan.error is None, plan.error
    written = json.loads(settings.read_text())
    assert written["permissions"] == {"allow": []} and all(written["env"][k] == v for k, v in mine.items())
    env = tool_env(home, claude.parent)
    proc = run_tool(
        [str(claude), "-p", "Reply with OK", "--output-format", "json"], env=env, cwd=home, timeout=240
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert json.loads(proc.stdout)["result"] == "OK"
    messages = [e for e in relay.log if e.path == "/v1/messages"]
    assert messages and messages[-1].key == claude_cred.api_key
    assert messages[-1].json()["model"] == "claude-sonnet-4-5"


# ---------------------------------------------------------------- Gemini CLI


def test_gemini_cli_runs_headless_from_env_file_and_settings(tmp_path: Path, relay: Relay) -> None:
    gemini = npm_tool("@google/gemini-cli", "0.61.0", "gemini")
    home = Path(os.environ["HOME"])
    gem = cred("Gem", cid="gem", api_type="google", base_url=relay.url, models=("gemini-2.5-flash",))
    relay.add_key(gem.api_key, models=["gemini-2.5-flash"])
    dot_gemini = home / ".gemini"
    dot_gemini.mkdir()
    (dot_gemini / "settings.json").write_text(
        json.dumps(
            {
                "privacy": {"usageStatisticsEnabled": False},
                "general": {
                    "maxAttempts": 1,
                    "enableAutoUpdate": False,
                    "enableAutoUpdateNotification": False,
                },
            }
        )
    )
    plan = apply(target("gemini", "gemini-cli", dot_gemini / ".env"), [gem], new_state(tmp_path))
    assert plan.error is None, plan.error
    env = tool_env(home, gemini.parent, TERM="dumb")
    work = home / "work"
    work.mkdir()
    proc = run_tool(
        [str(gemini), "-p", "Reply with OK", "--output-format", "json", "--skip-trust"],
        env=env,
        cwd=work,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert json.loads(proc.stdout)["response"].strip() == "OK"
    calls = [e for e in relay.log if e.path.startswith("/v1beta/models/gemini-2.5-flash:")]
    assert calls and calls[-1].key == gem.api_key


# ---------------------------------------------------------------- Kilo CLI (Kilo Code 7's engine)


def test_kilo_cli_loads_the_kilo_settings_export_and_runs(tmp_path: Path, relay: Relay) -> None:
    kilo = npm_tool(*KILO)
    home = Path(os.environ["HOME"])
    relay_cred = cred("Team Relay", cid="team-relay", base_url=relay.url, models=("gpt-4o-mini",))
    relay.add_key(relay_cred.api_key, models=["gpt-4o-mini"])
    settings = home / "kilo-settings.json"
    plan = apply(target("kilo", "kilo-code", settings), [relay_cred], new_state(tmp_path))
    assert plan.error is None, plan.error
    quiet = {
        name: "1"
        for name in (
            "KILO_DISABLE_MODELS_FETCH",
            "KILO_DISABLE_AUTOUPDATE",
            "KILO_DISABLE_DEFAULT_PLUGINS",
            "KILO_DISABLE_LSP_DOWNLOAD",
            "KILO_DISABLE_PROJECT_CONFIG",
            "KILO_DISABLE_SHARE",
            "KILO_DISABLE_SESSION_INGEST",
            "KILO_DISABLE_PRESENCE",
        )
    }
    env = tool_env(
        home,
        kilo.parent,
        KILO_CONFIG=str(settings),
        KILO_TELEMETRY_LEVEL="off",
        KILO_AUTH_CONTENT="{}",
        **quiet,
    )
    shown = run_tool([str(kilo), "debug", "config"], env=env, cwd=home, timeout=180)
    assert shown.returncode == 0, shown.stderr[-2000:]
    resolved = json.loads(shown.stdout)
    assert resolved["model"] == "team-relay/gpt-4o-mini"
    assert resolved["provider"]["team-relay"]["options"]["baseURL"] == relay.url + "/v1"
    run = run_tool([str(kilo), "run", "Reply with OK"], env=env, cwd=home, timeout=240)
    assert run.returncode == 0 and "OK" in run.stdout, run.stderr[-2000:]
    chat = [e for e in relay.log if e.path == "/v1/chat/completions"]
    assert chat and all(e.key == relay_cred.api_key and e.json()["model"] == "gpt-4o-mini" for e in chat)
