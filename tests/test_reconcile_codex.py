"""Codex speaks only the Responses API: plan/apply leave out endpoints without POST /v1/responses
(probed online once per credential and run, recorded; reused offline), and say why."""

from __future__ import annotations

import json
import tomllib

import pytest

from credlib.reconcile.observe import fingerprint
from credlib.reconcile.report import plan_json, plan_text
from credlib.relay import Relay
from credlib.state import State
from tests.fixtures.reconcile import Project


@pytest.fixture
def keys(project: Project, relay: Relay) -> dict[str, str]:
    project.defaults = {"limits": {"concurrency": 4, "burst": 50, "per_minute": 600}}
    out = {
        "full": project.add("Full Relay"),
        "chat": project.add("Chat Only"),
        "official": project.add("Official", api_type="openai"),
    }
    for key in out.values():
        relay.add_key(key, models=["gpt-4o-mini"])
    relay.set_fault("missing_responses", key=out["chat"])
    project.target("codex", "codex", "out/codex/config.toml")
    project.target("codex2", "codex", "out/codex2/config.toml")
    return out


def providers(project: Project, rel: str) -> set[str]:
    return set(tomllib.loads((project.root / rel).read_text())["model_providers"])


def responses_requests(relay: Relay) -> list[str]:
    return [e.key or "" for e in relay.log if e.path.endswith("/responses")]


def test_online_apply_leaves_out_an_endpoint_without_the_responses_api(
    project: Project, relay: Relay, keys: dict[str, str]
) -> None:
    result = project.run(apply=True, origin_overrides=project.origins_to(relay.url))
    assert providers(project, "out/codex/config.toml") == {"full-relay", "official"}
    assert providers(project, "out/codex2/config.toml") == {"full-relay", "official"}
    env = (project.root / "out/codex/.env").read_text()
    assert keys["full"] in env and keys["chat"] not in env

    # One probe per openai-compatible credential, shared by both codex targets; the openai one is
    # the Responses API by type (its verify generation already used /v1/responses).
    probes = responses_requests(relay)
    assert sorted(k for k in probes if k in (keys["full"], keys["chat"])) == sorted(
        [keys["full"], keys["chat"]]
    )
    assert probes.count(keys["official"]) == 1  # verify's own generation probe only

    outcome = next(t for t in result.plan.targets if t.name == "codex")
    assert [c.name for c, _why in outcome.unsupported] == ["Chat Only"]
    text = "\n".join(plan_text(result.plan, 3))
    assert "left out: Chat Only (codex needs the Responses API; no Responses API: HTTP 404" in text
    data = plan_json(result.plan, command="apply")
    codex_json = next(t for t in data["targets"] if t["name"] == "codex")
    assert codex_json["excluded"][0]["id"] == "chat-only"
    assert codex_json["excluded"][0]["status"] == "no_responses_api"
    for key in keys.values():
        assert key not in text and key not in json.dumps(data)

    state = State.load(project.file)
    assert state.get("responses", "chat-only")["supported"] is False
    assert state.get("responses", "full-relay")["supported"] is True
    assert all(key not in state.path.read_text() for key in keys.values())


def test_offline_reuses_the_recorded_answer(project: Project, relay: Relay, keys: dict[str, str]) -> None:
    ov = project.origins_to(relay.url)
    project.run(apply=True, origin_overrides=ov)
    (project.root / "out/codex/config.toml").unlink()
    relay.clear_log()
    result = project.run(apply=True, offline=True)
    assert relay.log == []
    assert providers(project, "out/codex/config.toml") == {"full-relay", "official"}
    outcome = next(t for t in result.plan.targets if t.name == "codex")
    assert [c.name for c, _why in outcome.unsupported] == ["Chat Only"]


def test_offline_without_a_record_keeps_the_credential_and_says_it_was_not_checked(
    project: Project, keys: dict[str, str]
) -> None:
    result = project.run(apply=True, offline=True)
    assert providers(project, "out/codex/config.toml") == {"full-relay", "chat-only", "official"}
    text = "\n".join(plan_text(result.plan, 3))
    assert "kept: Chat Only (not checked for the Responses API on this machine" in text
    assert "kept: Official" not in text


def test_offline_uses_a_recorded_verify_cli_codex_result(project: Project, keys: dict[str, str]) -> None:
    config = project.config()
    chat = next(c for c in config.credentials if c.id == "chat-only")
    state = State.load(project.file)
    state.record(
        "verify",
        "chat-only",
        {
            "fingerprint": fingerprint(chat),
            "ok": True,
            "status": "ok",
            "cli": [
                {
                    "cli": "codex",
                    "verdict": "incompatible",
                    "checks": [
                        {
                            "id": "responses-stream",
                            "status": "fail",
                            "detail": "HTTP 404 from POST /v1/responses: Invalid URL",
                            "fix": "no Responses API at https://x/v1/responses: Codex only speaks ...",
                        }
                    ],
                }
            ],
        },
    )
    state.save()
    project.run(apply=True, offline=True)
    assert providers(project, "out/codex/config.toml") == {"full-relay", "official"}


def test_a_record_for_another_key_is_not_reused(project: Project, relay: Relay, keys: dict[str, str]) -> None:
    project.run(apply=True, origin_overrides=project.origins_to(relay.url))
    new_key = "sk-rotated-" + "x" * 32
    for cred in project.credentials:
        if cred["name"] == "Chat Only":
            cred["api_key"] = new_key
    result = project.run(apply=True, offline=True)
    assert "chat-only" in providers(project, "out/codex/config.toml")
    outcome = next(t for t in result.plan.targets if t.name == "codex")
    assert [c.name for c, _why in outcome.unchecked] == ["Chat Only"]


def test_an_inconclusive_probe_keeps_the_credential(
    project: Project, relay: Relay, keys: dict[str, str]
) -> None:
    relay.set_fault("status", status=503, path="*/responses", key=keys["full"])
    result = project.run(apply=True, origin_overrides=project.origins_to(relay.url))
    assert "full-relay" in providers(project, "out/codex/config.toml")
    outcome = next(t for t in result.plan.targets if t.name == "codex")
    assert [c.name for c, _why in outcome.unchecked] == ["Full Relay"]
    assert "could not tell" in outcome.unchecked[0][1]
    assert State.load(project.file).get("responses", "full-relay") is None
