"""Helpers shared by the script tests (fixtures live in conftest.py)."""

from __future__ import annotations

import re
import socket
from typing import Any, Dict, Iterable, List, Optional

from tests.support.contexts import api_params, checkmk_params
from tests.support.site import KEY_API, KEY_CMK, SECRETS, Run

FORMATS = ("api", "checkmk")
CHECKMK_PATH = "/api/v1/events/checkmk-ext/"

#: Text that must never reach notify.log: tracebacks and exception reprs.
_UGLY = re.compile(
    r"Traceback|File \"|\w+(Error|Exception|Warning)\(|object at 0x|HTTPS?ConnectionPool\(|Max retries exceeded"
    r"|<urllib3|<requests|NewConnectionError|urllib3\.|requests\.exceptions"
)


def params(fmt: str, url: str, key: Optional[str] = None, **extra: str) -> Dict[str, str]:
    """Rule parameters of one wire format (2.1-2.3 key shape), with the right default key."""
    if fmt == "api":
        return api_params(url, key or KEY_API, **extra)
    assert fmt == "checkmk", fmt
    return checkmk_params(url, key or KEY_CMK, **extra)


def key_of(fmt: str) -> str:
    return KEY_API if fmt == "api" else KEY_CMK


def event_requests(standin: Any) -> List[Dict[str, Any]]:
    """The stand-in's log of event requests (both endpoints), oldest first."""
    return [e for e in standin.log() if e["path"] == "/api/events" or e["path"].startswith(CHECKMK_PATH)]


def event_type_of(entry: Dict[str, Any]) -> str:
    """ALERT/ACCEPT/RESOLVE (api) or the NOTIFICATIONTYPE (checkmk) of a logged request."""
    body = entry["body"]
    if entry["path"] == "/api/events":
        return body["eventType"]
    return body["NOTIFICATIONTYPE"]


def assert_clean(run: Run, code: int, lines: Optional[int] = 1, extra_secrets: Iterable[str] = ()) -> str:
    """Exit code as expected, ``lines`` output lines, no traceback, no repr, no secret."""
    assert run.returncode == code, "exit %d, expected %d: %s" % (run.returncode, code, run.output)
    if lines is not None:
        assert len(run.lines) == lines, "expected %d line(s), got:\n%s" % (lines, run.output)
    ugly = _UGLY.search(run.output)
    assert ugly is None, "traceback or exception repr in output: %r" % run.output
    for secret in tuple(SECRETS) + tuple(extra_secrets):
        assert secret not in run.output, "secret %s... in output" % secret[:6]
    return run.lines[0] if run.lines else ""


def assert_no_key_fragment(text: str, key: str) -> None:
    """At most the last four characters of ``key`` may appear in ``text`` (no 8-character
    run of the key shows up; shorter runs collide with plain words such as UNAUTHORIZED)."""
    for start in range(0, len(key) - 7):
        window = key[start:start + 8]
        assert window not in text, "fragment %r of a key in output" % window


def closed_port() -> int:
    """A local port nobody listens on (bound, then closed)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def microtime(n: int) -> str:
    return str(1795341600000000 + n * 1000000)
