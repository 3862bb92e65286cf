"""Redaction for export diffs: a config file holds keys credlib knows (its credentials) and keys it
does not (a hand-added provider), so known secrets are scrubbed and key-like fields are masked."""

from __future__ import annotations

import re
from collections.abc import Iterable

from credlib.redact import Scrubber, redact_key

# Any `name: value` / `name = value` / `"name": "value"` pair; the name is checked in Python (one
# possessive pass instead of a backtracking search for key words inside every identifier).
_PAIR = re.compile(r"""(?<![\w.-])(["']?)([A-Za-z_][\w.-]*+)\1(\s*[:=]\s*)(["']?)([^"'\s,}\]#]{4,})""")
_KEYISH = re.compile(
    r"api[-_]?key|apikey|auth[-_]?token|access[-_]?token|secret|password|master[-_]?key|bearer", re.IGNORECASE
)
_KEY_SHAPES = re.compile(r"\b(sk-(?:ant-)?[A-Za-z0-9_-]{12,}|AIza[0-9A-Za-z_-]{20,})")
_LINK = re.compile(r"\b((?:cherrystudio|ccswitch|ccr)://[^\s?\"']*)\?[^\s\"']*")


def redact_link(link: str) -> str:
    """A deep link without its query (which carries the key): ``scheme://host/path?…``."""
    return _LINK.sub(lambda m: m.group(1) + "?…", link)


# Keys are almost always made of these characters; such a key is found by one pass over the text's
# tokens instead of one search per key (a plan over a thousand keys would otherwise scan each diff
# a thousand times).
_KEY_CHAR_CLASS = r"[A-Za-z0-9_\-.~+]"
_TOKEN_KEY = re.compile(_KEY_CHAR_CLASS + "+=*")


def scrub_secrets(text: str, secrets: Iterable[str]) -> str:
    """Replace every known secret in ``text`` with its redacted form."""
    simple: set[str] = set()
    other: list[str] = []
    for secret in secrets:
        if not secret or len(secret) < 4:
            continue
        if _TOKEN_KEY.fullmatch(secret):
            simple.add(secret.rstrip("="))
        else:
            other.append(secret)
    if other:
        text = Scrubber(other)(text)
    if simple:
        lengths = sorted({len(s) for s in simple})
        # Only runs at least as long as the shortest key can hold one: shorter tokens (most of a
        # config) never reach the Python callback.
        long_token = re.compile(_KEY_CHAR_CLASS + f"{{{lengths[0]},}}")

        def _swap(m: re.Match[str]) -> str:
            token = m.group(0)
            if token in simple:
                return redact_key(token)
            if len(token) == lengths[0]:
                return token
            # A key glued to other key characters: the leftmost one (longest at that spot) first, so
            # the untouched prefix can hold no key.
            for start in range(len(token) - lengths[0] + 1):
                for size in reversed(lengths):
                    piece = token[start : start + size]
                    if len(piece) == size and piece in simple:
                        return token[:start] + redact_key(piece) + _swap_rest(token[start + size :])
            return token

        def _swap_rest(rest: str) -> str:
            return long_token.sub(_swap, rest) if rest else rest

        text = long_token.sub(_swap, text)
    return text


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    text = scrub_secrets(text, secrets)
    text = _LINK.sub(lambda m: m.group(1) + "?…", text)

    def _mask(m: re.Match[str]) -> str:
        value = m.group(5)
        if not _KEYISH.search(m.group(2)) or "…" in value or value.startswith(("os.environ/", "$")):
            return m.group(0)
        return m.group(1) + m.group(2) + m.group(1) + m.group(3) + m.group(4) + redact_key(value)

    text = _PAIR.sub(_mask, text)
    return _KEY_SHAPES.sub(lambda m: redact_key(m.group(1)) if "…" not in m.group(1) else m.group(1), text)
