"""Shared helpers for the exports tests: credentials/targets built straight from credlib.model, and a
plan-then-apply runner over the real deliveries."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from credlib.exports.deliveries import apply_delivery, render_and_plan
from credlib.exports.targetplan import TargetPlan
from credlib.model import ApiType, Credential, Target
from credlib.state import State
from tests.fixtures.env import fake_key


def cred(
    name: str,
    *,
    api_type: ApiType = "openai-compatible",
    base_url: str | None = None,
    models: Sequence[str] = ("gpt-4o-mini",),
    key: str | None = None,
    tags: Sequence[str] = (),
    cid: str | None = None,
    notes: str | None = None,
) -> Credential:
    slug = cid or "-".join(name.lower().split())
    return Credential(
        name=name,
        id=slug,
        base_url=base_url or f"https://{slug}.example.com",
        api_key=key or fake_key(),
        api_type=api_type,
        models=tuple(models),
        tags=tuple(tags),
        notes=notes,
    )


def target(name: str, type_: str, path: Path | str | None = None, **kwargs: Any) -> Target:
    return Target(name=name, type=type_, path=str(path) if path is not None else None, **kwargs)


def new_state(tmp: Path) -> State:
    return State(tmp / "state" / "state.json")


def plan(tgt: Target, creds: Sequence[Credential], state: State, engine: Any = None) -> TargetPlan:
    return asyncio.run(render_and_plan(tgt, creds, state, engine))


def apply(tgt: Target, creds: Sequence[Credential], state: State, engine: Any = None) -> TargetPlan:
    p = plan(tgt, creds, state, engine)
    return asyncio.run(apply_delivery(p, state, engine))


def all_text(p: TargetPlan) -> str:
    """Everything a plan shows a user or a JSON reader (for leak checks)."""
    import json

    return "\n".join(
        [p.diff, json.dumps(p.to_json()), *(c.summary + c.key for c in p.changes), p.error or ""]
    )
