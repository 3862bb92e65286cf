"""File deliveries merge into the tool's own file: hand-made entries, comments and unknown keys
survive; removing a credential removes only its entries; drift and bad files are reported."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.exports_helpers import all_text, apply, cred, new_state, plan, target


def test_json_ccr_hand_added_provider_and_unknown_keys_survive(tmp_path: Path) -> None:
    path = tmp_path / "ccr" / "config.json"
    path.parent.mkdir()
    hand = {
        "name": "hand",
        "api_base_url": "https://h/v1/chat/completions",
        "api_key": "hand-key-12345678",
        "models": ["m"],
    }
    path.write_text(
        json.dumps(
            {"LOG": True, "Providers": [hand], "Router": {"default": "hand,m"}, "transformers": []}, indent=2
        )
    )
    state = new_state(tmp_path)
    a, b = cred("Alpha"), cred("Beta")
    p = apply(target("ccr", "claude-code-router", path), [a, b], state)
    assert p.action == "update" and p.outcome and "written" in p.outcome
    doc = json.loads(path.read_text())
    assert [x["name"] for x in doc["Providers"]] == ["hand", "alpha", "beta"]
    assert doc["Router"]["default"] == "hand,m", "the user's own default route is theirs"
    assert doc["LOG"] is True and doc["transformers"] == []
    assert plan(target("ccr", "claude-code-router", path), [a, b], state).action == "noop"
    p = apply(target("ccr", "claude-code-router", path), [a], state)
    assert [(c.op, c.key) for c in p.changes] == [("-", "Providers[beta]")]
    doc = json.loads(path.read_text())
    assert [x["name"] for x in doc["Providers"]] == ["hand", "alpha"] and doc["Providers"][0] == hand
    assert "hand-key-12345678" not in all_text(p), "a hand-added key is redacted in diffs too"


def test_yaml_comments_and_hand_entries_survive(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "# CLIProxyAPI config\nport: 8317  # keep me\nopenai-compatibility:\n  - name: mine  # by hand\n"
        "    base-url: https://mine.example/v1\n    api-key-entries:\n      - api-key: my-own-key-123456\n"
    )
    state = new_state(tmp_path)
    a, c = cred("Alpha"), cred("Claude", api_type="anthropic")
    apply(target("p", "cliproxyapi", path), [a, c], state)
    text = path.read_text()
    assert (
        "# CLIProxyAPI config" in text
        and "port: 8317  # keep me" in text
        and "- name: mine  # by hand" in text
    )
    assert "name: alpha" in text and "claude-api-key:" in text
    assert plan(target("p", "cliproxyapi", path), [a, c], state).action == "noop"
    p = apply(target("p", "cliproxyapi", path), [a], state)
    assert p.action == "delete"
    text = path.read_text()
    assert "claude-api-key: []" in text or "claude-api-key" not in text.split("openai-compatibility")[0]
    assert c.api_key not in text and a.api_key in text and "- name: mine  # by hand" in text


def test_toml_comments_and_hand_provider_survive(tmp_path: Path) -> None:
    path = tmp_path / ".codex" / "config.toml"
    path.parent.mkdir()
    path.write_text(
        '# my settings\nmodel = "o3"  # mine\n\n[model_providers.mine]\nname = "Mine"\n'
        'base_url = "https://mine.example/v1"\nenv_key = "MINE_KEY"\nwire_api = "responses"\n'
    )
    state = new_state(tmp_path)
    a, b = cred("Alpha"), cred("Beta")
    apply(target("codex", "codex", path), [a, b], state)
    text = path.read_text()
    assert text.startswith('# my settings\nmodel = "o3"  # mine\n')
    assert 'model_provider = "alpha"' in text and "[model_providers.mine]" in text
    assert "[model_providers.alpha]" in text and "[model_providers.beta]" in text
    apply(target("codex", "codex", path), [a], state)
    text = path.read_text()
    assert "[model_providers.beta]" not in text and "[model_providers.mine]" in text
    env = (path.parent / ".env").read_text()
    assert "CREDLIB_ALPHA_API_KEY" in env and "CREDLIB_BETA_API_KEY" not in env


def test_dotenv_comments_and_hand_vars_survive(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("# app settings\nDEBUG=1\nexport OTHER_KEY='keep me'\n\n")
    state = new_state(tmp_path)
    a, b = cred("Alpha"), cred("Beta")
    apply(target("e", "dotenv", path), [a, b], state)
    assert path.read_text().startswith("# app settings\nDEBUG=1\nexport OTHER_KEY='keep me'\n\n")
    apply(target("e", "dotenv", path), [b], state)
    text = path.read_text()
    assert "ALPHA_" not in text and f"BETA_API_KEY={b.api_key}" in text and "DEBUG=1" in text


def test_value_with_spaces_and_quotes_round_trips_in_dotenv(tmp_path: Path) -> None:
    from credlib.exports.formats import DotenvDoc

    path = tmp_path / ".env"
    c = cred("Alpha", key='sk-with "quote" $x and # hash')
    apply(target("e", "dotenv", path), [c], new_state(tmp_path))
    assert DotenvDoc(path.read_text())["ALPHA_API_KEY"] == c.api_key


def test_written_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "deeper" / "opencode.json"
    apply(target("o", "opencode", path), [cred("Alpha")], new_state(tmp_path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700


def test_drift_when_changed_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    state = new_state(tmp_path)
    c = cred("Claude", api_type="anthropic", models=("claude-sonnet-4-5",))
    apply(target("cc", "claude-code", path), [c], state)
    doc = json.loads(path.read_text())
    doc["env"]["ANTHROPIC_MODEL"] = "claude-opus-4"
    path.write_text(json.dumps(doc))
    p = plan(target("cc", "claude-code", path), [c], state)
    assert p.action == "drift" and p.drift and [ch.key for ch in p.changes] == ["env.ANTHROPIC_MODEL"]
    # A hand edit outside what credlib owns is not drift worth refusing: nothing would be overwritten.
    apply(target("cc", "claude-code", path), [c], state)
    doc = json.loads(path.read_text())
    doc["env"]["MY_OWN"] = "1"
    path.write_text(json.dumps(doc))
    assert plan(target("cc", "claude-code", path), [c], state).action == "noop"


def test_unparsable_existing_file_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"Providers": [}\n')
    p = plan(target("ccr", "claude-code-router", path), [cred("A")], new_state(tmp_path))
    assert p.action == "error" and "line 1" in (p.error or "") and "will not overwrite" in (p.error or "")
    assert path.read_text() == '{"Providers": [}\n'


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_unwritable_path_fails_that_target_only(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        state = new_state(tmp_path)
        bad = apply(target("bad", "dotenv", locked / "sub" / ".env"), [cred("A")], state)
        good = apply(target("good", "dotenv", tmp_path / "ok" / ".env"), [cred("A")], state)
    finally:
        locked.chmod(0o700)
    assert bad.action == "error" and str(locked) in (bad.error or "") and bad.outcome == "failed"
    assert good.outcome and "written" in good.outcome


def test_path_under_a_file_fails_that_target_only(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    state = new_state(tmp_path)
    c = cred("A")
    bad = apply(target("bad", "dotenv", blocker / "sub" / ".env"), [c], state)
    good = apply(target("good", "dotenv", tmp_path / "ok" / ".env"), [c], state)
    assert bad.action == "error" and bad.outcome == "failed" and "Not a directory" in (bad.error or "")
    assert c.api_key not in (bad.error or "") and blocker.read_text() == "x"
    assert good.outcome and "written" in good.outcome
    assert state.get("targets", "bad") is None and state.get("targets", "good") is not None


def test_path_that_is_a_directory_fails_that_target_only(tmp_path: Path) -> None:
    folder = tmp_path / "iam-a-dir"
    folder.mkdir()
    state = new_state(tmp_path)
    c = cred("A")
    bad = plan(target("bad", "dotenv", folder), [c], state)
    assert (
        bad.action == "error" and "is a directory" in (bad.error or "") and c.api_key not in (bad.error or "")
    )


def test_file_changed_between_plan_and_apply_is_not_overwritten(tmp_path: Path) -> None:
    import asyncio

    from credlib.exports.deliveries import apply_delivery

    path = tmp_path / ".env"
    path.write_text("A=1\n")
    state = new_state(tmp_path)
    p = plan(target("e", "dotenv", path), [cred("A")], state)
    path.write_text("A=2\n")
    done = asyncio.run(apply_delivery(p, state, None))
    assert done.action == "error" and "changed since the plan" in (done.error or "")
    assert path.read_text() == "A=2\n"


def test_yaml_credlib_created_then_hand_edited_keeps_the_edit(tmp_path: Path) -> None:
    path = tmp_path / "litellm.yaml"
    state = new_state(tmp_path)
    a, b, c = cred("Alpha"), cred("Beta"), cred("Gamma")
    apply(target("l", "litellm", path), [a], state)
    # Written by credlib's plain emitter, read back by its plain reader on the next change.
    apply(target("l", "litellm", path), [a, b], state)
    text = path.read_text()
    assert "credlib-alpha-gpt-4o-mini" in text and "credlib-beta-gpt-4o-mini" in text
    path.write_text("# tuned by hand\n" + text + "router_settings:\n  num_retries: 2  # mine\n")
    p = apply(target("l", "litellm", path), [a, c], state)
    # The file changed since credlib wrote it: drift (apply needs --force); forced, the merge is still safe.
    assert p.action == "drift"
    text = path.read_text()
    assert text.startswith("# tuned by hand\n") and "num_retries: 2  # mine" in text
    assert "credlib-gamma-gpt-4o-mini" in text and "credlib-beta-gpt-4o-mini" not in text


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ('{"Providers": {}}', "`Providers` is not a list"),
        ('{"Router": "x"}', "`Router` is not a mapping"),
        ("[1, 2]", "top level is not an object"),
    ],
)
def test_tool_file_of_another_shape_is_a_clear_error(tmp_path: Path, content: str, where: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(content)
    p = plan(target("ccr", "claude-code-router", path), [cred("A")], new_state(tmp_path))
    assert p.action == "error" and where in (p.error or "") and str(path) in (p.error or "")
    assert path.read_text() == content
