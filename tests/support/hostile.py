"""Hostile HTTP servers: real TCP servers that misbehave the ways iLert, a proxy or the network
can, for delivery tests of the notification script (issue: every time bound holds whatever the
network does).

Each server is a context manager (threads, loopback only) with ``.url`` and ``.address``, and
records every connection it took: when it arrived (``time.monotonic()``), the request head it
read, and how many bytes it received and sent so far (``arrivals``, live-updated ``Arrival``
objects). Intervals are parameters so tests stay fast.

=====================  =======================================================================
``DripHeaders``        status line and headers one byte every ``interval`` seconds (the header
                       block never ends while the client listens)
``DripBody``           headers at once (``Content-Length`` large), then the body one byte every
                       ``interval`` seconds
``EndlessBody``        headers at once, ``Content-Length`` 10**12 or ``chunked``, then data as
                       fast as the client reads, forever
``Echo``               400 / 401 / 500 (``status``) with a JSON error body that echoes the whole
                       request: method, path with its query, headers, body
``CaptivePortal``      200 with an HTML login page
``BlackHole``          a listening socket whose accept queue is full and never accepted: a
                       connect hangs (no SYN-ACK), no request ever arrives
``Silent``             accepts, reads the request, never answers
``SlowTLS``            accepts TCP, reads the ClientHello, never answers it (``https`` URL)
=====================  =======================================================================

``multi_address_host()`` names a host that resolves to several loopback addresses when the
machine has one (``localhost`` with 127.0.0.1 and ::1), for "timeout per address" tests.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Dict, List, Optional, Sequence, Tuple

MAX_HEAD = 64 * 1024
MAX_BODY = 1024 * 1024


@dataclass
class Arrival:
    """One connection the server took."""

    at: float  # time.monotonic() when it was accepted
    peer: Tuple[str, int]
    head: str = ""  # request line and headers as read (latin-1), "" if none came
    body: bytes = b""
    received: int = 0  # bytes read from the client so far
    sent: int = 0  # bytes written to the client so far
    head_at: Optional[float] = None  # monotonic time the request head was complete

    @property
    def request_line(self) -> str:
        return self.head.split("\r\n", 1)[0]


@dataclass
class _Conn:
    sock: socket.socket
    arrival: Arrival
    buffer: bytes = b""


class HostileServer:
    """Base class: accept loop in a thread, one thread per connection, ``serve`` per kind."""

    scheme = "http"

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._arrivals: List[Arrival] = []
        self._conns: List[socket.socket] = []
        self._threads: List[threading.Thread] = []
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, 0))
        self.port: int = self._listener.getsockname()[1]

    # -- public --------------------------------------------------------------------------
    @property
    def address(self) -> Tuple[str, int]:
        return self.host, self.port

    @property
    def url(self) -> str:
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "%s://%s:%d" % (self.scheme, host, self.port)

    @property
    def arrivals(self) -> List[Arrival]:
        with self._lock:
            return list(self._arrivals)

    def start(self) -> "HostileServer":
        self._listener.listen(16)
        self._spawn(self._accept_loop)
        return self

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                conn.close()
        for thread in self._threads:
            thread.join(timeout=2)

    def __enter__(self) -> "HostileServer":
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[type],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()

    # -- plumbing ------------------------------------------------------------------------
    def _spawn(self, target, *args) -> None:  # type: ignore[no-untyped-def]
        thread = threading.Thread(target=target, args=args, daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        self._listener.settimeout(0.05)
        while not self._stop.is_set():
            try:
                sock, peer = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            arrival = Arrival(at=time.monotonic(), peer=peer[:2])
            with self._lock:
                self._arrivals.append(arrival)
                self._conns.append(sock)
            self._spawn(self._run, _Conn(sock, arrival))

    def _run(self, conn: _Conn) -> None:
        try:
            self.serve(conn)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.sock.close()

    def _recv(self, conn: _Conn, size: int = 65536, timeout: float = 0.05) -> Optional[bytes]:
        """Bytes from the client; b"" at EOF; None when nothing came within ``timeout``."""
        conn.sock.settimeout(timeout)
        try:
            data = conn.sock.recv(size)
        except socket.timeout:
            return None
        conn.arrival.received += len(data)
        return data

    def read_request(self, conn: _Conn) -> bool:
        """Read the request head and a ``Content-Length`` body; False if the client left."""
        while b"\r\n\r\n" not in conn.buffer:
            if self._stop.is_set() or len(conn.buffer) > MAX_HEAD:
                return False
            data = self._recv(conn)
            if data == b"":
                return False
            conn.buffer += data or b""
        head, _, rest = conn.buffer.partition(b"\r\n\r\n")
        conn.arrival.head = head.decode("latin-1")
        length = 0
        for line in conn.arrival.head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length" and value.strip().isdigit():
                length = min(int(value.strip()), MAX_BODY)
        while len(rest) < length and not self._stop.is_set():
            data = self._recv(conn)
            if data == b"":
                break
            rest += data or b""
        conn.arrival.body, conn.buffer = rest[:length], rest[length:]
        conn.arrival.head_at = time.monotonic()
        return True

    def send(self, conn: _Conn, data: bytes) -> bool:
        """Send all of ``data``; False if the client is gone or the server stops."""
        conn.sock.settimeout(0.2)
        view = memoryview(data)
        while view and not self._stop.is_set():
            try:
                sent = conn.sock.send(view)
            except socket.timeout:
                continue
            except OSError:
                return False
            conn.arrival.sent += sent
            view = view[sent:]
        return not view

    def idle(self) -> None:
        """Hold the connection open until the server stops."""
        self._stop.wait()

    def drip(self, conn: _Conn, data: bytes, interval: float) -> bool:
        for index in range(len(data)):
            if not self.send(conn, data[index : index + 1]) or self._stop.wait(interval):
                return False
        return True

    def serve(self, conn: _Conn) -> None:  # pragma: no cover - every kind overrides it
        raise NotImplementedError


def _head(status: str, headers: Sequence[Tuple[str, str]]) -> bytes:
    lines = ["HTTP/1.1 %s" % status] + ["%s: %s" % pair for pair in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# -- the servers ------------------------------------------------------------------------
class DripHeaders(HostileServer):
    """Status line and headers one byte every ``interval`` seconds, never finished."""

    def __init__(self, interval: float = 1.0, host: str = "127.0.0.1") -> None:
        super().__init__(host)
        self.interval = interval

    def serve(self, conn: _Conn) -> None:
        if not self.read_request(conn):
            return
        start = b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nX-Drip: "
        if self.drip(conn, start, self.interval):
            while self.drip(conn, b"a", self.interval):
                pass


class DripBody(HostileServer):
    """Headers at once (``Content-Length: length``), the body one byte per ``interval``."""

    def __init__(
        self, interval: float = 1.0, length: int = 1_000_000, host: str = "127.0.0.1"
    ) -> None:
        super().__init__(host)
        self.interval, self.length = interval, length

    def serve(self, conn: _Conn) -> None:
        if not self.read_request(conn):
            return
        head = _head("202 Accepted", [("Content-Type", "application/json"),
                                      ("Content-Length", str(self.length))])  # fmt: skip
        if self.send(conn, head):
            body = (b'{"alertKey": "' + b"x" * self.length)[: self.length]
            self.drip(conn, body, self.interval)


class EndlessBody(HostileServer):
    """Headers at once, then body data as fast as the client reads, forever."""

    def __init__(self, chunked: bool = False, host: str = "127.0.0.1") -> None:
        super().__init__(host)
        self.chunked = chunked

    def serve(self, conn: _Conn) -> None:
        if not self.read_request(conn):
            return
        framing = ("Transfer-Encoding", "chunked") if self.chunked else ("Content-Length", str(10**12))
        if not self.send(conn, _head("202 Accepted", [("Content-Type", "application/json"), framing])):
            return
        block = b'{"alertKey": "' + b"x" * 65522
        if self.chunked:
            block = b"%x\r\n%s\r\n" % (len(block), block)
        while self.send(conn, block):
            block = block if self.chunked else b"x" * 65536


class Echo(HostileServer):
    """``status`` (400, 401, 500) with a JSON error body that echoes the whole request."""

    REASONS = {400: "Bad Request", 401: "Unauthorized", 500: "Internal Server Error"}

    def __init__(self, status: int = 400, host: str = "127.0.0.1") -> None:
        super().__init__(host)
        self.status = status

    def serve(self, conn: _Conn) -> None:
        while self.read_request(conn):
            lines = conn.arrival.head.split("\r\n")
            method, _, rest = lines[0].partition(" ")
            path = rest.rsplit(" ", 1)[0]
            headers: Dict[str, str] = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip()] = value.strip()
            text = conn.arrival.body.decode("utf-8", "replace")
            echo = {
                "status": self.status,
                "code": "ECHO",
                "message": "rejected %s %s with body %s" % (method, path, text),
                "request": {"method": method, "path": path, "headers": headers, "body": text},
            }
            body = json.dumps(echo).encode("utf-8")
            reason = self.REASONS.get(self.status, "Error")
            head = _head("%d %s" % (self.status, reason), [("Content-Type", "application/json"),
                                                         ("Content-Length", str(len(body)))])  # fmt: skip
            if not self.send(conn, head + body):
                return


class CaptivePortal(HostileServer):
    """200 with an HTML login page, whatever was asked."""

    PAGE = (b"<!DOCTYPE html><html><head><title>Guest Wi-Fi</title></head><body>"
            b"<form action=\"/login\"><input name=\"user\"><button>Log in</button></form>"
            b"</body></html>")  # fmt: skip

    def serve(self, conn: _Conn) -> None:
        while self.read_request(conn):
            head = _head("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                    ("Content-Length", str(len(self.PAGE)))])  # fmt: skip
            if not self.send(conn, head + self.PAGE):
                return


class Silent(HostileServer):
    """Accepts, reads the request, never answers."""

    def serve(self, conn: _Conn) -> None:
        if self.read_request(conn):
            self.idle()


class SlowTLS(HostileServer):
    """Accepts TCP and reads the TLS ClientHello, but never answers it."""

    scheme = "https"

    def serve(self, conn: _Conn) -> None:
        while not self._stop.is_set():
            data = self._recv(conn, timeout=0.1)
            if data == b"":
                return
            if data:
                conn.arrival.head = "TLS ClientHello (%d bytes)" % conn.arrival.received


class BlackHole:
    """A listening socket whose accept queue is full and never accepted: a connect to it gets
    no SYN-ACK and hangs until the client's timeout. The queue is filled with held connections
    (Linux and gVisor drop SYNs for a full queue; no root needed). ``hosts`` may name several
    loopback addresses, all on one port (e.g. ``("127.0.0.1", "::1")`` behind ``localhost``)."""

    scheme = "http"

    def __init__(self, hosts: Sequence[str] = ("127.0.0.1",), probe_timeout: float = 0.2) -> None:
        self.hosts = tuple(hosts)
        self.probe_timeout = probe_timeout
        self._listeners: List[socket.socket] = []
        self._held: List[socket.socket] = []
        self.port = 0

    @property
    def address(self) -> Tuple[str, int]:
        return self.hosts[0], self.port

    @property
    def url(self) -> str:
        host = self.hosts[0]
        return "%s://%s:%d" % (self.scheme, "[%s]" % host if ":" in host else host, self.port)

    def url_for(self, hostname: str) -> str:
        return "%s://%s:%d" % (self.scheme, hostname, self.port)

    @property
    def arrivals(self) -> List[Arrival]:
        return []  # nothing is ever accepted

    def start(self) -> "BlackHole":
        for _ in range(20):  # find a port free on every host
            try:
                self._bind_all()
                break
            except OSError:
                self._close_all()
        else:
            raise OSError("no common free port for %s" % (self.hosts,))
        for listener, host in zip(self._listeners, self.hosts):
            self._fill(listener, host)
        return self

    def _bind_all(self) -> None:
        port = 0
        for host in self.hosts:
            listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
            self._listeners.append(listener)
            listener.bind((host, port))
            listener.listen(0)
            port = listener.getsockname()[1]
        self.port = port

    def _fill(self, listener: socket.socket, host: str) -> None:
        for _ in range(64):
            probe = socket.socket(listener.family, socket.SOCK_STREAM)
            probe.settimeout(self.probe_timeout)
            try:
                probe.connect((host, self.port))
            except (socket.timeout, OSError):
                probe.close()
                return  # the queue is full: connects now hang
            self._held.append(probe)
        raise OSError("the accept queue of %s never filled" % host)

    def _close_all(self) -> None:
        for sock in self._held + self._listeners:
            with contextlib.suppress(OSError):
                sock.close()
        self._held, self._listeners = [], []

    def stop(self) -> None:
        self._close_all()

    def __enter__(self) -> "BlackHole":
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[type],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()


def loopback_addresses(hostname: str) -> List[str]:
    """The distinct addresses ``hostname`` resolves to (TCP), in resolver order."""
    try:
        infos = socket.getaddrinfo(hostname, 80, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return []
    found: List[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in found:
            found.append(address)
    return found


def multi_address_host() -> Tuple[str, List[str]]:
    """A host name that resolves to several loopback addresses, if the machine has one.

    Candidates need no root: ``localhost`` (127.0.0.1 and ::1 where /etc/hosts lists both)
    and ``ip6-localhost``/``localhost6``. Returns the name with the most addresses, with its
    addresses; callers skip multi-address tests when only one comes back. On the machine this
    was written on (a gVisor sandbox), ``localhost`` resolves to 127.0.0.1 only, while ::1 is
    usable when named directly (``BlackHole(hosts=("127.0.0.1", "::1"))``)."""
    best = ("localhost", loopback_addresses("localhost"))
    for name in ("localhost6", "ip6-localhost", "ip6-loopback"):
        addresses = loopback_addresses(name)
        if len(addresses) > len(best[1]):
            best = (name, addresses)
    return best
