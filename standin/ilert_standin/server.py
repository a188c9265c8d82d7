"""HTTP/1.1 server (keep-alive, optional TLS) that routes requests to the endpoint logic.

Every response carries a correct ``Content-Length`` (HEAD included) so connections can be kept
alive. Request bodies are read completely before anything else, so faults such as ``reset``
happen *after* the client sent its request. A request is logged before its answer is written,
so a client that got an answer always finds the request in the log.

Latency: every accepted socket gets ``TCP_NODELAY`` and every answer (status line, headers and
body) leaves in ONE write. Either alone avoids the ~40 ms stall of Nagle's algorithm meeting
the client's delayed ACK on keep-alive connections (a small header segment, then a small body
segment that waits for the ACK of the first); a bulk benchmark would otherwise charge 40 ms per
request to the plugin. ``WireStats`` counts both so tests assert the mechanism, not a time.
"""

from __future__ import annotations

import contextlib
import html
import json
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from . import admin, alerts_api, endpoints
from .faults import Fault, FaultQueue
from .replies import ApiError, Reply, default_code, error_body
from .schema import event_key
from .state import LogEntry, State

ALERT_PAGE = "/alert/"  # alertUrl = <base>/alert/<id>
MAX_BODY = 1 << 20  # bytes; a stand-in limit (iLert documents none) answered with 413
REDIRECT_TARGET = "https://example.invalid/"
_PATH_KEY_ROUTES = (
    ("/api/v1/events/checkmk-ext/", "checkmk"),
    ("/api/heartbeats/", "heartbeat"),
    ("/api/v1/heartbeats/", "heartbeat"),
    ("/api/pings/", "heartbeat"),
)
_ALLOWED = {
    "events": ("POST",),
    "checkmk": ("POST",),
    "heartbeat": ("GET", "HEAD", "POST"),
    "alerts": ("GET", "HEAD"),
    "alert": ("GET", "HEAD"),
    "log-entries": ("GET", "HEAD"),
}


class WireStats:
    """Counters of what the server did on the wire (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.connections = 0  # accepted connections that reached a handler
        self.nodelay_connections = 0  # ... whose socket had TCP_NODELAY set
        self.responses = 0  # answers written by ``Handler._send``
        self.writes = 0  # write calls on response streams (all handlers)

    def connection(self, nodelay: bool) -> None:
        with self._lock:
            self.connections += 1
            self.nodelay_connections += int(nodelay)

    def response(self) -> None:
        with self._lock:
            self.responses += 1

    def write(self) -> None:
        with self._lock:
            self.writes += 1

    def as_json(self) -> dict[str, int]:
        with self._lock:
            return {
                "connections": self.connections,
                "nodelay_connections": self.nodelay_connections,
                "responses": self.responses,
                "writes": self.writes,
            }

    def reset(self) -> None:
        with self._lock:
            self.connections = self.nodelay_connections = 0
            self.responses = self.writes = 0


class _CountingWriter:
    """Wraps a handler's ``wfile``: counts every write before passing it on."""

    def __init__(self, raw: Any, stats: WireStats) -> None:
        self._raw = raw
        self._stats = stats

    def write(self, data: bytes) -> int:
        self._stats.write()
        written: int = self._raw.write(data)
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


@dataclass
class App:
    """What request handlers share."""

    state: State
    faults: FaultQueue = field(default_factory=FaultQueue)
    base_url: str = ""
    verbose: bool = False
    stats: WireStats = field(default_factory=WireStats)


class _BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def route(path: str) -> tuple[str | None, str | None]:
    """(endpoint name, key from the path) for a request path without query."""
    if path == "/api/events":
        return "events", None
    if path == "/api/alerts":
        return "alerts", None
    if path.startswith("/api/alerts/"):
        rest = path[len("/api/alerts/") :]
        if rest and "/" not in rest:
            return "alert", rest
        if rest.endswith("/log-entries") and rest.count("/") == 1:
            return "log-entries", rest.partition("/")[0]
    for prefix, name in _PATH_KEY_ROUTES:
        if path.startswith(prefix):
            rest = path[len(prefix) :]
            if rest and "/" not in rest:
                return name, unquote(rest)
    return None, None


