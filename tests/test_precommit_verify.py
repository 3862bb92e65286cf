"""`credlib git verify-changed` (the credlib-verify pre-push hook): only changed credentials make requests."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from credlib.relay import Relay
from tests.fixtures.env import fake_key
from tests.fixtures.git import GitProject, commit_all, run_credlib, sample_data

N = 300  # the large file
SMALL = 50


def _project(
    relay: Relay, git_project: Callable[..., GitProject], n: int = SMALL
) -> tuple[GitProject, dict[str, str]]:
    keys = {f"Relay {i}": fake_key() for i in range(n)}
    for key in keys.values():
        relay.add_key(key)
    return git_project(sample_data(keys, n=n, base=relay.url)), keys


def test_one_change_in_a_large_file_verifies_one_credential(
    relay: Relay, git_project: Callable[..., GitProject]
) -> None:
    project, keys = _project(relay, git_project, N)
    alice = project.clone("alice")
    from credlib import store

    new_key = fake_key()
    relay.add_key(new_key)
    store.set_field(alice / "credentials.yaml", "Relay 150", "api_key", new_key)
    store.set_field(alice / "credentials.yaml", "Relay 7", "notes", "notes do not need a request")
    commit_all(alice, "rotate relay 150")
    relay.clear_log()

    proc = run_credlib(alice, "git", "verify-changed", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["base_ref"] == "origin/main" and report["total"] == N and report["checked"] == 1
    assert [r["name"] for r in report["results"]] == ["Relay 150"]
    assert report["results"][0]["status"] == "ok"
    log = relay.log
    assert log, "the changed credential was verified over HTTP"
    assert {entry.key for entry in log} == {new_key}
    for key in (new_key, *keys.values()):
        assert key not in proc.stdout + proc.stderr


def test_nothing_changed_makes_no_request(relay: Relay, git_project: Callable[..., GitProject]) -> None:
    project, _ = _project(relay, git_project)
    alice = project.clone("alice")
    relay.clear_log()
    proc = run_credlib(alice, "git", "verify-changed")
    assert proc.returncode == 0, proc.stderr
    assert f"0 of {SMALL} credential(s)" in proc.stderr
    assert relay.log == []


def test_failing_changed_key_fails_the_hook(relay: Relay, git_project: Callable[..., GitProject]) -> None:
    project, _ = _project(relay, git_project)
    alice = project.clone("alice")
    from credlib import store

    store.set_field(
        alice / "credentials.yaml", "Relay 3", "api_key", fake_key()
    )  # the relay does not know it
    commit_all(alice, "bad key")
    proc = run_credlib(alice, "git", "verify-changed")
    assert proc.returncode == 1
    [row] = [line for line in proc.stdout.splitlines() if line.startswith("Relay 3 ")]
    assert "auth_failed" in row


def test_base_url_change_counts_as_changed(
    relay: Relay, git_project: Callable[..., GitProject], relay_factory: Callable[..., Relay]
) -> None:
    project, keys = _project(relay, git_project)
    other = relay_factory(name="relay-b")
    other.add_key(keys["Relay 9"])
    alice = project.clone("alice")
    from credlib import store

    store.set_field(alice / "credentials.yaml", "Relay 9", "base_url", other.url)
    relay.clear_log()
    proc = run_credlib(alice, "git", "verify-changed", "--since", "HEAD")  # uncommitted edits count too
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert relay.log == [] and other.log
    assert "1 of" in proc.stderr


def test_pre_push_refs_from_pre_commit_are_the_base(
    relay: Relay, git_project: Callable[..., GitProject], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fixtures.git import run_git

    project, _keys = _project(relay, git_project)
    alice = project.clone("alice")
    run_git(alice, "checkout", "-q", "-b", "feature")  # a new branch: no upstream yet
    from credlib import store

    new_key = fake_key()
    relay.add_key(new_key)
    store.set_field(alice / "credentials.yaml", "Relay 42", "api_key", new_key)
    commit_all(alice, "rotate 42")
    relay.clear_log()
    remote_has = run_git(alice, "rev-parse", "origin/main").stdout.strip()
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", remote_has)
    proc = run_credlib(alice, "git", "verify-changed", "--file", "credentials.yaml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"1 of {SMALL} credential(s) (changed since {remote_has})" in proc.stderr
    assert {entry.key for entry in relay.log} == {new_key}


def test_credlib_verify_hook_through_pre_commit_pre_push(
    relay: Relay, git_project: Callable[..., GitProject], tmp_path: Path
) -> None:
    """pre-commit itself runs the shipped hook at the pre-push stage, with the refs it computes."""
    from tests.fixtures.env import VENV_BIN
    from tests.fixtures.git import run_git
    from tests.test_precommit import _local_config

    project, _keys = _project(relay, git_project)
    alice = project.clone("alice")
    from credlib import store

    new_key = fake_key()
    relay.add_key(new_key)
    store.set_field(alice / "credentials.yaml", "Relay 7", "api_key", new_key)
    commit_all(alice, "rotate 7")
    relay.clear_log()
    config = tmp_path / "pre-commit-config.yaml"
    config.write_text(_local_config(["credlib-verify"]))
    from_ref = run_git(alice, "rev-parse", "origin/main").stdout.strip()
    to_ref = run_git(alice, "rev-parse", "HEAD").stdout.strip()
    proc = subprocess.run(
        [
            str(VENV_BIN / "pre-commit"),
            "run",
            "-c",
            str(config),
            "--hook-stage",
            "pre-push",
            "--from-ref",
            from_ref,
            "--to-ref",
            to_ref,
            "credlib-verify",
        ],
        cwd=alice,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pc-home"), "PRE_COMMIT_COLOR": "never"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Passed" in proc.stdout
    assert {entry.key for entry in relay.log} == {new_key}
