"""COMMENT events (``comment_events``, api source type): downtime, flapping and
acknowledgement comments reach the open iLert alert, through the real script.

The stand-in is the judge: what it received, and the comments it attached to the
alert (its admin view). DOWNTIME*/FLAPPING* contexts follow Checkmk's shape: the
downtime author and comment in ``NOTIFICATIONAUTHOR`` / ``NOTIFICATIONCOMMENT``
(set for ACK, CUSTOM and DOWNTIME notifications), the time in ``LONGDATETIME``.
"""

from __future__ import annotations

import json
import re
from typing import Callable, Dict

import pytest

from tests.script.util import assert_clean, assert_no_key_fragment, event_requests, microtime, params
from tests.support.contexts import BASE_HOST, BASE_SERVICE, host, service
from tests.support.site import KEY_API, PROXY_PASSWORD

pytestmark = pytest.mark.runtime

BUILDERS: Dict[str, Callable[..., Dict[str, str]]] = {"host": host, "service": service}
OBJECTS = ("host", "service")
WHEN = "Mon Nov 23 02:10:00 UTC 2026"

#: NOTIFICATIONTYPE -> what the comment says happened in Checkmk
COMMENT_TYPES = {
    "DOWNTIMESTART": "scheduled downtime started",
    "DOWNTIMEEND": "scheduled downtime ended",
    "DOWNTIMECANCELLED": "scheduled downtime cancelled",
    "FLAPPINGSTART": "started flapping",
    "FLAPPINGSTOP": "stopped flapping",
    "FLAPPINGDISABLED": "flap detection disabled",
}


def key_of(obj: str) -> str:
    base = BASE_SERVICE if obj == "service" else BASE_HOST
    from tests.support.contexts import alert_key

    return alert_key(base["OMD_SITE"], base["HOSTNAME"], base["SERVICEDESC"] if obj == "service" else "")


def subject_of(obj: str) -> str:
    return "CPU load on web01" if obj == "service" else "db01"


def comment_context(url: str, obj: str, ntype: str, fmt: str = "api", n: int = 1, **extra: str) -> Dict[str, str]:
    """A DOWNTIME*/FLAPPING* notification as Checkmk sends it (downtime author and comment
    only for downtimes; flapping notifications carry neither)."""
    fields: Dict[str, str] = {"MICROTIME": microtime(n), "LONGDATETIME": WHEN}
    if ntype.startswith("DOWNTIME"):
        fields.update(NOTIFICATIONAUTHOR="cmkadmin", NOTIFICATIONAUTHORALIAS="Carol Admin",
                      NOTIFICATIONCOMMENT="Kernel update, back at 03:00")
    return BUILDERS[obj](ntype, params(fmt, url, **extra), **fields)


def open_alert(site, url: str, obj: str, fmt: str = "api", **extra: str) -> None:
    assert_clean(site.run(BUILDERS[obj]("PROBLEM", params(fmt, url, **extra))), 0)


def only_alert(standin) -> Dict[str, object]:
    alerts = standin.alerts()
    assert len(alerts) == 1, alerts
    return alerts[0]


# --- DOWNTIME*/FLAPPING* become a COMMENT on the open alert -------------------------------


@pytest.mark.parametrize("obj", OBJECTS)
@pytest.mark.parametrize("ntype", list(COMMENT_TYPES))
def test_comment_on_the_open_alert(site, standin, obj, ntype):
    open_alert(site, standin.url, obj)
    ctx = comment_context(standin.url, obj, ntype)
    line = assert_clean(site.run(ctx), 0)
    assert line == "cmk_ilert: COMMENT %s: delivered (HTTP 202, EVENT_APPENDED), alert %s/alert/1" % (
        key_of(obj), standin.url)
    sent = event_requests(standin)
    assert [e["body"]["eventType"] for e in sent] == ["ALERT", "COMMENT"]
    body = sent[1]["body"]
    assert body["alertKey"] == key_of(obj)
    assert len(body["comments"]) == 1
    comment = body["comments"][0]
    assert comment["creator"] == "Checkmk"
    content = comment["content"]
    # what happened, to which object, by whom, the downtime comment, and when
    expected = "Checkmk: %s %s" % (subject_of(obj), COMMENT_TYPES[ntype])
    if ntype.startswith("DOWNTIME"):
        expected += " by Carol Admin: Kernel update, back at 03:00"
    assert content == expected + " (%s)" % WHEN
    # a comment neither opens, escalates nor changes the alert: no priority, details or routing
    for field in ("priority", "details", "routingKey", "links", "labels", "customDetails"):
        assert field not in body, field
    alert = only_alert(standin)
    assert alert["status"] == "PENDING"
    assert [c["content"] for c in alert["comments"]] == [content]
    assert site.queue() == [] and site.dead() == []


