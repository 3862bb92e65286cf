"""The relay itself: a threaded HTTP/1.1 server on 127.0.0.1, its keys, faults, routes and request log."""

from __future__ import annotations

import contextlib
import fnmatch
import re
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from credlib.relay import errors, faults
from credlib.relay.faults import Fault, FaultBook
from credlib.relay.generate import DEFAULT_REPLY
from credlib.relay.keys import KeySpec, extract_key
from credlib.relay.wire import BadJSON, Chunk, LogEntry, RelayRequest, RelayResponse

HOST = "127.0.0.1"
Handler = Callable[[RelayRequest], RelayResponse]
MAX_REQUEST_BODY = 64 * 1024 * 1024
IDLE_KEEPALIVE_S = 120.0
STOP_JOIN_S = 5.0


@dataclass
class Route:
    method: str
    path: str | re.Pattern[str]  # exact path, fnmatch glob (contains "*"), or a compiled regex
    handler: Handler

    def matches(self, method: str, path: str) -> bool:
        if self.method != method and not (self.method == "GET" and method == "HEAD"):
            return False
        if isinstance(self.path, re.Pattern):
            return self.path.fullmatch(path) is not None
        if "*" in self.path:
            return fnmatch.fnmatchcase(path, self.path)
        return self.path == path


@dataclass
class _Plan:
    """What the connection does for one request, decided before any byte is written."""

    response: RelayResponse | None
    delay_s: float = 0.0
    hold_s: float = 0.0  # the timeout fault: keep the connection open, answer nothing
    drop: bool = False  # close the connection without any answer


