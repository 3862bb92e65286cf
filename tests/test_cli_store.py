"""The everyday commands end to end: init, add, ls, show, copy, set, rename, rm, schema, edit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.env import VENV_BIN, fake_key
from tests.fixtures.store import CliResult, run_credlib


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    p = tmp_path / "proj"
    p.mkdir()
    return p


@pytest.fixture
def initialized(proj: Path) -> Path:
    res = run_credlib("init", cwd=proj)
    assert res.code == 0, res
    return proj / "credentials.yaml"


def add(path: Path, name: str, url: str, key: str, *extra: str) -> CliResult:
    return run_credlib("-f", str(path), "add", "--name", name, "--base-url", url, *extra, input=key + "\n")


def test_init_creates_everything_and_never_overwrites(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOPS_AGE_KEY_FILE")
    res = run_credlib("init", "--json", cwd=proj)
    assert res.code == 0, res
    payload = json.loads(res.out)
    assert payload["format_version"] == 1
    identity = Path(os.environ["XDG_CONFIG_HOME"]) / "sops" / "age" / "keys.txt"
    assert payload["identity_file"] == str(identity)
    assert identity.stat().st_mode & 0o777 == 0o600
    for name in (".sops.yaml", ".gitattributes", "credentials.yaml", "credlib.schema.json"):
        assert (proj / name).exists(), name
    sops_yaml = (proj / ".sops.yaml").read_text()
    assert "encrypted_regex: '^(api_key|access_token|management_key|bearer_token)$'" in sops_yaml
    assert "mac_only_encrypted: true" in sops_yaml
    assert payload["recipients"][0] in sops_yaml
    assert (proj / ".gitattributes").read_text() == "/credentials.yaml diff=credlib merge=credlib\n"
    assert (proj / "credentials.yaml").read_text().startswith("# yaml-language-server: $schema=")
    snapshot = {p.name: p.read_bytes() for p in proj.iterdir()}
    ident_bytes = identity.read_bytes()
    again = run_credlib("init", "--json", cwd=proj)
    assert again.code == 0, again
    assert json.loads(again.out)["created"] == []
    assert {p.name: p.read_bytes() for p in proj.iterdir()} == snapshot
    assert identity.read_bytes() == ident_bytes


def test_init_uses_existing_identity(proj: Path, age_identity: object) -> None:
    res = run_credlib("init", "--json", cwd=proj)
    payload = json.loads(res.out)
    assert payload["recipients"] == [age_identity.recipient]  # type: ignore[attr-defined]
    assert payload["identity_file"] in payload["kept"]


def test_init_extra_recipient_validated(proj: Path, other_identity: object) -> None:
    bad = run_credlib("init", "--recipient", "age1nope", cwd=proj)
    assert bad.code == 64 and "not an age recipient" in bad.err
    assert not (proj / ".sops.yaml").exists()
    ok = run_credlib("init", "--recipient", other_identity.recipient, cwd=proj)  # type: ignore[attr-defined]
    assert ok.code == 0
    assert other_identity.recipient in (proj / ".sops.yaml").read_text()  # type: ignore[attr-defined]


def test_add_ls_show(initialized: Path) -> None:
    k1, k2 = fake_key(), fake_key()
    assert (
        add(
            initialized,
            "Company Relay",
            "relay.example.com/v1",
            k1,
            "--tag",
            "work",
            "--notes",
            "Claude only",
        ).code
        == 0
    )
    assert (
        add(initialized, "Personal", "https://p.example.com:8443/api/v1/", k2, "--type", "openai").code == 0
    )
    res = run_credlib("-f", str(initialized), "ls", "--json")
    payload = json.loads(res.out)
    assert payload["format_version"] == 1
    assert [r["name"] for r in payload["results"]] == ["Company Relay", "Personal"]
    first = payload["results"][0]
    assert first["base_url"] == "https://relay.example.com" and first["id"] == "company-relay"
    assert first["api_key"] != k1 and first["api_key"].startswith(k1[:5])
    table = run_credlib("-f", str(initialized), "ls")
    assert "Company Relay" in table.out and "NAME" in table.out and k1 not in table.out
    show = run_credlib("-f", str(initialized), "show", "company relay")
    assert "https://relay.example.com" in show.out and k1 not in show.out
    reveal = run_credlib("-f", str(initialized), "show", "company-relay", "--reveal", "--json")
    assert json.loads(reveal.out)["credential"]["api_key"] == k1


def test_ls_search_and_filters(initialized: Path) -> None:
    add(
        initialized,
        "Company Relay",
        "relay.example.com",
        fake_key(),
        "--tag",
        "work",
        "--notes",
        "Only Claude",
    )
    add(initialized, "Personal", "api.home.example", fake_key(), "--tag", "home", "--type", "anthropic")
    add(initialized, "Backup", "backup.example.net", fake_key(), "--tag", "work", "--tag", "spare")

    def names(*args: str) -> list[str]:
        res = run_credlib("-f", str(initialized), "ls", *args, "--json")
        assert res.code == 0, res
        return [r["name"] for r in json.loads(res.out)["results"]]

    assert names("ＣＬＡＵＤＥ") == ["Company Relay"]  # full-width, case-insensitive, notes
    assert names("home.example") == ["Personal"]  # base URL
    assert names("spare") == ["Backup"]  # tags
    assert names("relay only") == []  # not contiguous
    assert names("--tag", "work") == ["Company Relay", "Backup"]
    assert names("--tag", "home", "--tag", "spare") == ["Personal", "Backup"]  # any-of
    assert names("--type", "anthropic") == ["Personal"]
    assert names("relay", "--tag", "home") == []


def test_copy_prints_without_clipboard(initialized: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    key = fake_key()
    add(initialized, "Relay", "relay.example.com", key)
    res = run_credlib("-f", str(initialized), "copy", "relay")
    assert res.code == 0 and res.out.strip() == key
    env = run_credlib("-f", str(initialized), "copy", "relay", "--what", "env")
    assert env.out == f"BASE_URL=https://relay.example.com\nAPI_KEY={key}\n"
    url = run_credlib("-f", str(initialized), "copy", "relay", "--what", "base_url", "--json")
    assert json.loads(url.out)["value"] == "https://relay.example.com"


def test_copy_uses_clipboard_tool_via_stdin(
    initialized: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = fake_key()
    add(initialized, "Relay", "relay.example.com", key)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    sink = tmp_path / "clip.txt"
    tool = bindir / "wl-copy"
    tool.write_text(f"#!/bin/sh\ncat > {sink}\n")
    tool.chmod(0o755)
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-test")
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    res = run_credlib("-f", str(initialized), "copy", "Relay")
    assert res.code == 0 and key not in res.out and "wl-copy" in res.err
    assert sink.read_text() == key


def test_set_rename_rm(initialized: Path) -> None:
    key = fake_key()
    add(initialized, "Relay", "relay.example.com", key)
    f = ("-f", str(initialized))
    assert run_credlib(*f, "set", "relay", "notes", "hello there").code == 0
    assert run_credlib(*f, "set", "relay", "tags", "a,b").code == 0
    refused = run_credlib(*f, "set", "relay", "api_key", "sk-on-the-command-line")
    assert refused.code == 64 and "never read from the command line" in refused.err
    new_key = fake_key()
    assert run_credlib(*f, "set", "relay", "api_key", input=new_key + "\n").code == 0
    assert run_credlib(*f, "set", "relay", "notes", "--unset").code == 0
    shown = json.loads(run_credlib(*f, "show", "relay", "--reveal", "--json").out)["credential"]
    assert shown["api_key"] == new_key and shown["tags"] == ["a", "b"] and shown["notes"] is None
    assert run_credlib(*f, "rename", "relay", "Relay Two").code == 0
    assert json.loads(run_credlib(*f, "show", "relay two", "--json").out)["credential"]["id"] == "relay"
    missing = run_credlib(*f, "rm", "nope")
    assert missing.code == 8 and "no credential named" in missing.err
    assert run_credlib(*f, "rm", "Relay Two", "--json").code == 0
    assert json.loads(run_credlib(*f, "ls", "--json").out)["results"] == []


def test_schema_command(initialized: Path) -> None:
    res = run_credlib("schema")
    schema = json.loads(res.out)
    assert schema["$schema"].startswith("https://json-schema.org/")
    cred = schema["properties"]["credentials"]["items"]
    assert cred["required"] == ["name", "base_url", "api_key"]
    wrapped = json.loads(run_credlib("schema", "--json").out)
    assert wrapped["format_version"] == 1 and wrapped["schema"] == schema
    assert json.loads((initialized.parent / "credlib.schema.json").read_text()) == schema


def _credlib_subprocess(
    args: list[str], env_extra: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **env_extra}
    return subprocess.run(
        [str(VENV_BIN / "credlib"), *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_edit_with_scripted_editor(initialized: Path, tmp_path: Path) -> None:
    add(initialized, "Relay", "relay.example.com", fake_key())
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys\n"
        "p = sys.argv[-1]\n"
        "t = open(p).read()\n"
        "t = t.replace('name: Relay', 'name: Relay Edited')\n"
        "t = t.replace('base_url: https://relay.example.com', 'base_url: https://relay.example.com/v1/')\n"
        "open(p, 'w').write(t)\n"
    )
    res = _credlib_subprocess(["edit"], {"EDITOR": f"{sys.executable} {editor}"}, initialized.parent)
    assert res.returncode == 0, res.stderr
    assert "saved" in res.stderr
    out = json.loads(run_credlib("-f", str(initialized), "ls", "--json").out)["results"]
    assert out[0]["name"] == "Relay Edited"
    # Normalized on save: the file itself holds the stored form.
    assert "base_url: https://relay.example.com\n" in initialized.read_text()
    unchanged = _credlib_subprocess(["edit"], {"EDITOR": "true"}, initialized.parent)
    assert unchanged.returncode == 0 and "no changes" in unchanged.stderr


def test_every_command_has_json_flag() -> None:
    for command in ("init", "add", "edit", "rm", "rename", "set", "ls", "show", "copy", "schema"):
        res = run_credlib(command, "--help")
        assert res.code == 0 and "--json" in res.out, command


def test_edit_reopens_until_valid(initialized: Path, tmp_path: Path) -> None:
    """On a terminal, a file that does not validate re-opens the editor; the fixed save is kept."""
    import pty

    add(initialized, "Relay", "relay.example.com", fake_key())
    counter = tmp_path / "count"
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys, pathlib\n"
        f"c = pathlib.Path({str(counter)!r})\n"
        "n = int(c.read_text()) if c.exists() else 0\n"
        "c.write_text(str(n + 1))\n"
        "p = sys.argv[-1]\n"
        "t = open(p).read()\n"
        "if n == 0:\n"
        "    t = t.replace('name: Relay', 'name: Relay\\n      colour: red')\n"
        "else:\n"
        "    t = t.replace('      colour: red\\n', '').replace('name: Relay', 'name: Fixed')\n"
        "open(p, 'w').write(t)\n"
    )
    master, slave = pty.openpty()
    try:
        os.write(master, b"y\n")  # the answer to "Re-open the editor?"
        proc = subprocess.run(
            [str(VENV_BIN / "credlib"), "-f", str(initialized), "edit"],
            env={**os.environ, "EDITOR": f"{sys.executable} {editor}"},
            stdin=slave,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(slave)
        os.close(master)
    assert proc.returncode == 0, proc.stderr
    assert "unknown field 'colour'" in proc.stderr and "Re-open the editor" in proc.stderr
    assert counter.read_text() == "2"
    names = [
        r["name"] for r in json.loads(run_credlib("-f", str(initialized), "ls", "--json").out)["results"]
    ]
    assert names == ["Fixed"]


def test_init_with_inline_identity_creates_no_key_file(
    proj: Path, monkeypatch: pytest.MonkeyPatch, age_identity: object
) -> None:
    monkeypatch.delenv("SOPS_AGE_KEY_FILE")
    monkeypatch.setenv("SOPS_AGE_KEY", age_identity.secret)  # type: ignore[attr-defined]
    res = run_credlib("init", "--json", cwd=proj)
    assert res.code == 0, res
    payload = json.loads(res.out)
    assert payload["identity_file"] == "$SOPS_AGE_KEY"
    assert payload["recipients"] == [age_identity.recipient]  # type: ignore[attr-defined]
    assert not (Path(os.environ["XDG_CONFIG_HOME"]) / "sops" / "age" / "keys.txt").exists()
    assert age_identity.secret not in res.out + res.err  # type: ignore[attr-defined]
