"""`credlib demo`: the whole job on the shipped example, offline, against the built-in local relay.

The example file (examples/credentials.yaml) is decrypted with its DEMO-ONLY age identity, every
example origin (https://relay.example.com, ...) is served by a local relay on 127.0.0.1, and every
target's path is redirected under a scratch directory. Nothing outside that directory is written:
state and lock live there too, so the user's own state, config and tools are never touched.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from credlib.errors import CredlibError, ExitCode, FileAccessError
from credlib.model import Config, Credential, Target
from credlib.reconcile.plan import ReconcilePlan
from credlib.reconcile.status import money
from credlib.state import State

MARKER = ".credlib-demo"
EXAMPLE_FILE = "credentials.yaml"
DEMO_IDENTITY = "demo.agekey.txt"

# How the relay treats each example credential (by id): which relay family answers its telemetry,
# and which key is revoked, so the demo shows a failing key being left out of every export.
RELAY_KEYS: dict[str, dict[str, Any]] = {
    "company-relay": {"flavor": "newapi", "quota": 42.5, "used": 7.5},
    "claude-relay": {"flavor": "sub2api", "quota": 18.0, "used": 2.0},
    "gemini-proxy": {"flavor": "plain"},
    "openai-mirror": {"flavor": "openai", "quota": 95.0, "used": 5.0},
    "team-proxy": {"flavor": "sub2api", "quota": 12.0, "used": 1.0},
    "old-trial": {"flavor": "newapi", "disabled": True},
}

# A provider the user added to Claude Code Router by hand; apply must keep it.
HAND_ADDED_NAME = "my-local-ollama"
HAND_ADDED_CCR: dict[str, Any] = {
    "Providers": [
        {
            "name": HAND_ADDED_NAME,
            "api_base_url": "http://127.0.0.1:11434/v1/chat/completions",
            "api_key": "ollama",
            "models": ["qwen2.5-coder"],
        }
    ],
    "Router": {},
}


def default_example_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "examples"


@dataclass
class DemoOptions:
    out: Path
    example_dir: Path


@contextlib.contextmanager
def demo_identity(key_file: Path) -> Iterator[None]:
    """Point sops at the demo identity for the duration of the demo's own decryption only."""
    saved = os.environ.get("SOPS_AGE_KEY_FILE")
    os.environ["SOPS_AGE_KEY_FILE"] = str(key_file)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("SOPS_AGE_KEY_FILE", None)
        else:
            os.environ["SOPS_AGE_KEY_FILE"] = saved


def prepare_out_dir(out: Path) -> None:
    """A fresh scratch directory; an existing one is replaced only if an earlier demo made it."""
    if out.exists():
        if not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists()):
            raise FileAccessError(
                f"{out} exists and was not created by credlib demo; choose another --out directory"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, mode=0o700)
    (out / MARKER).write_text("created by `credlib demo`; safe to delete\n", encoding="utf-8")


def redirect_target(target: Target, targets_dir: Path) -> Target:
    """The same target with every path it writes moved under ``targets_dir/<target name>/``."""
    home = targets_dir / target.name
    options = dict(target.options)
    for key, value in target.options.items():
        if key.endswith("_path") and isinstance(value, str):
            options[key] = str(home / Path(value).name)
    path = str(home / Path(target.path).name) if target.path else None
    return dataclasses.replace(target, path=path, options=options)


def redirect_config(config: Config, targets_dir: Path) -> Config:
    return dataclasses.replace(config, targets=tuple(redirect_target(t, targets_dir) for t in config.targets))


def origins(creds: tuple[Credential, ...]) -> list[str]:
    from credlib.urls import origin_of

    seen: list[str] = []
    for cred in creds:
        origin = origin_of(cred.base_url)
        if origin not in seen:
            seen.append(origin)
    return seen


def observation_rows(plan: ReconcilePlan, config: Config) -> list[dict[str, Any]]:
    rows = []
    for cred in config.credentials:
        verdict = plan.observations.verdict(cred)
        tele = plan.observations.telemetry.get(cred.id, {})
        rows.append(
            {
                "name": cred.name,
                "api_type": cred.api_type,
                "telemetry": cred.telemetry.method,
                "verify": verdict.status or "-",
                "balance": money(tele.get("balance")),
                "today_cost": money(tele.get("today_cost")),
                "health": str(tele.get("health") or "-"),
            }
        )
    return rows


