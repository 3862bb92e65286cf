"""Key redaction: the only shape in which a key may appear outside the exports.

``redact_key("sk-abcdef1234567890wxyz") == "sk-ab…wxyz"``. ``Scrubber`` replaces every known secret
in arbitrary text (error messages from upstreams, subprocess stderr) before it is shown or logged.
"""

from __future__ import annotations

from collections.abc import Iterable


def redact_key(key: str | None) -> str:
    if not key:
        return ""
    if len(key) <= 12:
        return "…" if len(key) <= 4 else key[:2] + "…"
    return f"{key[:5]}…{key[-4:]}"


class Scrubber:
    """Replaces known secrets in text with their redacted form."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 4 and secret not in self._secrets:
            self._secrets.append(secret)
            self._secrets.sort(key=len, reverse=True)

    def extend(self, secrets: Iterable[str]) -> None:
        known = set(self._secrets)
        self._secrets.extend(s for s in set(secrets) if s and len(s) >= 4 and s not in known)
        self._secrets.sort(key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, redact_key(secret))
        return text


# Every secret this process has decrypted (filled by ``credlib.store``), so text leaving the process by
# a route that does not know its credential — log lines, tracebacks — can still be scrubbed.
KNOWN_SECRETS = Scrubber()


def remember(secrets: Iterable[str]) -> None:
    KNOWN_SECRETS.extend(secrets)
