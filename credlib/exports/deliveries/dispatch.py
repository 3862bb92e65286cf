"""Route a rendering to its delivery; every failure becomes an ``error`` plan for THAT target only."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from credlib.errors import CredlibError
from credlib.exports.redaction import redact_text
from credlib.exports.render import Rendering
from credlib.exports.targetplan import TargetPlan
from credlib.model import Credential, Target
from credlib.state import State

if TYPE_CHECKING:
    from credlib.exports.deliveries.http import HttpEngine


def error_plan(name: str, type_: str, message: str) -> TargetPlan:
    """A plan for a target that could not even be rendered (unknown type, template error, ...)."""
    return TargetPlan(name=name, type=type_).fail(message)


async def plan_delivery(
    target: Target, rendering: Rendering, state: State, engine: HttpEngine | None
) -> TargetPlan:
    """What delivering ``rendering`` would change. Never raises for target-level problems."""
    ttype = rendering.ttype
    plan = TargetPlan(name=rendering.target.name, type=rendering.target.type, delivery=ttype.delivery)
    plan.notes.extend(f"{name}: {why}" for name, why in rendering.skipped)
    try:
        if ttype.delivery == "file":
            from credlib.exports.deliveries.file import plan_file

            return await plan_file(plan, rendering, state)
        if ttype.delivery == "deeplink":
            from credlib.exports.deliveries.deeplink import plan_deeplink

            return await plan_deeplink(plan, rendering, state)
        from credlib.exports.deliveries.http import plan_http

        return await plan_http(plan, rendering, state, engine)
    except CredlibError as exc:
        return plan.fail(redact_text(exc.message, rendering.secrets))


async def render_and_plan(
    target: Target,
    credentials: Sequence[Credential],
    state: State,
    engine: HttpEngine | None,
    *,
    base_dir: Path | None = None,
) -> TargetPlan:
    """Select, render and plan one target; any target-level failure (unknown type, template error,
    forbidden characters) becomes an ``error`` plan instead of an exception."""
    from credlib.exports.render import render_for

    try:
        rendering = render_for(target, credentials, base_dir=base_dir)
    except CredlibError as exc:
        secrets = [c.api_key for c in credentials]
        secrets += [s for s in (target.access_token, target.management_key) if s]
        return error_plan(target.name, target.type, redact_text(exc.message, secrets))
    return await plan_delivery(target, rendering, state, engine)


async def apply_delivery(plan: TargetPlan, state: State, engine: HttpEngine | None) -> TargetPlan:
    """Carry ``plan`` out (the caller decides about drift and --force). Records into ``state``; the
    caller saves it."""
    if plan.action == "error":
        plan.outcome = "failed"
        return plan
    try:
        if plan.delivery == "file":
            from credlib.exports.deliveries.file import apply_file

            return await apply_file(plan, state)
        if plan.delivery == "deeplink":
            from credlib.exports.deliveries.deeplink import apply_deeplink

            return await apply_deeplink(plan, state)
        from credlib.exports.deliveries.http import apply_http

        return await apply_http(plan, state, engine)
    except CredlibError as exc:
        plan.fail(exc.message)
        plan.outcome = "failed"
        return plan
