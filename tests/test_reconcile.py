"""The online half of the reconciler: verification and telemetry against the local relay, recorded
in state; failing keys left out of exports (and said so); offline reuse of the last result; status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from credlib.relay import Relay
from credlib.state import State
from tests.fixtures.reconcile import Project


@pytest.fixture
def online(project: Project, relay: Relay) -> tuple[Project, Relay, dict[str, str]]:
    # Both keys share one origin; the default limits (burst 4, 18/min) would make the test wait.
    project.defaults = {"limits": {"concurrency": 4, "burst": 50, "per_minute": 600}}
    good = project.add("Good Relay", telemetry={"method": "newapi"})
    bad = project.add("Revoked Key", telemetry={"method": "newapi"})
    relay.add_key(good, models=["gpt-4o-mini"], flavor="newapi", quota=7.5, used=2.5)
    relay.add_key(bad, models=["gpt-4o-mini"], flavor="newapi", disabled=True)
    project.target("env", "dotenv", "out/.env")
    project.target("keep-all", "dotenv", "out/all.env", include_failing=True)
    return project, relay, project.origins_to(relay.url)


def test_failing_key_is_left_out_and_the_plan_says_so(online: tuple[Project, Relay, dict[str, str]]) -> None:
    project, _relay, ov = online
    result = project.run(apply=True, origin_overrides=ov)
    plan = result.plan
    verdicts = {v.name: v for v in plan.observations.verdicts.values()}
    assert verdicts["Good Relay"].ok is True and verdicts["Good Relay"].status == "ok"
    assert verdicts["Revoked Key"].ok is False and verdicts["Revoked Key"].status == "auth_failed"

    env, keep_all = (next(t for t in plan.targets if t.name == n) for n in ("env", "keep-all"))
    assert [v.name for v in env.excluded] == ["Revoked Key"]
    assert keep_all.excluded == []
    env_text = (project.root / "out/.env").read_text()
    assert "GOOD_RELAY_API_KEY" in env_text and "REVOKED_KEY" not in env_text
    assert "REVOKED_KEY_API_KEY" in (project.root / "out/all.env").read_text()

    from credlib.reconcile.report import plan_json, plan_text

    text = "\n".join(plan_text(plan, 2))
    assert "1 failed (Revoked Key: auth_failed)" in text
    assert "left out: Revoked Key (verification auth_failed" in text
    data = plan_json(plan, command="apply")
    env_json = next(t for t in data["targets"] if t["name"] == "env")
    assert env_json["excluded"] == [{"name": "Revoked Key", "id": "revoked-key", "status": "auth_failed"}]


def test_results_recorded_in_state_and_reused_offline(online: tuple[Project, Relay, dict[str, str]]) -> None:
    project, relay, ov = online
    project.run(origin_overrides=ov)
    state = State.load(project.file)
    good = state.get("verify", "good-relay")
    assert good["status"] == "ok" and good["ok"] is True and good["checked_at"]
    tele = state.get("telemetry", "good-relay")
    assert tele["balance"] == pytest.approx(7.5) and tele["health"] == "healthy"
    assert state.get("verify", "revoked-key")["status"] == "auth_failed"
    raw = state.path.read_text()
    for key in project.api_keys():  # verify and telemetry results are recorded without the keys
        assert key not in raw

    # Offline: no request at all, the recorded failure still keeps the revoked key out.
    relay.clear_log()
    plan = project.run(offline=True).plan
    assert relay.log == []
    env = next(t for t in plan.targets if t.name == "env")
    assert [v.name for v in env.excluded] == ["Revoked Key"]
    assert {v.source for v in plan.observations.verdicts.values()} == {"state"}

    # A new key for the revoked credential: the old failure no longer applies to it.
    project.credentials[1]["api_key"] = "sk-" + "n" * 40
    plan = project.run(offline=True).plan
    env = next(t for t in plan.targets if t.name == "env")
    assert env.excluded == []


def test_status_reports_observations_and_drift(online: tuple[Project, Relay, dict[str, str]],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from credlib.reconcile.status import collect_status

    project, relay, ov = online
    project.run(apply=True, origin_overrides=ov)
    relay.clear_log()
    report = collect_status(project.config(), State.load(project.file))
    assert relay.log == []  # status makes no request
    by_name = {c.name: c for c in report.credentials}
    assert by_name["Good Relay"].verify is not None and by_name["Good Relay"].verify["status"] == "ok"
    assert by_name["Good Relay"].telemetry is not None
    assert by_name["Good Relay"].telemetry["balance"] == pytest.approx(7.5)
    assert not any(t.drift for t in report.targets)

    # A hand edit plus a change credlib must write = drift on that target only.
    env = project.root / "out/.env"
    env.write_text(env.read_text() + "HAND=1\n")
    project.credentials[0]["models"] = ["gpt-4.1"]
    report = collect_status(project.config(), State.load(project.file))
    drift = {t.name: t.drift for t in report.targets}
    assert drift == {"env": True, "keep-all": False}
    data = report.to_json()
    assert data["format_version"] == 1
    assert [r["name"] for r in data["results"]] == ["Good Relay", "Revoked Key"]
    good, revoked = data["results"]
    assert good["status"] == "ok" and good["balance"] == pytest.approx(7.5) and good["health"] == "healthy"
    assert revoked["status"] == "auth_failed" and good["stale"] is False
    assert [t["name"] for t in data["targets"] if t["drift"]] == ["env"]
    json.dumps(data)  # serialisable as is


def test_verify_failures_do_not_fail_plan(online: tuple[Project, Relay, dict[str, str]]) -> None:
    """A failing key is reported and left out; it is not a failed target (exit 0, like terraform)."""
    project, _relay, ov = online
    plan = project.run(origin_overrides=ov).plan
    assert not plan.failed


def test_unreachable_origin_is_a_verdict_not_a_crash(project: Project, tmp_path: Path) -> None:
    project.add("Nowhere", base_url="http://127.0.0.1:9")  # discard port: connection refused
    project.target("env", "dotenv", "out/.env")
    plan = project.run().plan
    (verdict,) = plan.observations.verdicts.values()
    assert verdict.ok is False and verdict.status in ("unreachable", "timeout")
    assert plan.targets[0].excluded
