"""`credlib git setup` and the textconv view."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from credlib.gitops.textconv import render_text
from credlib.redact import redact_key
from tests.fixtures.env import AgeIdentity, fake_key
from tests.fixtures.git import init_repo, run_credlib, run_git, sample_data


def test_setup_registers_drivers_and_is_idempotent(encrypted_file: Callable[..., Path]) -> None:
    path = encrypted_file(sample_data({f"Relay {i}": fake_key() for i in range(3)}))
    init_repo(path.parent)
    (path.parent / ".gitattributes").write_text("*.png binary\n/credentials.yaml -diff\n")
    first = run_credlib(path.parent, "git", "setup")
    assert first.returncode == 0, first.stderr
    config = run_git(path.parent, "config", "--local", "--list").stdout
    assert "diff.credlib.textconv=" in config and "git textconv" in config
    assert "merge.credlib.driver=" in config and "git merge-driver %O %A %B %P" in config
    attrs = (path.parent / ".gitattributes").read_text().splitlines()
    assert attrs == ["*.png binary", "/credentials.yaml diff=credlib merge=credlib"]
    again = run_credlib(path.parent, "git", "setup")
    assert again.returncode == 0 and "already configured" in again.stderr
    assert (path.parent / ".gitattributes").read_text().splitlines() == attrs


def test_setup_for_a_credentials_directory(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "team")
    (repo / "credentials.d").mkdir()
    proc = run_credlib(repo, "-f", "credentials.d", "git", "setup")
    assert proc.returncode == 0, proc.stderr
    assert "/credentials.d/*.yaml diff=credlib merge=credlib" in (repo / ".gitattributes").read_text()


def test_setup_outside_a_repository(encrypted_file: Callable[..., Path]) -> None:
    path = encrypted_file(sample_data({f"Relay {i}": fake_key() for i in range(3)}))
    proc = run_credlib(path.parent, "git", "setup")
    assert proc.returncode == 1 and "not inside a Git repository" in proc.stderr
    assert not (path.parent / ".gitattributes").exists()


def test_textconv_renders_redacted_view(
    encrypted_file: Callable[..., Path], age_identity: AgeIdentity
) -> None:
    keys = {f"Relay {i}": fake_key() for i in range(3)}
    path = encrypted_file(sample_data(keys))
    text = render_text(path.read_bytes())
    for key in keys.values():
        assert key not in text and redact_key(key) in text
    assert f"# sops recipient: {age_identity.recipient}" in text
    assert "mac" not in text and "lastmodified" not in text


def test_textconv_masks_plaintext_files() -> None:
    key = fake_key()
    text = render_text(f"api_key: {key}\n".encode())
    assert "not a sops-encrypted file" in text and key not in text and redact_key(key) in text
