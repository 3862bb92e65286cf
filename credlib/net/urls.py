"""Origins and log/message-safe renderings of URLs."""

from __future__ import annotations

import httpx

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Query parameters whose values are credentials (Gemini/Sub2API accept ``?key=``).
SECRET_PARAMS = frozenset({"key", "api_key", "apikey", "api-key", "token", "access_token", "secret"})


def origin_of(url: httpx.URL) -> str:
    """``scheme://host[:port]``, lower-case, default port omitted: the limiter and redirect key."""
    scheme = url.scheme.lower()
    host = url.host.lower()
    if ":" in host:
        host = f"[{host}]"
    port = url.port
    if port is None or port == _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def log_url(url: httpx.URL) -> str:
    """Origin + path only: what log lines and messages may show."""
    return origin_of(url) + (url.path or "/")


def redacted_url(url: httpx.URL) -> str:
    """The URL with every query value replaced, for ``Response.url``."""
    if not url.query:
        return log_url(url)
    names = [name for name, _ in url.params.multi_items()]
    return log_url(url) + "?" + "&".join(f"{name}=REDACTED" for name in names)
