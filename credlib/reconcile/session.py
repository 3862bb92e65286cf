"""One plan or apply run, end to end: load, lock, observe, plan, (confirm,) apply, save state.

The CLI and the demo call these; they are plain functions (no click) and return the plan, whose
outcomes carry everything the report needs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from credlib.model import Config
from credlib.reconcile.apply import apply_plan
from credlib.reconcile.observe import Observations, observe, recall
from credlib.reconcile.plan import ReconcilePlan, build_plan
from credlib.state import State, apply_lock

DEFAULT_LOCK_WAIT_S = 3.0


@dataclass
class RunOptions:
    file: str
    targets: tuple[str, ...] = ()
    offline: bool = False
    force: bool = False
    origin_overrides: Mapping[str, str] = field(default_factory=dict)
    state_root: Path | None = None  # None: the platform state dir
    lock_wait_s: float = DEFAULT_LOCK_WAIT_S
    config: Config | None = None  # already loaded (the demo redirects target paths)


@dataclass
class RunResult:
    config: Config
    plan: ReconcilePlan
    confirmed: bool = False  # apply only: the user (or --yes) approved the changes

    @property
    def credential_count(self) -> int:
        return len(self.config.credentials)


def load(opts: RunOptions) -> Config:
    if opts.config is not None:
        return opts.config
    from credlib.gitops.machine import apply_machine_config, load_machine_config
    from credlib.store import load_config

    config: Config = load_config(opts.file)
    # Which targets apply on this machine, and where they write, is per-machine config (SPEC §7).
    return apply_machine_config(config, load_machine_config(opts.file))


def state_key(opts: RunOptions, config: Config) -> str:
    """State and lock are per credentials file (the resolved path the store loaded)."""
    return config.path or opts.file


@contextlib.asynccontextmanager
async def open_engine(config: Config, opts: RunOptions) -> AsyncIterator[Any]:
    """The one HTTP engine of the run, or None with --offline: then nothing may make a request (HTTP
    targets are skipped, file and deep-link deliveries need none), and httpx is not even imported."""
    if opts.offline:
        yield None
        return
    from credlib.net import engine_for

    async with engine_for(config, origin_overrides=dict(opts.origin_overrides)) as engine:
        yield engine


async def _observe(config: Config, state: State, engine: Any, offline: bool) -> Observations:
    if offline:
        return recall(config.credentials, state)
    return await observe(engine, config.credentials, state)


async def _plan_and_maybe_apply(
    config: Config,
    state: State,
    opts: RunOptions,
    confirm: Callable[[ReconcilePlan], bool] | None,
) -> RunResult:
    async with open_engine(config, opts) as engine:
        obs = await _observe(config, state, engine, opts.offline)
        plan = await build_plan(config, state, engine, obs, only=opts.targets, offline=opts.offline)
        result = RunResult(config=config, plan=plan)
        if confirm is None or not plan.changes_pending:
            return result
        # The prompt blocks on the terminal; keep the event loop (and its client) out of its way.
        result.confirmed = await asyncio.to_thread(confirm, plan)
        if result.confirmed:
            await apply_plan(plan, state, engine, config.secrets(), force=opts.force)
        return result


def run(opts: RunOptions, confirm: Callable[[ReconcilePlan], bool] | None = None) -> RunResult:
    """Plan (``confirm is None``) or apply (``confirm`` decides after seeing the plan).

    Both hold the apply lock, like terraform's state lock: a plan racing an apply would record
    verification results into a state file the apply is about to rewrite.
    """
    config = load(opts)
    key = state_key(opts, config)
    with apply_lock(key, wait_s=opts.lock_wait_s, root=opts.state_root):
        state = State.load(key, root=opts.state_root)
        try:
            result = _run_async(_plan_and_maybe_apply(config, state, opts, confirm))
        finally:
            state.save_if_changed()
    return result


def _run_async(coro: Coroutine[Any, Any, RunResult]) -> RunResult:
    # asyncio.run, not credlib.net.run_sync: importing the net package would pull in httpx, which an
    # offline run never needs.
    return asyncio.run(coro)
