"""`-v`/`-vv`: credlib's log lines on stderr, scrubbed of every key this process knows.

Log records can carry upstream text and tracebacks, so the formatter scrubs the finished line (message
and traceback together) with the process-wide list of decrypted secrets plus the key-shaped patterns
`credlib check` looks for, in case a key was never decrypted here (e.g. one echoed by a relay).
"""

from __future__ import annotations

import logging
import sys


class ScrubbingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        from credlib.gitops.patterns import mask_secrets
        from credlib.redact import KNOWN_SECRETS

        return mask_secrets(KNOWN_SECRETS(super().format(record)))


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at emit time (as logging's own last-resort handler does)."""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def configure(verbose: int) -> None:
    """Route the ``credlib`` loggers to stderr: INFO with ``-v``, DEBUG with ``-vv``; nothing otherwise."""
    if verbose <= 0:
        return
    logger = logging.getLogger("credlib")
    handler = _StderrHandler()
    handler.setFormatter(ScrubbingFormatter("credlib: %(name)s: %(message)s"))
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if verbose >= 2 else logging.INFO)
    logger.propagate = False
