"""Secret-free text for attempts and errors: known secrets, bearer-looking tokens and query values."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "[REDACTED]"
_MAX_MESSAGE = 300

# Token shapes an upstream may echo back in an error even when we do not know the exact secret
# (a different key of the same user, a session token): scrubbed on sight.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\bbearer\s+[^\s\"',;]+"), "Bearer " + REDACTED),
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}"), "sk-" + REDACTED),
    (
        re.compile(
            r"(?i)\b(authorization|cookie|x-api-key|api[_-]?key|key|token|password)(\s*[=:]\s*)[^\s\"',;&]+"
        ),
        r"\1\2" + REDACTED,
    ),
)


def scrub_text(text: str, known: Callable[[str], str] | None = None) -> str:
    """``text`` with known secrets replaced, token-like strings masked, whitespace collapsed, capped."""
    if known is not None:
        text = known(text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    text = " ".join(text.split())
    if len(text) > _MAX_MESSAGE:
        text = text[: _MAX_MESSAGE - 1] + "…"
    return text


def redact_endpoint(url: str, params: dict[str, str] | None = None) -> str:
    """``url`` (plus ``params``) with userinfo and fragment dropped and every query value redacted."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if params:
        pairs.extend(params.items())
    query = urlencode([(name, REDACTED) for name, _ in pairs], safe="[]")
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
