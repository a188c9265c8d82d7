"""The Unix-socket server: reads requests, answers queries, records and applies commands.

Misbehaviour (one-shot FIFO ``inject(...)``, or ``always(...)`` for every query), applied to
``GET`` requests after the request has been read:

* ``slow:S``   wait S seconds, then answer normally;
* ``close``    close the connection without an answer;
* ``garbage``  answer bytes that are no Livestatus answer (with ``fixed16`` a header that does
               not parse either);
* ``truncate`` announce the full length in the ``fixed16`` header, send half, close;
* ``hang``     never answer: hold the connection until the stand-in stops;
* ``nested``   a well-formed ``fixed16`` header announcing 100,000 nested ``[`` (valid bytes,
               deeper than any JSON parser's recursion limit).

Commands (``dialect``): ``checkmk`` (default) answers nothing to a ``COMMAND``, whether its
object exists or not -- a command on a non-existent host or service is silently dropped
(handbook ``livestatus.asciidoc``, "Setting commands": commands are processed without an
answer). ``icinga2`` models icinga2's Livestatus feature (``Icinga/icinga2``
``lib/livestatus/livestatusquery.cpp``, ``LivestatusQuery::Execute`` and ``SendResponse``):
the lines up to the empty line belong to the command; a command that fails (its object does not
exist, a wrong number of fields, no ``[timestamp]``, acknowledging an object without a problem)
is answered ``452`` and the message, which is written only when the request asked for
``ResponseHeader: fixed16`` (otherwise nothing is sent). Each command record notes whether the
client ended it with the empty line (``terminated``: icinga2 logs an error for every command
without it). Queries in the ``icinga2`` dialect: ``dialect.py`` (booleans, ASCII-only case
folding, 452). ``drop_commands(n)`` makes the next ``n`` commands change nothing at all, as a
core does with a command it never applies (``effect`` "dropped").

"Socket missing" is ``stop()`` (the socket file is removed) or never ``start()``; "nobody
listens" is ``stop(remove_socket=False)`` (a stale socket file: connect is refused).
"""

from __future__ import annotations

import contextlib
import os
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .commands import apply_command, parse_command
from .dialect import CHECKMK, FAILED_EFFECTS, ICINGA2, rendered
from .model import Site
from .query import LivestatusError, Query, column_types, parse_request
from .render import fixed16, render
from .tables import HOST_COLUMNS, SERVICE_COLUMNS, Context

MAX_LINE = 1 << 20
FAULT_KINDS = ("slow", "close", "garbage", "truncate", "hang", "nested")
NESTING = 100_000
GARBAGE = b"\x00\xff<html>not livestatus</html>\n"


def parse_fault(spec: str) -> tuple[str, float]:
    kind, _, arg = spec.partition(":")
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown Livestatus fault {spec!r}")
    if kind == "slow":
        try:
            seconds = float(arg)
        except ValueError:
            raise ValueError(f"bad fault {spec!r}: slow:SECONDS") from None
        if not 0 <= seconds < float("inf"):
            raise ValueError(f"bad fault {spec!r}: slow:SECONDS")
        return kind, seconds
    if arg:
        raise ValueError(f"bad fault {spec!r}")
    return kind, 0.0


@dataclass
class Control:
    """What handlers share: the site, settings, faults, records."""

    site: Site
    inventory_dir: Path | None = None
    prefer_json: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)
    changed: threading.Condition = field(init=False)
    faults: list[tuple[str, float]] = field(default_factory=list)
    default_fault: tuple[str, float] | None = None
    commands: list[dict[str, Any]] = field(default_factory=list)
    queries: list[dict[str, Any]] = field(default_factory=list)
    dialect: str = CHECKMK
    drop: int = 0
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)

    def take_fault(self) -> tuple[str, float] | None:
        with self.lock:
            if self.faults:
                return self.faults.pop(0)
            return self.default_fault

    def context(self) -> Context:
        return Context(self.site, self.inventory_dir, self.prefer_json)


def _rows(control: Control, query: Query) -> tuple[list[str], list[list[Any]]]:
    """The selected columns and the matching rows (after filters, up to ``Limit``)."""
    site = control.site
    read: Callable[[Any, str], Any]
    items: list[Any]
    if query.table == "standin_commands":
        with control.lock:
            items = [dict(r, time=int(r["time"])) for r in control.commands]
        columns = query.columns or list(column_types("standin_commands"))
        read = lambda record, c: record[c]  # noqa: E731
    else:
        ctx = control.context()
        spec = HOST_COLUMNS if query.table == "hosts" else SERVICE_COLUMNS
        columns = query.columns or list(spec)
        with site.lock:
            table = site.hosts if query.table == "hosts" else site.services
            items = list(table.values())
        read = lambda row, c: spec[c][1](ctx, row)  # noqa: E731
    rows = []
    with site.lock:
        for item in items:
            if not query.matches(lambda c, item=item: read(item, c)):
                continue
            rows.append([rendered(control.dialect, c, read(item, c)) for c in columns])
            if query.limit is not None and len(rows) >= query.limit:
                break
    return columns, rows


