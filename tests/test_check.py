"""`credlib check`: offline, keyless, per-file and per-line findings."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from credlib.gitops.check import check_paths
from credlib.gitops.patterns import find_secrets
from tests.fixtures.env import AgeIdentity, fake_key, sops_binary, write_sops_config
from tests.fixtures.git import encrypt_into, run_credlib, sample_data


def _file(encrypted_file: Callable[..., Path], n: int = 3) -> Path:
    return encrypted_file(sample_data({f"Relay {i}": fake_key() for i in range(n)}, n=n))


def _rules(path: Path) -> list[tuple[int | None, str]]:
    [result] = check_paths([path])
    return [(f.line, f.rule) for f in result.findings]


def test_clean_file_passes_without_any_key(
    encrypted_file: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _file(encrypted_file)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(tmp_path / "no-such-key"))
    monkeypatch.setenv("PATH", "/nonexistent")  # not even sops is needed
    assert _rules(path) == []


def test_cli_exit_codes_and_json(encrypted_file: Callable[..., Path]) -> None:
    path = _file(encrypted_file)
    ok = run_credlib(path.parent, "check", "--json")
    assert ok.returncode == 0
    report = json.loads(ok.stdout)
    assert report["format_version"] == 1 and report["ok"] is True
    path.write_text(path.read_text().replace("notes: note 0", "notes: note 0 # " + fake_key(), 1))
    bad = run_credlib(path.parent, "check")
    assert bad.returncode == 1
    assert f"{path.name}:" in bad.stdout and "comment looks like a key" in bad.stdout


def test_plaintext_secret_field_and_line(encrypted_file: Callable[..., Path]) -> None:
    path = _file(encrypted_file)
    lines = path.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if "api_key: ENC[" in line)
    key = fake_key()
    lines[index] = lines[index].split("ENC[")[0] + key
    path.write_text("\n".join(lines) + "\n")
    [result] = check_paths([path])
    found = [(f.line, f.rule, f.path) for f in result.findings]
    assert (index + 1, "plaintext-secret", "credentials[0].api_key") in found
    assert all(key not in f.render() for f in result.findings)
    # Reported once for that line, not again as key-like text.
    assert not any(f.rule == "key-like-text" and f.line == index + 1 for f in result.findings)


def test_file_selector_is_respected(encrypted_file: Callable[..., Path]) -> None:
    """A field the file's own encrypted_regex selects must be encrypted, even if credlib does not know it."""
    path = _file(encrypted_file)
    text = path.read_text().replace(
        "encrypted_regex: ^(api_key|access_token|management_key|bearer_token)$",
        "encrypted_regex: ^(api_key|access_token|management_key|bearer_token|notes)$",
    )
    path.write_text(text)
    rules = _rules(path)
    assert "plaintext-secret" in {r for _, r in rules}
    [result] = check_paths([path])
    assert {f.path for f in result.findings if f.rule == "plaintext-secret"} == {
        f"credentials[{i}].notes" for i in range(3)
    }


def test_malformed_ciphertext(encrypted_file: Callable[..., Path]) -> None:
    path = _file(encrypted_file)
    path.write_text(path.read_text().replace("type:str]", "type:nope]", 1))
    assert "malformed-ciphertext" in {r for _, r in _rules(path)}


def test_not_encrypted_plaintext_file(tmp_path: Path, age_identity: AgeIdentity) -> None:
    write_sops_config(tmp_path, [age_identity.recipient])
    key = fake_key()
    path = tmp_path / "credentials.yaml"
    path.write_text(
        f"version: 1\ncredentials:\n  - name: A\n    base_url: https://a.example.com\n    api_key: {key}\n"
    )
    rules = _rules(path)
    assert (None, "not-encrypted") in rules or any(r == "not-encrypted" for _, r in rules)
    assert (5, "plaintext-secret") in rules


def test_conflict_markers(encrypted_file: Callable[..., Path]) -> None:
    path = _file(encrypted_file)
    lines = path.read_text().splitlines()
    lines[3:3] = ["<<<<<<< HEAD", "      notes: ours", "=======", "      notes: theirs", ">>>>>>> branch"]
    path.write_text("\n".join(lines) + "\n")
    rules = _rules(path)
    assert [line for line, rule in rules if rule == "conflict-marker"] == [4, 6, 8]


def test_invalid_yaml_is_located(tmp_path: Path) -> None:
    path = tmp_path / "credentials.yaml"
    path.write_text("version: 1\ncredentials:\n  - name: [unclosed\n")
    [result] = check_paths([path])
    assert result.findings[0].rule == "yaml" and result.findings[0].line is not None


def test_schema_problems_without_decrypting(encrypted_file: Callable[..., Path]) -> None:
    path = _file(encrypted_file)
    path.write_text(
        path.read_text()
        .replace("base_url: https://relay1.example.com", "base_url: ftp://x", 1)
        .replace("notes: note 2", "notes: note 2\n      colour: blue", 1)
    )
    [result] = check_paths([path])
    schema = {(f.path, f.line) for f in result.findings if f.rule == "schema"}
    paths = {p for p, _ in schema}
    assert "credentials[1].base_url" in paths and any(p.startswith("credentials[2]") for p in paths)
    assert all(line is not None for _, line in schema)


