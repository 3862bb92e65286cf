"""plan through the CLI on a real sops file: summary lines, --detailed-exitcode, --json, no key leaks."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures.reconcile import Project


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from credlib.cli import cli as group
    from credlib.cli.errors import run_cli

    code = run_cli(group, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def setup(project: Project, encrypt_project: Callable[[Project], Path]) -> tuple[Project, Path, list[str]]:
    keys = [project.add("Alpha Relay", tags=["work"]),
            project.add("Beta", api_type="anthropic", models=["claude-sonnet-4-5"])]
    project.target("env", "dotenv", "out/.env")
    project.target("ccr", "claude-code-router", "out/ccr/config.json")
    return project, encrypt_project(project), keys


def test_plan_summary_and_detailed_exitcode(setup: tuple[Project, Path, list[str]],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    project, file, _ = setup
    code, out, _ = cli(capsys, "-f", str(file), "plan", "--offline")
    assert code == 0
    assert "Plan: 2 to create, 0 to update, 0 to delete." in out
    assert '+ Providers[alpha-relay]' in out and "--- /dev/null" in out
    assert not (project.root / "out").exists()  # plan writes no target

    code, _, _ = cli(capsys, "-f", str(file), "plan", "--offline", "--detailed-exitcode")
    assert code == 2

    code, out, _ = cli(capsys, "-f", str(file), "apply", "--offline", "--yes")
    assert code == 0, out
    assert "Apply complete! Targets: 2 created, 0 updated, 0 deleted." in out

    code, out, _ = cli(capsys, "-f", str(file), "plan", "--offline", "--detailed-exitcode")
    assert code == 0
    assert "No changes. Your targets match the credentials file." in out

    code, out, _ = cli(capsys, "-f", str(file), "apply", "--offline")
    assert code == 0 and "No changes." in out  # nothing to approve, so no --yes needed


def test_detailed_exitcode_is_1_when_a_target_fails(
    project: Project, encrypt_project: Callable[[Project], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    project.add("Alpha")
    project.target("env", "dotenv", "out/.env")
    broken = project.target("ccr", "claude-code-router", "out/ccr/config.json")
    assert broken is not None
    broken.parent.mkdir(parents=True)
    broken.write_text("{ not json")
    file = encrypt_project(project)
    code, out, _ = cli(capsys, "-f", str(file), "plan", "--offline", "--detailed-exitcode")
    assert code == 1
    assert "cannot be planned" in out and "failed to plan" in out

    code, out, _ = cli(capsys, "-f", str(file), "apply", "--offline", "--yes")
    assert code == 1
    assert (project.root / "out" / ".env").exists()  # the healthy target was still delivered
    assert 'claude-code-router "ccr": failed' in out


def test_plan_json_shape(setup: tuple[Project, Path, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    _, file, _ = setup
    code, out, _ = cli(capsys, "-f", str(file), "plan", "--offline", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["format_version"] == 1
    assert [t["name"] for t in data["targets"]] == ["env", "ccr"]
    for tgt in data["targets"]:
        assert {"name", "type", "action", "changes"} <= set(tgt)
        assert tgt["action"] == "create"
        assert all({"op", "key", "summary"} <= set(c) for c in tgt["changes"])
    assert data["summary"]["create"] == 2 and data["summary"]["changes_pending"] is True

    code, out, _ = cli(capsys, "-f", str(file), "apply", "--offline", "--yes", "--json")
    data = json.loads(out)
    assert code == 0 and data["format_version"] == 1 and data["confirmed"] is True
    assert all(t["applied"] for t in data["targets"])


def test_apply_without_terminal_needs_yes(setup: tuple[Project, Path, list[str]],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    project, file, _ = setup
    code, out, err = cli(capsys, "-f", str(file), "apply", "--offline")
    assert code == 64
    assert "--yes" in err and "not a terminal" in err
    assert "Plan: 2 to create" in out  # the plan was shown first, like terraform
    assert not (project.root / "out").exists()


def test_no_key_in_plan_diff_json_or_state(setup: tuple[Project, Path, list[str]],
                                          capsys: pytest.CaptureFixture[str], isolated_env: Path) -> None:
    project, file, keys = setup
    outputs = []
    for argv in (("plan", "--offline"), ("plan", "--offline", "--json"), ("apply", "--offline", "--yes"),
                 ("apply", "--offline", "--yes", "--json"), ("status",), ("status", "--json")):
        code, out, err = cli(capsys, "-f", str(file), *argv)
        assert code == 0, (argv, err)
        outputs.append(out + err)
    # Change something so a diff with a changed line is printed too.
    project.credentials[0]["models"] = ["gpt-4.1"]
    from tests.fixtures.env import encrypt_data

    encrypt_data(file, project.document(), [])
    for argv in (("plan", "--offline"), ("plan", "--offline", "--json")):
        outputs.append("".join(cli(capsys, "-f", str(file), *argv)[1:]))
    blob = "\n".join(outputs)
    assert "~ Providers[alpha-relay]" in blob
    state_files = [p for p in (isolated_env / ".local/state/credlib").rglob("*") if p.is_file()]
    assert state_files
    for key in keys:
        assert key not in blob
        for path in state_files:
            assert key.encode() not in path.read_bytes(), path
    # ...while the exports themselves do hold the keys.
    assert keys[0] in (project.root / "out" / ".env").read_text()


@pytest.mark.parametrize(("answer", "code", "written"), [("yes", 0, True), ("no", 1, False), ("y", 1, False)])
def test_apply_asks_on_a_terminal(
    setup: tuple[Project, Path, list[str]], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, answer: str, code: int, written: bool,
) -> None:
    import io

    import click

    project, file, _ = setup
    tty = io.StringIO()
    tty.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr("sys.stdin", tty)
    asked: list[str] = []

    def prompt(text: str, **_kw: object) -> str:
        asked.append(text)
        return answer

    monkeypatch.setattr(click, "prompt", prompt)
    got, out, _ = cli(capsys, "-f", str(file), "apply", "--offline")
    assert got == code
    assert asked and "Only 'yes' will be accepted" in asked[0]
    assert (project.root / "out" / ".env").exists() is written
    assert ("Apply cancelled." in out) is not written


def test_apply_open_hands_new_links_to_the_opener(
    project: Project, encrypt_project: Callable[[Project], Path], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    project.add("Alpha")
    project.add("Beta")
    project.target("cherry", "cherry-studio")
    file = encrypt_project(project)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    opener = bin_dir / "xdg-open"
    # Records only that it was called and with what scheme; never the link (it holds the key).
    opener.write_text(f'#!/bin/sh\necho "${{1%%:*}}" >> {calls}\n')
    opener.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setattr("sys.platform", "linux")

    code, out, _ = cli(capsys, "-f", str(file), "apply", "--offline", "--yes", "--open")
    assert code == 0, out
    assert calls.read_text().split() == ["cherrystudio", "cherrystudio"]
    assert out.count("cherrystudio://providers/api-keys?…") == 2  # the plan lists them redacted
    assert out.count("cherrystudio://providers/api-keys?v=1&data=") == 2  # apply prints the real ones
    code, out, _ = cli(capsys, "-f", str(file), "apply", "--offline", "--yes", "--open")
    assert code == 0 and "No changes." in out
    assert calls.read_text().split() == ["cherrystudio", "cherrystudio"]  # nothing new to open


def test_status_cli_shows_sync_and_drift(setup: tuple[Project, Path, list[str]],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    project, file, _ = setup
    code, out, _ = cli(capsys, "-f", str(file), "status")
    assert code == 0
    assert "Alpha Relay" in out and "never" in out  # never verified on this machine
    assert "pending (create)" in out
    cli(capsys, "-f", str(file), "apply", "--offline", "--yes")
    code, out, _ = cli(capsys, "-f", str(file), "status")
    assert out.count("in sync") == 2
    env = project.root / "out" / ".env"
    env.write_text(env.read_text() + "HAND=1\n")
    project.credentials[0]["models"] = ["gpt-4.1"]
    from tests.fixtures.env import encrypt_data

    encrypt_data(file, project.document(), [])
    code, out, _ = cli(capsys, "-f", str(file), "status")
    assert code == 0
    assert "drift: changed by hand since the last apply" in out
    assert "pending (update)" in out  # ccr was not touched by hand


def test_bad_command_lines_exit_with_documented_codes(
    setup: tuple[Project, Path, list[str]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, file, _ = setup
    code, _, err = cli(capsys, "-f", str(file), "plan", "--offline", "--target", "nope")
    assert code == 8 and "no target named 'nope' (targets: env, ccr)" in err and "Traceback" not in err
    code, _, err = cli(capsys, "-f", str(file), "apply", "--lock-timeout", "-1")
    assert code == 64
    code, _, err = cli(capsys, "-f", str(tmp_path / "missing.yaml"), "plan")
    assert code not in (0, 1, 2) and "missing.yaml" in err and "Traceback" not in err
    code, _, err = cli(capsys, "demo", "--out", str(tmp_path / "d"), "--examples", str(tmp_path / "none"))
    assert code == 6 and "credentials.yaml" in err and "--examples" in err
    assert not (tmp_path / "d").exists()


def test_plan_lines_are_written_at_once_and_coloured_only_when_asked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import click

    from credlib.cli.cmd_reconcile import echo_lines

    lines = ["  # ccr will be updated", "      + Providers[a]", "      ~ Router.default", "      - x", "Plan"]
    with click.Context(click.Command("plan")):
        echo_lines(lines)  # not a terminal: plain text
    assert capsys.readouterr().out == "\n".join(lines) + "\n"
    with click.Context(click.Command("plan"), color=True):
        echo_lines(lines)
    out = capsys.readouterr().out
    assert click.style("      + Providers[a]", fg="green") in out
    assert click.style("      - x", fg="red") in out and "\x1b" not in out.split("\n")[0]
    echo_lines([])
    assert capsys.readouterr().out == ""


def test_heading_of_an_unknown_type_does_not_call_it_a_deep_link(project: Project) -> None:
    from credlib.reconcile.report import plan_text

    project.add("Alpha")
    project.targets.append({"name": "bad", "type": "codexx"})
    project.targets.append({"name": "links", "type": "cherry-studio"})
    result = project.run(offline=True)
    text = "\n".join(plan_text(result.plan, 1))
    assert '# codexx "bad" (no path or url) cannot be planned' in text
    assert "unknown target type 'codexx'" in text
    assert '# cherry-studio "links" (deep link) will be created' in text


def test_relative_target_path_is_shown_resolved_next_to_the_credentials_file(
    project: Project,
    encrypt_project: Callable[[Project], Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project.add("Alpha")
    project.targets.append({"name": "env", "type": "dotenv", "path": "out/.env"})
    encrypt_project(project)
    monkeypatch.chdir(project.root)
    code, out, _ = cli(capsys, "-f", "credentials.yaml", "plan", "--offline")
    assert code == 0
    assert f'# dotenv "env" ({project.root / "out/.env"}) will be created' in out
