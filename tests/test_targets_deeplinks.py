"""Deep links decoded with each app's own import rules (research downstream.md §1, §2, §5b), and the
state that makes a plan show only new or changed links."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest

from credlib.exports.redaction import redact_link
from credlib.exports.render import render_for
from credlib.model import Credential
from tests.exports_helpers import all_text, apply, cred, new_state, plan, target

# ---------------------------------------------------------------- Cherry Studio's handler, re-created

CHERRY_TYPES = {
    "openai",
    "openai-response",
    "anthropic",
    "gemini",
    "qwenlm",
    "azure-openai",
    "vertexai",
    "mistral",
    "aws-bedrock",
    "vertex-anthropic",
    "new-api",
}


def cherry_import(url: str) -> dict[str, Any]:
    """What Cherry Studio's providers/api-keys handler does with a link; raises where Cherry refuses."""
    parts = urlsplit(url)
    assert parts.scheme == "cherrystudio" and parts.netloc == "providers" and parts.path == "/api-keys"
    # Cherry swaps + and / out before URLSearchParams, then back after it.
    raw = parts.query.replace("+", "_").replace("/", "-")
    params = {k: v.replace("_", "+").replace("-", "/") for k, v in parse_qsl(raw, keep_blank_values=True)}
    assert params.get("v") == "1"
    text = base64.b64decode(params["data"]).decode("utf-8")
    # Cherry's mangling: every ' becomes ", every ( and ) is deleted, then JSON.parse.
    text = text.replace("'", '"').replace("(", "").replace(")", "")
    data = json.loads(text)
    for required in ("id", "apiKey", "baseUrl"):
        if not isinstance(data.get(required), str) or not data[required]:
            raise ValueError("invalid data")
    assert data.get("type", "openai") in CHERRY_TYPES
    return data


def cherry_api_host(base_url: str) -> str:
    """Cherry's formatApiHost for an OpenAI-type provider: add /v1 unless a /vN segment is there."""
    host = base_url.strip().rstrip("/")
    if host.endswith("#"):
        return host[:-1]
    return host if re.search(r"/v\d", urlsplit(host).path) else host + "/v1"


@pytest.mark.parametrize(
    ("api_type", "cherry_type"),
    [
        ("openai-compatible", "openai"),
        ("openai", "openai-response"),
        ("anthropic", "anthropic"),
        ("google", "gemini"),
    ],
)
def test_cherry_link_decodes_with_cherrys_rules(api_type: Any, cherry_type: str) -> None:
    c = cred("Team Relay", api_type=api_type, base_url="https://relay.example.com/api")
    rendering = render_for(target("cherry", "cherry-studio"), [c])
    (link,) = rendering.links.values()
    data = cherry_import(link)
    assert data == {
        "id": "credlib-team-relay",
        "name": "Team Relay",
        "type": cherry_type,
        "baseUrl": "https://relay.example.com/api",
        "apiKey": c.api_key,
    }
    if cherry_type == "openai":
        assert cherry_api_host(data["baseUrl"]) == "https://relay.example.com/api/v1"


def test_cherry_refuses_names_its_import_would_mangle(tmp_path: Path) -> None:
    bad = cred("Relay (EU)", cid="relay-eu")
    good = cred("Relay US")
    # The mangling is real: Cherry would parse a different name (or fail) for this payload.
    payload = json.dumps({"id": "x", "name": bad.name, "baseUrl": "https://a", "apiKey": "k"})
    assert json.loads(payload.replace("(", "").replace(")", ""))["name"] != bad.name
    p = plan(target("cherry", "cherry-studio"), [good, bad], new_state(tmp_path))
    assert p.action == "error"
    assert "'Relay (EU)'" in (p.error or "") and "'('" in (p.error or "")
    assert bad.api_key not in (p.error or "") and good.api_key not in (p.error or "")
    ok = plan(target("cherry", "cherry-studio"), [good], new_state(tmp_path))
    assert ok.action == "create"


def test_cherry_refuses_key_with_apostrophe_without_showing_it(tmp_path: Path) -> None:
    c = cred("Relay", key="sk-abc'def0123456789xyz")
    p = plan(target("cherry", "cherry-studio"), [c], new_state(tmp_path))
    assert p.action == "error" and "api_key" in (p.error or "") and c.api_key not in (p.error or "")


# ---------------------------------------------------------------- CC Switch's parser, re-created

CCSWITCH_APPS = {"claude", "codex", "gemini", "grokbuild", "opencode", "openclaw", "hermes"}


def ccswitch_import(url: str) -> dict[str, Any]:
    """CC Switch's parse_deeplink_url + provider build for resource=provider; raises where it refuses."""
    parts = urlsplit(url)
    if parts.scheme != "ccswitch" or parts.netloc != "v1" or parts.path != "/import":
        raise ValueError("bad scheme/version/path")
    q = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    if q.get("resource") != "provider" or q.get("app") not in CCSWITCH_APPS:
        raise ValueError("bad resource or app")
    if not q.get("name") or not q.get("apiKey"):
        raise ValueError("name and apiKey are required")
    endpoints = [e.strip().rstrip("/") for e in q.get("endpoint", "").split(",") if e.strip()]
    if not endpoints or not all(re.match(r"^https?://", e) for e in endpoints):
        raise ValueError("endpoint must be http(s)")
    homepage = q.get("homepage") or ""
    if homepage and not re.match(r"^https?://", homepage):
        raise ValueError("homepage must be http(s)")
    app, key, endpoint = q["app"], q["apiKey"], endpoints[0]
    if app == "claude":
        env = {"ANTHROPIC_AUTH_TOKEN": key, "ANTHROPIC_BASE_URL": endpoint}
        if q.get("model"):
            env["ANTHROPIC_MODEL"] = q["model"]
        settings: dict[str, Any] = {"env": env}
    elif app == "codex":
        settings = {
            "auth": {"OPENAI_API_KEY": key},
            "base_url": endpoint,
            "model": q.get("model") or "gpt-5-codex",
        }
    else:
        settings = {"env": {"GEMINI_API_KEY": key, "GOOGLE_GEMINI_BASE_URL": endpoint}}
    return {
        "app": app,
        "name": q["name"],
        "settings": settings,
        "homepage": homepage,
        "notes": q.get("notes"),
    }


