"""Issue 16, sections 1 and 2: health signals that do not lie, recovery in one command.

A wrong or revoked key: ``status`` is CRIT and the heartbeat is not pinged (one line says why);
with the key fixed, ``retry`` sends the rejected event again, in order, and status and heartbeat
are back to OK. A retry never reopens what has recovered: a rejected ALERT whose RESOLVE was
delivered later is discarded with a line saying why. Real processes throughout: the notification
script as Checkmk runs it, ``python -m cmk_ilert``, the iLert stand-in on a real socket (its
heartbeat endpoint is modelled on iLert's ``GET /api/heartbeats/{key}``, OpenAPI v2.2026.3-r.4).
"""

from __future__ import annotations

import json
import os

import pytest

from tests.delivery.conftest import event, event_requests, no_traceback
from tests.support.contexts import api_params
from tests.support.site import KEY_API, KEY_UNAUTHORIZED

pytestmark = pytest.mark.runtime

T0 = 1795341600000000
HEARTBEAT_KEY = "il1hbt-TEST-HEARTBEAT-0001"  # registered by the standin fixture


def stored_params(url: str) -> dict:
    """A rule whose key is the password-store entry 'ilert'."""
    params = api_params(url)
    params.update({"PARAMETER_ILERT_API_KEY": "store\tilert", "PARAMETER_ILERT_API_KEY_1": "store",
                   "PARAMETER_ILERT_API_KEY_2": "ilert"})
    return params


def heartbeat(site, standin):
    return site.cli("heartbeat", "--url-file", str(url_file(site, standin)))


def url_file(site, standin):
    path = site.root / "etc" / "cmk_ilert_heartbeat_url"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(standin.url + "/api/heartbeats/" + HEARTBEAT_KEY + "\n")
    return path


def test_wrong_key_status_crit_heartbeat_skips_then_retry_after_the_fix(site, standin):
    site.password_store({"ilert": KEY_UNAUTHORIZED})  # a revoked key in the store
    run = site.run(event("wrong", stored_params(standin.url), micro=T0 + 1))
    no_traceback(run)
    assert run.returncode == 2, run.output

    status = site.cli("status", "--local-check")
    assert status.returncode == 2 and "1 dead letter" in status.stdout, status.output
    beat = heartbeat(site, standin)
    no_traceback(beat)
    assert beat.returncode == 1 and standin.pings() == [], beat.output
    assert len(beat.lines) == 1 and "heartbeat: skipped, this site cannot notify: 1 rejected event not handled" \
        in beat.lines[0] and "HTTP 401" in beat.lines[0], beat.output

    listed = site.cli("dead")
    assert listed.returncode == 2 and "ALERT cmk/mysite/web01/cpu load~f26268fd97" in listed.stdout, listed.output
    assert KEY_UNAUTHORIZED not in listed.output

    site.password_store({"ilert": KEY_API})  # the admin fixes the key in the store
    retry = site.cli("retry", "--all")
    no_traceback(retry)
    assert retry.returncode == 0, retry.output
    assert "ALERT cmk/mysite/web01/cpu load~f26268fd97: back in the queue" in retry.output
    assert "ALERT cmk/mysite/web01/cpu load~f26268fd97: delivered" in retry.output, retry.output
    assert [(a["key"], a["status"]) for a in standin.alerts()] == [("cmk/mysite/web01/cpu load~f26268fd97", "PENDING")]
    assert site.dead() == [] and site.queue() == []
    assert site.cli("status").returncode == 0
    again = heartbeat(site, standin)
    assert again.returncode == 0 and len(standin.pings()) == 1, again.output
    handled = [json.loads(line) for line in
               (site.state_dir / "journal" / "handled.jsonl").read_text().splitlines()]
    assert [h["handled"] for h in handled] == ["retried"]


def test_retry_keeps_the_order_and_never_reopens_a_recovered_problem(site, standin):
    """ALERT and RESOLVE both rejected (wrong key); after the fix a retry sends them through the
    queue in their order: the ALERT, never sent, is superseded by its RESOLVE, nobody is paged."""
    site.password_store({"ilert": KEY_UNAUTHORIZED})
    for n, ntype in enumerate(("PROBLEM", "RECOVERY")):
        assert site.run(event("pair%d" % n, stored_params(standin.url), ntype=ntype, micro=T0 + n)).returncode == 2
    assert len(site.dead()) == 2
    site.password_store({"ilert": KEY_API})
    retry = site.cli("retry", "--all")
    no_traceback(retry)
    assert retry.returncode == 0, retry.output
    types = [e["body"]["eventType"] for e in event_requests(standin) if e["status"] != 401]
    assert "ALERT" not in types, types
    assert all(a["status"] != "PENDING" for a in standin.alerts()), standin.alerts()
    assert site.dead() == [] and site.queue() == []


