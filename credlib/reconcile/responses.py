"""Which credentials' endpoints serve the OpenAI Responses API (Codex speaks nothing else).

Codex CLI sends every turn as ``POST {base_url}/responses`` (``wire_api = "responses"``; the chat
wire API was removed), so a Codex provider for an endpoint without that route only fails at the
first prompt. Target types marked ``requires_responses`` leave such credentials out, and the plan
says why. Where the answer comes from:

- api_type ``openai``: the type itself is the Responses API (verify's generation probe uses it).
- online: one small Responses request per credential and run (``max_output_tokens: 16``), shared by
  every target that needs it and recorded in per-machine state.
- offline: the last recorded answer for the same key, URL and type (an online apply, or
  ``credlib verify --cli codex``); without one the credential is kept and the plan notes that it
  was not checked.

Only a clear "no route" (404/405/410 that is not about the model, or a 2xx that is not a Responses
reply) counts as unsupported; an auth, quota or transient failure says nothing about the route and
keeps the credential.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from credlib.model import Credential
from credlib.reconcile.observe import Observations, fingerprint, now_iso
from credlib.state import State

SECTION = "responses"
CHECK_HINT = "run `credlib apply` online or `credlib verify --cli codex` to check"


@dataclass(frozen=True)
class Support:
    supported: bool | None  # None: not known (offline without a record, or an inconclusive probe)
    detail: str

    def to_record(self, cred: Credential) -> dict[str, Any]:
        return {
            "fingerprint": fingerprint(cred),
            "supported": self.supported,
            "detail": self.detail,
            "checked_at": now_iso(),
        }


def _from_record(record: Any, cred: Credential) -> Support | None:
    if not isinstance(record, dict) or record.get("fingerprint") != fingerprint(cred):
        return None
    supported = record.get("supported")
    if not isinstance(supported, bool):
        return None
    detail = record.get("detail")
    return Support(supported, str(detail) if detail else "")


def _from_cli_report(record: Any, cred: Credential) -> Support | None:
    """The Responses check of a recorded ``verify --cli codex`` run for the same key, URL and type."""
    if not isinstance(record, dict) or record.get("fingerprint") != fingerprint(cred):
        return None
    for report in record.get("cli") or ():
        if not isinstance(report, dict) or report.get("cli") != "codex":
            continue
        for check in report.get("checks") or ():
            if not isinstance(check, dict) or check.get("id") != "responses-stream":
                continue
            detail = str(check.get("detail") or "")
            if check.get("status") == "pass":
                return Support(True, detail)
            if "no Responses API" in str(check.get("fix") or ""):
                return Support(False, detail)
    return None


def recorded(cred: Credential, state: State) -> Support:
    found = _from_record(state.get(SECTION, cred.id), cred) or _from_cli_report(
        state.get("verify", cred.id), cred
    )
    return found or Support(None, f"not checked for the Responses API on this machine; {CHECK_HINT}")


async def probe(engine: Any, cred: Credential) -> Support:
    from credlib.probes.classify import model_missing
    from credlib.probes.generation import generate
    from credlib.probes.session import ProbeSession

    model = cred.default_model or (cred.models[0] if cred.models else "gpt-4o-mini")
    result = await generate(ProbeSession(engine, cred, "openai"), model)
    out, failure = result.outcome, result.failure
    if failure is None:
        return Support(True, f"POST {result.path} answered")
    if failure.status == "not_found" and not model_missing(out):
        return Support(False, f"no Responses API: {failure.reason}")
    if failure.status == "bad_response" and out.ok:
        return Support(False, f"no Responses API: {failure.reason}")
    return Support(None, f"could not tell whether it serves the Responses API ({failure.reason})")


async def support(cred: Credential, obs: Observations, state: State, engine: Any) -> Support:
    """The answer for ``cred`` in this run (probed at most once per run, then recorded)."""
    if cred.api_type == "openai":
        return Support(True, "api_type openai is the Responses API")
    if engine is None:
        return recorded(cred, state)
    task = obs.responses.get(cred.id)
    if task is None:
        task = asyncio.ensure_future(probe(engine, cred))
        obs.responses[cred.id] = task
    found: Support = await task
    if found.supported is None:
        # Busy or refused right now: an earlier clear answer for the same key still holds.
        return _from_record(state.get(SECTION, cred.id), cred) or found
    state.record(SECTION, cred.id, found.to_record(cred))
    return found