def test_ccswitch_links_per_app_follow_each_apps_endpoint_rule() -> None:
    c = cred(
        "Team Relay",
        base_url="https://api.relay.example.com",
        models=("claude-sonnet-4-5",),
        notes="work key",
    )
    rendering = render_for(target("ccs", "cc-switch", options={"apps": ["claude", "codex", "gemini"]}), [c])
    links = list(rendering.links.values())
    assert len(links) == 3 and list(rendering.links) == ["team-relay", "team-relay#2", "team-relay#3"]
    claude, codex, gemini = (ccswitch_import(u) for u in links)
    assert claude["settings"]["env"] == {
        "ANTHROPIC_AUTH_TOKEN": c.api_key,
        "ANTHROPIC_BASE_URL": "https://api.relay.example.com",
        "ANTHROPIC_MODEL": "claude-sonnet-4-5",
    }
    assert codex["settings"]["base_url"] == "https://api.relay.example.com/v1"  # Codex needs /v1
    assert gemini["settings"]["env"]["GOOGLE_GEMINI_BASE_URL"] == "https://api.relay.example.com"
    assert claude["name"] == "Team Relay" and claude["notes"] == "work key"
    assert claude["homepage"] == "https://api.relay.example.com"


def test_ccswitch_default_app_follows_api_type_and_bad_app_is_an_error(tmp_path: Path) -> None:
    creds = [cred("A", api_type="anthropic"), cred("G", api_type="google"), cred("O", api_type="openai")]
    apps = [ccswitch_import(u)["app"] for u in render_for(target("c", "cc-switch"), creds).links.values()]
    assert apps == ["claude", "gemini", "codex"]
    p = plan(target("c", "cc-switch", options={"app": "cursor"}), creds[:1], new_state(tmp_path))
    assert p.action == "error" and "claude, codex or gemini" in (p.error or "")
    assert "cc-switch.j2" in (p.error or "")


def test_ccswitch_name_with_spaces_and_symbols_round_trips() -> None:
    c = cred("Relay & Co + 50% (EU)", cid="relay-co")
    (link,) = render_for(target("c", "cc-switch"), [c]).links.values()
    assert ccswitch_import(link)["name"] == "Relay & Co + 50% (EU)"


# ---------------------------------------------------------------- CCR 3.x ccr://provider


def test_ccr_deeplink_uses_exact_parameter_names_and_protocol_bases() -> None:
    creds = [
        cred("Relay", models=("a", "b")),
        cred("Claude", api_type="anthropic"),
        cred("Gem", api_type="google"),
    ]
    links = render_for(target("ccr3", "claude-code-router", options={"mode": "deeplink"}), creds).links
    decoded = {}
    for link_id, url in links.items():
        parts = urlsplit(url)
        assert parts.scheme == "ccr" and parts.netloc == "provider"
        decoded[link_id] = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert decoded["relay"]["base_url"] == "https://relay.example.com/v1"
    assert decoded["relay"]["protocol"] == "openai_chat_completions" and decoded["relay"]["models"] == "a,b"
    assert decoded["claude"]["base_url"] == "https://claude.example.com"
    assert decoded["claude"]["protocol"] == "anthropic_messages"
    assert decoded["gem"]["protocol"] == "gemini_generate_content"
    assert decoded["relay"]["api_key"] == creds[0].api_key
    assert set(decoded["relay"]) <= {"name", "base_url", "api_key", "protocol", "models", "source", "icon"}


# ---------------------------------------------------------------- issued-link state


def test_plan_shows_only_new_or_changed_links(tmp_path: Path) -> None:
    state = new_state(tmp_path)
    a, b = cred("Alpha"), cred("Beta")
    tgt = target("cherry", "cherry-studio")
    first = apply(tgt, [a, b], state)
    assert first.action == "create" and len(first.links) == 2
    assert plan(tgt, [a, b], state).action == "noop"
    rotated = Credential(**{**b.__dict__, "api_key": "sk-rotated-" + "r" * 24})
    p = plan(tgt, [a, rotated], state)
    assert p.action == "update" and [c.op for c in p.changes] == ["~"] and len(p.links) == 1
    assert cherry_import(p.links[0])["apiKey"] == rotated.api_key
    text = all_text(p)
    assert rotated.api_key not in text and a.api_key not in text
    assert "cherrystudio://providers/api-keys?…" in text
    gone = plan(tgt, [a], state)
    assert [c.op for c in gone.changes] == ["-"]


def test_redact_link_hides_the_query() -> None:
    assert redact_link("ccswitch://v1/import?apiKey=sk-1234567890") == "ccswitch://v1/import?…"


def test_open_link_hands_the_link_to_the_os_opener(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from credlib.exports.deliveries.deeplink import open_link

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "opened"
    opener = bin_dir / ("open" if sys.platform == "darwin" else "xdg-open")
    opener.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {record}\n')
    opener.chmod(0o700)
    monkeypatch.setenv("PATH", str(bin_dir))
    open_link("ccswitch://v1/import?resource=provider")
    assert record.read_text() == "ccswitch://v1/import?resource=provider"
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    from credlib.errors import MissingToolError

    with pytest.raises(MissingToolError):
        open_link("ccswitch://v1/import")
