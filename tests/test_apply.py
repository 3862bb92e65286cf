"""apply: idempotence, ownership-preserving merges, removal, drift, failure isolation (SPEC §6)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.reconcile import Project


def snapshot(paths: dict[str, Path]) -> dict[str, tuple[bytes, int]]:
    return {name: (p.read_bytes(), p.stat().st_mtime_ns) for name, p in paths.items()}


def test_second_apply_writes_nothing(project: Project) -> None:
    project.add("Alpha Relay")
    project.add("Beta", api_type="anthropic", models=["claude-sonnet-4-5"])
    paths = project.all_file_targets()

    first = project.run(apply=True, offline=True)
    assert [t.action for t in first.plan.targets] == ["create"] * 6
    assert all(t.applied for t in first.plan.targets)
    before = snapshot(paths)
    state_file = next((Path(os.environ["CREDLIB_STATE_DIR"])).rglob("state.json"))
    state_before = state_file.stat().st_mtime_ns

    second = project.run(apply=True, offline=True)
    assert not second.plan.changes_pending
    assert not second.confirmed  # nothing to approve: apply never asked
    assert [t.action for t in second.plan.targets] == ["noop"] * 6
    assert not any(t.applied for t in second.plan.targets)
    assert snapshot(paths) == before  # same bytes, same mtime: not rewritten
    assert state_file.stat().st_mtime_ns == state_before


def test_exports_are_private_files(project: Project) -> None:
    project.add("Alpha")
    path = project.target("env", "dotenv", "out/deep/er/.env")
    assert path is not None
    project.run(apply=True, offline=True)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


def test_hand_added_provider_survives(project: Project) -> None:
    project.add("Alpha")
    path = project.target("ccr", "claude-code-router", "out/ccr/config.json")
    assert path is not None
    path.parent.mkdir(parents=True)
    mine = {"name": "my-ollama", "api_base_url": "http://127.0.0.1:11434/v1/chat/completions",
            "api_key": "ollama", "models": ["qwen"]}
    path.write_text(json.dumps({"LOG": True, "Providers": [mine]}, indent=2))

    result = project.run(apply=True, offline=True)
    assert result.plan.targets[0].action == "update"
    doc = json.loads(path.read_text())
    names = [p["name"] for p in doc["Providers"]]
    assert "my-ollama" in names and "alpha" in names
    assert doc["LOG"] is True
    assert mine in doc["Providers"]

    # Hand-add another provider after credlib wrote the file, then change the credentials: both stay.
    doc["Providers"].append({"name": "later", "api_base_url": "http://x/v1", "api_key": "k", "models": ["m"]})
    path.write_text(json.dumps(doc, indent=2))
    project.add("Gamma")
    result = project.run(apply=True, offline=True, force=True)
    names = [p["name"] for p in json.loads(path.read_text())["Providers"]]
    assert {"my-ollama", "later", "alpha", "gamma"} <= set(names)


def test_removing_a_credential_removes_only_its_entries(project: Project) -> None:
    project.add("Alpha")
    project.add("Beta")
    ccr = project.target("ccr", "claude-code-router", "out/ccr/config.json")
    env = project.target("env", "dotenv", "out/.env")
    assert ccr is not None and env is not None
    project.run(apply=True, offline=True)
    # A user's own variable in the same .env file (a hand edit: apply will need --force there).
    env.write_text(env.read_text() + "MY_OWN=1\n")

    project.remove("Beta")
    plan = project.run(offline=True).plan
    ccr_plan = next(t for t in plan.targets if t.name == "ccr")
    assert [(c.op, c.key) for c in ccr_plan.changes() if c.op == "-"] == [("-", "Providers[beta]")]
    assert ccr_plan.action == "delete"
    project.run(apply=True, offline=True, force=True)
    providers = [p["name"] for p in json.loads(ccr.read_text())["Providers"]]
    assert providers == ["alpha"]
    text = env.read_text()
    assert "BETA_" not in text
    assert "ALPHA_API_KEY=" in text and "MY_OWN=1" in text


def test_drift_is_reported_and_refused_without_force(project: Project) -> None:
    project.add("Alpha")
    path = project.target("litellm", "litellm", "out/litellm.yaml")
    assert path is not None
    project.run(apply=True, offline=True)
    path.write_text(path.read_text() + "litellm_settings:\n  drop_params: true\n")
    hand_edited = path.read_bytes()
    project.add("Beta")  # something to write, so the drift matters

    plan = project.run(offline=True).plan
    (outcome,) = plan.targets
    assert outcome.drift and outcome.action == "drift"
    from credlib.reconcile.report import plan_text

    text = "\n".join(plan_text(plan, 2))
    assert "changed by hand" in text and "--force" in text

    refused = project.run(apply=True, offline=True).plan
    assert refused.targets[0].refused and not refused.targets[0].applied
    assert refused.failed
    assert path.read_bytes() == hand_edited  # nothing lost

    forced = project.run(apply=True, offline=True, force=True).plan
    assert forced.targets[0].applied and not forced.failed
    text = path.read_text()
    assert "drop_params: true" in text  # the hand edit is outside credlib's entries: kept
    assert "beta" in text


def test_one_failing_target_does_not_stop_the_others(project: Project) -> None:
    project.add("Alpha")
    blocked = project.root / "out" / "blocked"
    blocked.mkdir(parents=True)
    good = project.target("env", "dotenv", "out/ok/.env")
    project.target("bad-dir", "dotenv", "out/blocked")  # a directory where a file should be
    project.target("bad-type", "no-such-tool", "out/x.json")
    project.target("bad-json", "claude-code-router", "out/broken/config.json")
    broken = project.root / "out" / "broken" / "config.json"
    broken.parent.mkdir(parents=True)
    broken.write_text("{ not json")
    also_good = project.target("ccr", "claude-code-router", "out/ccr/config.json")

    plan = project.run(apply=True, offline=True).plan
    by_name = {t.name: t for t in plan.targets}
    assert by_name["env"].applied and by_name["ccr"].applied
    assert good is not None and good.exists() and also_good is not None and also_good.exists()
    for name in ("bad-dir", "bad-type", "bad-json"):
        assert by_name[name].action == "error", name
        assert by_name[name].error
    assert "no-such-tool" in (by_name["bad-type"].error or "")
    assert broken.read_text() == "{ not json"  # never overwritten
    assert plan.failed


def test_unwritable_path_fails_that_target_only(project: Project) -> None:
    """A parent that is a regular file cannot be created or written (even as root)."""
    project.add("Alpha")
    blocker = project.root / "out" / "not-a-dir"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("user data\n")
    project.target("blocked", "dotenv", "out/not-a-dir/sub/.env")
    ok = project.target("ok", "dotenv", "out/ok/.env")
    plan = project.run(apply=True, offline=True).plan
    by_name = {t.name: t for t in plan.targets}
    assert by_name["blocked"].action == "error"
    assert "not-a-dir" in (by_name["blocked"].error or "")
    assert by_name["ok"].applied and ok is not None and ok.exists()
    assert blocker.read_text() == "user data\n"
    assert plan.failed


def test_target_filter_and_unknown_target(project: Project) -> None:
    from credlib.errors import NotFoundError

    project.add("Alpha")
    a = project.target("a", "dotenv", "out/a.env")
    b = project.target("b", "dotenv", "out/b.env")
    plan = project.run(apply=True, offline=True, targets=("a",)).plan
    assert [t.name for t in plan.targets] == ["a"]
    assert a is not None and a.exists() and b is not None and not b.exists()
    with pytest.raises(NotFoundError, match="no target named 'nope'"):
        project.run(offline=True, targets=("nope",))


def test_offline_skips_http_targets_without_a_request(project: Project) -> None:
    project.add("Alpha")
    project.target("site", "new-api", url="http://127.0.0.1:9", access_token="admin-token-123456")
    env = project.target("env", "dotenv", "out/.env")
    plan = project.run(apply=True, offline=True).plan
    site = next(t for t in plan.targets if t.name == "site")
    assert site.skipped and "--offline" in site.skipped
    assert site.action == "noop" and not site.applied
    assert not plan.failed and env is not None and env.exists()
    from credlib.reconcile.report import plan_json

    assert plan_json(plan, command="apply")["targets"][0]["skipped"] == site.skipped


def test_http_target_through_the_reconciler(project: Project, newapi_admin: Any) -> None:
    """An admin API target next to a file target: upserted, idempotent, and its failure isolated."""
    admin = newapi_admin("new-api")
    # Local servers: the limiter's real-world pace would only slow the test.
    project.defaults = {"limits": {"concurrency": 4, "burst": 1000, "per_minute": 100000}}
    key = project.add("Alpha")
    project.target("site", "new-api", url=admin.url, access_token=admin.token,
                   options={"user_id": admin.user_id})
    env = project.target("env", "dotenv", "out/.env")
    from credlib.relay import Relay

    relay = Relay(name="apply-http", accept_any_key=True).start()
    try:
        ov = {"https://alpha.example.com": relay.url, "https://beta.example.com": relay.url}
        _http_rounds(project, admin, key, env, ov)
    finally:
        relay.stop()


def _http_rounds(project: Project, admin: Any, key: str, env: Path | None, ov: dict[str, str]) -> None:
    plan = project.run(apply=True, origin_overrides=ov).plan
    site = next(t for t in plan.targets if t.name == "site")
    assert site.applied and site.action == "create", site.error
    channel = admin.by_name("Alpha") or next(iter(admin.channels.values()), None)
    assert channel is not None and channel["key"] == key

    again = project.run(apply=True, origin_overrides=ov).plan
    assert [t.action for t in again.targets] == ["noop", "noop"]

    admin.fault = ("status", 500)
    project.add("Beta")
    failed = project.run(apply=True, origin_overrides=ov).plan
    by_name = {t.name: t for t in failed.targets}
    assert by_name["site"].action == "error" and failed.failed
    assert admin.token not in (by_name["site"].error or "")
    assert by_name["env"].applied and env is not None and "BETA_API_KEY" in env.read_text()