class Relay:
    """A fake LLM relay on ``127.0.0.1``; see the package docstring for the routes and faults."""

    def __init__(
        self,
        *,
        latency_s: float = 0.0,
        name: str = "relay",
        port: int = 0,
        reply: str = DEFAULT_REPLY,
        accept_any_key: bool = False,
        quota_per_unit: int = 500_000,
        stream_delay_s: float = 0.0,
        log_bodies: bool = True,
    ) -> None:
        self.latency_s = latency_s
        self.name = name
        self.reply = reply
        self.accept_any_key = accept_any_key
        self.quota_per_unit = quota_per_unit
        self.stream_delay_s = stream_delay_s
        self.log_bodies = log_bodies
        self._port = port
        self._keys: dict[str, KeySpec] = {}
        self._keys_lock = threading.Lock()
        self._faults = FaultBook()
        self._custom_routes: list[Route] = []
        self._builtin_routes: list[Route] = []
        self._routes_lock = threading.Lock()
        self._log: list[LogEntry] = []
        self._log_cond = threading.Condition()
        self._handler_errors: list[str] = []
        self._stopping = threading.Event()
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._install_builtin_routes()

    # ---- lifecycle -------------------------------------------------------------------------------
    def start(self) -> Relay:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server((HOST, self._port), _RequestHandler)
        server.relay = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"relay:{self.name}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops serving and closes every open connection (streams and held requests included)."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if thread is not None:
            thread.join(STOP_JOIN_S)
        self._server = None
        self._thread = None

    def __enter__(self) -> Relay:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"relay {self.name!r} is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def __repr__(self) -> str:
        where = self.url if self.running else "stopped"
        return f"<Relay {self.name} {where}>"

    # ---- keys --------------------------------------------------------------------------------------
    def add_key(self, key: str, **fields: Any) -> KeySpec:
        """Accept ``key``; ``fields`` are ``KeySpec`` fields (models, flavor, quota, used, ...)."""
        spec = KeySpec(key=key, **fields)
        with self._keys_lock:
            self._keys[key] = spec
        return spec

    def remove_key(self, key: str) -> None:
        with self._keys_lock:
            self._keys.pop(key, None)

    def key_spec(self, key: str | None) -> KeySpec | None:
        if key is None:
            return None
        with self._keys_lock:
            spec = self._keys.get(key)
        if spec is None and self.accept_any_key:
            return KeySpec(key=key, models=None)
        return spec

    def authenticate(self, req: RelayRequest, protocol: errors.Protocol) -> KeySpec | RelayResponse:
        """The key's spec, or the family's error answer for a missing, unknown or disabled key."""
        if req.key is None:
            return errors.invalid_key(protocol, presented=False)
        spec = self.key_spec(req.key)
        if spec is None:
            return errors.invalid_key(protocol, presented=True)
        if spec.disabled:
            if protocol == "newapi":
                return errors.newapi_error(401, "该令牌状态不可用")
            return errors.invalid_key(protocol, presented=True)
        return spec

    # ---- faults ------------------------------------------------------------------------------------
    def set_fault(
        self,
        kind: str,
        *,
        path: str = "*",
        method: str | None = None,
        key: str | None = None,
        times: int | None = None,
        **params: Any,
    ) -> Fault:
        """Switch a fault on for requests whose path matches the glob ``path`` (see package docs)."""
        if kind == "redirect":
            faults.check_redirect_target(params.get("to"))
        return self._faults.add(Fault(kind, path, method, key, times, dict(params)))

    def clear_faults(self) -> None:
        self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        return self._faults.active()

    # ---- routes ------------------------------------------------------------------------------------
    def add_route(self, method: str, path: str, handler: Handler) -> None:
        """Serve ``handler`` for ``method path`` (exact, or a glob with ``*``), ahead of the built-ins."""
        with self._routes_lock:
            self._custom_routes.insert(0, Route(method.upper(), path, handler))

    def _install_builtin_routes(self) -> None:
        from credlib.relay import anthropic, gemini, openai, usage

        for module in (openai, anthropic, gemini, usage):
            self._builtin_routes.extend(module.routes(self))

    def _find_route(self, method: str, path: str) -> Route | None:
        with self._routes_lock:
            candidates = [*self._custom_routes, *self._builtin_routes]
        return next((r for r in candidates if r.matches(method, path)), None)

    # ---- log ---------------------------------------------------------------------------------------
    @property
    def log(self) -> list[LogEntry]:
        with self._log_cond:
            return list(self._log)

    def clear_log(self) -> None:
        with self._log_cond:
            self._log.clear()

    def wait_for(self, n_requests: int, timeout_s: float = 5.0) -> list[LogEntry]:
        """Blocks until at least ``n_requests`` are logged; raises ``TimeoutError`` after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with self._log_cond:
            while len(self._log) < n_requests:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"relay {self.name}: {len(self._log)} of {n_requests} requests after {timeout_s}s"
                    )
                self._log_cond.wait(left)
            return list(self._log)

    @property
    def handler_errors(self) -> list[str]:
        """Exceptions raised inside route handlers (answered as 500), for tests to assert on."""
        return list(self._handler_errors)

    def _record(self, entry: LogEntry) -> None:
        with self._log_cond:
            self._log.append(entry)
            self._log_cond.notify_all()

    # ---- connections -------------------------------------------------------------------------------
    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._conns_lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    def _wait(self, seconds: float) -> bool:
        """Sleeps ``seconds`` unless the relay stops first; True when it is still running."""
        if seconds <= 0:
            return not self._stopping.is_set()
        return not self._stopping.wait(seconds)

    # ---- dispatch ----------------------------------------------------------------------------------
    def plan(self, req: RelayRequest) -> _Plan:
        taken = self._faults.take(req.method, req.path, req.key)
        delay = self.latency_s + sum(float(f.params.get("seconds", 0)) for f in taken if f.kind == "delay")
        for f in taken:
            if f.kind == "timeout":
                hold = min(float(f.params.get("seconds", faults.TIMEOUT_CAP_S)), faults.TIMEOUT_CAP_S)
                return _Plan(None, delay_s=delay, hold_s=hold)
            if f.kind == "drop":
                return _Plan(None, delay_s=delay, drop=True)
        req = replace(req, fault_params={f.kind: f.params for f in taken})
        protocol = errors.protocol_of(req.path, req.headers)
        try:
            response = next(
                (a for f in taken if f.kind in faults.ANSWER_KINDS if (a := faults.answer(f, req, protocol))),
                None,
            )
        except (ValueError, TypeError, KeyError) as exc:  # a fault set up with bad params
            self._handler_errors.append(f"fault on {req.method} {req.path}: {type(exc).__name__}: {exc}")
            response = errors.error_for(protocol, 500, f"relay fault error: {type(exc).__name__}")
        if response is None:
            response = self._route(req, protocol)
        for f in taken:
            if f.kind == "truncate_stream":
                response.truncate_after_chunks = int(f.params.get("after_chunks", 2))
            if f.kind == "stream_error" and response.is_stream and response.status == 200:
                body = response.body
                assert not isinstance(body, bytes)
                response.body = faults.inject_stream_error(body, f, protocol, req.path)
        return _Plan(response, delay_s=delay)

    def _route(self, req: RelayRequest, protocol: errors.Protocol) -> RelayResponse:
        route = self._find_route(req.method, req.path)
        if route is None:
            if req.path == "/" and req.method in ("GET", "HEAD"):
                # Claude Code sends a best-effort `HEAD /` first; a site's front page answers it.
                return RelayResponse.text(f"credlib relay {self.name}\n")
            return errors.invalid_url(req.method, req.path)
        try:
            return route.handler(req)
        except BadJSON as exc:
            return errors.error_for(protocol, 400, str(exc))
        except Exception as exc:  # a handler bug must not kill the connection thread silently
            self._handler_errors.append(f"{req.method} {req.path}: {type(exc).__name__}: {exc}")
            return errors.error_for(protocol, 500, f"relay handler error: {type(exc).__name__}")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512
    relay: Relay

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints a traceback to stderr by default; the relay keeps it to itself.
        import traceback

        self.relay._handler_errors.append(traceback.format_exc(limit=3))


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "credlib-relay"
    sys_version = ""
    timeout = IDLE_KEEPALIVE_S
    server: _Server
    _status: int
    _logged: bool
    _record: Callable[[], None]

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without TCP_NODELAY, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every answer.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.relay._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.relay._track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        # Silent: request lines can carry ?key=... and the relay never prints keys.
        return

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    # ---- request -----------------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts: list[bytes] = []
            total = 0
            while True:
                size_line = self.rfile.readline(1024)
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                total += size
                if total > MAX_REQUEST_BODY:
                    raise ValueError("request body too large")
                parts.append(self.rfile.read(size))
                self.rfile.readline(16)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BODY:
            raise ValueError("request body too large")
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        relay = self.server.relay
        t_start = time.monotonic()
        split = urlsplit(self.path)
        path = split.path or "/"
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            lname = name.lower()
            headers[lname] = f"{headers[lname]}, {value}" if lname in headers else value
        key, style = extract_key(headers, query)
        self._status = 0
        self._logged = False
        body = b""

        def record() -> None:
            # Called just before the last bytes go out, so a client that has its answer always finds
            # the request in the log.
            if self._logged:
                return
            self._logged = True
            relay._record(
                LogEntry(
                    method=self.command,
                    path=path,
                    query=query,
                    headers=headers,
                    body=body if relay.log_bodies else b"",
                    status=self._status,
                    t_start=t_start,
                    t_end=time.monotonic(),
                    key=key,
                )
            )

        self._record = record
        try:
            try:
                body = self._read_body()
            except (ValueError, OSError):
                self.close_connection = True
                self._write(errors.openai_error(413, "request body unreadable or too large"), None)
                return
            req = RelayRequest(self.command, path, query, headers, body, key, style)
            plan = relay.plan(req)
            if plan.delay_s and not relay._wait(plan.delay_s):
                self._abort()
                return
            if plan.hold_s:
                self._hold(plan.hold_s)
                self._abort()
                return
            if plan.drop or plan.response is None:
                self._abort()
                return
            self._write(plan.response, plan.response.truncate_after_chunks)
        except OSError:
            self.close_connection = True
        finally:
            record()

    # ---- response ----------------------------------------------------------------------------------
    def _abort(self) -> None:
        """Closes the connection with no (further) bytes: the client sees a reset or a short read."""
        self.close_connection = True
        self._record()
        with contextlib.suppress(OSError):
            self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _hold(self, seconds: float) -> None:
        """Answers nothing until ``seconds`` pass, the relay stops or the client hangs up."""
        relay = self.server.relay
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not relay._stopping.is_set():
            try:
                readable, _, _ = select.select([self.connection], [], [], 0.1)
                if readable and not self.connection.recv(1, socket.MSG_PEEK):
                    return
            except (OSError, ValueError):
                return

    def _write(self, resp: RelayResponse, truncate_after: int | None) -> None:
        """Sends ``resp``. Raises OSError when the client went away."""
        relay = self.server.relay
        head_only = self.command == "HEAD"
        self._status = resp.status
        self.send_response(resp.status, errors.reason(resp.status))
        for name, value in resp.headers.items():
            self.send_header(name, value)
        if isinstance(resp.body, bytes):
            self.send_header("Content-Length", str(len(resp.body)))
            if head_only or not resp.body:
                self._record()
                self.end_headers()
                return
            self.end_headers()
            if truncate_after is not None:
                self.wfile.write(resp.body[: len(resp.body) // 2])
                self._abort()
                return
            self._write_all(resp.body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        if head_only:
            self._record()
            self.end_headers()
            return
        self.end_headers()
        self.wfile.flush()
        for sent, (delay, data) in enumerate(_chunks(resp.body)):
            if truncate_after is not None and sent >= truncate_after:
                self._abort()
                return
            if not relay._wait(delay):
                self._abort()
                return
            if data:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
        if truncate_after is not None:
            self._abort()
            return
        self._record()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        step = 256 * 1024
        for i in range(0, len(view), step):
            if self.server.relay._stopping.is_set():
                self._abort()
                return
            if i + step >= len(view):
                self._record()
            self.wfile.write(view[i : i + step])
        self.wfile.flush()


def _chunks(body: Iterable[Chunk]) -> Iterator[Chunk]:
    yield from body
