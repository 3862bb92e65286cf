"""Redaction for export diffs: a config file holds keys credlib knows (its credentials) and keys it
does not (a hand-added provider), so known secrets are scrubbed and key-like fields are masked."""

from __future__ import annotations

import re
from collections.abc import Iterable

from credlib.redact import Scrubber, redact_key

_FIELD = re.compile(
    r"""(?ix)
    (["']?[\w.-]*(?:api[-_]?key|apikey|auth[-_]?token|access[-_]?token|secret|password|master[-_]?key|bearer)
       [\w.-]*["']?\s*[:=]\s*)     # a key-like field name and its separator
    (["']?)([^"'\s,}\]#]{4,})      # its value
    """
)
_KEY_SHAPES = re.compile(r"\b(sk-(?:ant-)?[A-Za-z0-9_-]{12,}|AIza[0-9A-Za-z_-]{20,})")
_LINK = re.compile(r"\b((?:cherrystudio|ccswitch|ccr)://[^\s?\"']*)\?[^\s\"']*")


def redact_link(link: str) -> str:
    """A deep link without its query (which carries the key): ``scheme://host/path?…``."""
    return _LINK.sub(lambda m: m.group(1) + "?…", link)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    text = Scrubber(secrets)(text)
    text = _LINK.sub(lambda m: m.group(1) + "?…", text)

    def _mask(m: re.Match[str]) -> str:
        value = m.group(3)
        if "…" in value or value.startswith(("os.environ/", "$")):
            return m.group(0)
        return m.group(1) + m.group(2) + redact_key(value)

    text = _FIELD.sub(_mask, text)
    return _KEY_SHAPES.sub(lambda m: redact_key(m.group(1)) if "…" not in m.group(1) else m.group(1), text)