def test_comment_falls_back_to_the_author_name(site, standin):
    """Without an alias the author's login names the person; a host downtime without any
    author or comment still says what happened."""
    open_alert(site, standin.url, "host")
    ctx = comment_context(standin.url, "host", "DOWNTIMESTART")
    del ctx["NOTIFICATIONAUTHORALIAS"]
    assert_clean(site.run(ctx), 0)
    bare = comment_context(standin.url, "host", "DOWNTIMEEND", n=2)
    for name in ("NOTIFICATIONAUTHOR", "NOTIFICATIONAUTHORALIAS", "NOTIFICATIONCOMMENT", "LONGDATETIME"):
        del bare[name]
    assert_clean(site.run(bare), 0)
    contents = [c["content"] for c in only_alert(standin)["comments"]]
    assert contents == ["Checkmk: db01 scheduled downtime started by cmkadmin: Kernel update, back at 03:00 (%s)"
                        % WHEN, "Checkmk: db01 scheduled downtime ended"]


@pytest.mark.parametrize("ntype", ["DOWNTIMESTART", "ACKNOWLEDGEMENT"])
@pytest.mark.parametrize("field", ["NOTIFICATIONCOMMENT", "NOTIFICATIONAUTHORALIAS"])
def test_comment_carries_no_secret_from_the_context(site, standin, auth_proxy, field, ntype):
    """A key or proxy password pasted into a downtime or ACK comment (or an alias) stays
    home, also when it straddles the point where a long comment is cut."""
    proxy = auth_proxy.url_with("proxyuser", PROXY_PASSWORD)
    open_alert(site, standin.url, "service", proxy_url=proxy)
    if ntype == "ACKNOWLEDGEMENT":
        ctx = ack_context(standin.url, "service", proxy_url=proxy)
    else:
        ctx = comment_context(standin.url, "service", ntype, proxy_url=proxy)
    ctx[field] = "key %s, proxy %s" % (KEY_API, PROXY_PASSWORD)
    assert_clean(site.run(ctx), 0, lines=None)
    sent = json.dumps(event_requests(standin)[-1]["body"]["comments"])
    assert KEY_API not in sent and PROXY_PASSWORD not in sent
    assert "key ***, proxy ***" in sent
    # a comment longer than iLert's field: the key sits where it is cut (2,000 characters)
    long = dict(ctx, MICROTIME=microtime(7))
    long[field] = "x" * (1990 if field == "NOTIFICATIONCOMMENT" else 190) + KEY_API
    assert_clean(site.run(long), 0, lines=None)
    sent = json.dumps(event_requests(standin)[-1]["body"]["comments"])
    assert_no_key_fragment(sent, KEY_API)


@pytest.mark.parametrize("obj", OBJECTS)
@pytest.mark.parametrize("ntype", ["DOWNTIMESTART", "FLAPPINGSTOP"])
def test_no_open_alert_means_nothing_left_to_do(site, standin, obj, ntype):
    line = assert_clean(site.run(comment_context(standin.url, obj, ntype)), 0)
    assert line == "cmk_ilert: COMMENT %s: delivered (HTTP 400 NO_OPEN_ALERT_WITH_KEY: nothing left to do " \
                   "in iLert)" % key_of(obj)
    sent = event_requests(standin)
    assert len(sent) == 1 and sent[0]["status"] == 400
    assert standin.alerts() == []
    assert site.queue() == [] and site.dead() == []


def test_comment_after_the_alert_was_resolved_is_nothing_left_to_do(site, standin):
    open_alert(site, standin.url, "service")
    assert_clean(site.run(service("RECOVERY", params("api", standin.url), MICROTIME=microtime(1))), 0)
    line = assert_clean(site.run(comment_context(standin.url, "service", "DOWNTIMEEND", n=2)), 0)
    assert "NO_OPEN_ALERT_WITH_KEY: nothing left to do" in line
    assert only_alert(standin)["comments"] == []