def test_recipients_must_match_sops_yaml(
    encrypted_file: Callable[..., Path], other_identity: AgeIdentity, age_identity: AgeIdentity
) -> None:
    path = _file(encrypted_file)
    write_sops_config(path.parent, [age_identity.recipient, other_identity.recipient])
    [result] = check_paths([path])
    [finding] = [f for f in result.findings if f.rule == "recipients"]
    assert other_identity.recipient in finding.message and "updatekeys" in finding.message


def test_no_matching_rule(encrypted_file: Callable[..., Path]) -> None:
    path = _file(encrypted_file)
    renamed = path.with_name("elsewhere.yaml")
    path.rename(renamed)
    assert any(r == "recipients" for _, r in _rules(renamed))


def test_credentials_d_names_unique_across_files(tmp_path: Path, age_identity: AgeIdentity) -> None:
    project = tmp_path / "proj"
    directory = project / "credentials.d"
    directory.mkdir(parents=True)
    write_sops_config(project, [age_identity.recipient])
    for name in ("a.yaml", "b.yaml"):
        encrypt_into(project, f"credentials.d/{name}", sample_data({"Relay 0": fake_key()}, n=1))
    results = check_paths([directory])
    assert [r.file for r in results] == [str(directory / "a.yaml"), str(directory / "b.yaml")]
    assert any(f.rule == "duplicate-name" for f in results[1].findings)
    # pre-commit passes only the staged file: the other files of the directory still count.
    proc = run_credlib(project, "check", "credentials.d/a.yaml")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "credentials.d/a.yaml:" in proc.stdout
    assert "name 'Relay 0' is also used in credentials.d/b.yaml [duplicate-name]" in proc.stdout


def _random(n: int) -> str:
    import secrets

    return secrets.token_urlsafe(n * 2)[:n]


@pytest.mark.parametrize(
    ("make", "rule"),
    [
        (lambda: "sk-ant-api03-" + _random(93) + "AA", "anthropic-api-key"),
        (lambda: "sk-proj-" + _random(74), "openai-project-key"),
        (lambda: "AIza" + _random(35), "google-api-key"),
        (lambda: fake_key(), "relay-sk-key"),
    ],
    ids=["anthropic", "openai-project", "google", "relay"],
)
def test_patterns(make: Callable[[], str], rule: str) -> None:
    found = find_secrets(f"value: {make()}  # trailing")
    assert [f.rule for f in found] == [rule]


def test_age_secret_key_pattern(other_identity: AgeIdentity) -> None:
    assert [f.rule for f in find_secrets(other_identity.secret)] == ["age-secret-key"]


def test_patterns_ignore_ordinary_text() -> None:
    for text in (
        "https://relay.example.com/api",
        "sk-learn-contrib-imbalanced-learn",
        "data.items.0.balance",
        "claude-sonnet-4-5-20250929",
        "0123456789abcdef" * 4,
    ):
        assert find_secrets(text) == [], text
    assert find_secrets(fake_key())  # a runtime-generated relay key is caught


def test_scan_only_mode(tmp_path: Path, other_identity: AgeIdentity) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text(f"# setup\n\n{other_identity.secret}\n")
    [result] = check_paths([notes], scan_only=True)
    assert [(f.line, f.rule) for f in result.findings] == [(3, "age-secret-key")]
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\0\1\2" + other_identity.secret.encode())
    assert check_paths([binary], scan_only=True)[0].ok


def test_large_file_is_clean_and_findings_keep_their_lines(encrypted_file: Callable[..., Path]) -> None:
    """500 credentials through the fast line reader (speed: bench/bench_check.py, no timing here)."""
    path = _file(encrypted_file, n=500)
    [result] = check_paths([path])
    assert result.ok, [f.render() for f in result.findings][:3]
    lines = path.read_text().splitlines()
    index = max(i for i, line in enumerate(lines) if line.strip().startswith("notes:"))
    lines[index] = lines[index].split("notes:")[0] + "notes: " + fake_key()
    lines.insert(5, "    # " + fake_key("sk-ant-api03-"))
    path.write_text("\n".join(lines) + "\n")
    [result] = check_paths([path])
    assert {(f.line, f.rule, f.path) for f in result.findings} == {
        (6, "key-like-text", ""),  # a comment: no field
        (index + 2, "key-like-text", "credentials[499].notes"),
    }


