"""The merge driver and textconv through real `git` in temp repositories."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.env import AgeIdentity, fake_key, sops_binary
from tests.fixtures.git import GitProject, commit_all, run_credlib, run_git, sample_data


def decrypt(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sops_binary(), "decrypt", "--output-type", "json", str(path)],
        capture_output=True,
        check=False,
        cwd=path.parent,
    )
    assert out.returncode == 0, out.stderr.decode()
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def set_field(repo: Path, name: str, field: str, value: str) -> None:
    from credlib import store

    store.set_field(repo / "credentials.yaml", name, field, value)


def _keys(n: int = 3) -> dict[str, str]:
    return {f"Relay {i}": fake_key() for i in range(n)}


def _ciphertext_line(path: Path, marker: str) -> list[str]:
    return [line for line in path.read_text().splitlines() if marker in line]


def test_two_clones_edit_different_credentials_merge_cleanly(git_project: Callable[..., GitProject]) -> None:
    keys = _keys()
    project = git_project(sample_data(keys))
    alice, bob = project.clone("alice"), project.clone("bob")
    new_key = fake_key()

    set_field(alice, "Relay 0", "api_key", new_key)
    commit_all(alice, "rotate relay 0")
    run_git(alice, "push", "-q")

    bob_key = fake_key()
    set_field(bob, "Relay 2", "notes", "bob was here")
    set_field(bob, "Relay 2", "api_key", bob_key)
    set_field(bob, "Relay 1", "base_url", "https://moved.example.com/v1")
    commit_all(bob, "bob edits")
    # Both sides changed sops' mac and lastmodified: a plain text merge would conflict there.
    assert "merge: credlib" in run_git(bob, "check-attr", "merge", "credentials.yaml").stdout
    unchanged_before = _ciphertext_line(bob / "credentials.yaml", "api_key")[1]

    pull = run_git(bob, "pull", "--no-edit", check=False)
    assert pull.returncode == 0, pull.stdout + pull.stderr
    text = (bob / "credentials.yaml").read_text()
    assert "<<<<<<<" not in text and ">>>>>>>" not in text
    data = decrypt(bob / "credentials.yaml")
    creds = {c["name"]: c for c in data["credentials"]}
    assert creds["Relay 0"]["api_key"] == new_key
    assert creds["Relay 2"]["notes"] == "bob was here"
    assert creds["Relay 1"]["base_url"] == "https://moved.example.com"
    assert creds["Relay 2"]["api_key"] == bob_key
    assert creds["Relay 1"]["api_key"] == keys["Relay 1"]
    # Relay 1's key was touched by nobody: its ciphertext is byte-identical (data key kept).
    assert _ciphertext_line(bob / "credentials.yaml", "api_key")[1] == unchanged_before
    check = run_credlib(bob, "check")
    assert check.returncode == 0, check.stdout + check.stderr
    for key in (*keys.values(), new_key, bob_key):
        assert key not in pull.stdout + pull.stderr


def test_same_field_changed_both_ways_reports_conflict(git_project: Callable[..., GitProject]) -> None:
    keys = _keys()
    project = git_project(sample_data(keys))
    alice, bob = project.clone("alice"), project.clone("bob")
    alice_key, bob_key = fake_key(), fake_key()
    set_field(alice, "Relay 1", "api_key", alice_key)
    set_field(alice, "Relay 0", "notes", "alice note")
    commit_all(alice, "alice")
    run_git(alice, "push", "-q")
    set_field(bob, "Relay 1", "api_key", bob_key)
    commit_all(bob, "bob")

    pull = run_git(bob, "pull", "--no-edit", check=False)
    assert pull.returncode != 0
    output = pull.stdout + pull.stderr
    assert "credentials[relay-1].api_key: changed on both sides" in output
    assert "credlib" in output and "edit" in output
    for key in (alice_key, bob_key, *keys.values()):
        assert key not in output
    text = (bob / "credentials.yaml").read_text()
    assert "<<<<<<<" not in text and "=======" not in text
    data = decrypt(bob / "credentials.yaml")  # still a valid, decryptable file
    creds = {c["name"]: c for c in data["credentials"]}
    assert creds["Relay 1"]["api_key"] == bob_key  # ours kept
    assert creds["Relay 0"]["notes"] == "alice note"  # the non-conflicting change merged
    status = run_git(bob, "status", "--porcelain").stdout
    assert "UU credentials.yaml" in status


def test_textconv_diff_redacts_keys(git_project: Callable[..., GitProject]) -> None:
    keys = _keys()
    project = git_project(sample_data(keys))
    alice = project.clone("alice")
    new_key = fake_key()
    set_field(alice, "Relay 0", "api_key", new_key)
    set_field(alice, "Relay 2", "notes", "changed note")
    diff = run_git(alice, "diff").stdout
    assert "-    notes: note 2" in diff.replace("  notes", "    notes") or "note 2" in diff
    assert "+" in diff and "changed note" in diff
    from credlib.redact import redact_key

    assert f"+      api_key: {redact_key(new_key)}" in diff or redact_key(new_key) in diff
    assert redact_key(keys["Relay 0"]) in diff
    for key in (*keys.values(), new_key):
        assert key not in diff
    assert "ENC[" not in diff  # the decrypted view, not ciphertext


def test_textconv_without_key_masks_and_does_not_fail(
    tmp_path: Path, monkeypatch: Any, encrypted_file: Callable[..., Path]
) -> None:
    keys = _keys()
    path = encrypted_file(sample_data(keys))
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(tmp_path / "nothing.txt"))
    proc = run_credlib(path.parent, "git", "textconv", str(path))
    assert proc.returncode == 0
    assert "cannot decrypt here" in proc.stdout
    assert "ENC[" in proc.stdout


def test_merge_driver_refuses_non_credlib_side(tmp_path: Path, encrypted_file: Callable[..., Path]) -> None:
    keys = _keys()
    ours = encrypted_file(sample_data(keys))
    base = ours.with_name("base.yaml")
    base.write_bytes(ours.read_bytes())
    theirs = tmp_path / "theirs.yaml"
    theirs.write_text("just: some yaml\n")
    before = ours.read_bytes()
    proc = run_credlib(
        ours.parent, "git", "merge-driver", str(base), str(ours), str(theirs), "credentials.yaml"
    )
    assert proc.returncode == 3
    assert "their version of credentials.yaml is not a credlib file" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert ours.read_bytes() == before


def test_recipient_added_on_the_other_side_survives_the_merge(
    git_project: Callable[..., GitProject], other_identity: AgeIdentity, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = _keys()
    project = git_project(sample_data(keys))
    alice, bob = project.clone("alice"), project.clone("bob")
    assert run_credlib(alice, "recipients", "add", other_identity.recipient).returncode == 0
    commit_all(alice, "new machine")
    run_git(alice, "push", "-q")
    bob_key = fake_key()
    set_field(bob, "Relay 1", "api_key", bob_key)
    commit_all(bob, "bob")

    pull = run_git(bob, "pull", "--no-edit", check=False)
    assert pull.returncode == 0, pull.stdout + pull.stderr
    assert run_credlib(bob, "check").returncode == 0  # recipients match the merged .sops.yaml
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(other_identity.key_file))
    assert (
        decrypt(bob / "credentials.yaml")["credentials"][1]["api_key"] == bob_key
    )  # the new machine reads it


def test_recipient_removed_on_the_other_side_stays_removed(
    git_project: Callable[..., GitProject],
    other_identity: AgeIdentity,
    age_identity: AgeIdentity,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    keys = _keys()
    project = git_project(sample_data(keys))
    alice = project.clone("alice")
    assert run_credlib(alice, "recipients", "add", other_identity.recipient).returncode == 0
    commit_all(alice, "second machine")
    run_git(alice, "push", "-q")
    bob = project.clone("bob")
    assert run_credlib(alice, "recipients", "rm", other_identity.recipient).returncode == 0
    commit_all(alice, "machine lost")
    run_git(alice, "push", "-q")
    set_field(bob, "Relay 2", "notes", "bob")
    set_field(bob, "Relay 0", "api_key", fake_key())
    commit_all(bob, "bob")

    pull = run_git(bob, "pull", "--no-edit", check=False)
    assert pull.returncode == 0, pull.stdout + pull.stderr
    text = (bob / "credentials.yaml").read_text()
    assert other_identity.recipient not in text
    assert run_credlib(bob, "check").returncode == 0
    assert decrypt(bob / "credentials.yaml")["credentials"][2]["notes"] == "bob"
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(other_identity.key_file))
    out = subprocess.run(
        [sops_binary(), "decrypt", str(bob / "credentials.yaml")], capture_output=True, check=False
    )
    assert out.returncode != 0  # the removed machine cannot read the merged file


def test_add_add_merge_with_empty_base(
    git_project: Callable[..., GitProject], tmp_path: Path, encrypted_file: Callable[..., Path]
) -> None:
    keys = _keys()
    ours = encrypted_file(sample_data(keys))
    theirs_keys = {**keys, "Relay 2": fake_key()}
    theirs = encrypted_file(sample_data(theirs_keys), directory=tmp_path / "other")
    base = tmp_path / "empty"
    base.write_bytes(b"")
    proc = run_credlib(
        ours.parent, "git", "merge-driver", str(base), str(ours), str(theirs), "credentials.yaml"
    )
    assert proc.returncode == 1
    assert "credentials[relay-2].api_key: added on both sides" in proc.stderr
    for key in theirs_keys.values():
        assert key not in proc.stderr
    assert decrypt(ours)["credentials"][2]["api_key"] == keys["Relay 2"]


def test_credentials_added_and_removed_on_both_sides(git_project: Callable[..., GitProject]) -> None:
    from credlib import store

    keys = _keys(4)
    project = git_project(sample_data(keys, n=4))
    alice, bob = project.clone("alice"), project.clone("bob")
    alice_key, bob_key = fake_key(), fake_key()
    store.add_credentials(
        alice / "credentials.yaml",
        [
            {
                "name": "Alice New",
                "base_url": "https://alice.example.com/v1",
                "api_key": alice_key,
                "tags": ["a"],
            }
        ],
    )
    store.remove_credential(alice / "credentials.yaml", "Relay 3")
    commit_all(alice, "alice adds and removes")
    run_git(alice, "push", "-q")
    store.add_credentials(
        bob / "credentials.yaml",
        [{"name": "Bob New", "base_url": "https://bob.example.com", "api_key": bob_key}],
    )
    set_field(bob, "Relay 0", "api_key", fake_key())
    commit_all(bob, "bob adds")

    pull = run_git(bob, "pull", "--no-edit", check=False)
    assert pull.returncode == 0, pull.stdout + pull.stderr
    creds = decrypt(bob / "credentials.yaml")["credentials"]
    assert [c["name"] for c in creds] == ["Relay 0", "Relay 1", "Relay 2", "Alice New", "Bob New"]
    assert creds[3] == {
        "name": "Alice New",
        "base_url": "https://alice.example.com",
        "api_key": alice_key,
        "tags": ["a"],
    }
    assert creds[4]["api_key"] == bob_key
    text = (bob / "credentials.yaml").read_text()
    assert alice_key not in text and bob_key not in text
    assert run_credlib(bob, "check").returncode == 0


def test_conflict_report_masks_keys_outside_secret_fields(
    encrypted_file: Callable[..., Path], tmp_path: Path
) -> None:
    """A key pasted into notes (or any field) and changed on both sides never reaches the report."""
    from credlib.gitops.merge import merge_files, render_report

    keys = _keys()
    keys["Relay 2"] = "opensesame-teamkey"  # no key pattern matches it: only knowing it masks it
    base = encrypted_file(sample_data(keys), directory=tmp_path / "base")
    pasted_ours, pasted_theirs = fake_key(), fake_key("sk-ant-api03-")
    ours_data, theirs_data = sample_data(keys), sample_data(keys)
    ours_data["credentials"][0]["notes"] = pasted_ours
    theirs_data["credentials"][0]["notes"] = f"old key {pasted_theirs}"
    ours_data["credentials"][2]["notes"] = "shared as opensesame-teamkey"
    theirs_data["credentials"][2]["notes"] = "rotated"
    ours_data["credentials"][1]["api_key"] = fake_key()
    theirs_data["credentials"][1]["api_key"] = fake_key()
    ours = encrypted_file(ours_data, directory=tmp_path / "ours")
    theirs = encrypted_file(theirs_data, directory=tmp_path / "theirs")
    outcome = merge_files(base, ours, theirs, "credentials.yaml")
    report = render_report(outcome, "credentials.yaml")
    assert "credentials[relay-0].notes: changed on both sides" in report
    assert "credentials[relay-1].api_key: changed on both sides" in report
    assert "credentials[relay-2].notes: changed on both sides" in report
    secrets = [
        pasted_ours,
        pasted_theirs,
        *keys.values(),
        ours_data["credentials"][1]["api_key"],
        theirs_data["credentials"][1]["api_key"],
    ]
    for secret in secrets:
        assert secret not in report