class Handler(socketserver.StreamRequestHandler):
    server: LivestatusServer

    _pending: bytes | None = None

    def _readline(self) -> bytes:
        if self._pending is not None:
            raw, self._pending = self._pending, None
            return raw
        return self.rfile.readline(MAX_LINE)

    def _read_headers(self, command: bool = False) -> tuple[list[str], bool]:
        """The lines after a request's first line up to the empty line, and whether the empty
        line came (False: the client ended the request with EOF). After a ``COMMAND`` a line
        that starts another request (``GET``/``COMMAND``) also ends it (the stand-in's
        leniency, as before the empty line was modelled)."""
        headers: list[str] = []
        while True:
            raw = self._readline()
            if not raw:
                return headers, False
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not line:
                return headers, True
            if command and line.startswith(("GET ", "COMMAND")):
                self._pending = raw
                return headers, False
            headers.append(line)

    def handle(self) -> None:
        control = self.server.control
        while not control.stopping.is_set():
            raw = self._readline()
            if not raw:
                return
            first = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not first:
                continue  # blank lines between requests
            if first.startswith("COMMAND"):
                headers, terminated = self._read_headers(command=True)
                record = parse_command(first)
                record["terminated"] = terminated
                record["headers"] = headers
                with control.lock:
                    dropped = control.drop > 0
                    control.drop -= 1 if dropped else 0
                if dropped:
                    record["effect"] = "dropped"
                else:
                    apply_command(control.site, record)
                with control.changed:
                    control.commands.append(record)
                    control.changed.notify_all()
                if control.dialect == ICINGA2 and "ResponseHeader: fixed16" in headers:
                    failed = record["effect"].startswith(FAILED_EFFECTS)
                    body = record["effect"].encode("utf-8") if failed else b""
                    self.wfile.write(fixed16(452 if failed else 200, body) + body)
                continue  # the connection stays open after a command
            rest, _ = self._read_headers()
            if not self._answer([first] + rest):
                return

    def _answer(self, lines: list[str]) -> bool:
        """Answer one GET request; False when the connection is to be closed."""
        control = self.server.control
        fault = control.take_fault()
        with control.lock:
            control.queries.append(
                {"time": time.time(), "lines": list(lines), "fault": fault and fault[0]}
            )
        keepalive, header = False, False
        try:
            query = parse_request(lines, control.dialect)
            keepalive, header = query.keepalive, query.fixed16
            columns, rows = _rows(control, query)
            wanted = query.column_headers
            if wanted is None:  # Livestatus prints headers when no Columns: were asked
                wanted = query.columns is None
            headers_row = columns if wanted else None
            code, body = 200, render(query, headers_row, rows)
        except LivestatusError as exc:
            header = header or any(line.strip() == "ResponseHeader: fixed16" for line in lines)
            code, body = exc.code, (exc.message + "\n").encode("utf-8")
            if control.dialect == ICINGA2 and not header:
                body = b""  # icinga2 writes an error only with ResponseHeader: fixed16 (SendResponse)
        if fault is not None:
            kind, seconds = fault
            if kind == "slow":
                control.stopping.wait(seconds)
            elif kind == "close":
                return False
            elif kind == "hang":
                control.stopping.wait()
                return False
            elif kind == "garbage":
                self.wfile.write((b"2x0 garbage!!!!\n" if header else b"") + GARBAGE)
                return False
            elif kind == "nested":
                deep = b"[" * NESTING
                self.wfile.write(fixed16(200, deep) + deep)
                return False
            elif kind == "truncate":
                self.wfile.write((fixed16(code, body) if header else b"") + body[: len(body) // 2])
                return False
        self.wfile.write((fixed16(code, body) if header else b"") + body)
        return keepalive and code == 200


class LivestatusServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, path: str, control: Control) -> None:
        self.control = control
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(path, Handler)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._open_lock:
                self._open.discard(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away mid-answer is not the stand-in's error

    def close_connections(self) -> None:
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


def check_path(path: Path) -> None:
    if len(os.fsencode(str(path))) > 107:
        raise ValueError(
            f"Unix socket path too long for AF_UNIX ({len(str(path))} > 107 bytes): {path}"
        )
