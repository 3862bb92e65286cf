"""``verify --cli``: will Claude Code, Codex CLI or Gemini CLI work with this endpoint, key and model?

Each CLI is probed with the request it really sends every turn (``cli_claude``, ``cli_codex``,
``cli_gemini``; research/upstream-protocols.md §7, §10, §11). The verdict is for the CLI configured
as the report's ``settings`` say: when a setting the user controls (the other auth variable,
disabling experimental betas, a lower output limit) makes the request pass, the check is ``warn``
with that ``fix`` and the setting is part of ``settings``. A request the CLI cannot avoid being
refused makes the verdict ``incompatible``; a failure that says nothing about compatibility
(timeout, 429, 5xx, no model to try) makes it ``unknown``.

Without ``--model`` a model is suggested: the credential's own models first, then the model list
read in the CLI's protocol, by family (``claude*`` / ``gpt*``, ``o<digit>*`` / ``gemini*``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from credlib.model import ApiType, Credential
from credlib.probes import cli_claude, cli_codex, cli_gemini
from credlib.probes.classify import Failure
from credlib.probes.cli_report import CliCheck, CliReport, Verdict
from credlib.probes.http import EngineLike
from credlib.probes.models import fetch_models

__all__ = ["CLI_NAMES", "CliCheck", "CliReport", "check_cli", "expand", "suggest_model"]

CLI_NAMES: tuple[str, ...] = ("claude-code", "codex", "gemini-cli")

Runner = Callable[[EngineLike, Credential, str, CliReport], Awaitable[list[Failure]]]
_RUNNERS: dict[str, Runner] = {
    "claude-code": cli_claude.run,
    "codex": cli_codex.run,
    "gemini-cli": cli_gemini.run,
}
_FAMILY: dict[str, Callable[[str], bool]] = {
    "claude-code": lambda m: m.lower().startswith("claude"),
    "codex": lambda m: re.match(r"(gpt|o\d)", m.lower()) is not None,
    "gemini-cli": lambda m: m.lower().removeprefix("models/").startswith("gemini"),
}
_LIST_TYPE: dict[str, ApiType] = {
    "claude-code": "anthropic",
    "codex": "openai-compatible",
    "gemini-cli": "google",
}


def suggest_model(cli: str, candidates: list[str]) -> str | None:
    """The first model of ``cli``'s family in ``candidates``."""
    fits = _FAMILY[cli]
    return next((m.removeprefix("models/") for m in candidates if fits(m)), None)


@dataclass
class _Choice:
    model: str | None
    source: str = ""
    ids: list[str] = field(default_factory=list)
    refusal: Failure | None = None  # the key was refused while listing models


async def _choose_model(engine: EngineLike, cred: Credential, cli: str, model: str | None) -> _Choice:
    """The model to probe with; the model list is read only when it is needed."""
    if model:
        return _Choice(model, "--model")
    own = suggest_model(cli, list(cred.models))
    if own:
        return _Choice(own, "the credential's models", list(cred.models))
    listing = await fetch_models(engine, cred, _LIST_TYPE[cli])
    ids = listing.ids if listing.ok else []
    listed = suggest_model(cli, ids)
    if listed:
        return _Choice(listed, "suggested from the model list", ids)
    if cred.default_model:
        return _Choice(cred.default_model, "the credential's first model (not of this CLI's family)", ids)
    refused = listing.status in ("auth_failed", "forbidden", "no_quota")
    return _Choice(None, ids=ids, refusal=Failure(listing.status, listing.reason) if refused else None)


def _verdict(blocking: list[Failure]) -> Verdict:
    if any(not f.transient for f in blocking):
        return "incompatible"
    return "unknown" if blocking else "compatible"


def _hints(report: CliReport) -> list[str]:
    if report.cli == "codex":
        return cli_codex.hints(report)
    if report.cli == "gemini-cli":
        return cli_gemini.hints(report)
    return [f"{k}={v}" for k, v in report.settings.items()]


async def check_cli(engine: EngineLike, cred: Credential, cli: str, model: str | None = None) -> CliReport:
    """Probe ``cred`` with ``cli``'s real protocol. Never raises for anything an upstream does."""
    if cli not in _RUNNERS:
        raise ValueError(f"unknown CLI {cli!r}; choose from {', '.join(CLI_NAMES)} or all")
    report = CliReport(cli=cli)
    choice = await _choose_model(engine, cred, cli, model)
    chosen = choice.model
    report.model, report.model_source = chosen, choice.source
    if chosen is None:
        if choice.refusal is not None:
            # The CLI would meet the same refusal on its first request.
            report.check("model", "fail", choice.refusal.reason, fix="check the key (credlib verify)")
            report.verdict = "incompatible"
        else:
            report.check("model", "skip", "no model known and none could be listed", fix="pass --model")
            report.verdict = "unknown"
        return report
    report.check("model", "pass", f"{chosen} ({choice.source})")
    blocking = await _RUNNERS[cli](engine, cred, chosen, report)
    if cli == "claude-code" and not blocking:
        cli_claude.haiku_check(choice.ids, chosen, report)
    report.verdict = _verdict(blocking)
    report.hints = _hints(report)
    return report


def expand(cli: str) -> list[str]:
    """``all`` -> every CLI; a single name -> itself."""
    return list(CLI_NAMES) if cli == "all" else [cli]