def _encrypt_yaml(directory: Path, text: str, rule: str, recipient: str) -> Path:
    """Encrypt YAML ``text`` (comments and all) with a `.sops.yaml` rule using ``rule`` as selector."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / ".sops.yaml").write_text(
        f"creation_rules:\n  - path_regex: credentials\\.yaml$\n    {rule}\n    age: {recipient}\n"
    )
    proc = subprocess.run(
        [
            sops_binary(),
            "encrypt",
            "--filename-override",
            "credentials.yaml",
            "--input-type",
            "yaml",
            "--output-type",
            "yaml",
            "/dev/stdin",
        ],
        input=text.encode(),
        capture_output=True,
        cwd=directory,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    path = directory / "credentials.yaml"
    path.write_bytes(proc.stdout)
    return path


def _commented_document(keys: list[str], *, mark_keys: bool) -> str:
    mark = "    # sops:enc\n" if mark_keys else ""
    return (
        "version: 1\n"
        "credentials:\n"
        "  - name: Relay A\n"
        "    base_url: https://a.example.com/v1\n"
        f"{mark}    api_key: {keys[0]}\n"
        "    # sops:enc\n"
        "    notes: private note\n"
        "    tags: [work]\n"
        "  - name: Relay B\n"
        "    base_url: https://b.example.com/v1\n"
        f"{mark}    api_key: {keys[1]}\n"
        "    notes: public note\n"
    )


def test_encrypted_comment_regex_is_evaluated(tmp_path: Path, age_identity: AgeIdentity) -> None:
    """sops encrypts the value after a comment matching `encrypted_comment_regex`: check demands it too."""
    keys = [fake_key(), fake_key()]
    path = _encrypt_yaml(
        tmp_path / "proj",
        _commented_document(keys, mark_keys=True),
        'encrypted_comment_regex: "sops:enc"',
        age_identity.recipient,
    )
    text = path.read_text()
    assert "notes: public note" in text  # sops left the unmarked note alone
    [result] = check_paths([path])
    assert result.ok, [f.render() for f in result.findings]
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if line.strip().startswith("notes: ENC["))
    lines[index] = lines[index].split("notes:")[0] + "notes: private note"
    path.write_text("\n".join(lines) + "\n")
    [result] = check_paths([path])
    found = [(f.line, f.rule, f.path) for f in result.findings]
    assert found == [(index + 1, "plaintext-secret", "credentials[0].notes")], found
    assert "encrypted_comment_regex" in result.findings[0].message


def test_unencrypted_comment_regex_is_evaluated(tmp_path: Path, age_identity: AgeIdentity) -> None:
    """With `unencrypted_comment_regex` only the marked value may stay plaintext."""
    keys = [fake_key(), fake_key()]
    path = _encrypt_yaml(
        tmp_path / "proj",
        _commented_document(keys, mark_keys=False),
        'unencrypted_comment_regex: "sops:enc"',
        age_identity.recipient,
    )
    text = path.read_text()
    assert "notes: private note" in text and "public note" not in text
    [before] = check_paths([path])
    assert not [f for f in before.findings if f.rule == "plaintext-secret"], [
        f.render() for f in before.findings
    ]
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if line.strip().startswith("notes: ENC["))
    lines[index] = lines[index].split("notes:")[0] + "notes: public note"
    path.write_text("\n".join(lines) + "\n")
    [result] = check_paths([path])
    found = [(f.line, f.rule, f.path) for f in result.findings if f.rule == "plaintext-secret"]
    assert found == [(index + 1, "plaintext-secret", "credentials[1].notes")], found


def test_missing_default_file(tmp_path: Path) -> None:
    proc = run_credlib(tmp_path, "check")
    assert proc.returncode == 6 and "no such file" in proc.stderr
    assert os.listdir(tmp_path) == ["home"] or "credentials.yaml" not in os.listdir(tmp_path)


def test_broken_selector_regex_is_a_finding(encrypted_file: Callable[..., Path]) -> None:
    path = _file(encrypted_file)
    path.write_text(
        path.read_text().replace(
            "encrypted_regex: ^(api_key|access_token|management_key|bearer_token)$",
            "encrypted_regex: ^(api_key",
        )
    )
    rules = {r for _, r in _rules(path)}
    assert "sops-metadata" in rules


def test_key_pasted_into_the_sops_block_is_found(
    encrypted_file: Callable[..., Path], other_identity: AgeIdentity
) -> None:
    path = _file(encrypted_file)
    lines = path.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("    lastmodified:"))
    lines.insert(index, f"    # {other_identity.secret}")
    path.write_text("\n".join(lines) + "\n")
    [result] = check_paths([path])
    assert [(f.line, f.rule) for f in result.findings] == [(index + 1, "key-like-text")]
    assert "age-secret-key" in result.findings[0].message
    assert other_identity.secret not in result.findings[0].render()


def test_lone_equals_sign_is_a_string() -> None:
    # sops (go-yaml) writes and reads notes "=" as a plain `=`; YAML 1.1 would call it a value tag.
    from credlib.gitops import blockyaml
    from credlib.gitops.check import _to_python, _Walk
    from credlib.yamledit import load_roundtrip

    text = "version: 1\nnotes: =\n"
    assert _to_python(load_roundtrip(text), "", _Walk(), None)["notes"] == "="
    assert blockyaml.parse(text).root["notes"] == "="
