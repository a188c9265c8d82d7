"""Helpers for the delivery family: outbox, ordering, dedup, concurrency, crashes, storms, faults.

Everything here drives real processes (the notification script, ``python -m cmk_ilert``)
against the in-process iLert stand-in and inspects what the stand-in received and what lies
on disk. Each event carries a marker (``evt-<tag>``) at the start of its service output; the
default summary template puts the output into the iLert event's ``summary``, so every request
in the stand-in log can be traced back to the event that caused it.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

import pytest

from tests.support.contexts import api_params, service
from tests.support.site import RECORDED_OUTPUT, FakeSite, Run, bulk_stdin, runtime_python

MARKER = re.compile(r"evt-[A-Za-z0-9_.-]+")
#: iLert answers that ilert/transport.py counts as delivered although they are 4xx.
DONE_CODES = ("NO_OPEN", "NONE_OPEN", "ALREADY_ACCEPTED", "ALREADY_RESOLVED")
SERVICE_KEY = "cmk/mysite/web01/cpu load~f26268fd97"


# --- contexts -------------------------------------------------------------------------


def event(tag: str, params: Mapping[str, str], ntype: str = "PROBLEM", micro: Optional[int] = None,
          host: str = "web01", **overrides: str) -> Dict[str, str]:
    """A service notification whose requests can be found by ``evt-<tag>``."""
    ctx = service(ntype, params, HOSTNAME=host, **overrides)
    ctx["SERVICEOUTPUT"] = "evt-%s %s" % (tag, ctx["SERVICEOUTPUT"])
    if micro is not None:
        ctx["MICROTIME"] = str(micro)
    return ctx


def alert_key(host: str = "web01", service_desc: str = "CPU load") -> str:
    from tests.support.contexts import alert_key as key_of

    return key_of("mysite", host, service_desc)


# --- the stand-in's log -----------------------------------------------------------------


def event_requests(standin: Any, since: int = 0, key: Optional[str] = None) -> List[Dict[str, Any]]:
    """Event POSTs (``/api/events``) the stand-in received, optionally for one integration key."""
    out = []
    for entry in standin.log(since):
        if entry["method"] != "POST" or not entry["path"].startswith("/api/events"):
            continue
        if key is not None and entry["key"] != key:
            continue
        out.append(entry)
    return out


def marker_of(entry: Mapping[str, Any]) -> Optional[str]:
    """The tag of the event a request stands for. The COMMENT that follows an
    ACCEPT (``comment_events``) belongs to the same notification and is left out:
    these tests count one request per event; comments have tests of their own."""
    body = entry.get("body")
    if not isinstance(body, dict) or body.get("eventType") == "COMMENT":
        return None
    found = MARKER.search(str(body.get("summary", "")))
    return found.group(0)[4:] if found else None


def is_accepted(entry: Mapping[str, Any]) -> bool:
    """The stand-in took the event (2xx), or answered that its goal state already holds."""
    status = entry["status"]
    if isinstance(status, int) and 200 <= status < 300:
        return True
    response = entry.get("response")
    code = str(response.get("code", "")) if isinstance(response, dict) else ""
    return status in (400, 409) and any(c in code for c in DONE_CODES)


def accepted_counts(entries: Iterable[Mapping[str, Any]]) -> Counter:
    """Accepted requests per event tag."""
    return Counter(marker_of(e) for e in entries if is_accepted(e) and marker_of(e) is not None)


def arrival_order(entries: Iterable[Mapping[str, Any]]) -> List[str]:
    return [str(marker_of(e)) for e in entries if is_accepted(e) and marker_of(e) is not None]


# --- files -------------------------------------------------------------------------------


def load(path: Path) -> Dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def rewrite(path: Path, **changes: Any) -> None:
    """Change fields of a queue entry in place (simulates time passing for that entry)."""
    data = load(path)
    data.update(changes)
    path.write_text(json.dumps(data), encoding="utf-8")


def site_files(site: FakeSite) -> List[Path]:
    return sorted(p for p in site.root.rglob("*"))


# --- processes ---------------------------------------------------------------------------


class Proc:
    """A script or CLI process started with the site's environment; ``finish()`` records it."""

    def __init__(self, popen: "subprocess.Popen[bytes]", stdin: Optional[bytes]) -> None:
        self.popen = popen
        self.started = time.monotonic()
        self._stdin = stdin
        self.run: Optional[Run] = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def finish(self, timeout: float = 60.0) -> Run:
        out, err = self.popen.communicate(self._stdin, timeout=timeout)
        self._stdin = None
        run = Run(self.popen.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))
        RECORDED_OUTPUT.append(run.output)
        self.run = run
        return run

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()


def spawn_notify(site: FakeSite, context: Optional[Mapping[str, str]] = None,
                 bulk: Optional[Sequence[Mapping[str, str]]] = None,
                 bulk_parameters: Optional[Mapping[str, str]] = None,
                 env: Optional[Mapping[str, str]] = None, raw_stdin: Optional[bytes] = None) -> Proc:
    """Start the notification script like ``FakeSite.run`` does, without waiting."""
    environment = site.environment(env)
    argv = [runtime_python(), str(site.script)]
    stdin: Optional[bytes] = None
    if bulk is not None or raw_stdin is not None:
        argv.append("--bulk")
        stdin = raw_stdin if raw_stdin is not None else bulk_stdin(bulk_parameters or {}, bulk or [])
    else:
        for key, value in (context or {}).items():
            environment["NOTIFY_" + key] = value
    popen = subprocess.Popen(argv, env=environment,
                             stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if stdin is not None:
        # Hand stdin over at once, so a kill can land while the script works on it.
        assert popen.stdin is not None
        try:
            popen.stdin.write(stdin)
            popen.stdin.close()
        except BrokenPipeError:
            pass
        popen.stdin = None  # communicate() must not touch it again
    return Proc(popen, None)


def spawn_cli(site: FakeSite, *args: str, env: Optional[Mapping[str, str]] = None) -> Proc:
    popen = subprocess.Popen([runtime_python(), "-m", "cmk_ilert", *args], env=site.environment(env),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return Proc(popen, None)


def flush_until_empty(site: FakeSite, *extra: str, env: Optional[Mapping[str, str]] = None,
                      rounds: int = 10) -> List[Run]:
    """``flush --now`` until the queue is empty (or ``rounds`` runs)."""
    runs = []
    for _ in range(rounds):
        run = site.cli("flush", "--now", *extra, env=env)
        runs.append(run)
        assert "Traceback" not in run.output, run.output
        if not site.queue():
            break
    return runs


def no_traceback(run: Run) -> None:
    assert "Traceback" not in run.output, run.output


@pytest.fixture
def params(standin: Any) -> Dict[str, str]:
    """Rule parameters of an API-type alert source pointing at the stand-in.

    ``coalesce`` is off: this family proves that every event is delivered, in order, exactly
    once; with coalesce an ALERT and its RESOLVE that were never attempted are dropped on
    purpose, which test_coalesce.py proves under the same outages, storms and crashes."""
    return api_params(standin.url, coalesce="False")