@pytest.mark.parametrize("obj", OBJECTS)
@pytest.mark.parametrize("ntype", list(COMMENT_TYPES))
def test_comment_events_off_ignores_them(site, standin, obj, ntype):
    open_alert(site, standin.url, obj, comment_events="False")
    run = site.run(comment_context(standin.url, obj, ntype, comment_events="False"))
    line = assert_clean(run, 0)
    assert line == ("cmk_ilert: %s %s: ignored (%s notifications are ignored: \"Downtime and flapping as comments\" "
                    "(comment_events) is off)" % (ntype, key_of(obj), ntype))
    assert len(event_requests(standin)) == 1
    assert only_alert(standin)["comments"] == []
    assert site.queue() == [] and site.dead() == []


@pytest.mark.parametrize("comment_events", [None, "True"])
@pytest.mark.parametrize("ntype", ["DOWNTIMESTART", "FLAPPINGSTART"])
def test_checkmk_source_type_ignores_them(site, standin, ntype, comment_events):
    """iLert's Checkmk alert source ignores FLAPPING*/DOWNTIME* (iLert's Checkmk guide), so
    ``comment_events`` does not apply there, whatever it says."""
    extra = {"comment_events": comment_events} if comment_events else {}
    open_alert(site, standin.url, "service", fmt="checkmk", **extra)
    line = assert_clean(site.run(comment_context(standin.url, "service", ntype, fmt="checkmk", **extra)), 0)
    assert "ignored (%s notifications are not sent to an alert source of type Checkmk)" % ntype in line
    assert len(event_requests(standin)) == 1
    assert only_alert(standin)["comments"] == []


# --- order and rate limit ------------------------------------------------------------------


def test_comment_waits_behind_its_alert_during_an_outage(site, standin):
    """iLert down: the ALERT waits in the outbox, the COMMENT queues behind it (it must not
    reach iLert first, where it would find no open alert), and a flush delivers both in order."""
    standin.stop()
    problem = site.run(service("PROBLEM", params("api", standin.url)))
    assert problem.returncode == 1, problem.output
    run = site.run(comment_context(standin.url, "service", "DOWNTIMESTART"))
    line = assert_clean(run, 1)
    # it waits for the ALERT's retry, and says so, with the time
    assert re.fullmatch(r"cmk_ilert: COMMENT %s: queued: retry 2 waits until \S+ after: connection refused "
                        r"\(will be delivered by a later run or the site cron's flush\)" % re.escape(key_of("service")),
                        line), line
    assert len(site.queue()) == 2
    standin.start()
    flush = site.cli("flush", "--now")
    assert flush.returncode == 0, flush.output
    assert "2 delivered, 0 rejected, 0 still queued" in flush.stdout
    sent = event_requests(standin)
    assert [(e["body"]["eventType"], e["status"]) for e in sent] == [("ALERT", 202), ("COMMENT", 202)]
    alert = only_alert(standin)
    assert [c["content"] for c in alert["comments"]] == [sent[1]["body"]["comments"][0]["content"]]


def test_comments_count_against_the_rate_limit(site, standin):
    """Rate limit 2 per (scaled) window: ALERT and the first COMMENT go out, the second
    COMMENT waits for the next window like any event, then a flush delivers it."""
    env = {"CMK_ILERT_RATE_WINDOW": "600"}
    assert_clean(site.run(service("PROBLEM", params("api", standin.url, rate_limit="2")), env=env), 0)
    first = site.run(comment_context(standin.url, "service", "FLAPPINGSTART", rate_limit="2"), env=env)
    assert_clean(first, 0)
    second = site.run(comment_context(standin.url, "service", "FLAPPINGSTOP", n=2, rate_limit="2"), env=env)
    assert_clean(second, 1)
    assert "queued" in second.stdout
    assert [e["body"]["eventType"] for e in event_requests(standin)] == ["ALERT", "COMMENT"]
    rate_files = list((site.state_dir / "rate").glob("*.json"))
    assert len(rate_files) == 1 and len(json.loads(rate_files[0].read_text())["sent"]) == 2
    flush = site.cli("flush", "--now", env={"CMK_ILERT_RATE_WINDOW": "0.2"})
    assert flush.returncode == 0, flush.output
    contents = [c["content"] for c in only_alert(standin)["comments"]]
    assert contents == ["Checkmk: CPU load on web01 started flapping (%s)" % WHEN,
                        "Checkmk: CPU load on web01 stopped flapping (%s)" % WHEN]


# --- ACKNOWLEDGEMENT: ACCEPT, then its comment as a COMMENT -----------------------------------


def ack_context(url: str, obj: str, n: int = 1, comment: str = "Working on it", **extra: str) -> Dict[str, str]:
    return BUILDERS[obj]("ACKNOWLEDGEMENT", params("api", url, **extra), MICROTIME=microtime(n),
                         NOTIFICATIONAUTHOR="cmkadmin", NOTIFICATIONAUTHORALIAS="Carol Admin",
                         NOTIFICATIONCOMMENT=comment)


