"""`verify --cli` against the real Claude Code, Codex CLI and Gemini CLI (installed from npm, cached).

For each relay configuration, credlib's verdict is computed first; then the real CLI runs one
headless turn against the same relay, configured exactly as the report's ``settings`` say (auth
variable, disabled betas, output limit, base URL, model). The verdict must match what the CLI did:
``compatible`` <=> the CLI answered. Configurations cover both outcomes for every CLI.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from credlib.model import Credential, Limits
from credlib.net import Engine
from credlib.probes.cli_compat import check_cli
from credlib.probes.cli_report import KEY_PLACEHOLDER, CliReport
from credlib.relay import Relay
from tests.fixtures.env import fake_key
from tests.fixtures.tools import npm_tool

pytestmark = pytest.mark.slow

CLAUDE = ("@anthropic-ai/claude-code", "2.1.197", "claude")
CODEX = ("@openai/codex", "0.171.0", "codex")
GEMINI = ("@google/gemini-cli", "0.61.0", "gemini")
RUN_TIMEOUT_S = 90
MODELS = ("claude-sonnet-4-5", "gpt-4o-mini", "gemini-2.5-flash")


@pytest.fixture(scope="session")
def clis() -> dict[str, Path]:
    return {
        "claude-code": npm_tool(*CLAUDE),
        "codex": npm_tool(*CODEX),
        "gemini-cli": npm_tool(*GEMINI),
    }


@dataclass
class Run:
    answered: bool
    returncode: int
    stdout: str
    stderr: str


def _base_env(home: Path, binary: Path) -> dict[str, str]:
    tmp = home / "tmp"
    tmp.mkdir(exist_ok=True)
    return {
        "PATH": f"{binary.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "TERM": "dumb",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "LANG": "C.UTF-8",
    }


def _run(cmd: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )


def _with_key(settings: dict[str, str], key: str) -> dict[str, str]:
    return {k: (key if v == KEY_PLACEHOLDER else v) for k, v in settings.items()}


def run_claude(binary: Path, home: Path, report: CliReport, key: str) -> Run:
    env = _base_env(home, binary) | {
        "CLAUDE_CONFIG_DIR": str(home / ".claude"),
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_MAX_RETRIES": "0",
    }
    env |= _with_key(report.settings, key)
    model = report.settings["ANTHROPIC_MODEL"]
    cmd = [
        str(binary),
        "-p",
        "Reply with OK",
        "--output-format",
        "json",
        "--max-turns",
        "1",
        "--model",
        model,
    ]
    proc = _run(cmd, env, home)
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}
    except ValueError:
        result = {}
    answered = proc.returncode == 0 and result.get("is_error") is False
    return Run(answered, proc.returncode, proc.stdout, proc.stderr)


def run_codex(binary: Path, home: Path, report: CliReport, key: str) -> Run:
    s = report.settings
    codex_home = home / ".codex"
    codex_home.mkdir(exist_ok=True)
    (codex_home / "config.toml").write_text(
        f'model = "{s["model"]}"\n'
        'model_provider = "credlib"\n'
        "check_for_update_on_startup = false\n\n"
        "[analytics]\nenabled = false\n\n[feedback]\nenabled = false\n\n[features]\nplugins = false\n\n"
        "[model_providers.credlib]\n"
        'name = "credlib"\n'
        f'base_url = "{s["base_url"]}"\n'
        f'env_key = "{s["env_key"]}"\n'
        f'wire_api = "{s["wire_api"]}"\n'
        "request_max_retries = 0\nstream_max_retries = 0\nstream_idle_timeout_ms = 30000\n",
        encoding="utf-8",
    )
    env = _base_env(home, binary) | {"CODEX_HOME": str(codex_home), s["env_key"]: key}
    cmd = [str(binary), "exec", "--skip-git-repo-check", "--json", "-m", s["model"], "Reply with OK"]
    proc = _run(cmd, env, home)
    events = []
    for line in proc.stdout.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    answered = proc.returncode == 0 and any(e.get("type") == "turn.completed" for e in events)
    return Run(answered, proc.returncode, proc.stdout, proc.stderr)


def run_gemini(binary: Path, home: Path, report: CliReport, key: str) -> Run:
    settings_dir = home / ".gemini"
    settings_dir.mkdir(exist_ok=True)
    selected = report.settings.get("settings.json security.auth.selectedType", "gemini-api-key")
    (settings_dir / "settings.json").write_text(
        json.dumps(
            {
                "security": {"auth": {"selectedType": selected}},
                "privacy": {"usageStatisticsEnabled": False},
                "general": {
                    "maxAttempts": 1,
                    "enableAutoUpdate": False,
                    "enableAutoUpdateNotification": False,
                },
            }
        ),
        encoding="utf-8",
    )
    env_settings = {
        k: v for k, v in _with_key(report.settings, key).items() if not k.startswith("settings.json")
    }
    env = _base_env(home, binary) | {"GEMINI_CLI_HOME": str(home)} | env_settings
    work = home / "work"
    work.mkdir(exist_ok=True)
    cmd = [
        str(binary),
        "-p",
        "Reply with OK",
        "-m",
        env_settings["GEMINI_MODEL"],
        "--output-format",
        "json",
        "--skip-trust",
    ]
    proc = _run(cmd, env, work)
    try:
        doc = json.loads(proc.stdout) if proc.stdout.strip() else {}
    except ValueError:
        doc = {}
    answered = proc.returncode == 0 and isinstance(doc.get("response"), str)
    return Run(answered, proc.returncode, proc.stdout, proc.stderr)


RUNNERS: dict[str, Callable[[Path, Path, CliReport, str], Run]] = {
    "claude-code": run_claude,
    "codex": run_codex,
    "gemini-cli": run_gemini,
}


@dataclass
class Case:
    name: str
    expected: dict[str, str]  # cli -> verdict credlib must give (and the CLI outcome must match)
    faults: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    wrong_key: bool = False
    model: str | None = None
    cred_models: tuple[str, ...] = MODELS
    relay_models: list[str] | None = None  # None: the relay serves any model name
    # settings credlib must require for the CLI to work (proves the fix is real, not decorative)
    required: dict[str, str] = field(default_factory=dict)


OK, NO = "compatible", "incompatible"
CASES = [
    Case("healthy", {"claude-code": OK, "codex": OK, "gemini-cli": OK}, cred_models=()),
    Case("no-responses-api", {"claude-code": OK, "codex": NO, "gemini-cli": OK}, [("missing_responses", {})]),
    Case(
        "rejects-experimental-betas",
        {"claude-code": OK},
        [("reject_beta", {"allowed": ["claude-code-20250219", "interleaved-thinking-2025-05-14"]})],
        required={"claude-code": "CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS"},
    ),
    Case(
        "responses-without-v1",
        {"codex": OK},
        [("missing_responses", {"path": "/v1/responses"})],
        required={"codex": "base_url"},
    ),
    Case("rejects-every-beta", {"claude-code": NO}, [("reject_beta", {"allowed": []})]),
    Case(
        "rejects-tools",
        {"claude-code": NO, "codex": NO, "gemini-cli": NO},
        [("no_tools", {"mode": "reject"})],
    ),
    Case(
        "strips-tools", {"claude-code": OK, "codex": OK, "gemini-cli": OK}, [("no_tools", {"mode": "strip"})]
    ),
    Case("wrong-key", {"claude-code": NO, "codex": NO, "gemini-cli": NO}, wrong_key=True),
    Case(
        "x-api-key-only",
        {"claude-code": OK, "codex": NO, "gemini-cli": OK},
        [("auth_only", {"styles": ["x-api-key", "x-goog-api-key"]})],
        required={"claude-code": "ANTHROPIC_API_KEY"},
    ),
    Case(
        "bearer-only",
        {"claude-code": OK, "codex": OK, "gemini-cli": OK},
        [("auth_only", {"styles": ["bearer"]})],
        required={"gemini-cli": "GEMINI_API_KEY_AUTH_MECHANISM"},
    ),
    Case("no-streaming", {"claude-code": OK, "codex": NO, "gemini-cli": NO}, [("no_stream", {})]),
    Case("truncated-streams", {"claude-code": NO, "codex": NO, "gemini-cli": NO}, [("truncate_stream", {})]),
    Case(
        "output-limit-8192",
        {"claude-code": OK, "codex": OK},
        [("max_tokens_limit", {"limit": 8192})],
        required={"claude-code": "CLAUDE_CODE_MAX_OUTPUT_TOKENS"},
    ),
    Case(
        "openai-only-relay",
        {"claude-code": NO, "codex": OK, "gemini-cli": NO},
        [("wrong_type", {"serves": ["openai"]})],
    ),
    Case(
        "unknown-model",
        {"claude-code": NO, "codex": NO, "gemini-cli": NO},
        model="no-such-model-1",
        relay_models=list(MODELS),
    ),
]


async def _reports(relay: Relay, cred: Credential, clis: list[str], model: str | None) -> list[CliReport]:
    async with Engine(Limits(concurrency=4, burst=50, per_minute=6000), timeout_s=15) as engine:
        return [await check_cli(engine, cred, cli, model=model) for cli in clis]


# Generous only for a cold cache: the first test installs the three CLIs (each npm install is itself
# capped by tests/fixtures/tools.py); a cached run takes seconds per configuration.
@pytest.mark.timeout(3000)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_verdict_matches_real_cli(
    case: Case, clis: dict[str, Path], relay_factory: Any, tmp_path: Path
) -> None:
    relay: Relay = relay_factory(name=f"cli-{case.name}")
    key = fake_key()
    relay.add_key(key, models=case.relay_models)
    for kind, params in case.faults:
        relay.set_fault(kind, **params)
    used_key = fake_key() if case.wrong_key else key
    cred = Credential(
        name=case.name, id=case.name, base_url=relay.url, api_key=used_key, models=case.cred_models
    )
    names = list(case.expected)
    reports = asyncio.run(_reports(relay, cred, names, case.model))

    mismatches = []
    for report in reports:
        text = json.dumps(report.to_json())
        assert used_key not in text
        assert report.verdict == case.expected[report.cli], (report.cli, report.to_json())
        home = tmp_path / report.cli
        home.mkdir()
        run = RUNNERS[report.cli](clis[report.cli], home, report, used_key)
        if (report.verdict == "compatible") != run.answered:
            mismatches.append(
                (report.cli, report.verdict, run.returncode, run.stdout[-800:], run.stderr[-800:])
            )
        if report.verdict != "compatible":
            failed = [c for c in report.checks if c.status == "fail"]
            assert failed and all(c.fix for c in failed), report.to_json()
        needed = case.required.get(report.cli)
        if needed:
            # The verdict depends on a setting credlib found; without it the CLI must fail.
            assert needed in report.settings, report.to_json()
            assert any(c.status == "warn" and c.fix for c in report.checks)
            bare = CliReport(report.cli, settings=_without(report.settings, needed))
            home2 = tmp_path / f"{report.cli}-without-fix"
            home2.mkdir()
            assert not RUNNERS[report.cli](clis[report.cli], home2, bare, used_key).answered, needed
    assert not mismatches, mismatches


def _without(settings: dict[str, str], name: str) -> dict[str, str]:
    out = dict(settings)
    del out[name]
    if name == "ANTHROPIC_API_KEY":
        out["ANTHROPIC_AUTH_TOKEN"] = KEY_PLACEHOLDER  # the default auth variable instead
    if name == "base_url":
        out["base_url"] = settings[name].rstrip("/") + "/v1"  # the usual Codex setting instead
    return out
