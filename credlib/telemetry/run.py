"""Run a credential's telemetry method(s) and turn the outcome into a ``TelemetryResult``.

``auto`` tries newapi → sub2api → openai-billing and stops at the first that returns any metric;
404/405 (and a 2xx without usage fields) move on quietly, errors are kept in case nothing answers;
a site that gives no HTTP answer at all (unreachable, timeout) ends the search at once.
While probing, a method reads only what its main endpoint gives: on a New API site ``auto`` makes
exactly one request (All API Hub's rule, research/all-api-hub.md §12), and the follow-ups that an
explicit ``method: newapi`` makes (the site's ``quota_per_unit``, today's log) are left out.
``disabled`` sends nothing. A failure of one credential never affects another.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from credlib.model import Credential
from credlib.probes.http import EngineLike
from credlib.redact import Scrubber
from credlib.telemetry.base import Health, MethodFailure, Reading, TelemetryMethod, TelemetryResult, iso_utc
from credlib.telemetry.convert import ShapeError
from credlib.telemetry.custom import CustomMethod
from credlib.telemetry.health import Thresholds, assess
from credlib.telemetry.newapi import NewApiMethod
from credlib.telemetry.openai_billing import OpenAIBillingMethod
from credlib.telemetry.request import MethodContext, RunCache
from credlib.telemetry.sanitize import scrub_text
from credlib.telemetry.sub2api import Sub2ApiMethod

log = logging.getLogger("credlib.telemetry")

METHODS: dict[str, TelemetryMethod] = {
    m.name: m for m in (NewApiMethod(), Sub2ApiMethod(), OpenAIBillingMethod(), CustomMethod())
}
AUTO_ORDER = ("newapi", "sub2api", "openai-billing")

Progress = Callable[[Credential, TelemetryResult], None]


async def fetch_telemetry(
    engine: EngineLike,
    cred: Credential,
    *,
    now: datetime | None = None,
    thresholds: Thresholds | None = None,
    cache: RunCache | None = None,
) -> TelemetryResult:
    moment = (now or datetime.now(UTC)).astimezone()
    configured = cred.telemetry.method
    scrubber = Scrubber([s for s in (cred.api_key, cred.telemetry.bearer_token) if s])
    ctx = MethodContext(
        engine=engine,
        cred=cred,
        now=moment,
        scrub=scrubber,
        cache=cache or RunCache(),
        probing=configured == "auto",
    )

    def result(
        health: Health, *, reading: Reading | None = None, reason: str | None = None, used: str | None = None
    ) -> TelemetryResult:
        reading = reading or Reading()
        return TelemetryResult(
            metrics=reading.metrics,
            health=health,
            refreshed_at=iso_utc(moment),
            error=reason,
            attempts=list(ctx.attempts),
            method_used=used,
            method=configured,
            today_lower_bound=reading.today_lower_bound,
            rate_limits=reading.rate_limits,
            warnings=reading.warnings,
        )

    if configured == "disabled":
        return result("unknown", reason="telemetry is disabled for this credential")
    order = AUTO_ORDER if configured == "auto" else (configured,)
    failures: list[tuple[str, MethodFailure]] = []
    try:
        for name in order:
            outcome = await _run_method(METHODS[name], ctx, strict=configured != "auto")
            if isinstance(outcome, Reading):
                alerts = assess(
                    outcome.metrics, outcome.rate_limits, outcome.warnings, moment, thresholds or Thresholds()
                )
                if alerts:
                    return result("warning", reading=outcome, reason="; ".join(alerts), used=name)
                return result("healthy", reading=outcome, used=name)
            failures.append((name, outcome))
            if outcome.site_down:
                break
    except Exception as exc:  # a bug must cost one credential its row, not the whole run
        log.debug("telemetry for %s crashed", cred.id, exc_info=True)
        return result("error", reason=f"internal error while reading telemetry ({type(exc).__name__})")
    errors = [(n, f) for n, f in failures if f.kind == "error"]
    if errors:
        name, failure = errors[0]
        return result("error", reason=scrub_text(f"{name}: {failure.message}", scrubber))
    if configured != "auto":
        name, failure = failures[0]
        return result("unknown", reason=scrub_text(f"{name} unsupported here: {failure.message}", scrubber))
    return result("unknown", reason=f"no telemetry endpoint answered on this site (tried {', '.join(order)})")


async def _run_method(
    method: TelemetryMethod, ctx: MethodContext, *, strict: bool
) -> Reading | MethodFailure:
    """One method's reading, or why not. ``strict`` (an explicitly configured method): a 2xx body
    without any field the method reads is an error, not a quiet "not this kind of site".
    """
    try:
        reading = await method.read(ctx)
    except ShapeError as exc:
        message = f"unexpected response: {exc}"
        ctx.amend_last(method.name, "error", message)
        return MethodFailure("error", scrub_text(message, ctx.scrub))
    except MethodFailure as failure:
        return failure
    if not reading.metrics.has_any():
        if strict:
            message = "unexpected response: none of the usage fields this method reads are present"
            ctx.amend_last(method.name, "error", message)
            return MethodFailure("error", message)
        message = "no usage fields returned"
        ctx.amend_last(method.name, "empty", message)
        return MethodFailure("unsupported", message)
    return reading


async def fetch_many(
    engine: EngineLike,
    creds: Iterable[Credential],
    progress: Progress | None = None,
    *,
    now: datetime | None = None,
    thresholds: Thresholds | None = None,
) -> list[TelemetryResult]:
    """Telemetry for every credential at once (the engine's per-origin limiter paces them)."""
    cache = RunCache()
    items = list(creds)

    async def one(cred: Credential) -> TelemetryResult:
        res = await fetch_telemetry(engine, cred, now=now, thresholds=thresholds, cache=cache)
        if progress is not None:
            progress(cred, res)
        return res

    return list(await asyncio.gather(*(one(c) for c in items)))
