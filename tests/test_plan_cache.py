"""The plan cache: an unchanged file target is known up to date without rendering; any change in its
inputs or files falls back to the full plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.reconcile import Project


@pytest.fixture
def applied(project: Project) -> tuple[Project, Path]:
    project.add("Alpha")
    path = project.target("ccr", "claude-code-router", "out/ccr/config.json")
    assert path is not None
    project.run(apply=True, offline=True)
    return project, path


def forbid_rendering(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    import credlib.exports.render as render

    real = render.render_target

    def spy(target, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(target.name)
        return real(target, *args, **kwargs)

    monkeypatch.setattr(render, "render_target", spy)
    return calls


def test_unchanged_target_is_not_rendered_again(applied: tuple[Project, Path],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    project, path = applied
    calls = forbid_rendering(monkeypatch)
    plan = project.run(offline=True).plan
    (outcome,) = plan.targets
    assert outcome.cached and outcome.action == "noop" and calls == []
    assert outcome.delivery.paths == [str(path)]


@pytest.mark.parametrize("change", ["credential", "key", "target", "file", "verification"])
def test_any_change_falls_back_to_the_full_plan(applied: tuple[Project, Path],
                                                monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    project, path = applied
    if change == "credential":
        project.credentials[0]["models"] = ["gpt-4.1"]
    elif change == "key":
        project.credentials[0]["api_key"] = "sk-" + "r" * 40
    elif change == "target":
        project.targets[0]["options"] = {"mode": "file"}
    elif change == "file":
        path.write_text(path.read_text().replace('"Router"', '"LOG": true, "Router"'))
    calls = forbid_rendering(monkeypatch)
    if change == "verification":
        from credlib.reconcile.observe import fingerprint
        from credlib.state import State

        state = State.load(project.file)
        cred = project.config().credentials[0]
        record = {"status": "auth_failed", "ok": False, "fingerprint": fingerprint(cred)}
        state.record("verify", cred.id, record)
        state.save()
    plan = project.run(offline=True).plan
    (outcome,) = plan.targets
    assert not outcome.cached and calls == ["ccr"]
    if change in ("credential", "key"):
        assert outcome.action == "update"
    if change == "verification":
        assert outcome.action == "delete" and [v.name for v in outcome.excluded] == ["Alpha"]


def test_user_template_edit_invalidates(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    project.add("Alpha")
    template = project.root / "mine.env.j2"
    template.write_text("{% for c in credentials %}{{ c.id | upper }}_KEY={{ c.api_key }}\n{% endfor %}")
    path = project.target("mine", "dotenv", "out/mine.env", template=str(template))
    assert path is not None
    project.run(apply=True, offline=True)
    assert project.run(offline=True).plan.targets[0].cached
    template.write_text("{% for c in credentials %}{{ c.id | upper }}_TOKEN={{ c.api_key }}\n{% endfor %}")
    outcome = project.run(offline=True).plan.targets[0]
    assert not outcome.cached and outcome.action in ("update", "delete")
