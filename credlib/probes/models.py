"""The model catalog of one credential (``credlib models``, and the first check of ``verify``).

- OpenAI family: ``GET <root>/models`` (root = base + ``/v1``); on 404/405 ``GET <base>/models``.
- Anthropic: ``GET <root>/models?limit=…&after_id=…`` with ``x-api-key`` + ``anthropic-version``,
  following ``has_more``/``last_id``; Bearer fallback on 401.
- Gemini: ``GET <root>/models?pageSize=…&pageToken=…`` with ``x-goog-api-key``; ``models/`` stripped.
Pages are bounded (``MAX_PAGES``, ``MAX_MODELS``) so a relay that always says "more" cannot loop us.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from credlib.model import ApiType, Credential
from credlib.probes import endpoints
from credlib.probes.classify import Failure, Status, failure_of
from credlib.probes.http import EngineLike, Outcome
from credlib.probes.session import ProbeSession
from credlib.probes.shapes import list_shape_of, models_page
from credlib.urls import join_url

MAX_PAGES = 20
MAX_MODELS = 2000
PAGE_SIZE = "1000"


@dataclass
class ModelList:
    name: str
    id: str
    api_type: ApiType
    tested_as: ApiType
    status: Status = "ok"
    reason: str = ""
    models: list[dict[str, Any]] = field(default_factory=list)
    source: str = ""  # the path that answered, e.g. "/v1/models"
    latency_ms: int = 0
    bearer_fallback: bool = False  # the native auth header was refused, Bearer worked
    shape: ApiType | None = None  # the family the list's own fields point to (None: cannot tell)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def ids(self) -> list[str]:
        return [m["id"] for m in self.models]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id": self.id,
            "status": self.status,
            "api_type": self.api_type,
            "tested_as": self.tested_as,
            "override": self.tested_as != self.api_type,
            "reason": self.reason,
            "source": self.source,
            "latency_ms": self.latency_ms,
            "models": self.models,
        }


def _scrubbed(model: dict[str, Any], scrub: Callable[[str], str]) -> dict[str, Any]:
    return {k: scrub(v) if isinstance(v, str) else v for k, v in model.items()}


def _dedupe(models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    out = []
    for model in models:
        if model["id"] not in seen:
            seen.add(model["id"])
            out.append(model)
    return out[:MAX_MODELS]


async def _get(session: ProbeSession, url: str, params: dict[str, str] | None) -> Outcome:
    return await session.call("GET", url, params=params)


async def _paged(session: ProbeSession, result: ModelList) -> Failure | None:
    """Fetch every page of an Anthropic or Gemini list into ``result``."""
    url = session.url("models")
    cursor: str | None = None
    for _page in range(MAX_PAGES):
        params = {"limit": PAGE_SIZE} if session.api_type == "anthropic" else {"pageSize": PAGE_SIZE}
        if cursor:
            params["after_id" if session.api_type == "anthropic" else "pageToken"] = cursor
        out = await _get(session, url, params)
        result.latency_ms += out.latency_ms
        result.source = out.path
        problem = _page_problem(session, out)
        if problem is not None:
            return problem
        page = models_page(session.api_type, out.json())
        assert page is not None  # _page_problem checked it
        result.models.extend(page.models)
        result.shape = result.shape or list_shape_of(out.json())
        if not page.next_cursor or page.next_cursor == cursor or len(result.models) >= MAX_MODELS:
            return None
        cursor = page.next_cursor
    return None


def _page_problem(session: ProbeSession, out: Outcome) -> Failure | None:
    failure = failure_of(out, session.scrub)
    if failure is not None:
        return failure
    body = out.json()
    if models_page(session.api_type, body) is not None:
        return None
    other = list_shape_of(body)
    if (
        other is not None
        and other != session.api_type
        and not (other == "openai-compatible" and session.api_type == "openai")
    ):
        return Failure(
            "wrong_type", f"GET {out.path} answered with a {other} model list, not a {session.api_type} one"
        )
    if out.body.lstrip()[:1] == b"<":
        return Failure("bad_response", f"GET {out.path} returned an HTML page, not a model list")
    return Failure("bad_response", f"GET {out.path} did not return a model list")


async def _openai_family(session: ProbeSession, result: ModelList) -> Failure | None:
    primary = session.url("models")
    out = await _get(session, primary, None)
    result.latency_ms += out.latency_ms
    result.source = out.path
    problem = _page_problem(session, out)
    fallback = not endpoints.is_complete_prefix(session.cred.base_url)  # else <base>/models was the first try
    if problem is not None and problem.status == "not_found" and fallback:
        # Some gateways serve the list at <base>/models only (All API Hub does the same retry).
        out = await _get(session, join_url(session.cred.base_url, "models"), None)
        result.latency_ms += out.latency_ms
        second = _page_problem(session, out)
        if second is None:
            result.source = out.path
            problem = None
    if problem is None:
        page = models_page(session.api_type, out.json())
        assert page is not None
        result.models.extend(page.models)
        result.shape = list_shape_of(out.json())
    return problem


async def _detect_other_family(engine: EngineLike, cred: Credential, tested: ApiType) -> ApiType | None:
    """After a 404, ask the other path family once: a list there means the type is wrong."""
    other: ApiType = "openai-compatible" if tested == "google" else "google"
    probe = ProbeSession(engine, cred, other)
    out = await probe.call("GET", probe.url("models"))
    if failure_of(out, probe.scrub) is None and models_page(other, out.json()):
        return other
    return None


async def fetch_models(engine: EngineLike, cred: Credential, tested_as: ApiType) -> ModelList:
    session = ProbeSession(engine, cred, tested_as)
    result = ModelList(name=cred.name, id=cred.id, api_type=cred.api_type, tested_as=tested_as)
    if tested_as in ("anthropic", "google"):
        problem = await _paged(session, result)
    else:
        problem = await _openai_family(session, result)
    result.bearer_fallback = session.bearer
    if problem is not None and problem.status == "not_found":
        other = await _detect_other_family(engine, cred, tested_as)
        if other is not None:
            problem = Failure(
                "wrong_type",
                f"{problem.reason}; the endpoint answers as {other}: set api_type or try --as {other}",
            )
    if problem is not None:
        result.status, result.reason = problem.status, problem.reason
        result.models = []
        return result
    # A relay may echo the key anywhere in its list (even as a model id): it leaves here redacted.
    result.models = _dedupe([_scrubbed(model, session.scrub) for model in result.models])
    how = " (Bearer auth; the native header was refused)" if session.bearer else ""
    count = len(result.models)
    result.reason = f"{count} model{'' if count == 1 else 's'} from GET {result.source}{how}"
    return result


async def list_models(engine: EngineLike, cred: Credential, as_type: ApiType | None = None) -> ModelList:
    """The model catalog of ``cred``, read as ``as_type`` (default: its saved type)."""
    return await fetch_models(engine, cred, as_type or cred.api_type)
