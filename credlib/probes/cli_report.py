"""What ``verify --cli`` reports per CLI, and the helpers the per-CLI probes share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from credlib.probes.classify import Failure, failure_of, one_line
from credlib.probes.http import Outcome
from credlib.probes.shapes import parse_sse
from credlib.redact import Scrubber

Verdict = Literal["compatible", "incompatible", "unknown"]
CheckStatus = Literal["pass", "fail", "warn", "skip"]
KEY_PLACEHOLDER = "<your key>"
PROMPT = "Reply with OK"


@dataclass
class CliCheck:
    id: str
    status: CheckStatus
    detail: str = ""
    latency_ms: int | None = None
    fix: str = ""  # what the user changes to make this check pass (set on fail and warn)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "detail": self.detail,
            "latency_ms": self.latency_ms,
            "fix": self.fix,
        }


@dataclass
class CliReport:
    cli: str
    verdict: Verdict = "unknown"
    model: str | None = None
    model_source: str = ""
    checks: list[CliCheck] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    # The configuration the verdict is for: env vars (Claude Code, Gemini CLI) or provider keys
    # (Codex). Secrets appear only as KEY_PLACEHOLDER.
    settings: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "cli": self.cli,
            "verdict": self.verdict,
            "model": self.model,
            "model_source": self.model_source,
            "checks": [c.to_json() for c in self.checks],
            "hints": self.hints,
            "settings": self.settings,
        }

    def check(
        self, id: str, status: CheckStatus, detail: str, latency_ms: int | None = None, fix: str = ""
    ) -> None:
        self.checks.append(CliCheck(id, status, detail, latency_ms, fix))


def mentions(out: Outcome, *words: str) -> bool:
    text = out.text.lower()
    return any(w in text for w in words)


def fallback_fix(problem: Failure, otherwise: str) -> str:
    """The fix every CLI probe gives once its protocol-specific advice does not apply."""
    if problem.status == "no_quota":
        return "top up the balance of this key"
    if problem.transient:
        return "try again later; the endpoint was busy or unreachable"
    return otherwise


def sse_problem(out: Outcome, scrub: Scrubber) -> Failure | None:
    """What is wrong with ``out`` before its events are read: an error answer or not an SSE stream."""
    failure = failure_of(out, scrub)
    if failure is not None:
        return failure
    if out.content_type != "text/event-stream":
        kind = out.content_type or "no content type"
        return Failure("bad_response", f"POST {out.path} answered {kind}, not an SSE stream")
    return None


def event_error(data: Any, scrub: Scrubber) -> str | None:
    """The message of an error carried inside a stream event, if the event is one."""
    if not isinstance(data, dict):
        return None
    err = data.get("error")
    if data.get("type") in ("error", "response.failed") or err is not None:
        if data.get("type") == "response.failed":
            response = data.get("response")
            err = response.get("error") if isinstance(response, dict) else None
        msg = err.get("message") if isinstance(err, dict) else err
        return one_line(str(msg or data.get("type") or "error"), scrub)
    return None


def events_of(out: Outcome) -> list[tuple[str, Any]]:
    """(event name or the data's ``type``, parsed data) per SSE event."""
    pairs = []
    for event in parse_sse(out.body):
        data = event.json()
        name = event.event or (data.get("type", "") if isinstance(data, dict) else "")
        pairs.append((str(name), data))
    return pairs
