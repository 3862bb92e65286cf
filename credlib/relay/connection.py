"""The HTTP/1.1 side of the relay: one thread per connection, keep-alive, chunked streaming with a
flush per chunk, and connections that ``Relay.stop()`` can close at any point."""

from __future__ import annotations

import contextlib
import select
import socket
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from credlib.relay import errors
from credlib.relay.keys import extract_key
from credlib.relay.wire import LogEntry, RelayRequest, RelayResponse

if TYPE_CHECKING:
    from credlib.relay.server import Relay

HOST = "127.0.0.1"  # the only address the relay ever binds
MAX_REQUEST_BODY = 64 * 1024 * 1024
IDLE_KEEPALIVE_S = 120.0


class _BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class RelayHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512
    relay: Relay

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints a traceback to stderr by default; the relay keeps it to itself.
        import traceback

        self.relay.note_error(traceback.format_exc(limit=3))


class RelayRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "credlib-relay"
    sys_version = ""
    timeout = IDLE_KEEPALIVE_S
    server: RelayHTTPServer
    _status: int
    _logged: bool
    _record: Callable[[], None]

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without TCP_NODELAY, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every answer.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.relay.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.relay.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        # Silent: request lines can carry ?key=... and the relay never prints keys.
        return

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    # ---- request -----------------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        """The request body (Content-Length or chunked); ``_BodyError`` when it cannot be read."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts: list[bytes] = []
            total = 0
            while True:
                size_line = self.rfile.readline(1024)
                try:
                    size = int(size_line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise _BodyError(400, "malformed chunked request body") from None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                total += size
                if total > MAX_REQUEST_BODY:
                    raise _BodyError(413, "request body too large")
                parts.append(self.rfile.read(size))
                self.rfile.readline(16)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise _BodyError(400, "invalid Content-Length") from None
        if length > MAX_REQUEST_BODY:
            raise _BodyError(413, "request body too large")
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
            relay.record(
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
            except _BodyError as exc:
                self.close_connection = True
                self._write(errors.openai_error(exc.status, exc.message), None)
                return
            req = RelayRequest(self.command, path, query, headers, body, key, style)
            plan = relay.plan(req)
            if plan.delay_s and not relay.pause(plan.delay_s):
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
        while time.monotonic() < deadline and not relay.stopping:
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
        for sent, (delay, data) in enumerate(resp.body):
            if truncate_after is not None and sent >= truncate_after:
                self._abort()
                return
            if not relay.pause(delay):
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
            if self.server.relay.stopping:
                self._abort()
                return
            if i + step >= len(view):
                self._record()
            self.wfile.write(view[i : i + step])
        self.wfile.flush()
