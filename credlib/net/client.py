"""The one HTTP engine every credlib request goes through.

An ``Engine`` wraps httpx (one small connection pool per origin) and adds what credlib needs on
top: the per-origin limiter, retries that honour the server's hints, a body cap, an overall
per-attempt deadline, a redirect policy that never lets the key reach another origin, and messages
and logs that hold no secrets.
"""

from __future__ import annotations

import asyncio
import itertools
import json as jsonlib
import logging
import re
import ssl
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from credlib import __version__
from credlib.model import Config, Limits
from credlib.net import retry as retry_rules
from credlib.net.body import read_capped
from credlib.net.errors import NetError, NetErrorKind
from credlib.net.limiter import DEFAULT_LIMITS, OriginLimiter
from credlib.net.urls import SECRET_PARAMS, log_url, origin_of, redacted_url
from credlib.redact import Scrubber

if TYPE_CHECKING:
    from typing import Self

log = logging.getLogger("credlib.net")

T = TypeVar("T")

MAX_REDIRECTS = 5
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# A read timeout only bounds the gap between two chunks; a server dripping one byte a second would
# never trip it. Every attempt (headers and body) must also finish within this many timeouts.
_DEADLINE_FACTOR = 2.0
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE = re.compile(r"[\x20-\x7e\t]*")
# Header values that are credentials, wherever they appear (scrubbed from every message).
_SECRET_HEADERS = frozenset(
    {"authorization", "x-api-key", "x-goog-api-key", "api-key", "proxy-authorization", "cookie"}
)


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes = field(repr=False)  # an upstream may echo a key back; keep it out of reprs
    url: str  # final URL, query values redacted
    elapsed_ms: float
    truncated: bool = False
    incomplete: bool = False
    attempts: int = 1
    retry_after_s: float | None = None

    @property
    def text(self) -> str:
        return self.body.decode(_charset(self.headers.get("content-type", "")), "replace")

    def json(self) -> Any:
        try:
            return jsonlib.loads(self.text.removeprefix("\ufeff"))  # some Windows-hosted relays add a BOM
        except ValueError:
            kind = self.headers.get("content-type", "no content-type").split(";")[0]
            raise ValueError(f"response is not JSON ({kind}, {len(self.body)} bytes)") from None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            charset = value.strip('"').lower()
            try:
                "".encode(charset)
                return charset
            except LookupError:
                break
    return "utf-8"


