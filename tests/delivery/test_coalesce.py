"""Coalescing (``coalesce``, on by default): nobody is paged for what already recovered.

A queued ALERT that was never attempted and the RESOLVE queued behind it (same alert key,
same alert source) are dropped as "superseded", with every COMMENT or ACCEPT between them.
Everything runs through the real script and ``python -m cmk_ilert`` against the stand-in.

How an ALERT comes to wait without an attempt: the client rate limit. ``rate_limit`` N with
``CMK_ILERT_RATE_WINDOW`` 600 lets N events out and makes a notification run leave the next
one queued untouched (it waits at most 2 s for a slot); a flush with a short window later
delivers what is left. How iLert is known to hold no open alert for the key: the last event
of the key that may have reached it was a delivered RESOLVE ("closed"). Without that
knowledge (a key never resolved through this outbox, or after an ALERT went out) the
never-sent ALERT is still dropped, but the RESOLVE is sent, so an alert opened earlier
cannot stay open.
"""

from __future__ import annotations

import json
import signal
import time
from typing import Any, Dict, List

import pytest

from tests.delivery.conftest import (
    accepted_counts,
    arrival_order,
    event,
    event_requests,
    load,
    no_traceback,
    spawn_notify,
)
from tests.support.contexts import api_params
from tests.support.site import KEY_API

pytestmark = pytest.mark.runtime

T0 = 1795341600000000
KEY = "cmk/mysite/web01/cpu load~f26268fd97"
HELD = {"CMK_ILERT_RATE_WINDOW": "600"}  # every event beyond the limit waits in the outbox
DRAIN = {"CMK_ILERT_RATE_WINDOW": "0.05"}  # a flush that is not held up by the limit
SUPERSEDED = ('superseded, not sent: the problem recovered before its ALERT was sent, see "Coalesce queued events" '
              "(coalesce)")
#: a second alert source (another integration key); not a real iLert key
KEY_SECOND = "il1api-TEST-KEY2-5e6f7a8b9c0d1e2f"


@pytest.fixture
def params(standin):
    """The family's rule with coalesce on, its default (tests/delivery/conftest.py turns it off)."""
    return api_params(standin.url)


def micro(n: int) -> int:
    return T0 + n * 1000


def journal(site) -> List[Dict[str, Any]]:
    path = site.state_dir / "journal" / "superseded.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_ok(site, ctx, code: int = 0, env=None):
    run = site.run(ctx, env=env)
    no_traceback(run)
    assert run.returncode == code, run.output
    return run


def resolved_before(site, standin, params, env=None) -> None:
    """A0 and R0 of web01 are delivered: iLert is known to hold no open alert for the key."""
    run_ok(site, event("a0", params, micro=micro(0)), env=env)
    run_ok(site, event("r0", params, "RECOVERY", micro=micro(1)), env=env)
    assert arrival_order(event_requests(standin)) == ["a0", "r0"]


def held_alert(site, standin, params, tag: str = "a1", n: int = 2) -> None:
    """An ALERT the rate limit keeps in the outbox: queued, never attempted."""
    before = len(event_requests(standin))
    run = run_ok(site, event(tag, params, micro=micro(n)), code=1, env=HELD)
    assert "queued: client-side rate limit: " in run.stdout, run.output
    assert len(event_requests(standin)) == before, "the held ALERT was sent"
    entry = [load(p) for p in site.queue() if load(p)["event_type"] == "ALERT"][-1]
    assert entry["attempts"] == 0 and "last_attempt" not in entry


def drain(site) -> None:
    flush = site.cli("flush", "--now", env=DRAIN)
    no_traceback(flush)
    assert flush.returncode == 0, flush.output
    assert site.queue() == [] and site.dead() == []


# --- the pair is dropped -------------------------------------------------------------------


