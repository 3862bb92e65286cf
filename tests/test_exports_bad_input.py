"""Every kind of bad input fails only its own target, with a message that names the problem and
holds no key; the good targets next to it are planned and delivered as usual."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from credlib.exports.deliveries import apply_delivery, render_and_plan
from credlib.exports.targetplan import TargetPlan
from credlib.model import Limits, Target
from credlib.net import Engine
from tests.exports_helpers import cred, new_state
from tests.fixtures.admin_servers import NewApiAdmin


def test_bad_targets_fail_alone(tmp_path: Path, newapi_admin: Callable[..., NewApiAdmin]) -> None:
    syntax = tmp_path / "syntax.j2"
    syntax.write_text("{% for c in credentials %}\n{{ c.name }\n")
    missing = tmp_path / "missing.j2"
    missing.write_text("A=1\nB={{ credentials[0].region }}\n")
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    broken_admin = newapi_admin("new-api")
    broken_admin.fault = ("status", 500)
    html_admin = newapi_admin("one-api")
    html_admin.fault = ("html",)
    good_admin = newapi_admin("done-hub")
    creds = [cred("Relay (EU)", cid="relay-eu"), cred("Claude", api_type="anthropic")]
    secrets = [c.api_key for c in creds] + [broken_admin.token, html_admin.token, good_admin.token]
    out = tmp_path / "out"
    targets = [
        Target(name="unknown", type="cherry", path=str(out / "x")),
        Target(name="syntax", type="dotenv", path=str(out / "s.env"), template=str(syntax)),
        Target(name="missing", type="dotenv", path=str(out / "m.env"), template=str(missing)),
        Target(name="unwritable", type="dotenv", path=str(blocker / "sub" / ".env")),
        Target(
            name="admin500",
            type="new-api",
            url=broken_admin.url,
            access_token=broken_admin.token,
            options={"user_id": 1},
        ),
        Target(name="adminhtml", type="one-api", url=html_admin.url, access_token=html_admin.token),
        Target(name="cherry", type="cherry-studio"),
        # The good ones.
        Target(name="env", type="dotenv", path=str(out / ".env")),
        Target(name="ccr", type="claude-code-router", path=str(out / "ccr.json")),
        Target(name="site", type="done-hub", url=good_admin.url, access_token=good_admin.token),
    ]
    state = new_state(tmp_path)

    async def go() -> list[TargetPlan]:
        async with Engine(Limits(concurrency=4, burst=1000, per_minute=100000), max_retries=0) as engine:
            plans = [await render_and_plan(t, creds, state, engine, base_dir=tmp_path) for t in targets]
            return [await apply_delivery(p, state, engine) for p in plans]

    done = {p.name: p for p in asyncio.run(go())}
    expected_errors = {
        "unknown": "unknown target type 'cherry'",
        "syntax": "syntax.j2:2",
        "missing": "missing.j2:2",
        "unwritable": "Not a directory",
        "admin500": "HTTP 500",
        "adminhtml": "HTML page",
        "cherry": "'Relay (EU)'",
    }
    for name, fragment in expected_errors.items():
        assert done[name].action == "error", (name, done[name].action)
        assert fragment in (done[name].error or ""), (name, done[name].error)
    for name in ("env", "ccr", "site"):
        assert done[name].error is None, (name, done[name].error)
        assert done[name].outcome and done[name].outcome != "failed"
    assert (out / ".env").exists() and (out / "ccr.json").exists()
    assert len(good_admin.channels) == 2
    shown = json.dumps([p.to_json() for p in done.values()]) + "".join(p.diff for p in done.values())
    for secret in secrets:
        assert secret not in shown
    assert not (out / "s.env").exists() and not (out / "m.env").exists()
    assert blocker.read_text() == "x"
