"""Per alert key, events go out in order: a RESOLVE never overtakes its ALERT; other keys flow."""

from __future__ import annotations

import time

import pytest

from tests.delivery.conftest import (
    accepted_counts,
    alert_key,
    arrival_order,
    event,
    event_requests,
    is_accepted,
    load,
    marker_of,
    no_traceback,
    rewrite,
)

pytestmark = pytest.mark.runtime

T0 = 1795341600000000


def _alert(standin, key):
    found = [a for a in standin.alerts() if a["key"] == key]
    assert len(found) == 1, standin.alerts()
    return found[0]


def test_resolve_waits_behind_failed_alert(site, standin, params):
    standin.inject("503")
    run = site.run(event("a1", params, micro=T0 + 1))
    no_traceback(run)
    assert run.returncode == 1, run.output

    before = len(standin.log())
    run = site.run(event("r1", params, "RECOVERY", micro=T0 + 2))
    no_traceback(run)
    assert run.returncode == 1, run.output  # queued behind the ALERT, not sent
    assert len(standin.log()) == before, "the RESOLVE was sent while its ALERT was still queued"
    assert len(site.queue()) == 2

    # another alert key is not held back by the failing one
    run = site.run(event("b1", params, micro=T0 + 3, host="web02"))
    assert run.returncode == 0, run.output
    assert accepted_counts(event_requests(standin)) == {"b1": 1}

    flush = site.cli("flush", "--now")
    no_traceback(flush)
    assert flush.returncode == 0, flush.output
    order = [t for t in arrival_order(event_requests(standin)) if t in ("a1", "r1")]
    assert order == ["a1", "r1"]
    assert _alert(standin, alert_key())["status"] == "RESOLVED"
    assert _alert(standin, alert_key("web02"))["status"] == "PENDING"
    assert site.queue() == []


def test_flush_delivers_other_keys_while_one_key_is_in_backoff(site, standin, params):
    # key A fails and backs off; key B fails too, but its retry time has come
    standin.inject("503", "503")
    assert site.run(event("a1", params, micro=T0 + 1)).returncode == 1
    assert site.run(event("a2", params, "ACKNOWLEDGEMENT", micro=T0 + 2)).returncode == 1
    assert site.run(event("b1", params, micro=T0 + 3, host="web02")).returncode == 1
    assert site.run(event("b2", params, "RECOVERY", micro=T0 + 4, host="web02")).returncode == 1
    assert len(event_requests(standin)) == 2  # only the two heads were tried
    for path in site.queue():
        if load(path)["alert_key"] == alert_key("web02"):
            rewrite(path, next_attempt=time.time() - 1)

    flush = site.cli("flush")  # the cron's flush: honours backoff
    no_traceback(flush)
    assert flush.returncode == 1, flush.output  # key A still waits
    requests = event_requests(standin)
    assert accepted_counts(requests) == {"b1": 1, "b2": 1}
    assert arrival_order(requests) == ["b1", "b2"]
    remaining = sorted(load(p)["event_type"] for p in site.queue())
    assert remaining == ["ACCEPT", "ALERT", "COMMENT"]  # the ACK's comment follows as its own event

    flush = site.cli("flush", "--now")
    assert flush.returncode == 0, flush.output
    order = [t for t in arrival_order(event_requests(standin)) if t.startswith("a")]
    assert order == ["a1", "a2"]
    assert _alert(standin, alert_key())["status"] == "ACCEPTED"
    assert _alert(standin, alert_key("web02"))["status"] == "RESOLVED"


def test_bulk_delivers_oldest_first_whatever_the_bulk_order(site, standin, params):
    # Checkmk hands bulks newest first by default
    contexts = [
        event("r", {}, "RECOVERY", micro=T0 + 30),
        event("k", {}, "ACKNOWLEDGEMENT", micro=T0 + 20),
        event("a", {}, micro=T0 + 10),
    ]
    # coalesce off: a problem and its recovery in one bulk are otherwise superseded (test_coalesce.py)
    run = site.run(bulk=contexts, bulk_parameters=dict(params, PARAMETER_COALESCE="False"))
    no_traceback(run)
    assert run.returncode == 0, run.output
    assert arrival_order(event_requests(standin)) == ["a", "k", "r"]
    assert _alert(standin, alert_key())["status"] == "RESOLVED"


def test_permanent_failure_of_the_alert_lets_the_resolve_go(site, standin, params):
    standin.inject("503")
    assert site.run(event("a1", params, micro=T0 + 1)).returncode == 1
    assert site.run(event("r1", params, "RECOVERY", micro=T0 + 2)).returncode == 1
    standin.inject("400")
    flush = site.cli("flush", "--now")
    no_traceback(flush)
    assert flush.returncode == 2, flush.output  # the ALERT is a dead letter
    dead = [load(p) for p in site.dead()]
    assert [(d["event_type"], d["alert_key"]) for d in dead] == [("ALERT", alert_key())]
    # the RESOLVE was sent afterwards (iLert: no open alert = nothing left to do)
    requests = event_requests(standin)
    assert [(marker_of(r), r["status"]) for r in requests][-2:] == [("a1", 400), ("r1", 400)]
    assert is_accepted(requests[-1]) and not is_accepted(requests[-2])
    assert site.queue() == []


def test_flush_after_outage_starts_with_the_oldest_key(site, standin, params):
    """Regression (fixed in 7bfb076): groups were sorted by their hash file names."""
    standin.stop()
    hosts = ["h%d" % n for n in range(6)]
    for n, host in enumerate(hosts):  # h0 broke first, h5 last
        assert site.run(event(host, params, micro=T0 + 10 * n, host=host)).returncode == 1
        time.sleep(0.01)
    standin.start()
    flush = site.cli("flush", "--now")
    assert flush.returncode == 0, flush.output
    assert arrival_order(event_requests(standin)) == hosts
