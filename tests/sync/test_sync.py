"""sync against both stand-ins, through the installed package.

An alert is opened the way production opens it (the installed notification script, which
also writes the key index), a responder acts on it in the iLert stand-in (its admin API),
then ``python3 -m cmk_ilert sync`` runs and the Livestatus stand-in shows what reached
Checkmk: the COMMAND lines it received and the state it now reports.
"""

from __future__ import annotations

import json
import shutil
import time
from typing import Any, Dict, List, Optional

import pytest

from livestatus_standin import LivestatusStandIn
from tests.support.contexts import api_params, host, service
from tests.support.site import FakeSite, Run
from tests.sync.conftest import livestatus_of
from tests.sync.test_setup_and_failures import alert_requests, clean, state_file

pytestmark = pytest.mark.runtime

SERVICE_KEY = "cmk/mysite/web01/cpu load~f26268fd97"


def sync(site: FakeSite, ilert: Any, *args: str, timeout: float = 120) -> Run:
    run = site.cli("sync", "--api-url", ilert.url, *args, timeout=timeout)
    clean(run)
    return run


def open_alert(site: FakeSite, ilert: Any, ctx: Dict[str, str]) -> Dict[str, Any]:
    """Open an alert through the installed notification script; return it as iLert has it."""
    run = site.run(ctx)
    assert run.returncode == 0, run.output
    return alert(ilert, _key_of(ctx))


def _key_of(ctx: Dict[str, str]) -> str:
    from tests.support.contexts import alert_key

    return alert_key(ctx.get("OMD_SITE", "mysite"), ctx["HOSTNAME"],
                     ctx["SERVICEDESC"] if ctx.get("WHAT") == "SERVICE" else "")[:200]


def alert(ilert: Any, key: str) -> Dict[str, Any]:
    found = [a for a in ilert.alerts() if a["key"] == key or a["key"].startswith(key[:180])]
    assert found, (key, [a["key"] for a in ilert.alerts()])
    return found[-1]


def commands(live: LivestatusStandIn, count: Optional[int] = None) -> List[Dict[str, Any]]:
    if count:
        return live.wait_commands(count)
    time.sleep(0.2)  # Livestatus takes commands asynchronously: give a stray one time to arrive
    return live.commands()


# --- accept -> acknowledge -------------------------------------------------------------


def test_accept_acknowledges_the_service_once(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url)))
    ilert.accept_alert(opened["id"], "Jane Doe")
    run = sync(cmk, ilert)
    assert run.returncode == 0, run.output
    (cmd,) = commands(live, 1)
    assert cmd["name"] == "ACKNOWLEDGE_SVC_PROBLEM" and cmd["effect"] == "acknowledged", cmd
    # the alert's link: the alertUrl iLert answered when the ALERT was delivered
    assert cmd["args"] == ["web01", "CPU load", "2", "1", "0", "iLert: Jane Doe",
                           "Accepted in iLert by Jane Doe (iLert alert %d %s/alert/%d)"
                           % (opened["id"], ilert.url, opened["id"])]
    assert abs(cmd["timestamp"] - time.time()) < 60
    assert live.service("web01", "CPU load")["acknowledged"] == 1
    assert run.lines[0] == ("cmk_ilert: sync: alert %d %s: acknowledged web01/CPU load in Checkmk "
                            "(accepted in iLert by Jane Doe)" % (opened["id"], SERVICE_KEY))
    assert "1 acknowledged" in run.lines[-1]
    for _ in range(2):  # idempotent: later runs find the transition done
        again = sync(cmk, ilert)
        assert again.returncode == 0 and "0 acknowledged" in again.output, again.output
    assert len(commands(live)) == 1


