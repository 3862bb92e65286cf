"""Plan: for every target, select credentials, leave out failing ones, render, diff.

One target's failure (unknown type, template error, unreadable file, admin API down) becomes that
target's ``error`` and never stops the others. Messages are scrubbed of every secret in the file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from credlib.errors import CredlibError, NotFoundError
from credlib.exports.targetplan import Change, TargetPlan
from credlib.model import Config, Credential, Target
from credlib.reconcile import cache
from credlib.reconcile.observe import Observations, Verdict
from credlib.redact import Scrubber
from credlib.state import State

PENDING_ACTIONS = ("create", "update", "delete")


@dataclass
class TargetOutcome:
    """What plan (and later apply) found for one target."""

    target: Target
    delivery: TargetPlan | None = None  # the exports layer's plan (None when planning failed early)
    excluded: list[Verdict] = field(default_factory=list)  # left out: failed verification
    # Left out because the tool cannot use the endpoint (no Responses API for Codex): (cred, why).
    unsupported: list[tuple[Credential, str]] = field(default_factory=list)
    unchecked: list[tuple[Credential, str]] = field(default_factory=list)  # kept, but not checked
    error: str | None = None
    skipped: str | None = None  # a reason this target was not planned (e.g. --offline and HTTP)
    applied: bool = False  # apply wrote it
    refused: str | None = None  # apply declined (drift without --force)
    fingerprint: str | None = None  # file targets: hash of everything the rendering depends on
    cached: bool = False  # known up to date without rendering (see credlib.reconcile.cache)

    @property
    def name(self) -> str:
        return self.target.name

    @property
    def action(self) -> str:
        if self.error is not None:
            return "error"
        if self.delivery is None:
            return "noop"
        return str(self.delivery.action)

    @property
    def drift(self) -> bool:
        return self.delivery is not None and self.delivery.drift

    @property
    def pending(self) -> bool:
        """Would apply write something here (drift counts: it is a change --force would make)?"""
        return self.action in PENDING_ACTIONS or self.action == "drift"

    def changes(self) -> list[Change]:
        return list(self.delivery.changes) if self.delivery is not None else []

    def diff(self) -> str:
        return self.delivery.diff if self.delivery is not None else ""

    def links(self) -> list[str]:
        """Full deep links (they hold keys): printed by apply only, never in plan, diff or JSON."""
        return list(self.delivery.links) if self.delivery is not None else []

    def notes(self) -> list[str]:
        return list(self.delivery.notes) if self.delivery is not None else []


@dataclass
class ReconcilePlan:
    observations: Observations
    targets: list[TargetOutcome]
    offline: bool = False

    def count(self, action: str) -> int:
        return sum(1 for t in self.targets if t.action == action)

    @property
    def changes_pending(self) -> bool:
        return any(t.pending for t in self.targets)

    @property
    def failed(self) -> bool:
        return any(t.error is not None or t.refused is not None for t in self.targets)


def pick_targets(config: Config, only: Sequence[str]) -> list[Target]:
    """The targets to work on: all, or those named (exactly, then case-insensitively)."""
    if not only:
        return list(config.targets)
    chosen: list[Target] = []
    for wanted in only:
        match = [t for t in config.targets if t.name == wanted] or [
            t for t in config.targets if t.name.casefold() == wanted.casefold()
        ]
        if not match:
            known = ", ".join(t.name for t in config.targets) or "none"
            raise NotFoundError(f"no target named {wanted!r} (targets: {known})")
        for tgt in match:
            if tgt not in chosen:
                chosen.append(tgt)
    return chosen


def describe_error(exc: BaseException, scrub: Scrubber) -> str:
    """A one-line, secret-free description of a per-target failure."""
    if isinstance(exc, CredlibError):
        return scrub(exc.message)
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        return scrub(f"{exc.strerror or type(exc).__name__}:{where}".rstrip(":"))
    # Unknown exception types may carry anything (a library echoing a request); keep only the type
    # and a scrubbed message.
    return scrub(f"unexpected {type(exc).__name__}: {exc}")


async def plan_target(
    target: Target,
    config: Config,
    obs: Observations,
    state: State,
    engine: Any,
    scrub: Scrubber,
    cred_digests: dict[int, str],
    *,
    offline: bool,
) -> TargetOutcome:
    from credlib.exports.deliveries import plan_delivery
    from credlib.exports.registry import resolve_type, select_credentials
    from credlib.exports.render import render_target

    outcome = TargetOutcome(target)
    try:
        ttype = resolve_type(target)
        if offline and ttype.delivery == "http":
            outcome.skipped = "delivered over HTTP; not contacted with --offline"
            return outcome
        selected: list[Credential] = list(select_credentials(target, config.credentials))
        kept: list[Credential] = []
        for cred in selected:
            verdict = obs.verdict(cred)
            if verdict.failing and not target.include_failing:
                outcome.excluded.append(verdict)
            else:
                kept.append(cred)
        if ttype.requires_responses:
            kept = await _with_responses_api(kept, outcome, obs, state, engine)
        base_dir = base_dir_of(config)
        if ttype.delivery == "file":
            digests = [cred_digests[id(c)] for c in kept]
            outcome.fingerprint = cache.inputs_fingerprint(target, digests, base_dir)
            record = cache.lookup(state, target, outcome.fingerprint)
            if record is not None:
                outcome.delivery = up_to_date(target, record)
                outcome.cached = True
                return outcome
        rendering = render_target(target, kept, base_dir=base_dir)
        outcome.delivery = await plan_delivery(target, rendering, state, engine)
        if outcome.delivery.error:
            outcome.error = scrub(outcome.delivery.error)
        if outcome.fingerprint is not None:
            if outcome.action == "noop":
                cache.remember(state, target, outcome.fingerprint, outcome.delivery.paths, outcome.notes())
            else:
                cache.forget(state, target)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        outcome.error = describe_error(exc, scrub)
    return outcome


async def _with_responses_api(
    creds: list[Credential], outcome: TargetOutcome, obs: Observations, state: State, engine: Any
) -> list[Credential]:
    from credlib.reconcile.responses import support

    answers = await asyncio.gather(*(support(c, obs, state, engine) for c in creds))
    kept: list[Credential] = []
    for cred, answer in zip(creds, answers, strict=True):
        if answer.supported is False:
            outcome.unsupported.append((cred, answer.detail))
            continue
        if answer.supported is None:
            outcome.unchecked.append((cred, answer.detail))
        kept.append(cred)
    return kept


def up_to_date(target: Target, record: dict[str, Any]) -> TargetPlan:
    """The plan the exports layer would have returned for an unchanged file target."""
    return TargetPlan(
        name=target.name,
        type=target.type,
        action="noop",
        delivery="file",
        paths=list(record.get("files", {})),
        notes=[str(n) for n in record.get("notes", [])],
    )


def base_dir_of(config: Config) -> Path | None:
    """Relative target paths are relative to the credentials file's directory, not the cwd."""
    if not config.path:
        return None
    # Absolute, so the plan and the state name the same file whatever the cwd was.
    path = Path(config.path).expanduser().absolute()
    return path if path.is_dir() else path.parent


async def build_plan(
    config: Config,
    state: State,
    engine: Any,
    obs: Observations,
    *,
    only: Sequence[str] = (),
    offline: bool = False,
) -> ReconcilePlan:
    scrub = Scrubber(config.secrets())
    targets = pick_targets(config, only)
    # Hashed once per run, not once per target: the plan cache compares them for every file target.
    digests = {id(c): cache.credential_digest(c) for c in config.credentials}
    outcomes = await asyncio.gather(
        *(plan_target(t, config, obs, state, engine, scrub, digests, offline=offline) for t in targets)
    )
    return ReconcilePlan(observations=obs, targets=list(outcomes), offline=offline)
