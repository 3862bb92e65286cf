"""Keys never leak: not into subprocess argv, not into output (except show --reveal / copy), not into
any file but the encrypted one."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from credlib import store
from tests.fixtures.env import fake_key
from tests.fixtures.store import run_credlib


@pytest.fixture
def argv_log(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every argv credlib hands to a subprocess during the test, followed by the values of the
    environment it passes (a key must not travel there either)."""
    seen: list[list[str]] = []
    original = subprocess.Popen.__init__

    def recording_init(self: subprocess.Popen[Any], args: Any, *a: Any, **kw: Any) -> None:
        argv = [str(x) for x in args] if isinstance(args, list | tuple) else [str(args)]
        env = kw.get("env") or {}
        seen.append([*argv, *(str(v) for v in env.values())])
        original(self, args, *a, **kw)

    monkeypatch.setattr(subprocess.Popen, "__init__", recording_init)
    return seen


def test_keys_never_leak(tmp_path: Path, argv_log: list[list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    # sops' own edit buffer goes to $TMPDIR: keep it inside the tree the final walk inspects.
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    proj = tmp_path / "proj"
    proj.mkdir()
    f = ("-f", str(proj / "credentials.yaml"))
    keys = [fake_key() for _ in range(4)]
    bearer = fake_key("tok-")
    outputs: list[str] = []

    def run(*args: str, input: str | None = None, secret_output: bool = False) -> None:
        res = run_credlib(*args, input=input, cwd=proj)
        assert res.code == 0, res
        if not secret_output:
            outputs.append(res.out + res.err)

    run("init")
    run(*f, "add", "--name", "One", "--base-url", "one.example.com/v1", "--tag", "t", input=keys[0] + "\n")
    run(*f, "add", "--name", "Two", "--base-url", "two.example.com", input=keys[1] + "\n")
    run(*f, "set", "One", "api_key", input=keys[2] + "\n")
    run(*f, "set", "One", "notes", "a note")
    run(*f, "set", "Two", "tags", "x,y")
    run(*f, "set", "Two", "telemetry.bearer_token", input=bearer + "\n")
    run(*f, "rename", "Two", "Deux")
    run(*f, "ls")
    run(*f, "ls", "--json")
    run(*f, "show", "One")
    run(*f, "show", "Deux", "--json")
    run(*f, "show", "One", "--reveal", secret_output=True)
    run(*f, "copy", "One", "--what", "env", secret_output=True)
    store.add_credentials(
        proj / "credentials.yaml",
        [
            {"name": "Three", "base_url": "three.example.com", "api_key": keys[3]},
        ],
    )
    run(*f, "rm", "Three")
    # Failures print messages built from the file: they must not carry a key either.
    rejected = fake_key()
    failures = [
        run_credlib(*f, "add", "--name", "one", "--base-url", "x.example", input=rejected + "\n", cwd=proj),
        run_credlib(*f, "set", "One", "base_url", "ftp://one.example.com", cwd=proj),
        run_credlib(*f, "rename", "Deux", "ONE", cwd=proj),
        run_credlib(*f, "set", "One", "api_key", rejected, cwd=proj),
    ]
    for res in failures:
        assert res.code not in (0, 70), res  # refused with a documented code, not a crash
        outputs.append(res.out + res.err)

    secrets = [*keys, bearer, rejected]
    # 1. argv of every subprocess (sops included).
    assert argv_log, "expected sops to have been run"
    for argv in argv_log:
        joined = " ".join(argv)
        for s in secrets:
            assert s not in joined, f"a key reached the argv or environment of {argv[:3]}"
    # 2. captured output of every command except show --reveal / copy.
    for text in outputs:
        for s in secrets:
            assert s not in text
    # 3. every file under the test's tmp dir (project, HOME, state dir, sops temp files).
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for s in secrets:
                assert s.encode() not in data, f"a key is in plaintext in {path.relative_to(tmp_path)}"
    # The keys are really there (encrypted), so the checks above looked at the right file.
    shown = json.loads(run_credlib(*f, "show", "One", "--reveal", "--json", cwd=proj).out)
    assert shown["credential"]["api_key"] == keys[2]


def test_redacted_forms_only_in_output(tmp_path: Path) -> None:
    proj = tmp_path / "p"
    proj.mkdir()
    key = fake_key()
    run_credlib("init", cwd=proj)
    run_credlib("add", "--name", "X", "--base-url", "x.example.com", input=key, cwd=proj)
    out = run_credlib("ls", "--json", cwd=proj).out
    shown = json.loads(out)["results"][0]["api_key"]
    assert shown == f"{key[:5]}…{key[-4:]}"


def test_key_pasted_as_an_argument_is_not_echoed(tmp_path: Path) -> None:
    # click's usage errors quote the offending argument; a key must come back redacted.
    key = fake_key()
    res = run_credlib("add", "--name", "X", "--base-url", "x.example.com", key, cwd=tmp_path)
    assert res.code == 64, res
    assert "unexpected extra argument" in res.err
    assert key not in res.err + res.out and f"{key[:5]}…{key[-4:]}" in res.err
