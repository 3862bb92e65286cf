"""Registry, selection and rendering: per-API-type mapping, base URL rules, template errors."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from credlib.errors import CredlibError, ExitCode
from credlib.exports import urls
from credlib.exports.registry import TARGET_TYPES, get_target_type, resolve_type, select_credentials
from credlib.exports.render import TemplateError, render_for, render_target
from credlib.model import Select, Target
from tests.exports_helpers import all_text, cred, new_state, plan, target

ALL_TYPES = sorted(TARGET_TYPES)


def test_every_type_has_its_shipped_templates() -> None:
    from credlib.exports.jinja import find_template

    for ttype in TARGET_TYPES.values():
        for variant in (ttype, *ttype.modes.values()):
            assert find_template(variant.template).is_file()
            for comp in variant.companions:
                assert find_template(comp.template).is_file()


def test_unknown_type_names_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(CredlibError) as info:
        get_target_type("cherry")
    assert "cherry-studio" in info.value.message and "litellm" in info.value.message
    p = plan(target("x", "cherry"), [cred("A")], new_state(tmp_path))
    assert p.action == "error" and "unknown target type 'cherry'" in (p.error or "")


def test_unknown_mode_is_an_error() -> None:
    with pytest.raises(CredlibError, match="no mode 'nope'"):
        resolve_type(Target(name="t", type="kilo-code", options={"mode": "nope"}))


def test_select_by_tags_names_types_and_supported_types() -> None:
    a = cred("A", tags=("work",))
    b = cred("B", api_type="anthropic", tags=("home",))
    c = cred("C", api_type="google", tags=("work", "x"))
    creds = [a, b, c]
    assert select_credentials(Target(name="t", type="dotenv"), creds) == creds
    assert select_credentials(Target(name="t", type="dotenv", select=Select(tags=("work",))), creds) == [a, c]
    assert select_credentials(Target(name="t", type="dotenv", select=Select(names=("b",))), creds) == [b]
    assert select_credentials(Target(name="t", type="dotenv", select=Select(types=("google",))), creds) == [c]
    # claude-code only takes anthropic credentials, whatever select says.
    assert select_credentials(Target(name="t", type="claude-code"), creds) == [b]
    assert (
        select_credentials(Target(name="t", type="codex", select=Select(types=("anthropic",))), creds) == []
    )


def test_base_url_rules() -> None:
    assert urls.openai_base("https://r.example.com") == "https://r.example.com/v1"
    assert urls.openai_base("https://r.example.com/api") == "https://r.example.com/api/v1"
    assert urls.openai_base("https://r.example.com/v3") == "https://r.example.com/v3"  # complete prefix
    assert urls.ccr_endpoint("https://r", "anthropic") == "https://r/v1/messages"
    assert urls.ccr_endpoint("https://r", "google") == "https://r/v1beta/models/"
    assert urls.ccr_endpoint("https://r", "openai-compatible") == "https://r/v1/chat/completions"
    assert urls.gemini_v1beta("https://g") == "https://g/v1beta"


def test_ccr_providers_per_api_type() -> None:
    creds = [cred("Relay"), cred("Claude", api_type="anthropic"), cred("Gem", api_type="google")]
    doc = json.loads(render_for(target("ccr", "claude-code-router", "/tmp/x.json"), creds).files[0].text)
    by_name = {p["name"]: p for p in doc["Providers"]}
    assert "transformer" not in by_name["relay"]
    assert by_name["claude"]["transformer"] == {"use": ["Anthropic"]}
    assert by_name["claude"]["api_base_url"] == "https://claude.example.com/v1/messages"
    assert by_name["gem"]["transformer"] == {"use": ["gemini"]}
    assert doc["Router"]["default"] == "relay,gpt-4o-mini"


def test_cliproxyapi_lists_per_api_type() -> None:
    creds = [cred("Relay"), cred("Claude", api_type="anthropic"), cred("O", api_type="openai")]
    doc = YAML(typ="safe").load(render_for(target("p", "cliproxyapi", "/tmp/c.yaml"), creds).files[0].text)
    assert doc["openai-compatibility"][0]["base-url"] == "https://relay.example.com/v1"
    assert doc["claude-api-key"][0] == {
        "api-key": creds[1].api_key,
        "base-url": "https://claude.example.com",
        "models": [{"name": "gpt-4o-mini", "alias": "gpt-4o-mini"}],
    }
    assert doc["codex-api-key"][0]["base-url"] == "https://o.example.com/v1"
    assert "gemini-api-key" not in doc


def test_codex_renders_responses_providers_and_key_env() -> None:
    r = render_for(
        target("codex", "codex", "/tmp/codex/config.toml"), [cred("Relay"), cred("A", api_type="anthropic")]
    )
    cfg = tomllib.loads(r.files[0].text)
    assert cfg["model_provider"] == "relay" and cfg["model"] == "gpt-4o-mini"
    assert cfg["model_providers"] == {
        "relay": {
            "name": "Relay",
            "base_url": "https://relay.example.com/v1",
            "env_key": "CREDLIB_RELAY_API_KEY",
            "wire_api": "responses",
        }
    }
    assert r.files[1].path == Path("/tmp/codex/.env")


def test_litellm_prefixes_and_bases() -> None:
    creds = [
        cred("Relay"),
        cred("Claude", api_type="anthropic", models=("c",)),
        cred("G", api_type="google", models=("g",)),
    ]
    doc = YAML(typ="safe").load(render_for(target("l", "litellm", "/tmp/l.yaml"), creds).files[0].text)
    params = {d["model_name"]: d["litellm_params"] for d in doc["model_list"]}
    assert params["gpt-4o-mini"]["model"] == "openai/gpt-4o-mini"
    assert params["gpt-4o-mini"]["api_base"] == "https://relay.example.com/v1"
    assert params["c"] == {
        "model": "anthropic/c",
        "api_base": "https://claude.example.com",
        "api_key": creds[1].api_key,
    }
    assert params["g"]["model"] == "gemini/g" and params["g"]["api_base"] == "https://g.example.com/v1beta"
    assert doc["general_settings"]["master_key"] == "os.environ/LITELLM_MASTER_KEY"


def test_types_needing_models_skip_credentials_without_and_say_so(tmp_path: Path) -> None:
    p = plan(
        target("k", "kilo-code", tmp_path / "k.json"), [cred("A", models=()), cred("B")], new_state(tmp_path)
    )
    assert p.action == "create" and any("A:" in n and "model" in n for n in p.notes)


def test_single_credential_types_use_the_first() -> None:
    r = render_for(
        target("c", "claude-code", "/tmp/s.json"),
        [cred("A", api_type="anthropic"), cred("B", api_type="anthropic")],
    )
    assert [c.name for c in r.credentials] == ["A"] and r.skipped[0][0] == "B"


def test_kilo_legacy_mode_profiles() -> None:
    r = render_for(
        target("k", "kilo-code", "/tmp/k.json", options={"mode": "legacy"}),
        [cred("Relay"), cred("Claude", api_type="anthropic")],
    )
    configs = json.loads(r.files[0].text)["providerProfiles"]["apiConfigs"]
    assert configs["Relay"]["apiProvider"] == "openai"
    assert configs["Relay"]["openAiBaseUrl"] == "https://relay.example.com/v1"
    assert configs["Claude"]["apiProvider"] == "anthropic"
    assert configs["Claude"]["anthropicBaseUrl"] == "https://claude.example.com"


def test_dotenv_styles() -> None:
    creds = [cred("Relay One"), cred("Claude", api_type="anthropic")]
    text = render_for(target("e", "dotenv", "/tmp/.env"), creds).files[0].text
    assert (
        f"RELAY_ONE_API_KEY={creds[0].api_key}\n" in text
        and "RELAY_ONE_BASE_URL=https://relay-one.example.com/v1" in text
    )
    std = render_for(target("e", "dotenv", "/tmp/.env", options={"style": "standard"}), creds).files[0].text
    assert "OPENAI_BASE_URL=https://relay-one.example.com/v1" in std
    assert "ANTHROPIC_BASE_URL=https://claude.example.com" in std


# ---------------------------------------------------------------- user templates and template errors


def test_user_template_is_used_with_the_types_merge(tmp_path: Path) -> None:
    tpl = tmp_path / "mine.env.j2"
    tpl.write_text("{% for c in credentials %}MY_{{ c.id | envname }}={{ c.api_key | dotenv }}\n{% endfor %}")
    c = cred("Relay")
    r = render_for(
        Target(name="e", type="dotenv", path=str(tmp_path / ".env"), template="mine.env.j2"),
        [c],
        base_dir=tmp_path,
    )
    assert r.files[0].text == f"MY_RELAY={c.api_key}\n"


def test_template_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    tpl = tmp_path / "bad.j2"
    tpl.write_text("line one\n{% for c in credentials %}\n{{ c.name }\n")
    with pytest.raises(TemplateError) as info:
        render_target(Target(name="t", type="dotenv", path="x", template=str(tpl)), [cred("A")])
    assert "bad.j2:3" in info.value.message and info.value.exit_code == ExitCode.INVALID_FILE


@pytest.mark.parametrize(
    ("name", "body", "expected"),
    [
        # A field the credential does not have: file and line, and the field's name.
        (
            "missing.j2",
            "# header\n{% for c in credentials %}\nX={{ c.organisation }}\n{% endfor %}\n",
            ["missing.j2:3", "refers to a missing field", "organisation"],
        ),
        # The template's own refusal.
        (
            "refuse.j2",
            "# header\n{{ fail('no EU relays here: ' ~ credentials[0].name) }}\n",
            ["refuse.j2:2: no EU relays here: A"],
        ),
        # Any other error inside template code (here: a division by zero).
        ("zero.j2", "A=1\nB=1\nC={{ 1 // 0 }}\n", ["zero.j2:3 failed: ZeroDivisionError"]),
        # Output the tool's format cannot parse.
        ("broken.json.j2", '{"Providers": [{{ credentials[0].api_key }}]}', ["rendered invalid json"]),
    ],
)
def test_template_failures_name_file_and_line(
    tmp_path: Path, name: str, body: str, expected: list[str]
) -> None:
    tpl = tmp_path / name
    tpl.write_text(body)
    c = cred("A")
    type_ = "claude-code-router" if name.endswith(".json.j2") else "dotenv"
    p = plan(
        Target(name="t", type=type_, path=str(tmp_path / "out"), template=str(tpl)), [c], new_state(tmp_path)
    )
    assert p.action == "error"
    for fragment in expected:
        assert fragment in (p.error or ""), (fragment, p.error)
    assert c.api_key not in all_text(p)
    assert not (tmp_path / "out").exists()


def test_missing_user_template_file(tmp_path: Path) -> None:
    p = plan(
        Target(name="t", type="dotenv", path="x", template=str(tmp_path / "nope.j2")),
        [cred("A")],
        new_state(tmp_path),
    )
    assert p.action == "error" and "does not exist" in (p.error or "")


@pytest.mark.parametrize("type_name", ALL_TYPES)
def test_every_type_renders_without_leaking_into_plans(tmp_path: Path, type_name: str) -> None:
    creds = [
        cred("Relay"),
        cred("Claude", api_type="anthropic"),
        cred("Gem", api_type="google"),
        cred("OAI", api_type="openai"),
    ]
    if TARGET_TYPES[type_name].delivery == "http":
        return  # covered against the admin servers in test_targets_http
    p = plan(target("t", type_name, tmp_path / "out" / "file"), creds, new_state(tmp_path))
    assert p.action in ("create",), (p.action, p.error)
    text = all_text(p)
    for c in creds:
        assert c.api_key not in text


KILO_IMPORT_KEYS = {
    "permission",
    "model",
    "small_model",
    "subagent_model",
    "subagent_variant",
    "subagent_variant_overrides",
    "default_agent",
    "agent",
    "provider",
    "disabled_providers",
    "enabled_providers",
    "mcp",
    "command",
    "instructions",
    "skills",
    "snapshot",
    "remote_control",
    "share",
    "username",
    "watcher",
    "formatter",
    "lsp",
    "compaction",
    "commit_message",
    "tools",
    "web_search",
    "auto_collapse_reasoning",
    "reasoning_display",
    "terminal_command_display",
    "code_edit_display",
    "mcp_tool_display",
    "hide_prompt_training_models",
    "sandbox",
    "indexing",
    "experimental",
    "_meta",
}


def test_kilo_settings_pass_kilos_import_rules() -> None:
    """Kilo 7's settings-io import: only known keys kept (>= 1 needed), at most 1 MiB, provider ids
    ``^[a-z0-9][a-z0-9-]*$``, every provider with at least one model and an http(s) baseURL."""
    import re

    creds = [cred("Relay"), cred("Claude", api_type="anthropic"), cred("Gem", api_type="google")]
    text = render_for(target("k", "kilo-code", "/tmp/k.json"), creds).files[0].display()
    assert len(text.encode()) <= 1_048_576
    doc = json.loads(text)
    assert set(doc) <= KILO_IMPORT_KEYS and set(doc) & KILO_IMPORT_KEYS
    for pid, provider in doc["provider"].items():
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", pid)
        assert provider["models"] and provider["options"]["baseURL"].startswith("https://")
    provider_id, model = doc["model"].split("/", 1)
    assert model in doc["provider"][provider_id]["models"]


def test_cliproxyapi_file_survives_the_proxys_sanitiser() -> None:
    """Every rendered entry has what CLIProxyAPI's loader keeps (SanitizeOpenAICompatibility & co.)."""
    from tests.fixtures.admin_servers import CliProxyAdmin

    creds = [
        cred("Relay"),
        cred("Claude", api_type="anthropic"),
        cred("Gem", api_type="google"),
        cred("OAI", api_type="openai"),
    ]
    text = render_for(target("p", "cliproxyapi", "/tmp/c.yaml"), creds).files[0].display()
    doc = YAML(typ="safe").load(text)
    for name, entries in doc.items():
        assert CliProxyAdmin.sanitise(name, entries) == entries
        for entry in entries:
            assert all(isinstance(k, str) and k == k.lower() for k in entry)  # yaml tags are kebab-case
    assert doc["openai-compatibility"][0]["api-key-entries"][0]["api-key"] == creds[0].api_key


def test_templates_run_sandboxed(tmp_path: Path) -> None:
    tpl = tmp_path / "evil.j2"
    tpl.write_text("X={{ ''.__class__.__mro__[1].__subclasses__() }}\n")
    p = plan(
        Target(name="t", type="dotenv", path=str(tmp_path / ".env"), template=str(tpl)),
        [cred("A")],
        new_state(tmp_path),
    )
    assert p.action == "error" and "evil.j2:1" in (p.error or "") and "unsafe" in (p.error or "")
    assert not (tmp_path / ".env").exists()


def test_reprs_hold_no_key(tmp_path: Path) -> None:
    c = cred("Relay")
    for type_name in ("cherry-studio", "claude-code-router", "litellm"):
        rendering = render_for(target("t", type_name, tmp_path / "f"), [c])
        assert c.api_key not in repr(rendering)
        p = plan(target("t", type_name, tmp_path / "f"), [c], new_state(tmp_path))
        assert c.api_key not in repr(p)