def test_retry_discards_an_alert_whose_resolve_was_delivered_later(site, standin):
    params = api_params(standin.url)
    standin.inject("400")
    assert site.run(event("lost", params, micro=T0 + 1)).returncode == 2  # the ALERT rejected
    assert site.run(event("back", params, ntype="RECOVERY", micro=T0 + 2)).returncode == 0  # RESOLVE delivered
    retry = site.cli("retry", "--all")
    no_traceback(retry)
    assert retry.returncode == 0, retry.output
    assert ("ALERT cmk/mysite/web01/cpu load~f26268fd97: discarded, not sent again: a RESOLVE of its alert key was "
            "delivered after it was rejected: the problem has recovered") in retry.output, retry.output
    assert [e["body"]["eventType"] for e in event_requests(standin)] == ["ALERT", "RESOLVE"]  # nothing re-sent
    assert site.dead() == [] and site.cli("status").returncode == 0


def test_discard_handles_a_dead_letter_and_leaves_a_record(site, standin):
    standin.inject("400")
    assert site.run(event("bad", api_params(standin.url), micro=T0 + 1)).returncode == 2
    [dead] = site.dead()
    ident = dead.name[:-len(".json")]
    assert site.cli("discard").returncode == 2  # nothing named: a usage error, nothing removed
    assert site.dead() == [dead]
    run = site.cli("discard", ident)
    no_traceback(run)
    assert run.returncode == 0 and "discarded, not sent" in run.output, run.output
    assert site.dead() == [] and site.cli("status").returncode == 0
    [line] = (site.state_dir / "journal" / "handled.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert record["handled"] == "discarded" and record["alert_key"] == "cmk/mysite/web01/cpu load~f26268fd97"
    assert event_requests(standin)[-1]["body"]["eventType"] == "ALERT" and len(event_requests(standin)) == 1


def test_retry_with_a_key_typed_into_the_rule_uses_the_key_it_was_queued_with(site, standin):
    """docs/delivery.md: an explicit key is kept in the event; a retry sends it with that key."""
    run = site.run(event("explicit", api_params(standin.url, key=KEY_UNAUTHORIZED), micro=T0 + 1))
    assert run.returncode == 2, run.output
    retry = site.cli("retry", "--all")
    no_traceback(retry)
    assert retry.returncode == 2 and "rejected permanently (HTTP 401" in retry.output, retry.output
    assert len(site.dead()) == 1 and KEY_UNAUTHORIZED not in retry.output


def test_dead_letters_are_bounded(site, standin):
    standin.inject("400")
    assert site.run(event("first", api_params(standin.url), micro=T0 + 1)).returncode == 2
    [first] = site.dead()
    planted = first.read_bytes()
    for n in range(1000):  # as if a storm had been rejected
        path = first.parent / ("%032x.json" % n)
        path.write_bytes(planted)
        os.utime(path, (1000 + n, 1000 + n))
    standin.inject("400")
    assert site.run(event("more", api_params(standin.url), host="web02", micro=T0 + 2)).returncode == 2
    assert len(site.dead()) == 1000
    assert not (first.parent / ("%032x.json" % 0)).exists()  # the oldest went
    journal = (site.state_dir / "journal" / "handled.jsonl").read_text()
    assert "over the bound of 1000 dead letters" in journal


def test_retry_discards_an_alert_whose_object_is_ok_now(site, standin):
    """A rejected ALERT is not sent again when Livestatus (the stand-in on the site's socket) says
    its service is OK now; while it is still CRIT, the same retry sends it."""
    from livestatus_standin import LivestatusStandIn

    site.password_store({"ilert": KEY_UNAUTHORIZED})
    assert site.run(event("okay", stored_params(standin.url), micro=T0 + 1)).returncode == 2
    site.password_store({"ilert": KEY_API})
    socket = site.root / "tmp" / "run" / "live"
    socket.parent.mkdir(parents=True, exist_ok=True)
    services = {"hosts": [{"name": "web01", "state": 0}],
                "services": [{"host_name": "web01", "description": "CPU load", "state": 0}]}
    with LivestatusStandIn(socket, services):
        retry = site.cli("retry", "--all")
    no_traceback(retry)
    assert retry.returncode == 0, retry.output
    assert ("ALERT cmk/mysite/web01/cpu load~f26268fd97: discarded, not sent again: its object is OK in Checkmk now "
            "(Livestatus)") in retry.output, retry.output
    assert standin.alerts() == [] and site.dead() == []