def test_recovered_before_sent_nothing_is_sent(site, standin):
    params = api_params(standin.url, rate_limit="2")
    resolved_before(site, standin, params, env=HELD)
    held_alert(site, standin, params)
    run = run_ok(site, event("r1", params, "RECOVERY", micro=micro(3)), env=HELD)
    assert run.lines == ["cmk_ilert: (earlier event) ALERT %s: %s" % (KEY, SUPERSEDED),
                         "cmk_ilert: RESOLVE %s: %s" % (KEY, SUPERSEDED)]
    assert arrival_order(event_requests(standin)) == ["a0", "r0"]
    assert site.queue() == [] and site.dead() == []
    records = journal(site)
    assert len(records) == 1
    record = records[0]
    assert record["alert_key"] == KEY and record["events"] == ["ALERT", "RESOLVE"]
    assert record["endpoint"] == "api" and record["why"] == "the problem recovered before its ALERT was sent"
    assert 0 <= time.time() - record["at"] < 60 and record["queued_since"] <= record["at"]
    assert KEY_API not in json.dumps(record)
    status = site.cli("status")
    assert status.returncode == 0, status.output
    assert ('2 events superseded in the last 24h, never sent because the problem had recovered first; see "Coalesce '
            'queued events" (coalesce):') in status.stdout
    assert "  - %s [api, key ...a7b8, %s], 0s ago: ALERT RESOLVE\n" % (KEY, standin.url) in status.stdout
    as_json = json.loads(site.cli("status", "--json").stdout)
    assert [(r["alert_key"], r["events"]) for r in as_json["superseded"]] == [(KEY, ["ALERT", "RESOLVE"])]
    # the site cron's flush has nothing left to do
    assert "0 delivered, 0 rejected, 0 still queued" in site.cli("flush", "--now", env=DRAIN).stdout
    assert arrival_order(event_requests(standin)) == ["a0", "r0"]


def test_alert_comment_accept_resolve_are_all_dropped(site, standin):
    params = api_params(standin.url, rate_limit="2")
    resolved_before(site, standin, params, env=HELD)
    held_alert(site, standin, params)
    run_ok(site, event("f1", params, "FLAPPINGSTART", micro=micro(3)), code=1, env=HELD)
    run_ok(site, event("k1", params, "ACKNOWLEDGEMENT", micro=micro(4)), code=1, env=HELD)
    assert [load(p)["event_type"] for p in site.queue()].count("COMMENT") == 2
    run = run_ok(site, event("r1", params, "RECOVERY", micro=micro(5)), env=HELD)
    assert len(run.lines) == 5 and all(line.endswith(SUPERSEDED) for line in run.lines), run.output
    assert [r["events"] for r in journal(site)] == [["ALERT", "COMMENT", "ACCEPT", "COMMENT", "RESOLVE"]]
    assert len(event_requests(standin)) == 2
    assert site.queue() == []


def test_alert_resolve_alert_delivers_the_last_alert(site, standin, params):
    """One bulk holds a problem, its recovery and a new problem: the new one pages."""
    resolved_before(site, standin, params)
    run = site.run(bulk=[event("a1", {}, micro=micro(2)), event("r1", {}, "RECOVERY", micro=micro(3)),
                         event("a2", {}, micro=micro(4))], bulk_parameters=params)
    no_traceback(run)
    assert run.returncode == 0, run.output
    assert "bulk: 3 notifications: 1 delivered, 0 queued, 0 rejected, 0 ignored, 2 superseded" in run.stdout
    assert arrival_order(event_requests(standin)) == ["a0", "r0", "a2"]
    assert [a["status"] for a in standin.alerts()] == ["RESOLVED", "PENDING"]
    assert [r["events"] for r in journal(site)] == [["ALERT", "RESOLVE"]]


def test_duplicates_of_superseded_events_are_not_queued_again(site, standin):
    """Checkmk calls the script once per contact: the other contacts' calls of a dropped
    ALERT or RESOLVE find it done, queue nothing and send nothing."""
    params = api_params(standin.url, rate_limit="2")
    resolved_before(site, standin, params, env=HELD)
    held_alert(site, standin, params)
    run_ok(site, event("r1", params, "RECOVERY", micro=micro(3)), env=HELD)
    for tag, ntype, n in (("a1", "PROBLEM", 2), ("r1", "RECOVERY", 3)):
        again = event(tag, params, ntype, micro=micro(n), CONTACTNAME="bob", CONTACTEMAIL="bob@example.net")
        run = run_ok(site, again, env=DRAIN)
        assert "duplicate of an event already delivered" in run.stdout, run.output
        assert site.queue() == []
    assert len(event_requests(standin)) == 2
    assert len(journal(site)) == 1


# --- what is never dropped -------------------------------------------------------------------


