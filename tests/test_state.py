"""Per-machine state: location, atomic private writes, no-op saves, fingerprints, the apply lock."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from credlib.errors import LockedError
from credlib.state import State, apply_lock, atomic_write_private, credential_fingerprint, state_path_for


def test_state_lives_outside_the_project_and_is_private(tmp_path: Path, isolated_env: Path) -> None:
    creds = tmp_path / "proj" / "credentials.yaml"
    state = State.load(creds)
    state.record("verify", "alpha", {"status": "ok"})
    state.save()
    assert state.path.is_relative_to(isolated_env / ".local/state/credlib")
    assert state.path.stat().st_mode & 0o777 == 0o600
    assert State.load(creds).get("verify", "alpha") == {"status": "ok"}
    # Another credentials file has its own state.
    assert State.load(tmp_path / "other.yaml").get("verify", "alpha") is None


def test_root_override_keeps_state_and_lock_elsewhere(tmp_path: Path, isolated_env: Path) -> None:
    root = tmp_path / "scratch-state"
    state = State.load("credentials.yaml", root=root)
    state.record("targets", "t", {"hash": "x"})
    state.save()
    assert state.path.is_relative_to(root)
    with apply_lock("credentials.yaml", root=root):
        assert (state_path_for("credentials.yaml", root=root).with_name("apply.lock")).exists()
    assert not (isolated_env / ".local/state/credlib").exists()


def test_save_if_changed_skips_no_op_saves(tmp_path: Path) -> None:
    state = State.load(tmp_path / "c.yaml")
    assert state.save_if_changed() is True  # first save creates the file
    mtime = state.path.stat().st_mtime_ns
    again = State.load(tmp_path / "c.yaml")
    assert again.save_if_changed() is False
    assert state.path.stat().st_mtime_ns == mtime
    again.record("verify", "a", {"status": "ok"})
    assert again.save_if_changed() is True
    assert json.loads(again.path.read_text())["verify"]["a"]["status"] == "ok"


def test_corrupt_state_only_costs_history(tmp_path: Path) -> None:
    path = state_path_for(tmp_path / "c.yaml")
    path.parent.mkdir(parents=True)
    path.write_text("{ not json")
    state = State.load(tmp_path / "c.yaml")
    assert state.get("verify", "x") is None
    state.save()
    assert json.loads(path.read_text())["version"] == 1


def test_fingerprint_changes_with_key_url_or_type_and_hides_the_key() -> None:
    base = credential_fingerprint("openai", "https://a.example.com", "sk-secret-1234567890")
    assert base == credential_fingerprint("openai", "https://a.example.com", "sk-secret-1234567890")
    assert base != credential_fingerprint("openai", "https://a.example.com", "sk-secret-1234567891")
    assert base != credential_fingerprint("anthropic", "https://a.example.com", "sk-secret-1234567890")
    assert base != credential_fingerprint("openai", "https://b.example.com", "sk-secret-1234567890")
    assert "secret" not in base and len(base) == 24


def test_atomic_write_replaces_whole_file_and_cleans_up(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "file.json"
    atomic_write_private(target, b"one")
    atomic_write_private(target, b"two")
    assert target.read_bytes() == b"two"
    assert target.stat().st_mode & 0o777 == 0o600
    assert target.parent.stat().st_mode & 0o777 == 0o700
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.json"]  # no temp files left


def test_lock_times_out_with_exit_code_7(tmp_path: Path) -> None:
    creds = tmp_path / "c.yaml"
    acquired = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with apply_lock(creds):
            acquired.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert acquired.wait(5)
        with pytest.raises(LockedError) as info, apply_lock(creds, wait_s=0.2):
            pass
        assert int(info.value.exit_code) == 7
        assert "another credlib apply is running" in info.value.message
    finally:
        release.set()
        thread.join(5)
    with apply_lock(creds, wait_s=0):  # free again
        pass
    assert os.path.exists(state_path_for(creds).with_name("apply.lock"))
