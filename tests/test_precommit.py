"""The shipped hooks, run by the real `pre-commit` package in a real repository.

The hooks are taken from this repo's `.pre-commit-hooks.yaml` and declared as `repo: local` with
`language: system` (the credlib under test is on PATH; a `language: python` install from PyPI would
test packaging, not the hooks). Everything else — entry, files regex, stages, pass_filenames — is the
manifest's own.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.env import VENV_BIN, AgeIdentity, encrypt_data, fake_key, write_sops_config
from tests.fixtures.git import commit_all, init_repo, run_git, sample_data

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / ".pre-commit-hooks.yaml"


def _manifest() -> list[dict[str, Any]]:
    from ruamel.yaml import YAML

    hooks: list[dict[str, Any]] = YAML(typ="safe").load(MANIFEST.read_text())
    return hooks


def _local_config(hook_ids: list[str]) -> str:
    import json

    hooks = []
    for hook in _manifest():
        if hook["id"] in hook_ids:
            local = {
                k: v
                for k, v in hook.items()
                if k not in ("additional_dependencies", "minimum_pre_commit_version")
            }
            local["language"] = "system"
            hooks.append(local)
    # JSON is YAML: no quoting surprises for the regexes.
    return json.dumps({"repos": [{"repo": "local", "hooks": hooks}]}, indent=2)


def _precommit(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(repo.parent / "pre-commit-home"), "PRE_COMMIT_COLOR": "never"}
    return subprocess.run(
        [str(VENV_BIN / "pre-commit"), *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )


@pytest.fixture
def hooked_repo(tmp_path: Path, age_identity: AgeIdentity) -> Callable[[], Path]:
    def make() -> Path:
        repo = init_repo(tmp_path / "repo")
        write_sops_config(repo, [age_identity.recipient])
        encrypt_data(
            repo / "credentials.yaml",
            sample_data({f"Relay {i}": fake_key() for i in range(3)}),
            [age_identity.recipient],
        )
        (repo / ".pre-commit-config.yaml").write_text(_local_config(["credlib-check", "credlib-forbid-keys"]))
        proc = _precommit(repo, "install")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return repo

    return make


def _commit(repo: Path, message: str) -> subprocess.CompletedProcess[str]:
    run_git(repo, "add", "-A")
    return run_git(
        repo,
        "commit",
        "-m",
        message,
        check=False,
        env={"PRE_COMMIT_HOME": str(repo.parent / "pre-commit-home"), "PRE_COMMIT_COLOR": "never"},
    )


def test_manifest_is_valid_for_pre_commit() -> None:
    proc = subprocess.run(
        [str(VENV_BIN / "pre-commit"), "validate-manifest", str(MANIFEST)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ids = {h["id"]: h for h in _manifest()}
    assert ids["credlib-check"]["pass_filenames"] is True and "pre-commit" in ids["credlib-check"]["stages"]
    assert ids["credlib-verify"]["stages"] == ["pre-push", "manual"]


def test_clean_encrypted_commit_passes(hooked_repo: Callable[[], Path]) -> None:
    repo = hooked_repo()
    proc = _commit(repo, "encrypted credentials")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "credlib check" in proc.stdout + proc.stderr


def test_commit_with_plaintext_key_is_refused(
    hooked_repo: Callable[[], Path], age_identity: AgeIdentity
) -> None:
    repo = hooked_repo()
    commit_all(repo, "start")  # hooks pass on the clean file
    path = repo / "credentials.yaml"
    key = fake_key()
    # A key pasted as plaintext into a readable field of the encrypted file.
    text = path.read_text().replace("notes: note 1", f"notes: {key}", 1)
    path.write_text(text)
    head = run_git(repo, "rev-parse", "HEAD").stdout
    proc = _commit(repo, "oops")
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "credentials.yaml:" in output and "looks like a key" in output
    assert key not in output
    assert run_git(repo, "rev-parse", "HEAD").stdout == head


def test_unencrypted_credentials_file_is_refused(hooked_repo: Callable[[], Path]) -> None:
    repo = hooked_repo()
    key = fake_key()
    (repo / "team.credentials.yaml").write_text(
        "version: 1\ncredentials:\n  - name: Plain\n    base_url: https://x.example.com\n"
        f"    api_key: {key}\n"
    )
    proc = _commit(repo, "plaintext file")
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "not sops-encrypted" in output and "value is not encrypted" in output
    assert key not in output


def test_age_secret_key_anywhere_is_refused(
    hooked_repo: Callable[[], Path], other_identity: AgeIdentity
) -> None:
    repo = hooked_repo()
    (repo / "docs").mkdir()
    (repo / "docs" / "setup-notes.md").write_text(f"my key, for later:\n\n    {other_identity.secret}\n")
    proc = _commit(repo, "notes")
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "docs/setup-notes.md:3: an age secret key must never be committed" in output
    assert other_identity.secret not in output
