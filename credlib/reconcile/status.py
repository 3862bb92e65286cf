"""`credlib status`: what this machine last observed, and which file targets drifted — no requests.

Per credential: the last verification and telemetry recorded in state (marked stale when the key,
URL or type changed since). Per file target: an offline plan tells whether the file was changed by
hand since credlib wrote it (drift) and whether `apply` has something to write (pending).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from credlib.model import METRIC_NAMES, Config
from credlib.reconcile.observe import fingerprint, recall
from credlib.reconcile.plan import TargetOutcome, build_plan
from credlib.state import State

# The §5 fields `usage --json` puts at the top of each result; status does the same from state.
TELEMETRY_FIELDS = (*METRIC_NAMES, "health", "refreshed_at")


@dataclass
class CredentialStatus:
    name: str
    id: str
    verify: dict[str, Any] | None
    telemetry: dict[str, Any] | None
    stale: bool  # recorded results were about another key, URL or type

    def to_json(self) -> dict[str, Any]:
        """SPEC §3: the verify status and the §5 metrics on top, the full recorded results below."""
        out: dict[str, Any] = {
            "name": self.name,
            "id": self.id,
            "status": (self.verify or {}).get("status"),
            "checked_at": (self.verify or {}).get("checked_at"),
        }
        out.update({k: (self.telemetry or {}).get(k) for k in TELEMETRY_FIELDS})
        out.update(verify=self.verify, telemetry=self.telemetry, stale=self.stale)
        return out


@dataclass
class TargetStatus:
    name: str
    type: str
    path: str | None
    drift: bool
    pending: bool
    action: str
    error: str | None
    last_written: str | None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def credential_statuses(config: Config, state: State) -> list[CredentialStatus]:
    out: list[CredentialStatus] = []
    for cred in config.credentials:
        verify = state.get("verify", cred.id)
        tele = state.get("telemetry", cred.id)
        verify = verify if isinstance(verify, dict) else None
        tele = tele if isinstance(tele, dict) else None
        fp = fingerprint(cred)
        stale = any(r is not None and r.get("fingerprint") != fp for r in (verify, tele))
        out.append(
            CredentialStatus(
                name=cred.name,
                id=cred.id,
                verify=_strip(verify),
                telemetry=_strip(tele),
                stale=stale,
            )
        )
    return out


def _strip(record: dict[str, Any] | None) -> dict[str, Any] | None:
    """State records minus the bookkeeping a reader does not need."""
    if record is None:
        return None
    return {k: v for k, v in record.items() if k != "fingerprint"}


def _last_written(state: State, name: str) -> str | None:
    record = state.get("targets", name)
    if isinstance(record, dict):
        for key in ("written_at", "applied_at", "updated_at"):
            if isinstance(record.get(key), str):
                return str(record[key])
    return None


async def target_statuses(config: Config, state: State, engine: Any) -> list[TargetStatus]:
    """An offline plan of the file targets only (deep links and HTTP targets have no file to drift)."""
    from credlib.exports.registry import resolve_type

    file_targets = []
    for tgt in config.targets:
        try:
            if resolve_type(tgt).delivery == "file":
                file_targets.append(tgt.name)
        except Exception:  # noqa: S112 - an unknown type is reported by plan, not by status
            continue
    if not file_targets:
        return []
    plan = await build_plan(
        config, state, engine, recall(config.credentials, state), only=file_targets, offline=True
    )
    return [_target_status(o, state) for o in plan.targets]


def _target_status(outcome: TargetOutcome, state: State) -> TargetStatus:
    return TargetStatus(
        name=outcome.name,
        type=outcome.target.type,
        path=outcome.target.path,
        drift=outcome.drift,
        pending=outcome.pending,
        action=outcome.action,
        error=outcome.error,
        last_written=_last_written(state, outcome.name),
    )


@dataclass
class StatusReport:
    credentials: list[CredentialStatus]
    targets: list[TargetStatus]

    @property
    def drifted(self) -> list[TargetStatus]:
        return [t for t in self.targets if t.drift]

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": 1,
            "command": "status",
            "results": [c.to_json() for c in self.credentials],
            "targets": [t.to_json() for t in self.targets],
        }


def collect_status(config: Config, state: State) -> StatusReport:
    import asyncio

    from credlib.reconcile.session import RunOptions, open_engine

    async def targets() -> list[TargetStatus]:
        # File targets need no request: an offline run has no engine at all.
        async with open_engine(config, RunOptions(file=config.path, offline=True)) as engine:
            return await target_statuses(config, state, engine)

    return StatusReport(credentials=credential_statuses(config, state), targets=asyncio.run(targets()))


def money(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"${value:,.2f}"
    return "-"


def credential_rows(report: StatusReport) -> list[dict[str, Any]]:
    rows = []
    for c in report.credentials:
        verify = c.verify or {}
        tele = c.telemetry or {}
        rows.append(
            {
                "name": c.name,
                "verify": verify.get("status") or "never",
                "checked": verify.get("checked_at") or "-",
                "balance": money(tele.get("balance")),
                "health": tele.get("health") or "-",
                "note": "stale: key/URL/type changed since" if c.stale else "",
            }
        )
    return rows


def target_rows(report: StatusReport) -> list[dict[str, Any]]:
    rows = []
    for t in report.targets:
        if t.error:
            state = f"error: {t.error}"
        elif t.drift:
            state = "drift: changed by hand since the last apply"
        elif t.pending:
            state = f"pending ({t.action})"
        else:
            state = "in sync"
        rows.append({"target": t.name, "type": t.type, "path": t.path or "-", "state": state})
    return rows
