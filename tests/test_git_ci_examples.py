"""The CI examples in examples/ci/: valid, calling real commands, and working with SOPS_AGE_KEY alone."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from credlib.cli import COMMANDS, cli
from credlib.relay import Relay
from tests.fixtures.env import AgeIdentity, fake_key
from tests.fixtures.git import CREDLIB, sample_data

CI = Path(__file__).resolve().parents[1] / "examples" / "ci"


def _load(name: str) -> dict[str, Any]:
    from ruamel.yaml import YAML

    data: dict[str, Any] = YAML(typ="safe").load((CI / name).read_text())
    return data


def _commands(name: str) -> list[str]:
    data = _load(name)
    lines: list[str] = []
    for job in (data.get("jobs") or data).values():
        if not isinstance(job, dict):
            continue
        for step in job.get("steps", []):
            if isinstance(step, dict) and isinstance(step.get("run"), str):
                lines.extend(step["run"].splitlines())
        lines.extend(line for line in job.get("script", []) if isinstance(line, str))
    return [line.strip() for line in lines if line.strip().startswith("credlib ")]


@pytest.mark.parametrize("name", ["github-actions.yml", "gitlab-ci.yml"])
def test_examples_call_real_commands_and_options(name: str) -> None:
    commands = _commands(name)
    assert {c.split()[1] for c in commands} == {"check", "verify", "usage"}
    for command in commands:
        argv = shlex.split(command)[1:]
        assert argv[0] in COMMANDS
        help_text = CliRunner().invoke(cli, [argv[0], "--help"]).output
        for option in (a for a in argv[1:] if a.startswith("--")):
            assert option in help_text, (name, option)
    assert "SOPS_AGE_KEY" in (CI / name).read_text()


def test_github_schedule_job_gets_the_key_from_secrets() -> None:
    data = _load("github-actions.yml")
    assert data["jobs"]["watch"]["env"]["SOPS_AGE_KEY"] == "${{ secrets.SOPS_AGE_KEY }}"
    assert "schedule" in (data.get("on") or data.get(True))  # YAML 1.1 reads `on:` as True
    assert "SOPS_AGE_KEY" not in data["jobs"]["check"].get("env", {})


def test_scheduled_job_runs_with_sops_age_key_only(
    relay: Relay, encrypted_file: Callable[..., Path], age_identity: AgeIdentity, tmp_path: Path
) -> None:
    keys = {f"Relay {i}": fake_key() for i in range(2)}
    for key in keys.values():
        relay.add_key(key)
    data = sample_data(keys, n=2, base=relay.url)
    data["defaults"] = {"limits": {"concurrency": 4, "burst": 50, "per_minute": 600}}  # one local origin
    path = encrypted_file(data)
    env = {k: v for k, v in os.environ.items() if k != "SOPS_AGE_KEY_FILE"}
    env.update(SOPS_AGE_KEY=age_identity.secret, CREDLIB_FILE=str(path))
    for line in _load("gitlab-ci.yml")["credlib-watch"]["script"]:
        argv = shlex.split(line)
        proc = subprocess.run(
            [CREDLIB, *argv[1:]],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, (line, proc.stdout, proc.stderr)
        assert age_identity.secret not in proc.stdout + proc.stderr
    # The threshold really gates: the relay's keys hold $10, so asking for $50 fails the job.
    proc = subprocess.run(
        [CREDLIB, "usage", "--fail-under-balance", "50"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