def test_an_alert_opened_before_is_resolved(site, standin):
    """A0 opened an alert in iLert; A1 (e.g. WARN -> CRIT) waits unsent, then the object
    recovers. A1 is dropped, but the RESOLVE goes out: the open alert must not stay open."""
    params = api_params(standin.url, rate_limit="1")
    run_ok(site, event("a0", params, micro=micro(0)), env=HELD)
    held_alert(site, standin, params, n=1)
    run = run_ok(site, event("r1", params, "RECOVERY", micro=micro(3)), code=1, env=HELD)
    assert run.lines[0] == "cmk_ilert: (earlier event) ALERT %s: %s" % (KEY, SUPERSEDED)
    assert "RESOLVE %s: queued" % KEY in run.lines[1]
    drain(site)
    assert arrival_order(event_requests(standin)) == ["a0", "r1"]
    assert [a["status"] for a in standin.alerts()] == ["RESOLVED"]
    assert [r["events"] for r in journal(site)] == [["ALERT"]]


def test_a_key_never_resolved_here_still_gets_its_resolve(site, standin):
    """Nothing says whether iLert holds an open alert for the key (an alert opened before the
    outbox existed, or more than 48 h ago): the ALERT is dropped, the RESOLVE sent."""
    params = api_params(standin.url, rate_limit="1")
    run_ok(site, event("other", params, micro=micro(0), host="db01"), env=HELD)  # takes the one slot
    held_alert(site, standin, params, n=1)
    run_ok(site, event("r1", params, "RECOVERY", micro=micro(3)), code=1, env=HELD)
    drain(site)
    requests = event_requests(standin)
    assert arrival_order(requests) == ["other", "r1"]
    assert requests[-1]["status"] == 400 and requests[-1]["response"]["code"] == "NO_OPEN_ALERT_WITH_KEY"
    assert [r["events"] for r in journal(site)] == [["ALERT"]]


def test_outage_with_a_flapping_service(site, standin, params):
    """iLert is down (connections refused) while a service flaps: no attempt can have reached
    iLert, and iLert holds no open alert for the key, so every problem that recovered before
    iLert was back pages nobody and nothing is sent for them."""
    resolved_before(site, standin, params)
    standin.stop()
    dropped = []
    for n in range(2, 8):
        ntype = "PROBLEM" if n % 2 == 0 else "RECOVERY"
        run = site.run(event("x%d" % n, params, ntype, micro=micro(n)))
        no_traceback(run)
        # a PROBLEM is queued (exit 1); its RECOVERY supersedes both at once (exit 0)
        assert run.returncode == (1 if ntype == "PROBLEM" else 0), run.output
        dropped += [line for line in run.lines if line.endswith(SUPERSEDED)]
    assert site.queue() == []
    assert len(dropped) == 6, dropped
    standin.start()
    flush = site.cli("flush", "--now")
    no_traceback(flush)
    assert flush.returncode == 0, flush.output
    assert arrival_order(event_requests(standin)) == ["a0", "r0"]
    assert [a["status"] for a in standin.alerts()] == ["RESOLVED"]
    assert [r["events"] for r in journal(site)] == [["ALERT", "RESOLVE"]] * 3


def test_outage_that_may_have_reached_ilert_sends_the_first_pair(site, standin, params):
    """iLert answers 503 while a service flaps: the first ALERT may have been processed (a 5xx
    after the request arrived), so it and its RESOLVE are sent when iLert is back; the later
    problems, which recovered before anything could be sent, page nobody."""
    resolved_before(site, standin, params)
    standin.inject("503")  # x2's attempt; the later runs find x2 in backoff and send nothing
    for n in range(2, 8):
        ntype = "PROBLEM" if n % 2 == 0 else "RECOVERY"
        run = site.run(event("x%d" % n, params, ntype, micro=micro(n)))
        no_traceback(run)
        assert run.returncode == 1, run.output
    assert len(site.queue()) == 6
    flush = site.cli("flush", "--now")
    no_traceback(flush)
    assert flush.returncode == 0, flush.output
    assert "flush: 2 delivered, 0 rejected, 0 still queued, 4 superseded" in flush.stdout
    assert arrival_order(event_requests(standin)) == ["a0", "r0", "x2", "x3"]
    assert [a["status"] for a in standin.alerts()] == ["RESOLVED", "RESOLVED"]
    assert [r["events"] for r in journal(site)] == [["ALERT", "RESOLVE"], ["ALERT", "RESOLVE"]]


