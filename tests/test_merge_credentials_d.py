"""The credentials.d layout through real git: setup, textconv, merge driver and conflicts per file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from credlib.redact import redact_key
from tests.fixtures.env import fake_key
from tests.fixtures.git import GitProject, commit_all, run_credlib, run_git
from tests.test_merge_git import decrypt


def _cred(name: str, i: int, key: str) -> dict[str, Any]:
    return {"name": name, "base_url": f"https://relay{i}.example.com", "api_key": key, "notes": f"note {i}"}


def _files(keys: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {
        "alpha.yaml": {"version": 1, "credentials": [_cred("A0", 0, keys["A0"]), _cred("A1", 1, keys["A1"])]},
        "beta.yaml": {"version": 1, "credentials": [_cred("B0", 2, keys["B0"])]},
    }


def _set(repo: Path, name: str, field: str, value: str) -> None:
    from credlib import store

    store.set_field(repo / "credentials.d", name, field, value)


def _creds(path: Path) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in decrypt(path)["credentials"]}


def test_directory_clones_merge_through_the_driver(git_project_dir: Callable[..., GitProject]) -> None:
    keys = {name: fake_key() for name in ("A0", "A1", "B0")}
    project = git_project_dir(_files(keys))
    alice, bob = project.clone("alice"), project.clone("bob")
    for name in ("alpha.yaml", "beta.yaml"):
        attrs = run_git(bob, "check-attr", "diff", "merge", "--", f"credentials.d/{name}").stdout
        assert "diff: credlib" in attrs and "merge: credlib" in attrs, attrs

    alice_key = fake_key()
    _set(alice, "A0", "api_key", alice_key)
    diff = run_git(alice, "diff").stdout  # textconv on a file of the directory
    assert redact_key(alice_key) in diff and redact_key(keys["A0"]) in diff
    assert "ENC[" not in diff
    assert alice_key not in diff and keys["A0"] not in diff
    commit_all(alice, "rotate A0")
    run_git(alice, "push", "-q")

    bob_key = fake_key()
    _set(bob, "A1", "notes", "bob was here")  # same file as alice's change, another credential
    _set(bob, "B0", "api_key", bob_key)
    commit_all(bob, "bob edits")
    pull = run_git(bob, "pull", "--no-edit", check=False)
    assert pull.returncode == 0, pull.stdout + pull.stderr
    alpha = _creds(bob / "credentials.d" / "alpha.yaml")
    assert alpha["A0"]["api_key"] == alice_key and alpha["A1"]["notes"] == "bob was here"
    assert _creds(bob / "credentials.d" / "beta.yaml")["B0"]["api_key"] == bob_key
    for key in (*keys.values(), alice_key, bob_key):
        assert key not in pull.stdout + pull.stderr
    check = run_credlib(bob, "-f", "credentials.d", "check")
    assert check.returncode == 0, check.stdout + check.stderr


def test_directory_conflict_is_reported_per_field_without_keys(
    git_project_dir: Callable[..., GitProject],
) -> None:
    keys = {name: fake_key() for name in ("A0", "A1", "B0")}
    project = git_project_dir(_files(keys))
    alice, bob = project.clone("alice"), project.clone("bob")
    alice_key, bob_key = fake_key(), fake_key()
    _set(alice, "B0", "api_key", alice_key)
    _set(alice, "A1", "notes", "alice note")
    commit_all(alice, "alice")
    run_git(alice, "push", "-q")
    _set(bob, "B0", "api_key", bob_key)
    commit_all(bob, "bob")

    pull = run_git(bob, "pull", "--no-edit", check=False)
    assert pull.returncode != 0
    output = pull.stdout + pull.stderr
    assert "credentials.d/beta.yaml" in output
    assert "credentials[b0].api_key: changed on both sides" in output
    for key in (alice_key, bob_key, *keys.values()):
        assert key not in output
    beta = bob / "credentials.d" / "beta.yaml"
    assert "<<<<<<<" not in beta.read_text()
    assert _creds(beta)["B0"]["api_key"] == bob_key  # ours kept, still decrypts
    assert _creds(bob / "credentials.d" / "alpha.yaml")["A1"]["notes"] == "alice note"  # merged cleanly
    status = run_git(bob, "status", "--porcelain").stdout
    assert "UU credentials.d/beta.yaml" in status and "M  credentials.d/alpha.yaml" in status  # alpha merged
