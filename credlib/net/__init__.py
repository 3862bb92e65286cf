"""credlib's network layer: the only package that opens sockets.

``Engine.request`` is the one way out. Policies, each in its own module:

- ``limiter``: per origin, at most ``concurrency`` in flight, a token bucket of ``burst`` refilled at
  ``per_minute``, strict FIFO (retries keep their place); every attempt and redirect hop acquires.
- ``retry``: 429/503/529 and dropped connections are retried, waiting as the server asks
  (``retry-after-ms``, ``Retry-After``, Gemini ``RetryInfo``, "try again in …"), waits adding up to
  at most ``max_retry_wait_s``; never 401/403 or out-of-quota bodies. A hint pauses that origin.
- ``body``: bodies are capped while streaming (``truncated``); a connection cut mid-body keeps what
  arrived (``incomplete``).
- ``client``: timeouts plus a per-attempt deadline, environment proxies, no cookies, at most five
  same-origin redirects; a redirect to another origin is refused (``NetError`` kind
  ``redirect_blocked``) so neither the key nor a body holding secrets leaves the origin. Messages
  and the ``credlib.net`` log name method, origin and path only, scrubbed of every known secret.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from credlib.net.errors import NetError
from credlib.net.limiter import OriginLimiter, TokenBucket, theoretical_bound

if TYPE_CHECKING:
    from credlib.net.client import Engine, Response, engine_for, run_sync

__all__ = [
    "Engine",
    "NetError",
    "OriginLimiter",
    "Response",
    "TokenBucket",
    "engine_for",
    "run_sync",
    "theoretical_bound",
]

_CLIENT_NAMES = frozenset({"Engine", "Response", "engine_for", "run_sync"})


def __getattr__(name: str) -> Any:
    # httpx loads only when the engine is used: ``NetError`` and the limiter stay cheap to import.
    if name in _CLIENT_NAMES:
        from credlib.net import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
