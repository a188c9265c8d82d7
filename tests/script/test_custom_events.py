"""CUSTOM notifications with ``forward_custom``: the GUI's test opens a test alert, and for an
object that is fine resolves it right behind (nothing stays open), in both source types.

A test alert exists to be seen: ``coalesce`` (on by default) never drops it, whether its
RESOLVE comes in the same call or later.
"""

from __future__ import annotations

from typing import Callable, Dict

import pytest

from tests.script.util import FORMATS, assert_clean, event_requests, event_type_of, microtime, params
from tests.support.contexts import host, service

pytestmark = pytest.mark.runtime

BUILDERS: Dict[str, Callable[..., Dict[str, str]]] = {"host": host, "service": service}
FINE = {"host": {"HOSTSTATE": "UP", "HOSTSHORTSTATE": "UP"},
        "service": {"SERVICESTATE": "OK", "SERVICESHORTSTATE": "OK", "SERVICEOUTPUT": "OK - 15 min load: 0.40"}}
BROKEN = {"host": {"HOSTSTATE": "DOWN", "HOSTSHORTSTATE": "DOWN"},
          "service": {"SERVICESTATE": "CRITICAL", "SERVICESHORTSTATE": "CRIT"}}
#: what each source type receives for the test alert and its follow-up
WIRE = {"api": ("ALERT", "RESOLVE"), "checkmk": ("PROBLEM", "RECOVERY")}


def custom(url: str, fmt: str, obj: str, state: Dict[str, str], n: int = 0, **extra: str) -> Dict[str, str]:
    return BUILDERS[obj]("CUSTOM", params(fmt, url, forward_custom="True", **extra), MICROTIME=microtime(n),
                         NOTIFICATIONAUTHOR="cmkadmin", NOTIFICATIONCOMMENT="test from the GUI", **state)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("obj", ["host", "service"])
def test_custom_on_a_fine_object_opens_and_resolves_a_test_alert(site, standin, fmt, obj):
    run = site.run(custom(standin.url, fmt, obj, FINE[obj]))
    assert_clean(run, 0, lines=2)
    assert "ALERT" in run.lines[0] and "delivered" in run.lines[0]
    assert "RESOLVE" in run.lines[1] and "delivered" in run.lines[1]
    sent = event_requests(standin)
    assert [event_type_of(e) for e in sent] == list(WIRE[fmt])
    assert [e["status"] for e in sent] in ([202, 202], [200, 200])
    alerts = standin.alerts()
    assert len(alerts) == 1 and alerts[0]["status"] == "RESOLVED", alerts
    if fmt == "checkmk":  # what Checkmk sent is still visible next to the mapped type
        assert {e["body"]["CMK_ILERT_NOTIFICATIONTYPE"] for e in sent} == {"CUSTOM"}
    assert site.queue() == [] and site.dead() == []
    assert not (site.state_dir / "journal" / "superseded.jsonl").exists()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("obj", ["host", "service"])
def test_custom_on_a_broken_object_opens_a_test_alert_only(site, standin, fmt, obj):
    """In a problem state the test alert stays open like a real one; the next RECOVERY closes it."""
    line = assert_clean(site.run(custom(standin.url, fmt, obj, BROKEN[obj])), 0)
    assert "delivered" in line
    assert [event_type_of(e) for e in event_requests(standin)] == [WIRE[fmt][0]]
    assert [a["status"] for a in standin.alerts()] == ["PENDING"]
    recovery = BUILDERS[obj]("RECOVERY", params(fmt, standin.url), MICROTIME=microtime(1))
    assert_clean(site.run(recovery), 0)
    assert [a["status"] for a in standin.alerts()] == ["RESOLVED"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_custom_test_alert_queued_in_an_outage_is_still_sent(site, standin, fmt):
    """iLert down while the admin tests: the pair waits in the outbox; the flush sends the
    test alert and its RESOLVE instead of dropping them as a recovered problem."""
    standin.stop()
    run = site.run(custom(standin.url, fmt, "service", FINE["service"]))
    assert run.returncode == 1, run.output
    assert len(site.queue()) == 2
    standin.start()
    flush = site.cli("flush", "--now")
    assert flush.returncode == 0, flush.output
    assert "superseded" not in flush.output
    assert [event_type_of(e) for e in event_requests(standin)] == list(WIRE[fmt])
    assert [a["status"] for a in standin.alerts()] == ["RESOLVED"]


def test_custom_without_forward_custom_sends_nothing(site, standin):
    ctx = custom(standin.url, "api", "service", FINE["service"])
    ctx["PARAMETER_FORWARD_CUSTOM"] = "False"
    line = assert_clean(site.run(ctx), 0)
    assert ('ignored (CUSTOM notifications are ignored: turn on "Forward custom notifications" (forward_custom) '
            "to send them)") in line
    assert standin.log() == []