def decode_body(raw: bytes) -> tuple[Any, bool]:
    """(decoded JSON, True), or (raw text or None, False)."""
    if not raw:
        return None, False
    try:
        return json.loads(raw), True
    except ValueError:
        return raw.decode("utf-8", "replace"), False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ilert-standin/1.0"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 120.0  # idle keep-alive connections are closed after this
    server: StandInServer

    def setup(self) -> None:
        super().setup()  # sets TCP_NODELAY (disable_nagle_algorithm)
        stats = self.server.app.stats
        try:
            option = self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        except OSError:
            option = 0
        stats.connection(bool(option))
        self.wfile = _CountingWriter(self.wfile, stats)  # type: ignore[assignment]

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if self.server.app.verbose:
            super().log_message(format, *args)

    # -- request flow ------------------------------------------------------------------
    def _serve(self) -> None:
        app = self.server.app
        mono, wall = time.monotonic(), time.time()
        path, _, query = self.path.partition("?")
        is_admin = path.startswith(admin.PREFIX)
        name, key = route(path)
        entry = LogEntry(
            index=-1,
            mono=mono,
            time=wall,
            method=self.command,
            path=self.path,
            key=key,
            status=0,
            body=None,
            headers=dict(self.headers.items()),
            fault=None,
            response=None,
        )
        try:
            raw = self._read_body()
        except _BodyError as exc:
            self.close_connection = True
            reply = Reply(exc.status, error_body(exc.status, None, str(exc)))
            if not is_admin:
                entry["status"], entry["response"] = reply.status, reply.body
                app.state.record(entry)
            self._send(reply)
            return
        body, json_ok = decode_body(raw)
        if path.startswith(ALERT_PAGE) and self.command in ("GET", "HEAD"):
            self._send(self._guard(lambda: self._alert_page(path)))
            return
        if is_admin:
            self._send(
                self._guard(
                    lambda: admin.handle(
                        app.state,
                        app.faults,
                        app.stats,
                        self.command,
                        path,
                        query,
                        body,
                        json_ok,
                        app.base_url,
                    )
                )
            )
            return
        if name == "events":
            key = entry["key"] = event_key(body)
        target = None
        if name in ("alerts", "alert", "log-entries"):
            target, key = key, alerts_api.bearer_key(self.headers)
            entry["key"] = key
        entry["body"] = body
        fault = app.faults.take(path, key)
        if fault is not None:
            entry["fault"] = fault.spec
            if fault.kind != "delay":
                self._apply_fault(fault, entry)
                return
            time.sleep(fault.delay)
            mono, wall = time.monotonic(), time.time()
        reply = self._guard(
            lambda: self._dispatch(name, key, body, json_ok, mono, wall, query, target)
        )
        entry["status"], entry["response"] = reply.status, reply.body
        app.state.record(entry)
        self._send(reply)

    def _dispatch(
        self,
        name: str | None,
        key: str | None,
        body: Any,
        json_ok: bool,
        mono: float,
        wall: float,
        query: str = "",
        target: str | None = None,
    ) -> Reply:
        app = self.server.app
        if name is None:
            raise ApiError(404, "NOT_FOUND", f"no such resource: {self.path}")
        if self.command not in _ALLOWED[name]:
            allowed = ", ".join(_ALLOWED[name])
            return Reply(
                405, error_body(405, None, f"use {allowed}"), [("Allow", allowed)]
            )
        if name == "events":
            return endpoints.post_event(app.state, body, json_ok, mono, app.base_url)
        if name in ("alerts", "alert", "log-entries"):
            return self._alerts_api(name, query, target, mono)
        assert key is not None
        if name == "checkmk":
            return endpoints.post_checkmk(app.state, key, body, json_ok, mono)
        return endpoints.ping(app.state, key, self.command, self.path, mono, wall)

    def _alert_page(self, path: str) -> Reply:
        """What ``alertUrl`` points at: a tiny page naming the alert (iLert's is its web
        app at ``https://<tenant>.ilert.com/alert/<id>``; not an API, not logged)."""
        number = path[len(ALERT_PAGE) :]
        alert = self.server.app.state.get(int(number)) if number.isdigit() else None
        if alert is None:
            raise ApiError(404, "NOT_FOUND", f"no alert {number}")
        text = f"<!doctype html><title>Alert {alert.id}</title><h1>Alert {alert.id}: "
        text += f"{html.escape(alert.summary)}</h1><p>{alert.status}</p>"
        return Reply(200, text.encode("utf-8"), content_type="text/html; charset=utf-8")

    def _alerts_api(
        self, name: str, query: str, target: str | None, mono: float
    ) -> Reply:
        state = self.server.app.state
        key = alerts_api.authorize(state, self.headers)
        if state.rate_limited(key, mono, user_api_key=True):
            return endpoints.throttled(state, mono)
        if name == "alerts":
            return alerts_api.list_alerts(state, query)
        assert target is not None
        if name == "log-entries":
            return alerts_api.log_entries(state, target, query)
        return alerts_api.get_alert(state, target, query)

    def _guard(self, action: Callable[[], Reply]) -> Reply:
        try:
            reply = action()
        except ApiError as exc:
            return exc.reply()
        except Exception:  # a stand-in bug: say so loudly, answer 500
            traceback.print_exc(file=sys.stderr)
            return Reply(500, error_body(500, None, "stand-in internal error"))
        return reply

    def _apply_fault(self, fault: Fault, entry: LogEntry) -> None:
        state = self.server.app.state
        if fault.kind in ("reset", "drop"):
            entry["status"] = fault.kind
            state.record(entry)
            self.close_connection = True
            if fault.kind == "reset":
                linger = struct.pack("ii", 1, 0)
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                self.connection.close()
            return
        if fault.kind == "redirect":
            reply = Reply(302, None, [("Location", REDIRECT_TARGET)])
        elif fault.status == 429:
            reply = endpoints.throttled(state, time.monotonic(), fault.retry_after)
        elif 300 <= fault.status < 400:
            reply = Reply(fault.status, None, [("Location", REDIRECT_TARGET)])
        else:
            code = default_code(fault.status)
            reply = Reply(
                fault.status, error_body(fault.status, code, "injected fault")
            )
        entry["status"], entry["response"] = reply.status, reply.body
        state.record(entry)
        self._send(reply)

    # -- I/O ---------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").strip().lower() == "chunked":
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            size = int(length)
        except ValueError:
            raise _BodyError(400, "bad Content-Length") from None
        if size < 0:
            raise _BodyError(400, "bad Content-Length")
        if size > MAX_BODY:
            raise _BodyError(413, f"request body larger than {MAX_BODY} bytes")
        return self.rfile.read(size)

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BodyError(400, "bad chunked encoding") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            total += size
            if total > MAX_BODY:
                raise _BodyError(413, f"request body larger than {MAX_BODY} bytes")
            parts.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _send(self, reply: Reply) -> None:
        """Status line, headers and body in one write (see the module docstring)."""
        payload = reply.payload()
        self.send_response(reply.status)
        if payload:
            self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        buffer: list[bytes] = getattr(self, "_headers_buffer", [])
        buffer.append(b"\r\n")
        if payload and self.command != "HEAD":
            buffer.append(payload)
        data = b"".join(buffer)
        self._headers_buffer = []
        self.server.app.stats.response()
        self.wfile.write(data)


class StandInServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], app: App, ssl_context: ssl.SSLContext | None
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.app = app
        self.ssl_context = ssl_context
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would do a reverse DNS lookup (getfqdn): skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = (
            str(self.server_address[0]),
            self.server_address[1],
        )

    def finish_request(self, request: Any, client_address: Any) -> None:
        connection: socket.socket = request
        if self.ssl_context is not None:
            request.settimeout(Handler.timeout)
            try:
                connection = self.ssl_context.wrap_socket(request, server_side=True)
            except OSError:
                return
        with self._connections_lock:
            self._connections.add(connection)
        try:
            Handler(connection, client_address, self)
        finally:
            with self._connections_lock:
                self._connections.discard(connection)
            if connection is not request:
                connection.close()

    def close_connections(self) -> None:
        """Shut down open keep-alive connections so their handler threads end."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if self.app.verbose or not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)