def test_accept_acknowledges_a_host(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    opened = open_alert(cmk, ilert, host("PROBLEM", api_params(ilert.url)))
    ilert.accept_alert(opened["id"], "Jane Doe")
    assert sync(cmk, ilert).returncode == 0
    (cmd,) = commands(live, 1)
    assert cmd["name"] == "ACKNOWLEDGE_HOST_PROBLEM"
    assert cmd["args"][:6] == ["db01", "2", "1", "0", "iLert: Jane Doe",
                               "Accepted in iLert by Jane Doe (iLert alert %d %s/alert/%d)"
                               % (opened["id"], ilert.url, opened["id"])]
    assert live.host("db01")["acknowledged"] == 1


def test_alert_url_template(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url)))
    ilert.accept_alert(opened["id"], "Jane Doe")
    assert sync(cmk, ilert, "--alert-url", "https://example.ilert.invalid/alert/{id}").returncode == 0
    (cmd,) = commands(live, 1)
    assert cmd["args"][-1] == "Accepted in iLert by Jane Doe (iLert alert %d https://example.ilert.invalid/alert/%d)" \
        % (opened["id"], opened["id"])


def test_ok_service_is_never_acknowledged(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url), SERVICEDESC="Memory"))
    ilert.accept_alert(opened["id"], "Jane Doe")
    run = sync(cmk, ilert)
    assert run.returncode == 0
    assert "nothing to do: web01/Memory has no problem in Checkmk" in run.output
    assert commands(live) == []
    assert "nothing to do" not in sync(cmk, ilert).output  # said once


def test_already_acknowledged_is_left_alone(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    live.update_service("web01", "CPU load", acknowledged=1, acknowledgement_type=1)
    opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url)))
    ilert.accept_alert(opened["id"], "Jane Doe")
    run = sync(cmk, ilert)
    assert "already acknowledged in Checkmk" in run.output and run.returncode == 0
    assert commands(live) == []


def test_pending_alerts_change_nothing(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url)))
    assert sync(cmk, ilert).returncode == 0
    # Livestatus is asked (is the object a problem, for its comments: test_comments.py), never told
    assert commands(live) == []


# --- resolve -> comment ------------------------------------------------------------------


def test_resolve_comments_while_checkmk_shows_the_problem(cmk: FakeSite, ilert: Any,
                                                          live: LivestatusStandIn) -> None:
    opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url)))
    ilert.resolve_alert(opened["id"], "Bob Smith")
    run = sync(cmk, ilert)
    assert run.returncode == 0, run.output
    (cmd,) = commands(live, 1)
    assert cmd["name"] == "ADD_SVC_COMMENT" and cmd["effect"] == "comment added"
    assert cmd["args"] == ["web01", "CPU load", "1", "iLert: Bob Smith",
                           "Resolved in iLert by Bob Smith (iLert alert %d %s/alert/%d). Checkmk still shows the "
                           "problem." % (opened["id"], ilert.url, opened["id"])]
    svc = live.service("web01", "CPU load")
    assert svc["state"] == 2 and svc["acknowledged"] == 0  # never a fake recovery, never an ack
    assert sync(cmk, ilert).returncode == 0
    assert len(commands(live)) == 1


def test_resolve_of_a_host(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    opened = open_alert(cmk, ilert, host("PROBLEM", api_params(ilert.url)))
    ilert.resolve_alert(opened["id"], "Bob Smith")
    assert sync(cmk, ilert).returncode == 0
    (cmd,) = commands(live, 1)
    assert cmd["name"] == "ADD_HOST_COMMENT" and cmd["args"][:3] == ["db01", "1", "iLert: Bob Smith"]


def test_resolve_after_recovery_adds_nothing(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url)))
    live.update_service("web01", "CPU load", state=0)
    ilert.resolve_alert(opened["id"], "Bob Smith")
    run = sync(cmk, ilert)
    assert "shows no problem in Checkmk" in run.output
    assert commands(live) == []


