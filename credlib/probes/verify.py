"""``verify``: is the key accepted, can the model list be read, does the answer match the API type,
and (when a model is known) does one tiny generation request succeed.

Checks, in order: ``models`` (the list request), ``shape`` (that list is the tested type's shape),
``generate`` (one cheap request with the first model of the credential, or ``--model``). The
credential's status is the failure nearest the root cause (``classify.PRIORITY``), ``ok`` when every
check passed. Nothing here writes state: the CLI layer records results.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from credlib.model import ApiType, Credential
from credlib.probes.classify import Failure, Status, model_missing, worst
from credlib.probes.generation import generate
from credlib.probes.http import EngineLike
from credlib.probes.models import ModelList, fetch_models
from credlib.probes.session import ProbeSession

CheckStatus = Literal["pass", "fail", "warn", "skip"]

# A failed list request with one of these says nothing can work: the generation request is skipped.
_FATAL: tuple[Status, ...] = ("unreachable", "timeout", "auth_failed", "forbidden", "no_quota", "wrong_type")


@dataclass
class Check:
    id: str
    status: CheckStatus
    detail: str = ""
    latency_ms: int | None = None
    error: Status | None = None  # the SPEC §4 status a failed check stands for

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "detail": self.detail,
            "latency_ms": self.latency_ms,
        }
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass
class VerifyResult:
    name: str
    id: str
    status: Status
    api_type: ApiType
    tested_as: ApiType
    model: str | None
    checks: list[Check]
    reason: str
    models_count: int | None = None
    verified_at: str = ""
    cli: list[Any] = field(default_factory=list)  # CliReport objects when --cli was asked for

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def override(self) -> bool:
        return self.tested_as != self.api_type

    @property
    def short_reason(self) -> str:
        """The reason without the override note (tables state the override once, below)."""
        return self.reason.split(" [tested as ", 1)[0]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "id": self.id,
            "status": self.status,
            "api_type": self.api_type,
            "tested_as": self.tested_as,
            "override": self.override,
            "model": self.model,
            "reason": self.reason,
            "models_count": self.models_count,
            "verified_at": self.verified_at,
            "checks": [c.to_json() for c in self.checks],
        }
        if self.cli:
            out["cli"] = [report.to_json() for report in self.cli]
        return out


def _other_family(shape: ApiType | None, tested: ApiType) -> bool:
    """True when a list's own fields name another family ("openai" and its compatibles are one)."""
    family = {"openai": "openai-compatible"}
    return shape is not None and family.get(shape, shape) != family.get(tested, tested)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _override_note(cred: Credential, tested_as: ApiType) -> str:
    if tested_as == cred.api_type:
        return ""
    return f" [tested as {tested_as}: temporary override, saved type {cred.api_type} unchanged]"


def _list_checks(listing: ModelList) -> list[Check]:
    if listing.ok:
        return [
            Check("models", "pass", listing.reason, listing.latency_ms),
            Check("shape", "pass", f"model list in {listing.tested_as} format", None),
        ]
    listed = Check("models", "fail", listing.reason, listing.latency_ms, listing.status)
    if listing.status == "wrong_type":
        return [listed, Check("shape", "fail", listing.reason, None, "wrong_type")]
    return [listed, Check("shape", "skip", "no model list to inspect", None)]


async def _generate_check(
    engine: EngineLike, cred: Credential, listing: ModelList, model: str | None
) -> Check:
    if model is None:
        return Check("generate", "skip", "no model known: pass --model or list models: in the file")
    if not listing.ok and listing.status in _FATAL:
        return Check("generate", "skip", f"skipped: {listing.status.replace('_', ' ')}")
    session = ProbeSession(engine, cred, listing.tested_as)
    session.bearer = listing.bearer_fallback
    gen = await generate(session, model)
    failure = gen.failure
    if failure is None:
        return Check("generate", "pass", f"{model} answered (POST {gen.path})", gen.latency_ms)
    # The route (not the model) is missing and the list named another family: the type is wrong.
    route_missing = failure.status == "not_found" and not model_missing(gen.outcome)
    if route_missing and listing.ok and _other_family(listing.shape, listing.tested_as):
        failure = Failure(
            "wrong_type",
            f"{failure.reason}; the model list is in {listing.shape} format: "
            f"set api_type or try --as {listing.shape}",
        )
    return Check("generate", "fail", failure.reason, gen.latency_ms, failure.status)


async def verify_credential(
    engine: EngineLike,
    cred: Credential,
    *,
    as_type: ApiType | None = None,
    model: str | None = None,
) -> VerifyResult:
    """Verify one credential as ``as_type`` (default: its saved type); never raises for an upstream."""
    tested_as: ApiType = as_type or cred.api_type
    chosen = model or cred.default_model
    listing = await fetch_models(engine, cred, tested_as)
    checks = [*_list_checks(listing), await _generate_check(engine, cred, listing, chosen)]
    status = worst([c.error for c in checks if c.status == "fail" and c.error is not None])
    return VerifyResult(
        name=cred.name,
        id=cred.id,
        status=status,
        api_type=cred.api_type,
        tested_as=tested_as,
        model=chosen,
        checks=checks,
        reason=_reason(status, checks, len(listing.models), chosen) + _override_note(cred, tested_as),
        models_count=len(listing.models) if listing.ok else None,
        verified_at=_now(),
    )


def _reason(status: Status, checks: list[Check], n_models: int, model: str | None) -> str:
    if status == "ok":
        parts = ["key accepted", f"{n_models} model{'' if n_models == 1 else 's'}"]
        gen = next(c for c in checks if c.id == "generate")
        parts.append(f"{model} answered" if gen.status == "pass" else "no generation probe (no model known)")
        return "; ".join(parts)
    failing = next(c for c in checks if c.status == "fail" and c.error == status)
    return failing.detail


ProgressFn = Callable[[VerifyResult], None]


async def verify_many(
    engine: EngineLike,
    creds: Iterable[Credential],
    *,
    as_type: ApiType | None = None,
    model: str | None = None,
    cli: Sequence[str] | None = None,
    progress: ProgressFn | None = None,
) -> list[VerifyResult]:
    """Verify every credential concurrently; results come back in input order.

    All credentials start at once: the engine's per-origin limiter is what keeps each origin inside
    its limits, and credentials on different origins never wait for each other.
    """
    from credlib.probes.cli_compat import check_cli

    async def one(cred: Credential) -> VerifyResult:
        result = await verify_credential(engine, cred, as_type=as_type, model=model)
        for name in cli or ():
            result.cli.append(await check_cli(engine, cred, name, model=model))
        if progress is not None:
            progress(result)
        return result

    return list(await asyncio.gather(*(one(cred) for cred in creds)))
