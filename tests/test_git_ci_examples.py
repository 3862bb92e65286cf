"""The CI examples in examples/ci/: valid, calling real commands, and working with SOPS_AGE_KEY alone."""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from credlib.cli import COMMANDS, cli
from credlib.relay import Relay
from tests.fixtures.env import AgeIdentity, fake_key
from tests.fixtures.git import CREDLIB, sample_data

CI = Path(__file__).resolve().parents[1] / "examples" / "ci"


def _load(name: str) -> dict[Any, Any]:
    from ruamel.yaml import YAML

    data: dict[Any, Any] = YAML(typ="safe").load((CI / name).read_text())
    return data


def _job_lines(name: str, job: str) -> list[str]:
    """The `credlib …` command lines of one job (GitHub `steps[].run` or GitLab `script`)."""
    data = _load(name)
    spec = (data.get("jobs") or data)[job]
    lines: list[str] = []
    for step in spec.get("steps", []):
        if isinstance(step, dict) and isinstance(step.get("run"), str):
            lines.extend(step["run"].splitlines())
    lines.extend(line for line in spec.get("script", []) if isinstance(line, str))
    return [line.strip() for line in lines if line.strip().startswith("credlib ")]


JOBS = {"github-actions.yml": ("check", "watch"), "gitlab-ci.yml": ("credlib-check", "credlib-watch")}


def _parse_with_the_real_cli(argv: list[str]) -> None:
    """Let click parse ``argv`` as `credlib` would (unknown options and bad values raise); run nothing."""
    import click

    ctx = cli.make_context("credlib", list(argv))
    rest = [*ctx._protected_args, *ctx.args]
    name, command, args = cli.resolve_command(ctx, rest)
    assert name in COMMANDS and command is not None, argv
    with pytest.raises(click.exceptions.Exit) if "--help" in args else contextlib.nullcontext():
        command.make_context(name or "", args, parent=ctx)


@pytest.mark.parametrize("name", sorted(JOBS))
def test_examples_call_real_commands_and_options(name: str) -> None:
    commands = [line for job in JOBS[name] for line in _job_lines(name, job)]
    assert {c.split()[1] for c in commands} == {"check", "verify", "usage"}
    for command in commands:
        _parse_with_the_real_cli(shlex.split(command)[1:])
    assert "SOPS_AGE_KEY" in (CI / name).read_text()


def test_the_parser_check_can_fail() -> None:
    import click

    with pytest.raises(click.exceptions.NoSuchOption):
        _parse_with_the_real_cli(["usage", "--fail-under-balanse", "5"])
    with pytest.raises(click.exceptions.BadParameter):
        _parse_with_the_real_cli(["usage", "--fail-under-balance", "five"])


def test_github_schedule_job_gets_the_key_from_secrets() -> None:
    data = _load("github-actions.yml")
    assert data["jobs"]["watch"]["env"]["SOPS_AGE_KEY"] == "${{ secrets.SOPS_AGE_KEY }}"
    triggers = data.get("on", data.get(True))  # a YAML 1.1 reader (like GitHub's) sees `on:` as True
    assert isinstance(triggers, dict) and "schedule" in triggers
    assert "SOPS_AGE_KEY" not in data["jobs"]["check"].get("env", {})


def _run_job(lines: list[str], env: dict[str, str], cwd: Path) -> None:
    assert lines
    for line in lines:
        argv = shlex.split(line)
        proc = subprocess.run(
            [CREDLIB, *argv[1:]], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert proc.returncode == 0, (line, proc.stdout, proc.stderr)
        assert env.get("SOPS_AGE_KEY", "AGE-SECRET-KEY-none") not in proc.stdout + proc.stderr


@pytest.mark.parametrize("name", sorted(JOBS))
def test_jobs_run_as_written(
    name: str, relay: Relay, encrypted_file: Callable[..., Path], age_identity: AgeIdentity, tmp_path: Path
) -> None:
    """Both jobs' command lines, executed: the check job without any key, the watch job with SOPS_AGE_KEY."""
    keys = {f"Relay {i}": fake_key() for i in range(2)}
    for key in keys.values():
        relay.add_key(key)
    data = sample_data(keys, n=2, base=relay.url)
    data["defaults"] = {"limits": {"concurrency": 4, "burst": 50, "per_minute": 600}}  # one local origin
    path = encrypted_file(data)
    base = {k: v for k, v in os.environ.items() if k not in ("SOPS_AGE_KEY_FILE", "SOPS_AGE_KEY")}
    base["CREDLIB_FILE"] = str(path)
    check_job, watch_job = JOBS[name]
    _run_job(_job_lines(name, check_job), base, tmp_path)
    with_key = {**base, "SOPS_AGE_KEY": age_identity.secret}
    _run_job(_job_lines(name, watch_job), with_key, tmp_path)
    # Without the key the watch job fails: the secret really is what makes it work.
    proc = subprocess.run(
        [CREDLIB, "verify"], cwd=tmp_path, env=base, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode != 0
    # The threshold really gates: the relay's keys hold $10, so asking for $50 fails the job.
    proc = subprocess.run(
        [CREDLIB, "usage", "--fail-under-balance", "50"],
        cwd=tmp_path,
        env=with_key,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