def test_accept_then_resolve(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    """The acknowledgement's own comment names the alert too: it must not pass for the resolve comment."""
    opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url)))
    ilert.accept_alert(opened["id"], "Jane Doe")
    assert sync(cmk, ilert).returncode == 0
    commands(live, 1)
    ilert.resolve_alert(opened["id"], "Jane Doe")
    run = sync(cmk, ilert)
    assert run.returncode == 0
    first, second = commands(live, 2)
    assert (first["name"], second["name"]) == ("ACKNOWLEDGE_SVC_PROBLEM", "ADD_SVC_COMMENT")
    assert sync(cmk, ilert).returncode == 0 and len(commands(live)) == 2


def test_an_existing_comment_is_not_added_again(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    """Even without the state file (lost, or set aside): the comment itself is the guard."""
    opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url)))
    ilert.resolve_alert(opened["id"], "Bob Smith")
    assert sync(cmk, ilert).returncode == 0
    commands(live, 1)
    (cmk.state_dir / "sync" / "state.json").unlink()
    run = sync(cmk, ilert)
    assert "already has the comment" in run.output
    assert len(commands(live)) == 1


def test_old_alert_resolved_later_is_found_by_id(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    """Created 30 minutes ago: seen open by one run, resolved afterwards. The RESOLVED listing
    (``from`` = last run - overlap, on creation time) cannot see it; the watch list can."""
    ilert.configure(clock_offset=-1800)
    opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url)))
    ilert.configure(clock_offset=0)
    assert sync(cmk, ilert).returncode == 0
    assert str(opened["id"]) in state_file(cmk)["watch"]
    ilert.resolve_alert(opened["id"], "Bob Smith")
    assert sync(cmk, ilert).returncode == 0
    (cmd,) = commands(live, 1)
    assert cmd["name"] == "ADD_SVC_COMMENT"
    assert any(e["path"] == "/api/alerts/%d" % opened["id"] for e in alert_requests(ilert))
    assert state_file(cmk)["watch"] == {}


def test_first_run_does_not_replay_old_history(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    ilert.configure(clock_offset=-7200)
    opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url)))
    ilert.configure(clock_offset=0)
    ilert.accept_alert(opened["id"], "Jane Doe")
    run = sync(cmk, ilert)
    assert run.returncode == 0 and "0 open or resolved alerts" in run.output
    assert commands(live) == []


def test_paging_and_order(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    """150 alerts of another site first, ours on the second page; newest-first order too."""
    ilert.configure(rate_limit=0)
    params = api_params(ilert.url, rate_limit="0")
    others = [service("PROBLEM", params, OMD_SITE="othersite", HOSTNAME="h%03d" % i,
                      MICROTIME=str(1795341600000000 + i)) for i in range(150)]
    bulk = cmk.run(bulk=others, bulk_parameters=params)
    assert bulk.returncode == 0, bulk.output
    opened = open_alert(cmk, ilert, service("PROBLEM", params, MICROTIME="1795341700000000"))
    ilert.accept_alert(opened["id"], "Jane Doe")
    ilert.configure(alerts_order="desc")
    assert sync(cmk, ilert).returncode == 0
    starts = [e["path"] for e in alert_requests(ilert) if "states=PENDING" in e["path"]]
    assert [("start-index=0" in p, "start-index=100" in p) for p in starts] == [(True, False), (False, True)]
    (cmd,) = commands(live, 1)
    assert cmd["args"][:2] == ["web01", "CPU load"]


# --- the way back from the key ------------------------------------------------------------


LONG = "Filesystem " + "/".join("directory%02d" % i for i in range(25))


def test_hashed_key_through_the_key_index(cmk: FakeSite, ilert: Any) -> None:
    fixtures = {"hosts": [{"name": "web01"}], "services": [{"host_name": "web01", "description": LONG, "state": 2}]}
    with livestatus_of(cmk, fixtures) as live:
        opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url), SERVICEDESC=LONG))
        assert len(opened["key"]) == 200 and opened["key"][-17] == "~"
        ilert.accept_alert(opened["id"], "Jane Doe")
        assert sync(cmk, ilert).returncode == 0
        (cmd,) = commands(live, 1)
        assert cmd["args"][:2] == ["web01", LONG] and cmd["effect"] == "acknowledged"


