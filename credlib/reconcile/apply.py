"""Apply: deliver every pending target of a plan, each on its own.

Targets are delivered one after the other (deterministic order, bounded load on a user's admin API);
a failure is recorded on that target and the next one still runs. A target changed by hand since
the last apply (drift) is refused unless ``force``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from credlib.reconcile import cache
from credlib.reconcile.plan import ReconcilePlan, TargetOutcome, describe_error
from credlib.redact import Scrubber
from credlib.state import State


def drift_refusal(outcome: TargetOutcome) -> str:
    where = outcome.target.path or outcome.target.url or outcome.target.name
    return f"{where} changed since credlib last wrote it; re-run with --force to overwrite"


async def apply_target(
    outcome: TargetOutcome, state: State, engine: Any, scrub: Scrubber, *, force: bool
) -> None:
    from credlib.exports.deliveries import apply_delivery

    if not outcome.pending or outcome.error is not None or outcome.delivery is None:
        return
    if outcome.fingerprint is not None:
        cache.forget(state, outcome.target)  # until this apply succeeds, the files are unknown
    if outcome.drift and not force:
        outcome.refused = drift_refusal(outcome)
        return
    try:
        result = await apply_delivery(outcome.delivery, state, engine)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        outcome.error = describe_error(exc, scrub)
        return
    if result.error:
        outcome.error = scrub(result.error)
        return
    outcome.delivery = result
    outcome.applied = True
    if outcome.fingerprint is not None:
        cache.remember(state, outcome.target, outcome.fingerprint, result.paths, outcome.notes())


async def apply_plan(
    plan: ReconcilePlan, state: State, engine: Any, secrets: list[str], *, force: bool
) -> None:
    scrub = Scrubber(secrets)
    for outcome in plan.targets:
        await apply_target(outcome, state, engine, scrub, force=force)
        if outcome.applied:
            # Record what was written right away: a crash later must not make this target look
            # hand-edited (drift) on the next run.
            state.save()
