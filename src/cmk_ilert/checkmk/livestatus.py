"""A minimal Livestatus client for the site's own socket (``$OMD_ROOT/tmp/run/live``).

Queries ask for ``OutputFormat: json`` and ``ResponseHeader: fixed16`` (status code and
length in the first 16 bytes), so an error answer or a cut-off answer is told apart from
data; commands are one ``COMMAND [<epoch>] NAME;arg;...`` line without an answer (the
handbook's "Retrieving status data via Livestatus", sections LQL, ResponseHeader and
Setting commands, ``Checkmk/checkmk-docs`` ``src/onprem/en/livestatus.asciidoc``), followed
by the empty line that ends a request, as Checkmk's own client sends it
(``Checkmk/checkmk`` ``livestatus/api/python/livestatus.py``, ``SingleSiteConnection.do_command``
@ 00043f60: ``"COMMAND " + command + "\n"`` with ``command`` ending in ``"\n"``). Object names
go into a command exactly as Livestatus spells them: a name holding ``;`` or a line break
cannot be addressed and is refused (``Unaddressable``), never altered.

Every socket operation gets a timeout of at most the time left before ``deadline``
(``time.monotonic()``); answers are capped. Any failure -- socket missing, refused,
silent, closed without an answer or early, garbage -- raises ``LivestatusError`` with a fixed
phrase that says which.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any, Callable, List, Sequence

SOCKET = ("tmp", "run", "live")
MAX_ANSWER = 16 * 1024 * 1024


class LivestatusError(Exception):
    """Livestatus could not answer (a temporary condition for the caller)."""


class Unaddressable(ValueError):
    """An object name that no Livestatus header or command can carry unchanged."""


def addressable(name: str) -> bool:
    """Whether ``name`` fits into a command argument or a filter header exactly as it is."""
    return not any(c in name for c in ";\n\r")


def field(value: str) -> str:
    """A value safe inside a header line or a command argument (no line breaks, no ``;``)."""
    return " ".join(value.replace(";", ",").split())


def query(path: str, lines: Sequence[str], deadline: float,
          clock: Callable[[], float] = time.monotonic) -> List[List[Any]]:
    """The rows of a ``GET`` query (``lines``: the request and its headers, no output options)."""
    for line in lines:
        if "\n" in line or "\r" in line:
            raise Unaddressable("a Livestatus header cannot span lines")
    request = "\n".join(list(lines) + ["OutputFormat: json", "ResponseHeader: fixed16"]) + "\n\n"
    raw = _exchange(path, request.encode("utf-8"), deadline, clock, answer=True)
    if not raw:
        raise LivestatusError("Livestatus closed the connection without an answer")
    if len(raw) < 16 and raw[:3].isdigit():
        raise LivestatusError("Livestatus closed the connection early (within the response header)")
    if len(raw) < 16 or raw[15:16] != b"\n" or not raw[:3].isdigit():
        raise LivestatusError("Livestatus answered garbage")
    code = int(raw[:3])
    try:
        length = int(raw[3:15].strip() or b"-1")
    except ValueError:
        raise LivestatusError("Livestatus answered garbage") from None
    body = raw[16:]
    if code != 200:
        raise LivestatusError("Livestatus refused the query (%d)" % code)
    if length != len(body):
        raise LivestatusError("Livestatus closed the connection early")
    try:
        rows = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        raise LivestatusError("Livestatus answered garbage (not JSON, or nested too deeply)") from None
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise LivestatusError("Livestatus answered garbage")
    return rows


def command(path: str, name: str, args: Sequence[Any], deadline: float,
            clock: Callable[[], float] = time.monotonic, now: Callable[[], float] = time.time,
            names: Sequence[str] = ()) -> str:
    """Send ``COMMAND [<epoch>] name;names...;args...`` and the empty line; returns the line sent.

    ``names`` (host, service) are passed exactly, or refused with Unaddressable; ``args``
    (flags, author, comment) are free text made safe by ``field``. Livestatus answers nothing:
    whether the command took effect is for the caller to ask afterwards.
    """
    for object_name in names:
        if not addressable(object_name):
            raise Unaddressable("a name holding ';' or a line break cannot be addressed by a Livestatus command")
    parts = [name] + list(names) + [field(str(a)) for a in args]
    line = "COMMAND [%d] %s\n" % (int(now()), ";".join(parts))
    _exchange(path, (line + "\n").encode("utf-8"), deadline, clock, answer=False)
    return line.rstrip("\n")


def _exchange(path: str, request: bytes, deadline: float, clock: Callable[[], float], answer: bool) -> bytes:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        _timeout(sock, deadline, clock)
        sock.connect(path)
        _timeout(sock, deadline, clock)
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        if not answer:
            return b""
        chunks = []
        size = 0
        while True:
            _timeout(sock, deadline, clock)
            chunk = sock.recv(65536)
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_ANSWER:
                raise LivestatusError("Livestatus answer too large")
            chunks.append(chunk)
        return b"".join(chunks)
    except socket.timeout:
        raise LivestatusError("Livestatus did not answer in time") from None
    except FileNotFoundError:
        raise LivestatusError("Livestatus socket %s missing (is the site running?)" % path) from None
    except ConnectionRefusedError:
        raise LivestatusError("Livestatus refused the connection (is the core running?)") from None
    except OSError as exc:
        raise LivestatusError("Livestatus connection failed (%s)" % type(exc).__name__) from None
    finally:
        sock.close()


def _timeout(sock: socket.socket, deadline: float, clock: Callable[[], float]) -> None:
    remaining = deadline - clock()
    if remaining <= 0:
        raise socket.timeout()
    sock.settimeout(remaining)