def test_hashed_key_without_index_is_skipped_with_one_line(cmk: FakeSite, ilert: Any) -> None:
    fixtures = {"hosts": [{"name": "web01"}], "services": [{"host_name": "web01", "description": LONG, "state": 2}]}
    with livestatus_of(cmk, fixtures) as live:
        opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url), SERVICEDESC=LONG))
        shutil.rmtree(cmk.state_dir / "index")
        ilert.accept_alert(opened["id"], "Jane Doe")
        run = sync(cmk, ilert)
        assert run.returncode == 0
        skipped = [line for line in run.lines if "skipped" in line and "alert %d" % opened["id"] in line]
        assert skipped == ["cmk_ilert: sync: alert %d %s: skipped: the key ends in a hash and this site's key index "
                           "does not know it" % (opened["id"], opened["key"])]
        assert "skipped" not in sync(cmk, ilert).output.replace("0 skipped", "")
        assert commands(live) == []


def test_without_index_the_key_is_looked_up_case_insensitively(cmk: FakeSite, ilert: Any,
                                                               live: LivestatusStandIn) -> None:
    opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url),
                                            HOSTNAME="app01", SERVICEDESC="Filesystem /var/log"))
    shutil.rmtree(cmk.state_dir / "index")
    ilert.accept_alert(opened["id"], "Jane Doe")
    assert sync(cmk, ilert).returncode == 0
    (cmd,) = commands(live, 1)
    assert cmd["args"][:2] == ["app01", "Filesystem /var/log"]  # exact names from Livestatus
    asked = [q["lines"] for q in live.queries()]
    assert ["Filter: host_name =~ app01", "Filter: description =~ filesystem /var/log"] == \
        [line for line in asked[0] if line.startswith("Filter:")]


def test_objects_unknown_to_livestatus_are_skipped(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url), HOSTNAME="ghost"))
    ilert.accept_alert(opened["id"], "Jane Doe")
    run = sync(cmk, ilert)
    assert run.returncode == 0
    assert "skipped: ghost/CPU load is not monitored on this site" in run.output
    assert commands(live) == []


# --- no echo loop ---------------------------------------------------------------------------


