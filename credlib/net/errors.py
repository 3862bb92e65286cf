"""The one exception the network engine raises."""

from __future__ import annotations

from typing import Literal

from credlib.errors import CredlibError

NetErrorKind = Literal["timeout", "unreachable", "redirect_blocked", "protocol", "too_many_redirects"]


class NetError(CredlibError):
    """A request that produced no usable HTTP response.

    ``kind`` is what callers branch on (a probe maps ``timeout`` to status ``timeout`` and the rest
    mostly to ``unreachable``/``bad_response``). The message is built by the engine from the method,
    origin and path only, then scrubbed: it never holds a header, a query value or a key.
    """

    def __init__(self, kind: NetErrorKind, message: str, *, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.kind: NetErrorKind = kind
