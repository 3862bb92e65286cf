"""Verification and telemetry before planning: what we know about each credential right now.

Results go into per-machine state (redacted dicts plus a fingerprint), never into the credentials
file. ``--offline`` makes no request and falls back on the last recorded verification, but only
when it was about the same key, URL and API type (the fingerprint matches): a fixed key is never
held back by a stale failure.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from credlib.model import Credential
from credlib.state import State, credential_fingerprint

Source = Literal["live", "state", "none"]


@dataclass(frozen=True)
class Verdict:
    """The verification status a plan acts on for one credential."""

    credential_id: str
    name: str
    status: str | None  # None: never verified on this machine (offline)
    ok: bool | None
    source: Source
    checked_at: str | None = None

    @property
    def failing(self) -> bool:
        return self.ok is False

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id": self.credential_id,
            "status": self.status,
            "ok": self.ok,
            "source": self.source,
            "checked_at": self.checked_at,
        }


@dataclass
class Observations:
    verdicts: dict[str, Verdict] = field(default_factory=dict)  # credential id -> verdict
    telemetry: dict[str, dict[str, Any]] = field(default_factory=dict)  # credential id -> result
    offline: bool = False
    # credential id -> task answering "does its endpoint serve the Responses API?" (one probe per run)
    responses: dict[str, Any] = field(default_factory=dict)

    def verdict(self, cred: Credential) -> Verdict:
        found = self.verdicts.get(cred.id)
        if found is not None:
            return found
        return Verdict(cred.id, cred.name, None, None, "none")

    def failing(self) -> list[Verdict]:
        return [v for v in self.verdicts.values() if v.failing]


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def fingerprint(cred: Credential) -> str:
    return credential_fingerprint(cred.api_type, cred.base_url, cred.api_key)


def recall(creds: Sequence[Credential], state: State) -> Observations:
    """Offline: the last verification recorded for the same key, URL and type, if any."""
    obs = Observations(offline=True)
    for cred in creds:
        record = state.get("verify", cred.id)
        if not isinstance(record, dict) or record.get("fingerprint") != fingerprint(cred):
            continue
        status = record.get("status")
        ok = record.get("ok")
        obs.verdicts[cred.id] = Verdict(
            cred.id,
            cred.name,
            status if isinstance(status, str) else None,
            ok if isinstance(ok, bool) else None,
            "state",
            record.get("checked_at") if isinstance(record.get("checked_at"), str) else None,
        )
    return obs


async def observe(engine: Any, creds: Sequence[Credential], state: State) -> Observations:
    """Verify every key and read every telemetry endpoint (concurrently, through the engine's
    per-origin limiter), record both in state, and return the verdicts."""
    from credlib.output import progress
    from credlib.probes.verify import verify_many
    from credlib.telemetry import fetch_many

    creds = list(creds)
    obs = Observations(offline=False)
    if not creds:
        return obs
    # One bar on stderr for both (it appears only when the run takes over a second).
    with progress(2 * len(creds), "verifying keys, reading telemetry") as bar:
        verified, observed = await asyncio.gather(
            verify_many(engine, creds, progress=lambda _result: bar.advance()),
            fetch_many(engine, creds, lambda _cred, _result: bar.advance()),
        )
    checked_at = now_iso()
    for cred, result in zip(creds, verified, strict=True):
        record = dict(result.to_json())
        record.update(fingerprint=fingerprint(cred), checked_at=checked_at, ok=bool(result.ok))
        state.record("verify", cred.id, record)
        obs.verdicts[cred.id] = Verdict(
            cred.id, cred.name, str(result.status), bool(result.ok), "live", checked_at
        )
    for cred, tele in zip(creds, observed, strict=True):
        record = dict(tele.to_json())
        record["fingerprint"] = fingerprint(cred)
        record.setdefault("refreshed_at", checked_at)
        state.record("telemetry", cred.id, record)
        obs.telemetry[cred.id] = record
    return obs