def test_the_acknowledgement_notification_does_not_echo(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    """notify=1: Checkmk notifies about our acknowledgement; through the real script that is an
    ACCEPT on an alert iLert already has accepted -- delivered, nothing changes, nothing loops."""
    params = api_params(ilert.url)
    opened = open_alert(cmk, ilert, service("PROBLEM", params))
    ilert.accept_alert(opened["id"], "Jane Doe")
    assert sync(cmk, ilert).returncode == 0
    (cmd,) = commands(live, 1)
    author, comment = cmd["args"][5], cmd["args"][6]
    ack = service("ACKNOWLEDGEMENT", params, NOTIFICATIONAUTHOR=author, NOTIFICATIONAUTHORALIAS=author,
                  NOTIFICATIONCOMMENT=comment, SERVICEACKAUTHOR=author, SERVICEACKCOMMENT=comment,
                  MICROTIME="1795341600000009")
    run = cmk.run(ack)
    assert run.returncode == 0, run.output
    assert "ALERT_ALREADY_ACCEPTED: nothing left to do in iLert" in run.output
    after = alert(ilert, SERVICE_KEY)
    assert after["status"] == "ACCEPTED"
    for _ in range(2):
        assert sync(cmk, ilert).returncode == 0
    assert len(commands(live)) == 1


def test_transitions_caused_by_checkmk_are_not_mirrored_back(cmk: FakeSite, ilert: Any,
                                                              live: LivestatusStandIn) -> None:
    """A Checkmk user acknowledged: delivery sent ACCEPT, iLert shows the alert accepted by the
    source. Even if Livestatus (not yet) shows the acknowledgement, sync does not act on it."""
    params = api_params(ilert.url)
    open_alert(cmk, ilert, service("PROBLEM", params))
    assert cmk.run(service("ACKNOWLEDGEMENT", params, MICROTIME="1795341600000005")).returncode == 0
    assert alert(ilert, SERVICE_KEY)["status"] == "ACCEPTED"
    run = sync(cmk, ilert)
    assert run.returncode == 0
    assert commands(live) == []
    assert cmk.run(service("RECOVERY", params, MICROTIME="1795341600000006")).returncode == 0
    assert sync(cmk, ilert).returncode == 0
    assert commands(live) == []


# --- Livestatus misbehaving ---------------------------------------------------------------


@pytest.mark.parametrize("fault", ["missing", "refused", "hang", "slow:30", "close", "garbage", "truncate"])
def test_livestatus_failures_are_temporary_and_bounded(cmk: FakeSite, ilert: Any, live: LivestatusStandIn,
                                                       fault: str) -> None:
    opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url)))
    ilert.accept_alert(opened["id"], "Jane Doe")
    if fault == "missing":
        live.stop()
    elif fault == "refused":
        live.stop(remove_socket=False)
    else:
        live.inject(fault)
    start = time.monotonic()
    run = sync(cmk, ilert, "--max-time", "8")
    elapsed = time.monotonic() - start
    assert run.returncode == 1, run.output
    assert len(run.lines) == 1 and "Livestatus" in run.lines[0] and "the next run retries" in run.lines[0]
    assert elapsed < 15, elapsed  # Livestatus' own 5 s timeout / the 8 s budget; a hang would be 30 s+
    live.start()
    assert [c for c in live.commands() if c["name"].startswith("ACK")] == []
    healed = sync(cmk, ilert)
    assert healed.returncode == 0, healed.output
    (cmd,) = commands(live, 1)
    assert cmd["name"] == "ACKNOWLEDGE_SVC_PROBLEM"


# --- dry run ----------------------------------------------------------------------------------


def test_dry_run_changes_nothing(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url)))
    ilert.accept_alert(opened["id"], "Jane Doe")
    run = sync(cmk, ilert, "--dry-run")
    assert run.returncode == 0, run.output
    assert "would acknowledge web01/CPU load (accepted in iLert by Jane Doe)" in run.output
    assert "dry run: nothing changed" in run.output
    assert commands(live) == []
    assert not (cmk.state_dir / "sync" / "state.json").exists()
    assert sync(cmk, ilert).returncode == 0
    assert len(commands(live, 1)) == 1


@pytest.mark.parametrize("damage", ["garbage", "other-key", "not-a-file"])
def test_a_damaged_key_index_entry_falls_back_to_the_key(cmk: FakeSite, ilert: Any, live: LivestatusStandIn,
                                                         damage: str) -> None:
    """keyindex.lookup refuses what it cannot trust; sync then reads the key itself."""
    opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url)))
    (entry,) = list((cmk.state_dir / "index").iterdir())
    if damage == "garbage":
        entry.write_bytes(b"\x00{not json")
    elif damage == "other-key":
        entry.write_text(json.dumps({"alert_key": "cmk/mysite/web02/cpu load~2ced9b42fa", "site": "mysite",
                                     "host": "web02",
                                     "service": "CPU load"}))
    else:
        entry.unlink()
        entry.mkdir()
    ilert.accept_alert(opened["id"], "Jane Doe")
    assert sync(cmk, ilert).returncode == 0
    (cmd,) = commands(live, 1)
    assert cmd["args"][:2] == ["web01", "CPU load"]
    assert any("=~" in line for q in live.queries() for line in q["lines"])  # the fallback was used


def test_notifications_with_the_outbox_off_leave_no_index(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url, outbox="")))
    assert not (cmk.state_dir / "index").exists()
    ilert.accept_alert(opened["id"], "Jane Doe")
    assert sync(cmk, ilert).returncode == 0
    assert commands(live, 1)[0]["args"][:2] == ["web01", "CPU load"]