@pytest.mark.parametrize("obj", OBJECTS)
def test_acknowledgement_is_accept_then_comment(site, standin, obj):
    open_alert(site, standin.url, obj)
    run = site.run(ack_context(standin.url, obj))
    assert_clean(run, 0, lines=2)
    assert run.lines[0].startswith("cmk_ilert: ACCEPT %s: delivered (HTTP 202, ALERT_ACCEPTED)" % key_of(obj))
    assert run.lines[1].startswith("cmk_ilert: COMMENT %s: delivered (HTTP 202, EVENT_APPENDED)" % key_of(obj))
    sent = event_requests(standin)
    assert [e["body"]["eventType"] for e in sent] == ["ALERT", "ACCEPT", "COMMENT"]
    assert "comments" not in sent[1]["body"]
    assert sent[2]["body"]["comments"] == [{"creator": "Carol Admin", "content": "Working on it"}]
    alert = only_alert(standin)
    assert alert["status"] == "ACCEPTED"
    assert [(c["creator"], c["content"]) for c in alert["comments"]] == [("Carol Admin", "Working on it")]


@pytest.mark.parametrize("obj", OBJECTS)
def test_acknowledgement_of_an_alert_accepted_in_ilert_still_carries_its_comment(site, standin, obj):
    """A responder accepted the alert in iLert first: the ACCEPT is answered ALREADY_ACCEPTED
    (delivered, nothing to do) and the Checkmk comment still reaches the alert."""
    open_alert(site, standin.url, obj)
    alert_id = int(str(only_alert(standin)["id"]))
    standin.accept_alert(alert_id, "dave")
    run = site.run(ack_context(standin.url, obj, comment="Disk replaced, watching it"))
    assert_clean(run, 0, lines=2)
    assert "ALREADY_ACCEPTED: nothing left to do" in run.lines[0]
    assert "COMMENT" in run.lines[1] and "delivered (HTTP 202" in run.lines[1]
    alert = only_alert(standin)
    assert alert["status"] == "ACCEPTED" and alert["acceptedBy"] == "dave"
    assert [(c["creator"], c["content"]) for c in alert["comments"]] == [("Carol Admin",
                                                                          "Disk replaced, watching it")]


@pytest.mark.parametrize("obj", OBJECTS)
def test_acknowledgement_comment_rides_on_the_accept_when_comment_events_is_off(site, standin, obj):
    open_alert(site, standin.url, obj, comment_events="False")
    run = site.run(ack_context(standin.url, obj, comment_events="False"))
    assert_clean(run, 0, lines=1)
    sent = event_requests(standin)
    assert [e["body"]["eventType"] for e in sent] == ["ALERT", "ACCEPT"]
    assert sent[1]["body"]["comments"] == [{"creator": "Carol Admin", "content": "Working on it"}]
    assert only_alert(standin)["status"] == "ACCEPTED"


def test_acknowledgement_without_comment_sends_no_comment_event(site, standin):
    """No author and no comment: nothing to say, so the ACCEPT goes alone."""
    open_alert(site, standin.url, "service")
    ack = ack_context(standin.url, "service")
    for name in ("NOTIFICATIONAUTHOR", "NOTIFICATIONAUTHORALIAS", "NOTIFICATIONCOMMENT", "SERVICEACKAUTHOR",
                 "SERVICEACKCOMMENT"):
        ack.pop(name, None)
    assert_clean(site.run(ack), 0, lines=1)
    assert [e["body"]["eventType"] for e in event_requests(standin)] == ["ALERT", "ACCEPT"]


def test_acknowledgement_for_another_contact_is_delivered_once(site, standin):
    """Both events of the ACK (ACCEPT and COMMENT) are deduplicated across contacts."""
    open_alert(site, standin.url, "service")
    ack = ack_context(standin.url, "service")
    assert_clean(site.run(dict(ack, CONTACTNAME="alice")), 0, lines=2)
    again = site.run(dict(ack, CONTACTNAME="bob", CONTACTEMAIL="bob@example.net"))
    assert_clean(again, 0, lines=2)
    assert all("duplicate of an event already delivered" in line for line in again.lines)
    assert [e["body"]["eventType"] for e in event_requests(standin)] == ["ALERT", "ACCEPT", "COMMENT"]
    assert len(only_alert(standin)["comments"]) == 1
