"""`credlib export NAME --to TYPE`: the real CLI over a real sops-encrypted file."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from credlib.errors import ExitCode
from tests.fixtures.env import fake_key


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from credlib.cli import cli as group
    from credlib.cli.errors import run_cli

    code = run_cli(group, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project(encrypted_file: Any) -> tuple[Path, str, str]:
    key, claude_key = fake_key(), fake_key("sk-ant-")
    data = {
        "version": 1,
        "credentials": [
            {
                "name": "Team Relay",
                "base_url": "https://relay.example.com",
                "api_key": key,
                "models": ["gpt-4o-mini"],
            },
            {
                "name": "Claude Direct",
                "base_url": "https://anthropic.example.com",
                "api_key": claude_key,
                "api_type": "anthropic",
                "models": ["claude-sonnet-4-5"],
            },
        ],
    }
    path: Path = encrypted_file(data)
    return path, key, claude_key


def test_export_prints_a_cherry_link(
    capsys: pytest.CaptureFixture[str], project: tuple[Path, str, str]
) -> None:
    path, key, _ = project
    code, out, err = cli(capsys, "-f", str(path), "export", "team relay", "--to", "cherry-studio")
    assert code == 0, err
    query = dict(parse_qsl(urlsplit(out.strip()).query))
    data = json.loads(base64.b64decode(query["data"]))
    assert data["apiKey"] == key and data["baseUrl"] == "https://relay.example.com"


def test_export_prints_file_content_with_options(
    capsys: pytest.CaptureFixture[str], project: tuple[Path, str, str]
) -> None:
    path, _, claude_key = project
    code, out, err = cli(
        capsys, "-f", str(path), "export", "Claude Direct", "--to", "claude-code", "--option", "auth=api_key"
    )
    assert code == 0, err
    assert json.loads(out)["env"] == {
        "ANTHROPIC_BASE_URL": "https://anthropic.example.com",
        "ANTHROPIC_API_KEY": claude_key,
        "ANTHROPIC_MODEL": "claude-sonnet-4-5",
    }
    code, out, _ = cli(
        capsys,
        "-f",
        str(path),
        "export",
        "Claude Direct",
        "--to",
        "cc-switch",
        "-o",
        'apps=["claude","gemini"]',
    )
    assert code == 0 and out.count("ccswitch://v1/import?") == 2


def test_export_bad_input(capsys: pytest.CaptureFixture[str], project: tuple[Path, str, str]) -> None:
    path, key, claude_key = project
    code, _, err = cli(capsys, "-f", str(path), "export", "Team Relay", "--to", "cherry")
    assert code == ExitCode.INVALID_FILE and "unknown target type 'cherry'" in err and "cherry-studio" in err
    code, _, err = cli(capsys, "-f", str(path), "export", "Team Relay", "--to", "claude-code")
    assert code == ExitCode.CHECK_FAILED and "does not take openai-compatible" in err
    code, _, err = cli(capsys, "-f", str(path), "export", "Nobody", "--to", "dotenv")
    assert code == ExitCode.NOT_FOUND
    code, _, err = cli(
        capsys, "-f", str(path), "export", "Team Relay", "--to", "dotenv", "--option", "novalue"
    )
    assert code == ExitCode.USAGE and "KEY=VALUE" in err
    assert "Traceback" not in err and key not in err and claude_key not in err
