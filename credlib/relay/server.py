"""The relay itself: a threaded HTTP/1.1 server on 127.0.0.1, its keys, faults, routes and request log."""

from __future__ import annotations

import contextlib
import fnmatch
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any

from credlib.relay import errors, faults
from credlib.relay.connection import HOST, RelayHTTPServer, RelayRequestHandler
from credlib.relay.faults import Fault, FaultBook
from credlib.relay.generate import DEFAULT_REPLY
from credlib.relay.keys import KeySpec, NewApiLog
from credlib.relay.wire import BadJSON, LogEntry, RelayRequest, RelayResponse

Handler = Callable[[RelayRequest], RelayResponse]
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
class Plan:
    """What the connection does for one request, decided before any byte is written."""

    response: RelayResponse | None
    delay_s: float = 0.0
    hold_s: float = 0.0  # the timeout fault: keep the connection open, answer nothing
    drop: bool = False  # close the connection without any answer


class Relay:
    """A fake LLM relay on ``127.0.0.1``; see the package docstring for the routes and faults.

    ``latency_s`` delays every answer (time to first byte); ``port=0`` picks a free port; ``reply`` is
    what the fake model says; ``accept_any_key`` accepts unknown keys as if added with ``models=None``;
    ``quota_per_unit`` is New API's USD-to-quota factor (published at ``/api/status``);
    ``stream_delay_s`` spaces the events of every stream; ``log_bodies=False`` keeps request bodies
    out of the log (long benchmarks). With ``account_usage`` every answered generation is charged to
    its key like a real relay does (``price_per_mtok`` = USD per million input, output tokens): ``used``
    grows, ``quota`` shrinks, New API gets a consume log and Sub2API's today/total windows count it.
    """

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
        account_usage: bool = False,
        price_per_mtok: tuple[float, float] = (0.15, 0.60),
    ) -> None:
        self.latency_s = latency_s
        self.name = name
        self.reply = reply
        self.accept_any_key = accept_any_key
        self.quota_per_unit = quota_per_unit
        self.stream_delay_s = stream_delay_s
        self.log_bodies = log_bodies
        self.account_usage = account_usage
        self.price_per_mtok = price_per_mtok
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
        self._server: RelayHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._install_builtin_routes()

    # ---- lifecycle -------------------------------------------------------------------------------
    def start(self) -> Relay:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = RelayHTTPServer((HOST, self._port), RelayRequestHandler)
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
                # Remembered, so accounting and later telemetry calls see the same key.
                spec = self._keys[key] = KeySpec(key=key, models=None)
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

    def account(self, spec: KeySpec, model: str, input_tokens: int, output_tokens: int, stream: bool) -> None:
        """Charges one answered generation to ``spec`` when ``account_usage`` is on."""
        if not self.account_usage:
            return
        price_in, price_out = self.price_per_mtok
        cost = (input_tokens * price_in + output_tokens * price_out) / 1_000_000
        with self._keys_lock:
            spec.used += cost
            if not spec.unlimited:
                spec.quota -= cost
            spec.logs.append(
                NewApiLog(
                    created_at=int(time.time()),
                    model_name=model,
                    cost=cost,
                    prompt_tokens=input_tokens,
                    completion_tokens=output_tokens,
                    is_stream=stream,
                )
            )
            for window in (spec.today, spec.total):
                window.requests += 1
                window.input_tokens += input_tokens
                window.output_tokens += output_tokens
                window.cost += cost
                window.actual_cost += cost

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

    # ---- used by the connection handler ------------------------------------------------------------
    def record(self, entry: LogEntry) -> None:
        with self._log_cond:
            self._log.append(entry)
            self._log_cond.notify_all()

    def note_error(self, text: str) -> None:
        self._handler_errors.append(text)

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._conns_lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def pause(self, seconds: float) -> bool:
        """Sleeps ``seconds`` unless the relay stops first; True when it is still running."""
        if seconds <= 0:
            return not self._stopping.is_set()
        return not self._stopping.wait(seconds)

    # ---- dispatch ----------------------------------------------------------------------------------
    def plan(self, req: RelayRequest) -> Plan:
        """What to do for ``req``: its faults, then its route."""
        taken = self._faults.take(req.method, req.path, req.key)
        delay = self.latency_s + sum(float(f.params.get("seconds", 0)) for f in taken if f.kind == "delay")
        for f in taken:
            if f.kind == "timeout":
                hold = min(float(f.params.get("seconds", faults.TIMEOUT_CAP_S)), faults.TIMEOUT_CAP_S)
                return Plan(None, delay_s=delay, hold_s=hold)
            if f.kind == "drop":
                return Plan(None, delay_s=delay, drop=True)
        req = replace(req, fault_params={f.kind: f.params for f in taken})
        protocol = errors.protocol_of(req.path, req.headers, req.auth_style)
        try:
            response = next(
                (a for f in taken if f.kind in faults.ANSWER_KINDS if (a := faults.answer(f, req, protocol))),
                None,
            )
        except (ValueError, TypeError, KeyError) as exc:  # a fault set up with bad params
            self.note_error(f"fault on {req.method} {req.path}: {type(exc).__name__}: {exc}")
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
        return Plan(response, delay_s=delay)

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
            self.note_error(f"{req.method} {req.path}: {type(exc).__name__}: {exc}")
            return errors.error_for(protocol, 500, f"relay handler error: {type(exc).__name__}")
