"""Every failure class -> its exit code and exactly one clean line.

Each class runs twice: `api` format with the outbox (a 2 leaves a dead letter, a 1 a queue
entry) and `checkmk` format without it (nothing on disk; the key is in the URL there, so
exception texts that quote the URL would leak it).
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, NamedTuple, Optional

import pytest

from tests.script.util import assert_clean, assert_no_key_fragment, closed_port, event_requests, key_of, params
from tests.support.contexts import service
from tests.support.site import KEY_UNAUTHORIZED, without_kept_secrets

pytestmark = pytest.mark.runtime

UNKNOWN_KEY = "il1api-UNKNOWN-k3y0f1e2d3c4b5a6"


class Case(NamedTuple):
    code: int
    word: Optional[str]  # regex the line must contain (case-insensitive)
    inject: Any = None
    key: Optional[str] = None
    url: Optional[str] = None  # "closed", "dns", "tls"
    extra: Dict[str, str] = {}
    reaches_standin: Optional[bool] = True  # None: not checked (a delayed request is logged late)


CASES = {
    "400 validation": Case(2, r"400", inject=400),
    "401 unauthorized key": Case(2, r"401", key=KEY_UNAUTHORIZED),
    "403 forbidden": Case(2, r"403", inject=403),
    "404 unknown key": Case(2, r"404", key=UNKNOWN_KEY),
    "409 conflict": Case(2, r"409", inject=409),
    "413 too large": Case(2, r"413", inject=413),
    "422 unprocessable": Case(2, r"422", inject=422),
    "408 request timeout": Case(1, r"408", inject=408),
    "429 with Retry-After": Case(1, r"429", inject="429:1"),
    "429 without Retry-After": Case(1, r"429", inject="429-noretry"),
    "500": Case(1, r"500", inject=500),
    "502": Case(1, r"502", inject=502),
    "503": Case(1, r"503", inject=503),
    "504": Case(1, r"504", inject=504),
    "timeout": Case(1, r"time", inject="delay:1.5", extra={"timeout": "0.5"}, reaches_standin=None),
    "connection refused": Case(1, r"refused", url="closed", reaches_standin=False),
    "connection reset": Case(1, r"reset|closed|connection", inject="reset"),
    "connection dropped": Case(1, r"connection|closed|reset|disconnect", inject="drop"),
    "TLS error": Case(1, r"tls|ssl|certificate", url="tls", reaches_standin=False),
    "DNS failure": Case(1, r"dns|name|resolv", url="dns", reaches_standin=False),
    "redirect 302": Case(2, r"redirect", inject="redirect"),
    "redirect 301": Case(2, r"redirect|301", inject=301),
    "redirect 307": Case(2, r"redirect|307", inject=307),
}

#: The classes every change must keep right run in both variants; the other statuses once.
CORE = ("400 validation", "401 unauthorized key", "404 unknown key", "429 with Retry-After", "500", "503", "timeout",
        "connection refused", "connection reset", "TLS error", "DNS failure", "redirect 302")
RUNS = [pytest.param(name, "api", True, id="%s-api-outbox" % name) for name in CASES] + [
    pytest.param(name, "checkmk", False, id="%s-checkmk-direct" % name) for name in CORE]


@pytest.mark.parametrize("name, fmt, outbox", RUNS)
def test_failure_class(site, standin, tls_standin, fmt, outbox, name):
    case = CASES[name]
    target = standin
    if case.url == "closed":
        url = "http://127.0.0.1:%d" % closed_port()
    elif case.url == "dns":
        url = "https://nonexistent.invalid"
    elif case.url == "tls":
        target = tls_standin  # its CA is not given to the script
        url = tls_standin.url
    else:
        url = standin.url
    if case.inject is not None:
        standin.inject(case.inject)
    extra = dict(case.extra)
    if not outbox:
        extra["outbox"] = "False"
    key = case.key or key_of(fmt)
    run = site.run(service("PROBLEM", params(fmt, url, key=key, **extra)), timeout=30)

    line = assert_clean(run, case.code, extra_secrets=[key])
    assert_no_key_fragment(run.output, key)
    assert re.search(case.word, line, re.IGNORECASE), line
    assert "cmk/mysite/web01/cpu load~f26268fd97" in line

    sent = event_requests(target)
    if case.reaches_standin is not None:
        assert len(sent) == (1 if case.reaches_standin else 0), sent
        assert target.alerts() == []

    queued, dead = site.queue(), site.dead()
    if not outbox:
        assert queued == [] and dead == []
    elif case.code == 2:
        assert queued == [] and len(dead) == 1
        record = json.loads(dead[0].read_text())
        assert record["reason"] and record["alert_key"] == "cmk/mysite/web01/cpu load~f26268fd97"
        assert key not in without_kept_secrets(dead[0].read_text())  # the event kept for retry: as the queue
    else:
        assert len(queued) == 1 and dead == []


def test_retry_after_a_temporary_failure_delivers_once(site, standin):
    """The queued event of a 503 is delivered by flush; the outbox is empty afterwards."""
    standin.inject(503)
    assert_clean(site.run(service("PROBLEM", params("api", standin.url))), 1)
    run = site.cli("flush", "--now")
    assert run.returncode == 0, run.output
    assert [e["status"] for e in event_requests(standin)] == [503, 202]
    assert site.queue() == [] and site.dead() == []
    assert len(standin.alerts()) == 1


def test_dead_letter_is_not_retried(site, standin):
    standin.inject(400)
    assert_clean(site.run(service("PROBLEM", params("api", standin.url))), 2)
    run = site.cli("flush", "--now")
    assert run.returncode == 0, run.output
    assert len(event_requests(standin)) == 1
    assert len(site.dead()) == 1


def test_outbox_directory_unusable_still_delivers(site, standin):
    """A state directory that cannot be created must not lose the event."""
    (site.root / "var" / "cmk_ilert").write_text("not a directory")
    run = site.run(service("PROBLEM", params("api", standin.url)))
    assert run.returncode == 0, run.output
    assert_clean(run, 0, lines=None)
    assert len(run.lines) <= 2
    assert len(standin.alerts()) == 1
