"""Hostile answers beyond ``tests/support/hostile.py``: a server that answers every request with a
status, headers and a body chosen by the test (built from the request, so it can echo the key into
any field), e.g. a 429 whose ``Retry-After`` is ``inf``, or a 202 that puts the key into
``incidentKey``."""

from __future__ import annotations

from typing import Callable, Sequence, Tuple, Union

from tests.support.hostile import Arrival, HostileServer, _Conn

Body = Union[bytes, Callable[[Arrival], bytes]]


class Reply(HostileServer):
    """Answers every request (keep-alive) with ``status``, ``headers`` and ``body``."""

    def __init__(self, status: int = 202, headers: Sequence[Tuple[str, str]] = (), body: Body = b"",
                 reason: str = "Whatever", host: str = "127.0.0.1") -> None:
        super().__init__(host)
        self.status, self.headers, self.body, self.reason = status, tuple(headers), body, reason

    def serve(self, conn: _Conn) -> None:
        while self.read_request(conn):
            body = self.body(conn.arrival) if callable(self.body) else self.body
            lines = ["HTTP/1.1 %d %s" % (self.status, self.reason)]
            lines += ["%s: %s" % pair for pair in self.headers]
            lines.append("Content-Length: %d" % len(body))
            head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
            if not self.send(conn, head + body):
                return

    def requests(self) -> int:
        return sum(1 for a in self.arrivals if a.head)
