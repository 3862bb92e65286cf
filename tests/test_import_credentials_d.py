"""`credlib import` into a credentials.d directory: duplicates and names checked across every file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fixtures.env import AgeIdentity, fake_key, write_sops_config
from tests.fixtures.git import encrypt_into, run_credlib
from tests.test_merge_git import decrypt


def _cred(name: str, base_url: str, key: str) -> dict[str, Any]:
    return {"name": name, "base_url": base_url, "api_key": key, "api_type": "openai-compatible"}


def test_import_into_a_directory(tmp_path: Path, age_identity: AgeIdentity) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    write_sops_config(project, [age_identity.recipient])
    known, openai_old, new_key = fake_key(), fake_key(), fake_key()
    alpha = encrypt_into(
        project,
        "credentials.d/alpha.yaml",
        {"version": 1, "credentials": [_cred("Openai", "https://old.example.com", openai_old)]},
    )
    beta = encrypt_into(
        project,
        "credentials.d/beta.yaml",
        {"version": 1, "credentials": [_cred("Myrelay", "https://my.example.com", known)]},
    )
    env = tmp_path / "team.env"
    env.write_text(
        f"OPENAI_API_KEY={new_key}\nOPENAI_BASE_URL=https://relay.example.com/v1\n"
        f"MYRELAY_API_KEY={known}\nMYRELAY_BASE_URL=https://my.example.com/v1\n"
    )
    before = {p: p.read_bytes() for p in (alpha, beta)}

    dry = run_credlib(project, "-f", "credentials.d", "import", "--from", "dotenv", str(env), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert {p: p.read_bytes() for p in (alpha, beta)} == before
    assert "would add 1, skipped 1" in dry.stderr

    proc = run_credlib(project, "-f", "credentials.d", "import", "--from", "dotenv", str(env))
    assert proc.returncode == 0, proc.stderr
    for key in (known, openai_old, new_key):
        assert key not in proc.stdout + proc.stderr
    assert alpha.read_bytes() == before[alpha]  # new credentials go to the last file only
    added = [c for c in decrypt(beta)["credentials"] if c["api_key"] == new_key]
    assert len(added) == 1
    # "Openai" is taken in alpha.yaml: the imported one got another name, and the known key was skipped.
    assert added[0]["name"].casefold() != "openai"
    assert [c["api_key"] for c in decrypt(beta)["credentials"]].count(known) == 1
    check = run_credlib(project, "-f", "credentials.d", "check")
    assert check.returncode == 0, check.stdout + check.stderr
