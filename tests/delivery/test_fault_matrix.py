"""Every failure class, at the notification run and at a later flush: exit code, outbox, status."""

from __future__ import annotations

import json
import time
from typing import NamedTuple, Optional

import pytest

from tests.delivery.conftest import event, event_requests, load, no_traceback
from tests.support.site import KEY_API, SECRETS, without_kept_secrets

pytestmark = pytest.mark.runtime

T0 = 1795341600000000
KEY = "cmk/mysite/web01/cpu load~f26268fd97"
LONG_MARK = "LONGMARK-payload-must-not-be-kept"


class Fault(NamedTuple):
    spec: Optional[str]  # stand-in fault; None = stand-in stopped (connection refused)
    permanent: bool
    reason: str  # what the queue entry / dead letter / status must mention
    paused: bool = False  # a 429 pauses the alert source


FAULTS = {
    "400": Fault("400", True, "HTTP 400"),
    "401": Fault("401", True, "HTTP 401"),
    "404": Fault("404", True, "HTTP 404"),
    "429-retry-after": Fault("429:30", False, "HTTP 429", paused=True),
    "429-no-retry-after": Fault("429-noretry", False, "HTTP 429", paused=True),
    "500": Fault("500", False, "HTTP 500"),
    "503": Fault("503", False, "HTTP 503"),
    "timeout": Fault("delay:2.5", False, "timeout after 1s"),
    "refused": Fault(None, False, "connection refused"),
    "reset": Fault("reset", False, "connection reset"),
    # beyond the classes the contract names
    "drop": Fault("drop", False, "connection reset"),  # request read, connection closed, no answer
    "408": Fault("408", False, "HTTP 408"),
    "502": Fault("502", False, "HTTP 502"),
    "403": Fault("403", True, "HTTP 403"),
    "redirect": Fault("redirect", True, "redirect not followed"),
}


def _apply(standin, fault: Fault) -> None:
    if fault.spec is None:
        standin.stop()
    else:
        standin.inject(fault.spec)


def _context(params):
    return event("fm", dict(params, PARAMETER_TIMEOUT="1"), micro=T0 + 1,
                 LONGSERVICEOUTPUT=LONG_MARK + "\\nsecond line")


def _check_dead_letter(site, fault: Fault) -> None:
    assert site.queue() == []
    dead = site.dead()
    assert len(dead) == 1, dead
    text = dead[0].read_text(encoding="utf-8")
    record = json.loads(text)
    assert fault.reason in record["reason"], record
    assert record["event_type"] == "ALERT"
    assert record["notification_type"] == "PROBLEM"
    assert record["alert_key"] == KEY
    shown = json.dumps({k: v for k, v in record.items() if k != "entry"})  # what dead/status may show
    for forbidden in SECRETS + (LONG_MARK, "integrationKey", "/api/events"):
        assert forbidden not in shown, "dead letter holds %r: %s" % (forbidden, text)
    for secret in SECRETS:  # the event kept for retry holds the key only as the queue does
        assert secret not in without_kept_secrets(text), "dead letter holds %r: %s" % (secret, text)
    assert record["entry"]["request"]["url"].endswith("/api/events")  # kept for retry


def _check_queued(site, fault: Fault, attempts: int) -> None:
    assert site.dead() == []
    queued = site.queue()
    assert len(queued) == 1, queued
    data = load(queued[0])
    assert fault.reason in data["last_error"], data["last_error"]
    assert data["event_type"] == "ALERT" and data["alert_key"] == KEY
    if fault.paused:
        # a 429 is not the entry's fault: no backoff, the alert source is paused instead
        assert data["attempts"] == attempts - 1
    else:
        assert data["attempts"] == attempts
        assert data["next_attempt"] > time.time() + 5


