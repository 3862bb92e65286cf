"""`credlib recipients add|rm|ls` with the real sops."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures.env import AgeIdentity, fake_key
from tests.fixtures.git import run_credlib, sample_data
from tests.test_merge_git import decrypt


def _data() -> dict[str, object]:
    return sample_data({f"Relay {i}": fake_key() for i in range(3)})


def test_add_then_rm_recipient(
    encrypted_file: Callable[..., Path], other_identity: AgeIdentity, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _data()
    path = encrypted_file(data)
    key_lines_before = [line for line in path.read_text().splitlines() if "api_key: ENC" in line]

    proc = run_credlib(path.parent, "recipients", "add", other_identity.recipient)
    assert proc.returncode == 0, proc.stderr
    assert other_identity.recipient in (path.parent / ".sops.yaml").read_text()
    assert other_identity.recipient in path.read_text()
    # updatekeys re-encrypts only the data key: every value keeps its ciphertext.
    assert [line for line in path.read_text().splitlines() if "api_key: ENC" in line] == key_lines_before
    check = run_credlib(path.parent, "check")
    assert check.returncode == 0, check.stdout

    # The other machine can now decrypt on its own.
    with monkeypatch.context() as m:
        m.setenv("SOPS_AGE_KEY_FILE", str(other_identity.key_file))
        assert decrypt(path)["credentials"][0]["api_key"] == data["credentials"][0]["api_key"]  # type: ignore[index]

    proc = run_credlib(path.parent, "recipients", "rm", other_identity.recipient)
    assert proc.returncode == 0, proc.stderr
    assert "Revoke those keys at the providers" in proc.stderr
    assert other_identity.recipient not in path.read_text()
    assert other_identity.recipient not in (path.parent / ".sops.yaml").read_text()
    # Rotated: a new data key, so every ciphertext changed.
    after = [line for line in path.read_text().splitlines() if "api_key: ENC" in line]
    assert all(a != b for a, b in zip(after, key_lines_before, strict=True)), (after, key_lines_before)
    assert decrypt(path)["credentials"][2]["api_key"] == data["credentials"][2]["api_key"]  # type: ignore[index]
    assert run_credlib(path.parent, "check").returncode == 0


def test_non_age_recipient_is_refused_and_nothing_written(encrypted_file: Callable[..., Path]) -> None:
    path = encrypted_file(_data())
    config = path.parent / ".sops.yaml"
    before = (config.read_bytes(), path.read_bytes())
    for bad in (
        "not-a-recipient",
        "age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq",
        "0xDEADBEEF0123456789",
        "ssh-dss AAAAB3NzaC1kc3MAAACBAP",
    ):
        proc = run_credlib(path.parent, "recipients", "add", bad)
        assert proc.returncode == 64, proc.stderr
        assert "not" in proc.stderr and "age recipient" in proc.stderr
        assert "Traceback" not in proc.stderr
    assert (config.read_bytes(), path.read_bytes()) == before


def test_secret_key_given_as_recipient_is_not_echoed(
    encrypted_file: Callable[..., Path], other_identity: AgeIdentity
) -> None:
    path = encrypted_file(_data())
    proc = run_credlib(path.parent, "recipients", "add", other_identity.secret)
    assert proc.returncode == 64
    assert "SECRET key" in proc.stderr
    assert other_identity.secret not in proc.stdout + proc.stderr


def test_removing_unknown_or_last_recipient(
    encrypted_file: Callable[..., Path], age_identity: AgeIdentity, other_identity: AgeIdentity
) -> None:
    path = encrypted_file(_data())
    before = path.read_bytes()
    proc = run_credlib(path.parent, "recipients", "rm", other_identity.recipient)
    assert proc.returncode == 8, proc.stderr
    proc = run_credlib(path.parent, "recipients", "rm", age_identity.recipient)
    assert proc.returncode == 64 and "last recipient" in proc.stderr
    assert path.read_bytes() == before


def test_failed_updatekeys_restores_sops_yaml(
    encrypted_file: Callable[..., Path],
    other_identity: AgeIdentity,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = encrypted_file(_data())
    config = path.parent / ".sops.yaml"
    before = (config.read_bytes(), path.read_bytes())
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(tmp_path / "missing-keys.txt"))  # this machine cannot decrypt
    proc = run_credlib(path.parent, "recipients", "add", other_identity.recipient)
    assert proc.returncode == 4, proc.stderr
    assert (config.read_bytes(), path.read_bytes()) == before


def test_ls_shows_recipients(encrypted_file: Callable[..., Path], age_identity: AgeIdentity) -> None:
    path = encrypted_file(_data())
    proc = run_credlib(path.parent, "recipients", "ls")
    assert proc.returncode == 0
    assert age_identity.recipient in proc.stdout


def test_credentials_directory_layout(
    tmp_path: Path, age_identity: AgeIdentity, other_identity: AgeIdentity
) -> None:
    from tests.fixtures.env import write_sops_config
    from tests.fixtures.git import encrypt_into

    project = tmp_path / "team"
    (project / "credentials.d").mkdir(parents=True)
    write_sops_config(project, [age_identity.recipient])
    encrypt_into(project, "credentials.d/a.yaml", sample_data({"Relay 0": fake_key()}, n=1))
    encrypt_into(
        project,
        "credentials.d/b.yaml",
        sample_data({"Relay 0": fake_key()}, n=1, base="https://other{i}.example.com"),
    )
    proc = run_credlib(project, "-f", "credentials.d", "recipients", "add", other_identity.recipient)
    assert proc.returncode == 0, proc.stderr
    for name in ("a.yaml", "b.yaml"):
        assert other_identity.recipient in (project / "credentials.d" / name).read_text()
    check = run_credlib(project, "-f", "credentials.d", "check")
    assert check.returncode == 1  # both files hold "Relay 0": names must be unique across the directory
    assert "duplicate-name" in check.stdout and "recipients" not in check.stdout


@pytest.mark.parametrize(
    ("age_yaml", "expected"),
    [
        ("age: >-\n      {a}", "age: >-\n      {a},\n      {b}\n"),
        ("age: {a}", "age: {a},{b}\n"),
        ("age:\n      - {a}", "age:\n    - {a}\n    - {b}\n"),
    ],
    ids=["folded", "plain", "list"],
)
def test_sops_yaml_style_is_kept(
    tmp_path: Path, age_identity: AgeIdentity, other_identity: AgeIdentity, age_yaml: str, expected: str
) -> None:
    from credlib.gitops import sopsmeta
    from credlib.gitops.recipients import _load_rt, _write_age

    a, b = age_identity.recipient, other_identity.recipient
    config = tmp_path / ".sops.yaml"
    config.write_text("# team keys\ncreation_rules:\n  - path_regex: x\n    " + age_yaml.format(a=a) + "\n")
    yaml, doc = _load_rt(config)
    rule = doc["creation_rules"][0]
    _write_age(rule, [*sopsmeta.split_recipients(rule["age"]), b])
    import io

    buf = io.StringIO()
    yaml.dump(doc, buf)
    text = buf.getvalue()
    assert text.startswith("# team keys\n")
    assert expected.format(a=a, b=b).split("age:")[1].split() == text.split("age:")[1].split()
    assert sopsmeta.rule_recipients(sopsmeta.load_yaml_plain(text)["creation_rules"][0]) == {a, b}
