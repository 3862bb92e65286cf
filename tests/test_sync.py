"""`credlib sync` between real clones, with per-machine target selection outside Git."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from credlib.errors import ValidationError
from credlib.gitops.machine import MachineConfig, apply_machine_config, load_machine_config
from credlib.model import Config, Defaults, Target
from tests.fixtures.env import fake_key
from tests.fixtures.git import GitProject, commit_all, run_credlib, run_git, sample_data


def _data(keys: dict[str, str]) -> dict[str, Any]:
    data = sample_data(keys, n=2)
    data["targets"] = [
        {"name": "env-a", "type": "dotenv", "path": "shared-a.env"},
        {"name": "env-b", "type": "dotenv", "path": "shared-b.env"},
    ]
    return data


def _machine_file(text: str) -> Path:
    path = Path(os.environ["CREDLIB_CONFIG_DIR"]) / "machine.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_sync_pulls_and_applies_only_this_machines_targets(
    git_project: Callable[..., GitProject], tmp_path: Path
) -> None:
    keys = {f"Relay {i}": fake_key() for i in range(2)}
    project = git_project(_data(keys))
    alice, bob = project.clone("alice"), project.clone("bob")
    out = tmp_path / "bob-out" / "a.env"
    _machine_file(f"targets: [env-a]\npaths:\n  env-a: {out}\n")

    from credlib import store

    new_key = fake_key()
    store.add_credentials(
        alice / "credentials.yaml",
        [{"name": "New Relay", "base_url": "https://new.example.com", "api_key": new_key}],
    )
    commit_all(alice, "add new relay")
    run_git(alice, "push", "-q")

    proc = run_credlib(bob, "sync", "--offline", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert run_git(bob, "rev-parse", "HEAD").stdout == run_git(alice, "rev-parse", "HEAD").stdout
    assert out.exists() and new_key in out.read_text()
    assert out.stat().st_mode & 0o777 == 0o600
    assert not (bob / "shared-a.env").exists() and not (bob / "shared-b.env").exists()
    assert new_key not in proc.stdout + proc.stderr


def test_sync_refuses_non_fast_forward(git_project: Callable[..., GitProject], tmp_path: Path) -> None:
    keys = {f"Relay {i}": fake_key() for i in range(2)}
    project = git_project(_data(keys))
    alice, bob = project.clone("alice"), project.clone("bob")
    from credlib import store

    store.set_field(alice / "credentials.yaml", "Relay 0", "notes", "from alice")
    commit_all(alice, "alice")
    run_git(alice, "push", "-q")
    store.set_field(bob / "credentials.yaml", "Relay 1", "notes", "from bob")
    commit_all(bob, "bob")
    head = run_git(bob, "rev-parse", "HEAD").stdout

    proc = run_credlib(bob, "sync", "--offline", "--yes")
    assert proc.returncode == 1
    assert "not a fast-forward" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert run_git(bob, "rev-parse", "HEAD").stdout == head
    assert not (bob / "shared-a.env").exists()


def test_sync_without_upstream_is_refused(tmp_path: Path, encrypted_file: Callable[..., Path]) -> None:
    path = encrypted_file(_data({f"Relay {i}": fake_key() for i in range(2)}))
    run_git(path.parent, "init", "-q", "-b", "main")
    proc = run_credlib(path.parent, "sync", "--offline", "--yes")
    assert proc.returncode == 1
    assert "no upstream" in proc.stderr


def _config() -> Config:
    return Config(
        version=1,
        defaults=Defaults(),
        credentials=(),
        targets=(Target(name="a", type="dotenv", path="x"), Target(name="b", type="dotenv", path="y")),
    )


def test_machine_config_selects_and_overrides(tmp_path: Path) -> None:
    _machine_file("skip_targets: [b]\npaths: {a: /elsewhere/a.env}\n")
    cfg = apply_machine_config(_config(), load_machine_config())
    assert [(t.name, t.path) for t in cfg.targets] == [("a", "/elsewhere/a.env")]
    assert apply_machine_config(_config(), MachineConfig()).targets == _config().targets


def test_machine_config_per_file_section(tmp_path: Path) -> None:
    creds = tmp_path / "work" / "credentials.yaml"
    _machine_file(f"targets: [a, b]\nfiles:\n  {creds}:\n    targets: [b]\n")
    assert load_machine_config(creds).targets == ("b",)
    assert load_machine_config(tmp_path / "other.yaml").targets == ("a", "b")


def test_machine_config_errors_are_reported(tmp_path: Path) -> None:
    path = _machine_file("targets: a\nbogus: 1\n")
    with pytest.raises(ValidationError) as info:
        load_machine_config()
    text = info.value.message
    assert str(path) in text and "targets" in text and "bogus" in text


def test_plan_and_apply_honour_the_machine_config(
    encrypted_file: Callable[..., Path], tmp_path: Path
) -> None:
    import json

    path = encrypted_file(_data({f"Relay {i}": fake_key() for i in range(2)}))
    out = tmp_path / "here.env"
    _machine_file(f"skip_targets: [env-b]\npaths: {{env-a: {out}}}\n")
    plan = run_credlib(path.parent, "plan", "--offline", "--json")
    assert plan.returncode == 0, plan.stderr
    assert [t["name"] for t in json.loads(plan.stdout)["targets"]] == ["env-a"]
    applied = run_credlib(path.parent, "apply", "--offline", "--yes")
    assert applied.returncode == 0, applied.stderr
    assert (
        out.exists()
        and not (path.parent / "shared-a.env").exists()
        and not (path.parent / "shared-b.env").exists()
    )


def test_sync_with_local_edits_in_the_way(git_project: Callable[..., GitProject]) -> None:
    from credlib import store

    project = git_project(_data({f"Relay {i}": fake_key() for i in range(2)}))
    alice, bob = project.clone("alice"), project.clone("bob")
    store.set_field(alice / "credentials.yaml", "Relay 0", "notes", "from alice")
    commit_all(alice, "alice")
    run_git(alice, "push", "-q")
    store.set_field(bob / "credentials.yaml", "Relay 0", "notes", "uncommitted")
    proc = run_credlib(bob, "sync", "--offline", "--yes")
    assert proc.returncode == 1
    assert "would be overwritten" in proc.stderr and "Traceback" not in proc.stderr
