"""A small threaded HTTP forward proxy for the network tests.

* absolute-URI requests (``POST http://host:port/path HTTP/1.1``) are forwarded to the
  origin over a fresh upstream connection, the client connection is kept alive;
* ``CONNECT host:port`` opens a TCP tunnel (for ``https://`` targets);
* optional Basic proxy authentication (``407`` with ``Proxy-Authenticate`` otherwise).

Every request is recorded with the id of the client connection it arrived on, so a
test can tell how many connections a client used. Runs on ``127.0.0.1:0``.
"""

from __future__ import annotations

import base64
import http.client
import itertools
import select
import socket
import socketserver
import threading
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

_HOP_BY_HOP = frozenset(
    ("connection", "keep-alive", "proxy-authorization", "proxy-connection", "proxy-authenticate", "te",
     "trailers", "transfer-encoding", "upgrade", "content-length")
)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, proxy: "ForwardProxy") -> None:
        self.proxy = proxy
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        proxy = self.server.proxy
        conn_id = proxy._new_connection(self.request)
        sock: socket.socket = self.request
        sock.settimeout(30)
        rfile = sock.makefile("rb")
        try:
            while True:
                line = rfile.readline(65537)
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    continue
                try:
                    method, target, _version = line.decode("latin-1").split()
                except ValueError:
                    self._reply(sock, 400, "Bad Request")
                    return
                headers = http.client.parse_headers(rfile)
                body = b""
                length = headers.get("Content-Length")
                if length:
                    body = rfile.read(int(length))
                user, authorized = proxy._check_auth(headers.get("Proxy-Authorization"))
                record: Dict[str, Any] = {
                    "conn": conn_id, "method": method, "target": target, "user": user,
                    "authorized": authorized, "status": None,
                }
                proxy._record(record)
                if not authorized:
                    record["status"] = 407
                    self._reply(sock, 407, "Proxy Authentication Required",
                                [("Proxy-Authenticate", 'Basic realm="test proxy"')])
                    if method == "CONNECT":
                        return
                    continue
                if method == "CONNECT":
                    self._tunnel(sock, target, record)
                    return
                keep = self._forward(sock, method, target, headers, body, record)
                if not keep:
                    return
        except OSError:
            return
        finally:
            try:
                rfile.close()
            except OSError:
                pass
            proxy._drop_connection(self.request)

    # -- helpers -------------------------------------------------------------------------
    @staticmethod
    def _reply(sock: socket.socket, status: int, reason: str,
               headers: Optional[List[Tuple[str, str]]] = None, body: bytes = b"") -> None:
        lines = ["HTTP/1.1 %d %s" % (status, reason)]
        for name, value in headers or []:
            lines.append("%s: %s" % (name, value))
        lines.append("Content-Length: %d" % len(body))
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def _forward(self, sock: socket.socket, method: str, target: str, headers: Any, body: bytes,
                 record: Dict[str, Any]) -> bool:
        parts = urlsplit(target)
        if parts.scheme != "http" or not parts.hostname:
            record["status"] = 400
            self._reply(sock, 400, "Bad Request")
            return False
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        upstream_headers = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
        upstream_headers["Connection"] = "close"
        try:
            upstream = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=30)
            upstream.request(method, path, body=body or None, headers=upstream_headers)
            response = upstream.getresponse()
            data = response.read()
            reply_headers = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            status, reason = response.status, response.reason
            upstream.close()
        except OSError:
            record["status"] = 502
            self._reply(sock, 502, "Bad Gateway")
            return True
        record["status"] = status
        self._reply(sock, status, reason, reply_headers, data)
        return (headers.get("Proxy-Connection") or headers.get("Connection") or "").lower() != "close"

    def _tunnel(self, sock: socket.socket, target: str, record: Dict[str, Any]) -> None:
        host, _, port = target.rpartition(":")
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=30)
        except (OSError, ValueError):
            record["status"] = 502
            self._reply(sock, 502, "Bad Gateway")
            return
        record["status"] = 200
        sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        pair = [sock, upstream]
        try:
            while not self.server.proxy._stopping.is_set():
                readable, _, _ = select.select(pair, [], [], 0.2)
                for src in readable:
                    data = src.recv(65536)
                    if not data:
                        return
                    (upstream if src is sock else sock).sendall(data)
        except OSError:
            return
        finally:
            upstream.close()


class ForwardProxy:
    """``with ForwardProxy(auth=("user", "pw")) as proxy: proxy.url, proxy.records``."""

    def __init__(self, auth: Optional[Tuple[str, str]] = None) -> None:
        self.auth = auth
        self.records: List[Dict[str, Any]] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._open: set = set()
        self._stopping = threading.Event()
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> "ForwardProxy":
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="test-forward-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        with self._lock:
            for sock in list(self._open):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "ForwardProxy":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses -----------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Without credentials."""
        return "http://127.0.0.1:%d" % self.port

    def url_with(self, user: str, password: str) -> str:
        return "http://%s:%s@127.0.0.1:%d" % (user, password, self.port)

    # -- bookkeeping ---------------------------------------------------------------------
    def _new_connection(self, sock: socket.socket) -> int:
        with self._lock:
            self._open.add(sock)
            return next(self._ids)

    def _drop_connection(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)

    def _record(self, record: Dict[str, Any]) -> None:
        with self._lock:
            self.records.append(record)

    def _check_auth(self, header: Optional[str]) -> Tuple[Optional[str], bool]:
        user: Optional[str] = None
        password: Optional[str] = None
        if header and header.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
            except ValueError:
                user = password = None
        if self.auth is None:
            return user, True
        return user, (user, password) == self.auth

    def requests(self) -> List[Dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self.records]