def _check_status(site, fault: Fault) -> None:
    plain = site.cli("status")
    no_traceback(plain)
    assert KEY in plain.stdout, plain.output
    assert fault.reason in plain.stdout, plain.output
    as_json = site.cli("status", "--json")
    info = json.loads(as_json.stdout)
    local = site.cli("status", "--local-check")
    assert len(local.lines) == 1, local.output
    if fault.permanent:
        assert plain.returncode == 2, plain.output
        assert as_json.returncode == 2 and info["exit_code"] == 2
        assert info["pending"] == 0 and len(info["dead"]) == 1
        assert info["dead"][0]["alert_key"] == KEY and fault.reason in info["dead"][0]["reason"]
        assert local.returncode == 2 and local.lines[0].startswith("2 "), local.output
    else:
        assert plain.returncode == 0, plain.output  # young: below --warn
        assert info["pending"] == 1 and info["dead"] == [] and info["exit_code"] == 0
        assert info["keys"][0]["alert_key"] == KEY and fault.reason in info["keys"][0]["last_error"]
        assert local.returncode == 0 and local.lines[0].startswith("0 "), local.output
        warn = site.cli("status", "--warn", "0")
        assert warn.returncode == 1, warn.output
        local = site.cli("status", "--local-check", "--warn", "0")
        assert local.returncode == 1 and local.lines[0].startswith("1 "), local.output
        if fault.paused:
            assert "paused" in plain.stdout and "429" in plain.stdout, plain.output
            assert len(info["paused"]) == 1 and info["paused"][0]["paused_for"] > 5
    for run in (plain, as_json, local):
        assert KEY_API not in run.output


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_at_notification(site, standin, params, name):
    fault = FAULTS[name]
    _apply(standin, fault)
    run = site.run(_context(params))
    no_traceback(run)
    assert run.returncode == (2 if fault.permanent else 1), run.output
    assert len(run.lines) == 1, run.output
    assert KEY in run.stdout and fault.reason in run.stdout, run.output
    if fault.permanent:
        assert "rejected" in run.stdout
        _check_dead_letter(site, fault)
    else:
        assert "queued" in run.stdout
        _check_queued(site, fault, attempts=1)
    _check_status(site, fault)


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_at_flush(site, standin, params, name):
    fault = FAULTS[name]
    standin.inject("503")
    first = site.run(_context(params))
    assert first.returncode == 1, first.output
    _apply(standin, fault)
    flush = site.cli("flush", "--now", "--max-time", "5")
    no_traceback(flush)
    assert flush.returncode == (2 if fault.permanent else 1), flush.output
    assert KEY in flush.stdout and fault.reason in flush.stdout, flush.output
    if fault.permanent:
        assert "1 rejected, 0 still queued" in flush.stdout, flush.output
        _check_dead_letter(site, fault)
    else:
        assert "0 delivered, 0 rejected, 1 still queued" in flush.stdout, flush.output
        _check_queued(site, fault, attempts=2)
    _check_status(site, fault)
    if fault.spec is None:
        standin.start()
    # a temporary failure is retried later; a dead letter is not retried
    before = len(event_requests(standin))
    if fault.spec and fault.spec.startswith("delay"):
        time.sleep(2)  # let the stand-in finish the request the client gave up on
        before = len(event_requests(standin))
    again = site.cli("flush", "--now")
    no_traceback(again)
    if fault.permanent:
        assert again.returncode == 0 and len(event_requests(standin)) == before
        assert len(site.dead()) == 1
    else:
        assert again.returncode == 0, again.output
        assert site.queue() == [] and len(event_requests(standin)) == before + 1


def test_429_at_flush_pauses_the_key_and_retries_after_retry_after(site, standin, params):
    standin.inject("503")
    assert site.run(_context(params)).returncode == 1
    standin.inject("429:1")
    started = time.monotonic()
    flush = site.cli("flush", "--now")
    no_traceback(flush)
    assert flush.returncode == 0, flush.output
    requests = event_requests(standin)
    assert [r["status"] for r in requests] == [503, 429, 202]
    assert requests[2]["mono"] - requests[1]["mono"] >= 0.95, "retried before Retry-After had passed"
    assert time.monotonic() - started < 10
    assert site.queue() == []


def test_429_at_notification_pauses_the_whole_alert_source(site, standin, params):
    standin.inject("429:30")
    assert site.run(_context(params)).returncode == 1
    seen = len(event_requests(standin))
    # another alert key of the same alert source must wait too: not even tried
    other = site.run(event("other", params, micro=T0 + 2, host="web02"))
    no_traceback(other)
    assert other.returncode == 1, other.output
    assert len(event_requests(standin)) == seen
    assert len(site.queue()) == 2
    # the admin says the outage is over: --now ignores the pause
    flush = site.cli("flush", "--now")
    assert flush.returncode == 0, flush.output
    assert len(event_requests(standin)) == seen + 2
