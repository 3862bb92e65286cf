"""sops' edit buffer holds the whole decrypted file: it must live in RAM, never on a disk's /tmp."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from credlib import sops, store
from tests.fixtures.env import fake_key
from tests.fixtures.store import run_credlib


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="no RAM filesystem at /dev/shm")
def test_scripted_edit_buffer_is_in_ram_and_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    disk_tmp = tmp_path / "disk-tmp"
    disk_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(disk_tmp))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    proj = tmp_path / "proj"
    proj.mkdir()
    assert run_credlib("init", cwd=proj).code == 0

    # Wrap the scripted editor so the test learns where sops put its plaintext buffer.
    seen = tmp_path / "buffers.txt"
    real = sops._editor_command

    def recording(mode: str) -> str:
        script = f'printf "%s\\n" "$1" >> {shlex.quote(str(seen))}; exec {real(mode)} "$1"'
        return shlex.join(["sh", "-c", script, "sh"])

    monkeypatch.setattr(sops, "_editor_command", recording)
    key = fake_key()
    item = {"name": "A", "base_url": "a.example.com", "api_key": key}
    store.add_credentials(proj / "credentials.yaml", [item])

    buffers = [Path(line) for line in seen.read_text().splitlines()]
    assert buffers, "the scripted editor was not run"
    for buf in buffers:
        assert not buf.is_relative_to(disk_tmp), f"sops' plaintext buffer was on disk: {buf}"
        assert buf.is_relative_to("/dev/shm"), buf
        # The private directory is gone once the edit is over.
        assert not buf.parent.exists(), buf.parent
    for path in disk_tmp.rglob("*"):
        assert not path.is_file() or key.encode() not in path.read_bytes()
    # The edit really happened (so the buffer above really held the key).
    assert store.load_config(proj / "credentials.yaml").credentials[0].api_key == key
