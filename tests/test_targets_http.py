"""HTTP deliveries against local admin servers that speak each tool's real wire format."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from credlib.exports.deliveries import apply_delivery, plan_delivery
from credlib.exports.render import render_for
from credlib.exports.targetplan import TargetPlan
from credlib.model import Credential, Limits, Target
from credlib.net import Engine
from credlib.state import State
from tests.exports_helpers import all_text, cred, new_state
from tests.fixtures.admin_servers import CliProxyAdmin, NewApiAdmin

# The admin servers are local; the per-origin limiter's real-world pace would only slow the tests.
FAST = Limits(concurrency=4, burst=10_000, per_minute=1_000_000)


def run(tgt: Target, creds: Sequence[Credential], state: State, *, do_apply: bool = True) -> TargetPlan:
    async def go() -> TargetPlan:
        async with Engine(FAST, max_retries=0, timeout_s=5) as engine:
            p = await plan_delivery(tgt, render_for(tgt, creds), state, engine)
            if do_apply:
                p = await apply_delivery(p, state, engine)
            return p

    return asyncio.run(go())


def channel_target(admin: NewApiAdmin, **options: object) -> Target:
    opts = {"user_id": admin.user_id, **options} if admin.family in ("new-api", "veloera") else dict(options)
    return Target(name="site", type=admin.family, url=admin.url, access_token=admin.token, options=opts)


FAMILY_CASES = [
    # family, anthropic code, google code, user header, wrapped create body
    ("new-api", 14, 24, "new-api-user", True),
    ("veloera", 14, 24, "veloera-user", False),
    ("one-api", 14, 24, None, False),
    ("done-hub", 14, 25, None, False),
]


@pytest.mark.parametrize(("family", "anthropic_code", "google_code", "user_header", "wrapped"), FAMILY_CASES)
def test_channels_created_with_family_wire_format(
    tmp_path: Path,
    newapi_admin: Callable[..., NewApiAdmin],
    family: str,
    anthropic_code: int,
    google_code: int,
    user_header: str | None,
    wrapped: bool,
) -> None:
    admin = newapi_admin(family)
    creds = [
        cred("Relay", models=("gpt-4o-mini", "o3")),
        cred("Claude Direct", api_type="anthropic", models=("claude-sonnet-4-5",)),
        cred("Gem", api_type="google", models=("gemini-2.5-flash",)),
    ]
    state = new_state(tmp_path)
    p = run(channel_target(admin), creds, state)
    assert p.error is None, p.error
    assert p.action == "create"
    posts = [e for e in admin.log if e.method == "POST"]
    assert len(posts) == 3
    for entry in posts:
        assert entry.path == "/api/channel/"
        assert entry.headers["authorization"] == f"Bearer {admin.token}"
        if user_header:
            assert entry.headers[user_header] == "1"
        if wrapped:
            assert entry.body["mode"] == "single" and isinstance(entry.body["channel"], dict)
        else:
            assert "mode" not in entry.body and "channel" not in entry.body
    relay = admin.by_name("Relay")
    assert relay is not None
    assert relay["type"] == 1
    assert relay["base_url"] == "https://relay.example.com"  # root: the relay builds /v1/... itself
    assert relay["models"] == "gpt-4o-mini,o3"
    assert relay["key"] == creds[0].api_key
    assert admin.by_name("Claude Direct")["type"] == anthropic_code  # type: ignore[index]
    assert admin.by_name("Gem")["type"] == google_code  # type: ignore[index]
    if family == "done-hub":
        assert relay["model_mapping"] == "{}"


def test_second_run_sends_nothing_and_update_delete_touch_only_owned(
    tmp_path: Path, newapi_admin: Callable[..., NewApiAdmin]
) -> None:
    admin = newapi_admin("new-api")
    hand_made = admin.add_channel(name="Hand Made", type=1, key="k-by-hand", base_url="https://other.example")
    a, b = cred("Alpha"), cred("Beta", models=("m1",))
    state = new_state(tmp_path)
    assert run(channel_target(admin), [a, b], state).action == "create"
    admin.log.clear()
    again = run(channel_target(admin), [a, b], state)
    assert again.action == "noop" and again.changes == []
    assert {e.method for e in admin.log} == {"GET"}, "a second run must only read"

    rotated = Credential(**{**a.__dict__, "api_key": "sk-rotated-" + "x" * 20})
    p = run(channel_target(admin), [rotated], state)
    assert p.action == "update"
    ops = sorted((c.op, c.key) for c in p.changes)
    assert ops == [("-", "channel Beta"), ("~", "channel Alpha")]
    assert admin.by_name("Alpha")["key"] == rotated.api_key  # type: ignore[index]
    assert admin.by_name("Beta") is None
    assert admin.channels[hand_made["id"]] == hand_made, "a channel credlib did not create is untouched"
    assert rotated.api_key not in all_text(p)


def test_same_named_channel_not_created_by_credlib_is_adopted_but_never_deleted(
    tmp_path: Path, newapi_admin: Callable[..., NewApiAdmin]
) -> None:
    admin = newapi_admin("one-api")
    admin.add_channel(name="Alpha", type=1, key="old", base_url="https://old.example")
    state = new_state(tmp_path)
    p = run(channel_target(admin), [cred("Alpha")], state)
    assert [c.op for c in p.changes] == ["~"]
    assert len(admin.channels) == 1
    # Once adopted it is credlib's: removing the credential removes it.
    p = run(channel_target(admin), [], state)
    assert [c.op for c in p.changes] == ["-"] and admin.channels == {}


def test_channel_edited_by_hand_is_drift(tmp_path: Path, newapi_admin: Callable[..., NewApiAdmin]) -> None:
    admin = newapi_admin("new-api")
    state = new_state(tmp_path)
    run(channel_target(admin), [cred("Alpha")], state)
    admin.by_name("Alpha")["base_url"] = "https://edited-in-ui.example"  # type: ignore[index]
    p = run(channel_target(admin), [cred("Alpha")], state, do_apply=False)
    assert p.action == "drift" and p.drift


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (("status", 401), "refused the credentials (HTTP 401)"),
        (("status", 500), "answered HTTP 500"),
        (("html",), "HTML page, not JSON"),
    ],
)
def test_admin_api_failures_are_clear_target_errors(
    tmp_path: Path, newapi_admin: Callable[..., NewApiAdmin], fault: tuple[object, ...], expected: str
) -> None:
    admin = newapi_admin("new-api")
    admin.fault = fault
    c = cred("Alpha")
    p = run(channel_target(admin), [c], new_state(tmp_path))
    assert p.action == "error"
    assert p.error is not None and expected in p.error
    assert c.api_key not in p.error and admin.token not in p.error
    assert admin.token not in json.dumps(p.to_json())


def test_wrong_token_and_missing_user_id(tmp_path: Path, newapi_admin: Callable[..., NewApiAdmin]) -> None:
    admin = newapi_admin("new-api")
    bad = Target(
        name="site",
        type="new-api",
        url=admin.url,
        access_token="tok-wrong-0123456789",
        options={"user_id": 1},
    )
    p = run(bad, [cred("Alpha")], new_state(tmp_path))
    assert p.action == "error" and "HTTP 401" in (p.error or "")
    assert "tok-wrong-0123456789" not in (p.error or "")
    no_user = Target(name="site", type="new-api", url=admin.url, access_token=admin.token)
    p = run(no_user, [cred("Alpha")], new_state(tmp_path))
    assert p.action == "error" and "user_id" in (p.error or "") and "New-Api-User" in (p.error or "")


def test_server_rejection_message_is_reported(
    tmp_path: Path, newapi_admin: Callable[..., NewApiAdmin]
) -> None:
    admin = newapi_admin("veloera")
    admin.user_id = 7  # the token belongs to another user than the one configured
    p = run(channel_target(admin, user_id=1), [cred("Alpha")], new_state(tmp_path))
    assert p.action == "error" and "HTTP 401" in (p.error or "")


def test_offline_plan_of_http_target_contacts_nothing(
    tmp_path: Path, newapi_admin: Callable[..., NewApiAdmin]
) -> None:
    admin = newapi_admin("new-api")
    tgt = channel_target(admin)
    p = asyncio.run(plan_delivery(tgt, render_for(tgt, [cred("Alpha")]), new_state(tmp_path), None))
    assert p.action == "noop" and p.notes and admin.log == []


# ---------------------------------------------------------------- CLIProxyAPI management API


def cliproxy_target(admin: CliProxyAdmin, key: str | None = None) -> Target:
    return Target(name="proxy", type="cliproxyapi", url=admin.url, management_key=key or admin.secret)


def test_cliproxy_management_lists_by_api_type(tmp_path: Path, cliproxy_admin: CliProxyAdmin) -> None:
    hand = {"api-key": "hand-key-123456", "base-url": "https://hand.example"}
    cliproxy_admin.lists["claude-api-key"].append(hand)
    creds = [
        cred("Relay", models=("gpt-4o-mini",)),
        cred("Claude", api_type="anthropic", models=("claude-sonnet-4-5",)),
        cred("Gem", api_type="google", models=("gemini-2.5-flash",)),
        cred("OAI", api_type="openai", models=("gpt-5",)),
    ]
    state = new_state(tmp_path)
    p = run(cliproxy_target(cliproxy_admin), creds, state)
    assert p.error is None, p.error
    puts = [e for e in cliproxy_admin.log if e.method == "PUT"]
    assert {e.path for e in puts} == {
        f"/v0/management/{n}"
        for n in ("openai-compatibility", "claude-api-key", "gemini-api-key", "codex-api-key")
    }
    assert all(e.headers["authorization"] == f"Bearer {cliproxy_admin.secret}" for e in cliproxy_admin.log)
    lists = cliproxy_admin.lists
    # The proxy's sanitiser kept every entry: each one has what it requires.
    compat = lists["openai-compatibility"][0]
    assert compat["base-url"] == "https://relay.example.com/v1"
    assert compat["api-key-entries"] == [{"api-key": creds[0].api_key}]
    assert lists["claude-api-key"][0] == hand, "a hand-added entry keeps its place"
    assert (
        lists["claude-api-key"][1]["base-url"] == "https://claude.example.com"
    )  # root: it adds /v1/messages
    assert lists["gemini-api-key"][0]["base-url"] == "https://gem.example.com"
    assert lists["codex-api-key"][0]["base-url"] == "https://oai.example.com/v1"
    cliproxy_admin.log.clear()
    again = run(cliproxy_target(cliproxy_admin), creds, state)
    assert again.action == "noop" and {e.method for e in cliproxy_admin.log} == {"GET"}
    p = run(cliproxy_target(cliproxy_admin), creds[:1], state)
    assert lists is cliproxy_admin.lists
    assert cliproxy_admin.lists["claude-api-key"] == [hand]
    assert cliproxy_admin.lists["gemini-api-key"] == [] and cliproxy_admin.lists["codex-api-key"] == []
    for c in creds:
        assert c.api_key not in all_text(p)


def test_cliproxy_wrong_management_key(tmp_path: Path, cliproxy_admin: CliProxyAdmin) -> None:
    p = run(cliproxy_target(cliproxy_admin, key="mgmt-wrong-123456789"), [cred("Relay")], new_state(tmp_path))
    assert p.action == "error" and "HTTP 401" in (p.error or "")
    assert "mgmt-wrong-123456789" not in (p.error or "")


@pytest.mark.parametrize("family", ["new-api", "one-api", "done-hub"])
def test_channel_lists_are_read_across_pages(
    tmp_path: Path, newapi_admin: Callable[..., NewApiAdmin], family: str
) -> None:
    admin = newapi_admin(family)
    for i in range(23):
        admin.add_channel(name=f"hand {i}", type=1, key=f"k{i}", base_url="https://h.example")
    admin.add_channel(name="Alpha", type=1, key="old", base_url="https://old.example")
    p = run(channel_target(admin), [cred("Alpha")], new_state(tmp_path))
    # Found on the last page: updated in place, not created a second time.
    assert [c.op for c in p.changes] == ["~"] and len(admin.channels) == 24


def test_apply_failing_half_way_is_finished_by_the_next_run_without_duplicates(
    tmp_path: Path, newapi_admin: Callable[..., NewApiAdmin]
) -> None:
    admin = newapi_admin("new-api")
    admin.fail_creates_after = 1
    state = new_state(tmp_path)
    a, b = cred("Alpha"), cred("Beta")
    p = run(channel_target(admin), [a, b], state)
    assert (
        p.action == "error" and "creating channel 'Beta'" in (p.error or "") and "HTTP 500" in (p.error or "")
    )
    assert [c["name"] for c in admin.channels.values()] == ["Alpha"]
    admin.fail_creates_after = None
    p = run(channel_target(admin), [a, b], state)
    assert p.error is None
    assert sorted(c["name"] for c in admin.channels.values()) == ["Alpha", "Beta"]
    # Alpha was recorded as credlib's even though that apply failed: removing it deletes it.
    run(channel_target(admin), [b], state)
    assert [c["name"] for c in admin.channels.values()] == ["Beta"]


def test_cliproxy_list_edited_by_hand_is_drift(tmp_path: Path, cliproxy_admin: CliProxyAdmin) -> None:
    state = new_state(tmp_path)
    creds = [cred("Relay"), cred("Claude", api_type="anthropic")]
    run(cliproxy_target(cliproxy_admin), creds, state)
    assert run(cliproxy_target(cliproxy_admin), creds, state, do_apply=False).action == "noop"
    cliproxy_admin.lists["claude-api-key"][0]["base-url"] = "https://edited.example"
    p = run(cliproxy_target(cliproxy_admin), creds, state, do_apply=False)
    assert p.action == "drift" and p.drift