def test_an_attempted_alert_is_sent_with_its_resolve(site, standin, params):
    """A failed attempt may have reached iLert (a lost answer): never dropped."""
    resolved_before(site, standin, params)
    standin.inject("503")
    run_ok(site, event("a1", params, micro=micro(2)), code=1)
    assert load(site.queue()[0])["attempts"] == 1
    run_ok(site, event("r1", params, "RECOVERY", micro=micro(3)), code=1)  # behind the ALERT in backoff
    drain(site)
    assert accepted_counts(event_requests(standin)) == {"a0": 1, "r0": 1, "a1": 1, "r1": 1}
    assert arrival_order(event_requests(standin)) == ["a0", "r0", "a1", "r1"]
    assert journal(site) == []


def test_an_alert_killed_mid_request_is_never_dropped(site, standin, params):
    """The process died while iLert held its request: the entry shows no attempt, but the
    marker written right before the request does, so the ALERT is sent again, not dropped."""
    resolved_before(site, standin, params)
    standin.inject("delay:3")
    proc = spawn_notify(site, event("a1", params, micro=micro(2)))
    limit = time.monotonic() + 20
    while standin.faults() and time.monotonic() < limit:  # the request arrived and is held
        time.sleep(0.005)
    assert not standin.faults(), "the request never arrived"
    proc.popen.send_signal(signal.SIGKILL)
    assert proc.finish().returncode == -signal.SIGKILL
    entry = load(site.queue()[0])
    assert entry["attempts"] == 0 and "last_attempt" not in entry
    assert list((site.state_dir / "sent").glob("*.try"))
    time.sleep(3.2)  # the stand-in completes the request the dead process left behind
    run_ok(site, event("r1", params, "RECOVERY", micro=micro(3)))
    counts = accepted_counts(event_requests(standin))
    assert counts == {"a0": 1, "r0": 1, "a1": 2, "r1": 1}, counts
    assert arrival_order(event_requests(standin))[-1] == "r1"
    assert [a["status"] for a in standin.alerts()] == ["RESOLVED", "RESOLVED"]
    assert journal(site) == []


def test_never_across_alert_keys(site, standin):
    params = api_params(standin.url, rate_limit="2")
    resolved_before(site, standin, params, env=HELD)
    held_alert(site, standin, params)
    run = site.run(event("rb", params, "RECOVERY", micro=micro(3), host="web02"), env=HELD)
    assert run.returncode == 1 and "superseded" not in run.output, run.output
    assert sorted(load(p)["alert_key"] for p in site.queue()) == [KEY, "cmk/mysite/web02/cpu load~2ced9b42fa"]
    drain(site)
    assert arrival_order(event_requests(standin)) == ["a0", "r0", "a1", "rb"]
    assert journal(site) == []


def test_never_across_alert_sources(site, standin):
    """The same service notifies two alert sources (two rules, two integration keys): the
    RESOLVE for the second source does not take the first source's ALERT with it."""
    standin.configure(keys=[KEY_API, KEY_SECOND], rate_limit=0)
    first = api_params(standin.url, rate_limit="2")
    second = api_params(standin.url, key=KEY_SECOND, rate_limit="2")
    resolved_before(site, standin, first, env=HELD)
    held_alert(site, standin, first)
    run = site.run(event("r1", second, "RECOVERY", micro=micro(3)), env=HELD)
    assert run.returncode == 0 and "superseded" not in run.output, run.output
    assert KEY_SECOND not in run.output
    assert [load(p)["event_type"] for p in site.queue()] == ["ALERT"]
    drain(site)
    first_requests = event_requests(standin, key=KEY_API)
    assert arrival_order(first_requests) == ["a0", "r0", "a1"]
    assert [a["status"] for a in standin.alerts() if a["sourceKey"] == KEY_API] == ["RESOLVED", "PENDING"]
    assert journal(site) == []


def test_not_with_coalesce_off(site, standin):
    params = api_params(standin.url, rate_limit="2", coalesce="False")
    resolved_before(site, standin, params, env=HELD)
    held_alert(site, standin, params)
    run = site.run(event("r1", params, "RECOVERY", micro=micro(3)), env=HELD)
    assert run.returncode == 1 and "superseded" not in run.output, run.output
    drain(site)
    assert arrival_order(event_requests(standin)) == ["a0", "r0", "a1", "r1"]
    assert journal(site) == []
    assert "superseded" not in site.cli("status").stdout