class _Reset(Exception):
    """The connection dropped before a response arrived: retryable, unlike a refused connection."""

    def __init__(self, kind: NetErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind: NetErrorKind = kind


@dataclass
class _Call:
    """One logical request: what stays the same across retries and redirect hops."""

    seq: int
    method: str
    url: httpx.URL
    headers: dict[str, str]
    content: bytes | None
    timeout_s: float
    scrub: Callable[[str], str]

    def where(self) -> str:
        return self.scrub(f"{self.method} {log_url(self.url)}")


class Engine:
    """The HTTP client of credlib; use it as ``async with Engine(...) as engine``.

    ``limits`` apply per origin (``origin_limits`` overrides them for named origins). ``timeout_s``
    bounds connecting and each wait for data; a whole attempt gets twice that. ``scrubber`` knows
    the secrets to remove from every message, on top of the credentials each request carries.
    ``origin_overrides`` (the demo) sends one origin's requests to another address while the Host
    header, paths and limiter keys stay those of the original origin.
    """

    def __init__(
        self,
        limits: Limits = DEFAULT_LIMITS,
        *,
        timeout_s: float = 20.0,
        max_body_bytes: int = 4 * 1024 * 1024,
        max_retries: int = 3,
        max_retry_wait_s: float = 60.0,
        scrubber: Scrubber | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        origin_overrides: dict[str, str] | None = None,
        origin_limits: dict[str, Limits] | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self.max_body_bytes = max_body_bytes
        self.max_retries = max(0, max_retries)
        self.max_retry_wait_s = max_retry_wait_s
        self._scrubber = scrubber or Scrubber()
        self._transport = transport
        self._overrides = {origin_of(httpx.URL(k)): httpx.URL(v) for k, v in (origin_overrides or {}).items()}
        self._reverse = {origin_of(v): k for k, v in self._overrides.items()}
        self._limits = limits
        self._origin_limits = {origin_of(httpx.URL(k)): v for k, v in (origin_limits or {}).items()}
        self.limiter = OriginLimiter(limits, self._origin_limits)
        self._seq = itertools.count()
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._ssl: ssl.SSLContext | None = None
        self._open = False

    async def __aenter__(self) -> Self:
        # Queues and pauses are per event loop: a fresh limiter for each ``async with``.
        self.limiter = OriginLimiter(self._limits, self._origin_limits)
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context(trust_env=True)  # loading CAs is slow: once, up front
        await _warm_up()
        self._open = True
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._open = False
        clients, self._clients = list(self._clients.values()), {}
        await asyncio.gather(*(c.aclose() for c in clients), return_exceptions=True)

    def _client_for(self, wire: httpx.URL) -> httpx.AsyncClient:
        """One small connection pool per origin.

        httpcore scans every pooled connection for every request, so one shared pool gets
        quadratically slower with many origins; the limiter already bounds connections per origin.
        An injected transport (tests) gets one client.
        """
        if not self._open:
            raise RuntimeError("Engine used outside 'async with'")
        key = "" if self._transport is not None else origin_of(wire)
        client = self._clients.get(key)
        if client is None:
            client = httpx.AsyncClient(
                transport=self._transport,
                headers={"User-Agent": f"credlib/{__version__}"},
                verify=self._ssl or True,
                trust_env=True,
                follow_redirects=False,
                timeout=httpx.Timeout(self.timeout_s),
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=16),
            )
            # Never keep cookies: one credential's session must not ride along with another's.
            client.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))
            self._clients[key] = client
        return client

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        params: Mapping[str, str | int | float] | None = None,
        retry: bool = True,
        timeout_s: float | None = None,
    ) -> Response:
        """Send one request through the limiter; retries and redirects are handled here.

        Returns every HTTP response (4xx/5xx included); raises ``NetError`` only when there is none.
        Each attempt must finish within ``2 * timeout_s`` (queueing in the limiter excluded), and the
        waits between attempts add up to at most ``max_retry_wait_s``: no request can hang.
        """
        hdrs = {k: v for k, v in (headers or {}).items()}
        _check_headers(hdrs)
        body: bytes | None
        if json is not None:
            body = jsonlib.dumps(json).encode()
            if not any(k.lower() == "content-type" for k in hdrs):
                hdrs["Content-Type"] = "application/json"
        else:
            body = content.encode() if isinstance(content, str) else content
        try:
            target = httpx.URL(url)
            if params:
                target = target.copy_merge_params(dict(params))
        except (httpx.InvalidURL, TypeError, ValueError):
            raise NetError("protocol", f"invalid URL {self._scrubber(_no_query(url))!r}") from None
        call = _Call(
            seq=next(self._seq),
            method=method.upper(),
            url=target,
            headers=hdrs,
            content=body,
            timeout_s=timeout_s or self.timeout_s,
            scrub=self._request_scrubber(target, hdrs),
        )
        attempts = 0
        waited = 0.0  # retry waits so far; together they stay within max_retry_wait_s
        while True:
            attempts += 1
            can_retry = retry and attempts <= self.max_retries
            try:
                resp = await self._follow(call)
            except _Reset as exc:
                delay = retry_rules.backoff(attempts)
                if not can_retry or waited + delay > self.max_retry_wait_s:
                    raise NetError(exc.kind, str(exc)) from None
                waited += delay
                log.info("%s; retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                continue
            resp.attempts = attempts
            if resp.status not in retry_rules.RETRY_STATUSES:
                return resp
            hint = retry_rules.retry_hint(resp.headers, resp.body)
            resp.retry_after_s = hint
            no_quota = retry_rules.is_no_quota(resp.body)
            if hint is not None and hint > 0 and not no_quota:
                # The server told this origin to slow down; everyone queued for it waits too. Not
                # for an exhausted quota: that is this key's state (Gemini attaches a RetryInfo even
                # to a daily quota), and other keys on the origin must not wait for it.
                self.limiter.pause(origin_of(call.url), min(hint, self.max_retry_wait_s))
            if not can_retry or not retry_rules.should_retry(resp.status, resp.headers, resp.body):
                return resp
            delay = retry_rules.backoff(attempts) if hint is None else hint
            if waited + delay > self.max_retry_wait_s:
                # A limit that clears in minutes or hours (or a budget spent on earlier waits):
                # report it now instead of sleeping.
                return resp
            waited += delay
            log.info("%s -> %d; retrying in %.1f s", call.where(), resp.status, delay)
            if hint is None:
                await asyncio.sleep(delay)
            # With a hint, the pause above holds this origin's queue and the retry queues there.

    def _request_scrubber(self, url: httpx.URL, headers: Mapping[str, str]) -> Callable[[str], str]:
        extra = Scrubber()
        for name, value in headers.items():
            if name.lower() in _SECRET_HEADERS or "token" in name.lower() or "key" in name.lower():
                for secret in (value, value.partition(" ")[2]):  # "Bearer <key>"
                    extra.add(secret)
                    extra.add(secret.strip())
        for name, value in url.params.multi_items():
            if name.lower() in SECRET_PARAMS:
                extra.add(value)
        extra.add(url.password)  # https://user:secret@host/ sends Basic auth
        return lambda text: extra(self._scrubber(text))

    async def _follow(self, call: _Call) -> Response:
        method, url, content = call.method, call.url, call.content
        headers = dict(call.headers)
        for _hop in range(MAX_REDIRECTS + 1):
            origin = origin_of(url)
            async with self.limiter.slot(origin, call.seq):
                resp, location = await self._send(call, method, url, headers, content)
            if location is None:
                return resp
            try:
                nxt = self._logical(url.join(location))
            except (httpx.InvalidURL, ValueError):
                raise NetError("protocol", call.scrub(f"{method} {log_url(url)}: invalid redirect")) from None
            if origin_of(nxt) != origin:
                # Refuse rather than strip the auth headers and follow: a body may carry secrets
                # too (HTTP upsert payloads hold keys, which no header stripping removes), an
                # unauthenticated follow-up would come back as a misleading "auth failed", and the
                # fix for the common case (http:// redirected to https://) is a better base URL.
                raise NetError(
                    "redirect_blocked",
                    call.scrub(
                        f"{method} {log_url(url)} redirected ({resp.status}) to another origin, "
                        f"{origin_of(nxt)}; not followed because the request carries a credential"
                    ),
                    hint="if that origin is the real endpoint, use it as the base URL",
                )
            if resp.status == 303 or (resp.status in (301, 302) and method == "POST"):
                method, content = ("HEAD" if method == "HEAD" else "GET"), None
                headers = {
                    k: v for k, v in headers.items() if k.lower() not in ("content-type", "content-length")
                }
            url = nxt
        raise NetError(
            "too_many_redirects",
            call.scrub(f"{call.method} {log_url(call.url)}: more than {MAX_REDIRECTS} redirects"),
        )

    def _logical(self, url: httpx.URL) -> httpx.URL:
        """Map a URL on an override target back to the origin the caller asked for."""
        original = self._reverse.get(origin_of(url))
        if original is None:
            return url
        base = httpx.URL(original)
        return url.copy_with(scheme=base.scheme, host=base.host, port=base.port)

    def _wire(self, url: httpx.URL, headers: dict[str, str]) -> tuple[httpx.URL, dict[str, str]]:
        """Where the bytes really go (origin overrides are a demo feature), with the Host kept."""
        target = self._overrides.get(origin_of(url))
        if target is None:
            return url, headers
        wire = url.copy_with(scheme=target.scheme, host=target.host, port=target.port)
        return wire, {**headers, "Host": url.netloc.decode("ascii")}

    async def _send(
        self, call: _Call, method: str, url: httpx.URL, headers: dict[str, str], content: bytes | None
    ) -> tuple[Response, str | None]:
        wire, wire_headers = self._wire(url, headers)
        client = self._client_for(wire)
        if not any(k.lower() == "accept-encoding" for k in wire_headers):
            wire_headers["Accept-Encoding"] = "gzip, deflate"  # the two we can inflate with a bound
        where = f"{method} {log_url(url)}"
        timeout = httpx.Timeout(call.timeout_s)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(call.timeout_s * _DEADLINE_FACTOR):
                request = client.build_request(
                    method, wire, headers=wire_headers, content=content, timeout=timeout
                )
                response = await client.send(request, stream=True)
                try:
                    read = await read_capped(response, self.max_body_bytes)
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise self._fail(
                call, "timeout", f"{where}: {_timeout_text(exc, call.timeout_s)}", started
            ) from None
        except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as exc:
            # h11 reports a reset before any response byte as a protocol error; to a user it is a
            # dropped connection, worth another try. Garbage instead of HTTP is not.
            if isinstance(exc, httpx.RemoteProtocolError) and "without sending" not in str(exc):
                text = f"{where}: not an HTTP response ({_reason(exc)})"
                raise self._fail(call, "protocol", text, started) from None
            message = call.scrub(f"{where}: connection dropped ({_reason(exc)})")
            log.info("%s (%.0f ms)", message, _ms(started))
            raise _Reset("unreachable", message) from None
        except (httpx.ConnectError, httpx.ProxyError, httpx.UnsupportedProtocol, httpx.NetworkError) as exc:
            kind: NetErrorKind = "protocol" if isinstance(exc, httpx.UnsupportedProtocol) else "unreachable"
            raise self._fail(call, kind, f"{where}: cannot connect ({_reason(exc)})", started) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise self._fail(call, "protocol", f"{where}: {_reason(exc)}", started) from None
        elapsed = _ms(started)
        resp_headers = {k.lower(): v for k, v in response.headers.items()}
        log.info(
            "%s -> %d (%.0f ms%s%s)",
            call.scrub(where),
            response.status_code,
            elapsed,
            ", truncated" if read.truncated else "",
            ", incomplete" if read.incomplete else "",
        )
        result = Response(
            status=response.status_code,
            headers=resp_headers,
            body=read.data,
            url=redacted_url(url),
            elapsed_ms=elapsed,
            truncated=read.truncated,
            incomplete=read.incomplete,
        )
        location = resp_headers.get("location") if response.status_code in _REDIRECT_STATUSES else None
        return result, location

    def _fail(self, call: _Call, kind: NetErrorKind, message: str, started: float) -> NetError:
        message = call.scrub(message)
        log.info("%s (%.0f ms)", message, _ms(started))
        return NetError(kind, message)


async def _warm_up() -> None:
    """Import what httpx loads lazily on its first connection (~0.1 s), so that cost is paid once
    here rather than added to the latency of the first requests (and to every origin's first wave).
    httpcore and anyio are httpx's own dependencies."""
    import anyio
    import httpcore  # noqa: F401

    await anyio.sleep(0)  # loads anyio's asyncio backend


def _timeout_text(exc: BaseException, timeout_s: float) -> str:
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return f"no connection within {timeout_s:g} s"
    if isinstance(exc, httpx.TimeoutException):
        return f"no data for {timeout_s:g} s"
    return f"response not complete within {timeout_s * _DEADLINE_FACTOR:g} s"


def _check_headers(headers: Mapping[str, str]) -> None:
    """Refuse header values HTTP cannot carry before httpx does, with a message that names no value.

    A key pasted with a trailing newline or a typographic character is the usual cause; httpx's
    own errors would quote the value, key and all.
    """
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name):
            raise NetError("protocol", f"invalid HTTP header name {name[:40]!r}")
        if not isinstance(value, str) or not _HEADER_VALUE.fullmatch(value):
            raise NetError(
                "protocol",
                f"the {name} header holds a character HTTP does not allow",
                hint="look for a line break, space or non-ASCII character pasted with the key",
            )


def _reason(exc: BaseException) -> str:
    """A short cause without URLs (httpx sometimes includes the full URL, query and all)."""
    text = str(exc).strip() or type(exc).__name__
    words = [w for w in text.split() if "://" not in w and "?" not in w]
    return " ".join(words)[:200] or type(exc).__name__


def _no_query(url: str) -> str:
    return url.split("?", 1)[0].split("#", 1)[0]


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


def engine_for(config: Config, **overrides: Any) -> Engine:
    """An engine with the file's limits and timeout, scrubbing every secret the file holds."""
    options: dict[str, Any] = {
        "limits": config.defaults.limits,
        "timeout_s": config.defaults.timeout_s,
        "scrubber": Scrubber(config.secrets()),
    }
    options.update(overrides)
    return Engine(**options)


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from synchronous code (the CLI layer)."""
    return asyncio.run(coro)