def run_demo(opts: DemoOptions, echo: Callable[[str], None]) -> int:
    """Run the walk-through, printing as it goes; return the exit code."""
    from credlib.reconcile.report import apply_text, plan_text, table_lines
    from credlib.reconcile.session import RunOptions, run
    from credlib.relay import Relay
    from credlib.store import load_config

    started = time.monotonic()
    example = opts.example_dir / EXAMPLE_FILE
    identity = opts.example_dir / DEMO_IDENTITY
    if not example.is_file() or not identity.is_file():
        raise FileAccessError(
            f"the demo needs {example} and {identity}",
            hint="run it from a credlib source checkout (make demo), or pass --examples DIR",
        )
    out = opts.out.resolve()
    prepare_out_dir(out)
    targets_dir = out / "targets"
    with demo_identity(identity):
        config = load_config(str(example))
    config = redirect_config(config, targets_dir)
    seed_hand_edits(config, echo)

    relay = Relay(name="demo").start()
    try:
        for cred in config.credentials:
            relay.add_key(cred.api_key, models=list(cred.models) or None, **RELAY_KEYS.get(cred.id, {}))
        overrides = {origin: relay.url for origin in origins(config.credentials)}
        echo("credlib demo — the whole job on examples/credentials.yaml, offline, with FAKE keys")
        echo(f"  decrypted with the DEMO-ONLY identity {identity}")
        echo(f"  local relay {relay.url} serves " + ", ".join(o.split("://", 1)[1] for o in overrides))
        echo(f"  every target writes under {targets_dir}")
        echo("")
        opts_run = RunOptions(
            file=str(example), origin_overrides=overrides, state_root=out / "state", config=config
        )

        def show_and_approve(plan: ReconcilePlan) -> bool:
            echo("Step 1: verify every key and read its balance (through the per-origin limiter)")
            for line in table_lines(observation_rows(plan, config)):
                echo(line)
            echo("")
            echo("Step 2: plan — render every target and diff it against what is on disk")
            for line in plan_text(plan, len(config.credentials), show_diff=False):
                echo(line)
            echo("(`credlib plan` also prints each file's unified diff, keys redacted.)")
            echo("")
            echo("Step 3: apply (the demo answers 'yes' for you)")
            return True

        first = run(opts_run, confirm=show_and_approve)
        for line in apply_text(first.plan):
            echo(line)
        echo("")
        echo("Step 4: apply again — nothing changed, so nothing is written")
        second = run(opts_run, confirm=lambda plan: True)
        for line in plan_text(second.plan, len(config.credentials))[-1:]:
            echo(line)
    finally:
        relay.stop()

    echo("")
    echo("Step 5: status — what this machine last saw, without a single request")
    show_status(config, State.load(config.path or str(example), root=out / "state"), echo)

    echo("")
    echo(f"Outputs (fake keys) are in {out}:")
    for path in sorted(p for p in targets_dir.rglob("*") if p.is_file()):
        echo(f"  {path.relative_to(out)}")
    kept = hand_added_kept(config)
    if kept is not None:
        echo(f"  the provider added by hand to {kept} is still there: apply merges, it does not overwrite")
    echo(f"Done in {time.monotonic() - started:.1f} s.")
    failed = first.plan.failed or second.plan.failed or second.plan.changes_pending or kept is None
    return int(ExitCode.CHECK_FAILED if failed else ExitCode.OK)


def show_status(config: Config, state: State, echo: Callable[[str], None]) -> None:
    from credlib.reconcile.report import table_lines
    from credlib.reconcile.status import collect_status, credential_rows, target_rows

    report = collect_status(config, state)
    for line in [*table_lines(credential_rows(report)), "", *table_lines(target_rows(report))]:
        echo(line)


def config_target_path(config: Config, name: str) -> str | None:
    for tgt in config.targets:
        if tgt.name == name:
            return tgt.path
    return None


def hand_added_kept(config: Config) -> str | None:
    """The CCR config's path if the hand-added provider survived apply, else None."""
    path = config_target_path(config, "ccr")
    if not path:
        return None
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    names = [p.get("name") for p in doc.get("Providers", []) if isinstance(p, dict)]
    return path if HAND_ADDED_NAME in names else None


def seed_hand_edits(config: Config, echo: Callable[[str], None]) -> None:
    """Put a hand-made CCR config in place first, so the demo shows apply keeping foreign entries."""
    path = config_target_path(config, "ccr")
    if not path:
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        target.write_text(json.dumps(HAND_ADDED_CCR, indent=2) + "\n", encoding="utf-8")
        target.chmod(0o600)
    except OSError as exc:
        raise CredlibError(f"cannot prepare {target}: {exc.strerror}", exit_code=ExitCode.IO_ERROR) from None
