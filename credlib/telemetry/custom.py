"""Custom read-only endpoint: one GET on the credential's own origin, mapped metric by metric.

``endpoint`` is root-relative (``/api/usage``, resolved against the *origin* of ``base_url``; the
base path is not kept, as in All API Hub) or an absolute http(s) URL on that same origin. Anything
else — another origin, ``//host/…``, a bare relative path — is rejected when the file is loaded
(``check_custom_config``), so the key is never sent elsewhere. The request carries
``telemetry.bearer_token`` if set, else the credential's key.

Each mapping value is a dot path or a JSONPath (``credlib.telemetry.mapping``) evaluated against the
whole JSON document. Values may be numbers or numeric strings; ``expires_at`` may be Unix seconds,
milliseconds or ISO 8601; ``unlimited`` true/false. A path that matches nothing is reported per
metric ("today_cost: path data.today.cost not found"), never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from credlib.model import METRIC_NAMES
from credlib.telemetry.base import COUNT_METRICS, MONEY_METRICS, MethodFailure, Metrics, Reading
from credlib.telemetry.convert import ShapeError, count, flag, non_negative, timestamp
from credlib.telemetry.mapping import parse_path
from credlib.telemetry.request import MethodContext
from credlib.urls import origin_of, same_origin

NAME = "custom"


def resolve_endpoint(endpoint: str, base_url: str) -> str:
    """The absolute URL of a custom endpoint, or ``ValueError`` saying why it is not allowed."""
    text = (endpoint or "").strip()
    if not text:
        raise ValueError("the custom endpoint is empty")
    if text.startswith("//"):
        raise ValueError(
            f"{text!r} is protocol-relative (//host); use a path starting with '/' or a full URL"
        )
    if text.startswith("/"):
        parts = urlsplit(text)
        return origin_of(base_url) + urlunsplit(("", "", parts.path, parts.query, ""))
    scheme = urlsplit(text).scheme.lower()
    if scheme not in ("http", "https") or "://" not in text:
        raise ValueError(f"{text!r} must be a path starting with '/' or an absolute http(s) URL")
    if not same_origin(text, base_url):
        try:
            other = origin_of(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a valid URL") from None
        raise ValueError(
            f"endpoint origin {other} differs from the base URL's origin {origin_of(base_url)}; "
            "telemetry requests carry the key, so they stay on the credential's own site"
        )
    parts = urlsplit(text)
    return origin_of(base_url) + urlunsplit(("", "", parts.path or "/", parts.query, ""))


def check_custom_config(endpoint: str | None, mapping: Any, base_url: str) -> list[tuple[str, str]]:
    """Problems in a custom telemetry block as (field below ``telemetry``, message); [] when valid.

    The store's validator calls this at load time with the normalized ``base_url``.
    """
    problems: list[tuple[str, str]] = []
    if endpoint is None or not str(endpoint).strip():
        problems.append(("endpoint", "method custom needs an endpoint (a path like /api/usage)"))
    else:
        try:
            resolve_endpoint(str(endpoint), base_url)
        except ValueError as exc:
            problems.append(("endpoint", str(exc)))
    if not isinstance(mapping, dict) or not mapping:
        problems.append(
            ("mapping", "method custom needs at least one metric mapping, e.g. balance: data.balance")
        )
        return problems
    for metric, expr in mapping.items():
        where = f"mapping.{metric}"
        if metric not in METRIC_NAMES:
            problems.append((where, f"unknown metric {metric!r}; known: {', '.join(METRIC_NAMES)}"))
            continue
        try:
            parse_path(expr)
        except ValueError as exc:
            problems.append((where, str(exc)))
    return problems


@dataclass(frozen=True)
class CustomMethod:
    name: str = NAME

    async def read(self, ctx: MethodContext) -> Reading:
        cfg = ctx.cred.telemetry
        problems = check_custom_config(cfg.endpoint, cfg.mapping, ctx.cred.base_url)
        if problems:
            # The store rejects these at load time; a hand-built Credential can still get here.
            raise MethodFailure("error", "; ".join(f"telemetry.{p}: {m}" for p, m in problems))
        url = resolve_endpoint(cfg.endpoint or "", ctx.cred.base_url)
        doc = await ctx.get_json(NAME, url, token=cfg.bearer_token or ctx.cred.api_key)
        return apply_mapping(doc, cfg.mapping)


def apply_mapping(doc: Any, mapping: dict[str, str]) -> Reading:
    metrics = Metrics()
    misses: list[str] = []
    errors: list[str] = []
    for metric, expr in mapping.items():
        path = parse_path(expr)
        found = path.find_all(doc)
        if not found:
            misses.append(f"{metric}: path {path.expr} not found")
            continue
        if len(found) > 1:
            errors.append(f"{metric}: path {path.expr} matched {len(found)} values, expected one")
            continue
        if found[0] is None:
            misses.append(f"{metric}: path {path.expr} is null")
            continue
        try:
            setattr(metrics, metric, convert_metric(metric, found[0], f"{metric} ({path.expr})"))
        except ShapeError as exc:
            errors.append(str(exc))
    if errors:
        raise ShapeError("; ".join(errors + misses))
    if not metrics.has_any():
        raise ShapeError("no mapped path matched: " + "; ".join(misses))
    return Reading(metrics=metrics, warnings=misses)


def convert_metric(metric: str, value: Any, where: str) -> Any:
    if metric in MONEY_METRICS:
        return non_negative(value, where)
    if metric in COUNT_METRICS:
        return count(value, where)
    if metric == "unlimited":
        return flag(value, where)
    if metric == "expires_at":
        return timestamp(value, where)
    raise ShapeError(f"{where}: unknown metric")
