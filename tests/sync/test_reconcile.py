"""``sync --reconcile`` against both stand-ins: drift between iLert and Checkmk, mended.

Alerts are opened the way production opens them (the installed notification script, which
writes the key index and its route); then the RECOVERY never reaches iLert (rejected and
discarded, a rule that stopped matching, notifications off), which the test models by
changing only what the Livestatus stand-in shows. ``sync --reconcile`` queues a RESOLVE
through the outbox and the site cron's ``flush`` delivers it to the iLert stand-in. Problems
without an alert are set up in Livestatus, with or without an earlier ALERT of the object.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from typing import Any, Dict, List

import pytest

from livestatus_standin import LivestatusStandIn
from tests.support.contexts import api_params, checkmk_params, host, service
from tests.support.site import KEY_API, RECORDED_OUTPUT, FakeSite, Run, runtime_python
from tests.sync.conftest import FIXTURES
from tests.sync.test_setup_and_failures import clean
from tests.sync.test_sync import alert, open_alert

pytestmark = pytest.mark.runtime

HOUR = 3600.0
GRACE = ("--reconcile-grace", "15")


STORE_ID = "ilert-events"


def stored(url: str, **extra: str) -> Dict[str, str]:
    """A rule whose integration key is in Checkmk's password store (the rule holds its id):
    the only kind of rule whose route the key index keeps (no secret on disk after delivery)."""
    params = api_params(url, **extra)
    params.update({"PARAMETER_ILERT_API_KEY": "store\t" + STORE_ID, "PARAMETER_ILERT_API_KEY_1": "store",
                   "PARAMETER_ILERT_API_KEY_2": STORE_ID})
    return params


def sync(site: FakeSite, ilert: Any, *args: str) -> Run:
    run = site.cli("sync", "--api-url", ilert.url, "--reconcile", *GRACE, *args, timeout=120)
    clean(run)
    return run


def flush(site: FakeSite) -> Run:
    run = site.cli("flush", "--now")
    assert run.returncode == 0, run.output
    return run


def recovered(live: LivestatusStandIn, host_name: str, service_name: str = "", ago: float = HOUR) -> None:
    """Checkmk shows the object OK/UP (hard) since ``ago`` seconds; nothing told iLert."""
    if service_name:
        live.update_service(host_name, service_name, state=0, state_type=1, last_state_change=int(time.time() - ago),
                            plugin_output="OK - all fine")
    else:
        live.update_host(host_name, state=0, state_type=1, last_state_change=int(time.time() - ago),
                         plugin_output="OK - rta 0.3ms")


def events_of(ilert: Any, key: str) -> List[Dict[str, Any]]:
    return [e for a in ilert.alerts() if a["key"] == key for e in a["events"]]


def log_entries(ilert: Any) -> List[Dict[str, Any]]:
    return [e["body"] for e in ilert.log() if e["path"].startswith("/api/events")]


@pytest.fixture(autouse=True)
def quiet_site(cmk: FakeSite, live: LivestatusStandIn) -> None:
    """The sync family's objects, every state fresh: no drift but what a test makes; the
    integration key in the site's password store."""
    cmk.password_store({STORE_ID: KEY_API})
    now = int(time.time())
    live.load({section: [dict(row, last_state_change=now) for row in rows] for section, rows in FIXTURES.items()})


# --- stale open alerts -----------------------------------------------------------------


def test_stale_open_alert_is_resolved_after_the_grace(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    opened = open_alert(cmk, ilert, service("PROBLEM", stored(ilert.url)))
    recovered(live, "web01", "CPU load")
    run = sync(cmk, ilert)
    assert run.returncode == 0, run.output
    assert "sync: reconcile: alert %d %s: RESOLVE queued (resolved by cmk_ilert sync: Checkmk shows " \
           "web01/CPU load OK since" % (opened["id"], opened["key"]) in run.output, run.output
    assert "1 stale alerts resolved" in run.output
    assert len(cmk.queue()) == 1 and alert(ilert, opened["key"])["status"] == "PENDING"  # queued, not sent by sync
    flush(cmk)
    now = alert(ilert, opened["key"])
    assert now["status"] == "RESOLVED" and now["resolvedByType"] == "SOURCE", now
    body = log_entries(ilert)[-1]
    assert body["eventType"] == "RESOLVE" and body["alertKey"] == opened["key"]
    (comment,) = body["comments"]
    assert comment["creator"] == "cmk_ilert sync"
    assert comment["content"].startswith("resolved by cmk_ilert sync: Checkmk shows web01/CPU load OK since ")
    assert comment["content"].endswith(", grace 15 min")
    # idempotent: the next runs see nothing open
    again = sync(cmk, ilert)
    assert "0 stale alerts resolved" in again.output and cmk.queue() == [], again.output
    # status shows the last run's counts
    status = cmk.cli("status")
    assert "sync --reconcile: last run resolved 0 stale, reported 0 missing (0 raised), 0 left for the next runs, " \
           "0 left alone (" in status.output, status.output


def test_host_alert_is_resolved(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    opened = open_alert(cmk, ilert, host("PROBLEM", stored(ilert.url)))
    recovered(live, "db01")
    run = sync(cmk, ilert)
    assert "RESOLVE queued (resolved by cmk_ilert sync: Checkmk shows host db01 UP since" in run.output, run.output
    flush(cmk)
    assert alert(ilert, opened["key"])["status"] == "RESOLVED"


def test_not_before_the_grace(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    opened = open_alert(cmk, ilert, service("PROBLEM", stored(ilert.url)))
    recovered(live, "web01", "CPU load", ago=10 * 60)  # 10 min < 15 min grace
    run = sync(cmk, ilert)
    assert "0 stale alerts resolved" in run.output and cmk.queue() == [], run.output
    recovered(live, "web01", "CPU load", ago=16 * 60)
    run = sync(cmk, ilert)
    assert "1 stale alerts resolved" in run.output, run.output
    flush(cmk)
    assert alert(ilert, opened["key"])["status"] == "RESOLVED"


def test_soft_ok_is_not_enough(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    open_alert(cmk, ilert, service("PROBLEM", stored(ilert.url)))
    live.update_service("web01", "CPU load", state=0, state_type=0, last_state_change=int(time.time() - HOUR))
    run = sync(cmk, ilert)
    assert "0 stale alerts resolved" in run.output and cmk.queue() == [], run.output


def test_never_for_an_object_checkmk_does_not_know(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    opened = open_alert(cmk, ilert, service("PROBLEM", stored(ilert.url), SERVICEDESC="Gone away"))
    run = sync(cmk, ilert)
    assert "sync: reconcile: alert %d %s: open in iLert, but Checkmk does not know web01/Gone away: left alone" \
        % (opened["id"], opened["key"]) in run.output, run.output
    assert "1 left alone" in run.output and cmk.queue() == []
    again = sync(cmk, ilert)
    assert "does not know" not in again.output  # said once
    assert alert(ilert, opened["key"])["status"] == "PENDING"


def test_nothing_while_something_is_queued_for_the_key(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    opened = open_alert(cmk, ilert, service("PROBLEM", stored(ilert.url)))
    recovered(live, "web01", "CPU load")
    # an ACKNOWLEDGEMENT waits in the outbox (iLert answered 503, it waits for its retry)
    ilert.inject("503", "503", "503", path_prefix="/api/events")
    run = cmk.run(service("ACKNOWLEDGEMENT", stored(ilert.url)))
    queued = cmk.queue()
    assert queued, run.output
    run = sync(cmk, ilert)
    assert "0 stale alerts resolved" in run.output and cmk.queue() == queued, run.output
    assert alert(ilert, opened["key"])["status"] == "PENDING"


def test_no_route_no_resolve(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    """A key index entry written before routes were kept: left alone, said once."""
    opened = open_alert(cmk, ilert, service("PROBLEM", stored(ilert.url)))
    for path in (cmk.state_dir / "index").glob("*.json"):
        data = json.loads(path.read_text())
        data.pop("route")
        path.write_text(json.dumps(data))
    recovered(live, "web01", "CPU load")
    run = sync(cmk, ilert)
    assert "alert %d %s: open in iLert; no record here of the rule its ALERT went out by (key index): cannot " \
           "resolve it, left alone" % (opened["id"], opened["key"]) in run.output, run.output
    assert cmk.queue() == []


def test_a_rule_with_the_key_typed_in_is_left_alone(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    """Its key is not kept after delivery (anywhere in the state directory), so sync cannot send."""
    opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url)))
    for path in cmk.state_dir.rglob("*"):
        if path.is_file():
            assert KEY_API not in path.read_text(errors="replace"), path
    recovered(live, "web01", "CPU load")
    run = sync(cmk, ilert)
    assert "alert %d %s: cannot resolve it: its rule has the API key (or a proxy password) typed in, not in " \
           "Checkmk's password store" % (opened["id"], opened["key"]) in run.output, run.output
    assert cmk.queue() == [] and "1 left alone" in run.output
    ilert.resolve_alert(opened["id"], "Bob Smith")
    live.update_service("web01", "CPU load", state=2, last_state_change=int(time.time() - HOUR))
    run = sync(cmk, ilert, "--reconcile-raise")
    assert "has no open alert in iLert; not raised: its rule has the API key" in run.output, run.output


def test_checkmk_type_sources_are_left_alone(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    """iLert makes the keys of Checkmk-type sources: neither resolved nor reported missing by key."""
    run = cmk.run(service("PROBLEM", checkmk_params(ilert.url)))
    assert run.returncode == 0, run.output
    (opened,) = ilert.alerts()
    recovered(live, "web01", "CPU load")
    run = sync(cmk, ilert, "--alert-source", str(ilert.source_id(opened["sourceKey"])))
    assert "0 stale alerts resolved" in run.output and cmk.queue() == [], run.output
    live.update_service("web01", "CPU load", state=2, last_state_change=int(time.time() - HOUR))
    ilert.resolve_alert(opened["id"], "Bob Smith")
    run = sync(cmk, ilert, "--alert-source", str(ilert.source_id(opened["sourceKey"])))
    assert "has no open alert in iLert" not in run.output, run.output


# --- missing alerts -------------------------------------------------------------------------


def test_missing_problem_is_reported_once(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    live.update_service("web01", "CPU load", last_state_change=int(time.time() - HOUR))
    run = sync(cmk, ilert)
    assert "sync: reconcile: cmk/mysite/web01/cpu load~f26268fd97: web01/CPU load CRITICAL in Checkmk since" \
        in run.output, run.output
    assert "has no open alert in iLert; not raised (--reconcile-raise raises it)" in run.output
    assert "1 missing reported (0 raised)" in run.output and cmk.queue() == [] and ilert.alerts() == []
    again = sync(cmk, ilert)
    assert "has no open alert" not in again.output and "0 missing reported" in again.output


def test_missing_problem_is_raised_with_the_option(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    """The ALERT was rejected and discarded: the key index has its route; raised, then delivered."""
    ctx = service("PROBLEM", stored(ilert.url))
    opened = open_alert(cmk, ilert, ctx)
    ilert.resolve_alert(opened["id"], "Bob Smith")  # gone in iLert, still a problem in Checkmk
    live.update_service("web01", "CPU load", last_state_change=int(time.time() - HOUR))
    run = sync(cmk, ilert, "--reconcile-raise")
    assert "sync: reconcile: cmk/mysite/web01/cpu load~f26268fd97: ALERT queued (raised by cmk_ilert sync: " \
           "Checkmk shows web01/CPU load CRITICAL since" in run.output, run.output
    assert "1 missing reported (1 raised)" in run.output
    flush(cmk)
    alerts = [a for a in ilert.alerts() if a["key"] == opened["key"]]
    assert [a["status"] for a in alerts] == ["RESOLVED", "PENDING"], alerts
    body = log_entries(ilert)[-1]
    assert body["eventType"] == "ALERT" and body["alertKey"] == opened["key"]  # the key the notify path uses
    assert body["summary"].startswith("PROBLEM Service Alert: web01/CPU load is CRITICAL")
    assert body["comments"][0]["content"].startswith("raised by cmk_ilert sync: Checkmk shows web01/CPU load")
    again = sync(cmk, ilert, "--reconcile-raise")
    assert "0 missing reported (0 raised)" in again.output and cmk.queue() == [], again.output


def test_missing_without_route_is_only_reported(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    live.update_host("db01", last_state_change=int(time.time() - HOUR))
    run = sync(cmk, ilert, "--reconcile-raise")
    assert "sync: reconcile: cmk/mysite/db01: host db01 DOWN in Checkmk since" in run.output, run.output
    assert "not raised: no ALERT of it went out by a rule with the outbox on this site (key index)" in run.output
    assert cmk.queue() == [] and ilert.alerts() == []


@pytest.mark.parametrize("change", [{"state_type": 0}, {"acknowledged": 1}, {"scheduled_downtime_depth": 1},
                                    {"notifications_enabled": 0}, {"fresh": 1}],
                         ids=["soft", "acknowledged", "downtime", "notifications-off", "within-grace"])
def test_problems_checkmk_would_not_notify_are_left_alone(cmk: FakeSite, ilert: Any, live: LivestatusStandIn,
                                                         change: Dict[str, int]) -> None:
    values = dict(change)
    ago = 60 if values.pop("fresh", 0) else HOUR
    live.update_service("web01", "CPU load", last_state_change=int(time.time() - ago), **values)
    run = sync(cmk, ilert, "--reconcile-raise")
    assert "0 missing reported (0 raised)" in run.output, run.output
    assert "CPU load" not in run.output and cmk.queue() == []


def test_service_on_a_down_host_is_left_alone(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    live.load({"hosts": [{"name": "web01", "state": 1, "state_type": 0}],
               "services": [{"host_name": "web01", "description": "CPU load", "state": 2,
                             "last_state_change": int(time.time() - HOUR)}]})
    run = sync(cmk, ilert)
    assert "0 missing reported" in run.output, run.output


# --- names, storms, kills ---------------------------------------------------------------------


ODD_NAMES = [("srv-ü01", "Disk  IO\tsda ✓"), ("srv-ü01", "Ärger  im\tBüro"), ("ñode 02", "")]


def _odd_fixture() -> Dict[str, Any]:
    now = int(time.time())
    return {"hosts": [{"name": "srv-ü01", "state": 0, "last_state_change": now},
                      {"name": "ñode 02", "state": 1, "last_state_change": now}],
            "services": [{"host_name": "srv-ü01", "description": "Disk  IO\tsda ✓", "state": 2,
                          "last_state_change": now},
                         {"host_name": "srv-ü01", "description": "Ärger  im\tBüro", "state": 2,
                          "last_state_change": now}]}


def _ctx(host_name: str, service_name: str, params: Dict[str, str], ntype: str = "PROBLEM",
         **extra: str) -> Dict[str, str]:
    if service_name:
        return service(ntype, params, HOSTNAME=host_name, HOSTALIAS=host_name, SERVICEDESC=service_name, **extra)
    return host(ntype, params, HOSTNAME=host_name, HOSTALIAS=host_name, **extra)


def test_names_with_double_spaces_tabs_and_unicode(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    from tests.support.contexts import alert_key

    live.load(_odd_fixture())
    params = stored(ilert.url)
    stale_host, stale_service = ODD_NAMES[0]
    cmk.run(_ctx(stale_host, stale_service, params))
    missing_host, missing_service = ODD_NAMES[1]
    cmk.run(_ctx(missing_host, missing_service, params))  # its ALERT went out: the route is known
    gone_key = alert_key("mysite", missing_host, missing_service)
    (gone,) = [a for a in ilert.alerts() if a["key"] == gone_key]
    ilert.resolve_alert(gone["id"], "Bob Smith")
    stale_key = alert_key("mysite", stale_host, stale_service)
    recovered(live, stale_host, stale_service)
    live.update_service(missing_host, missing_service, last_state_change=int(time.time() - HOUR))
    live.update_host("ñode 02", last_state_change=int(time.time() - HOUR))
    run = sync(cmk, ilert, "--reconcile-raise")
    assert "1 stale alerts resolved, 2 missing reported (1 raised)" in run.output, run.output
    assert "cmk/mysite/ñode 02: host ñode 02 DOWN in Checkmk since" in run.output  # no route: reported
    flush(cmk)
    by_key = {}
    for a in ilert.alerts():
        by_key.setdefault(a["key"], []).append(a["status"])
    assert by_key[stale_key] == ["RESOLVED"], by_key
    assert by_key[gone_key] == ["RESOLVED", "PENDING"], by_key
    sent = {(b["eventType"], b["alertKey"]) for b in log_entries(ilert)[-2:]}
    assert sent == {("RESOLVE", stale_key), ("ALERT", gone_key)}, sent  # the keys the notify path made


def test_a_storm_is_reconciled_over_several_runs_oldest_first(cmk: FakeSite, ilert: Any,
                                                              live: LivestatusStandIn) -> None:
    names = ["Check %02d" % n for n in range(7)]
    _open_problems(cmk, ilert, live, names)
    assert len(ilert.alerts()) == 7
    # recovered long ago, in an order unlike their names and alert ids: the oldest first
    ages = {d: HOUR * (1 + (n * 3) % 7) for n, d in enumerate(names)}
    for d, age in ages.items():
        recovered(live, "web01", d, ago=age)
    expected = sorted(names, key=lambda d: -ages[d])
    resolved: List[List[str]] = []
    for _ in range(3):
        run = sync(cmk, ilert, "--reconcile-max", "3")
        assert run.returncode == 0, run.output
        flush(cmk)
        done = [a["summary"] for a in ilert.alerts() if a["status"] == "RESOLVED"]
        resolved.append([d for d in expected if any(d in s for s in done)])
    assert resolved == [expected[:3], expected[:6], expected], resolved
    again = sync(cmk, ilert, "--reconcile-max", "3")
    assert "0 stale alerts resolved" in again.output and "0 left for the next runs" in again.output


def _resolves(ilert: Any) -> Dict[str, int]:
    out: Dict[str, int] = {}
    for body in log_entries(ilert):
        if isinstance(body, dict) and body.get("eventType") == "RESOLVE":
            out[body["alertKey"]] = out.get(body["alertKey"], 0) + 1
    return out


def _open_problems(cmk: FakeSite, ilert: Any, live: LivestatusStandIn, names: List[str]) -> None:
    """Services of web01 CRIT in Checkmk, each with an ALERT delivered by one bulk call."""
    now = int(time.time())
    live.load({"hosts": [{"name": "web01", "state": 0, "last_state_change": now}],
               "services": [{"host_name": "web01", "description": d, "state": 2, "last_state_change": now}
                            for d in names]})
    run = cmk.run(bulk=[_ctx("web01", d, {}, MICROTIME=str(1795341600000000 + n)) for n, d in enumerate(names)],
                  bulk_parameters=stored(ilert.url, rate_limit="0"))
    assert run.returncode == 0, run.output


def _stale_five(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> List[str]:
    names = ["Svc %d" % n for n in range(5)]
    _open_problems(cmk, ilert, live, names)
    for d in names:
        recovered(live, "web01", d)
    return [a["key"] for a in ilert.alerts()]


def test_killed_after_queuing_before_recording_queues_nothing_twice(cmk: FakeSite, ilert: Any,
                                                                    live: LivestatusStandIn) -> None:
    keys = _stale_five(cmk, ilert, live)
    run = sync(cmk, ilert)
    assert "5 stale alerts resolved" in run.output, run.output
    queued = cmk.queue()
    record = cmk.state_dir / "sync" / "reconcile.json"
    record.unlink()  # the state a kill between the enqueue and the record leaves
    again = sync(cmk, ilert)
    assert "0 stale alerts resolved" in again.output and cmk.queue() == queued, again.output
    flush(cmk)
    assert _resolves(ilert) == {k: 1 for k in keys}


def test_random_kills_never_send_a_resolve_twice(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    import random

    keys = _stale_five(cmk, ilert, live)
    live.always("slow:0.15")  # every query takes a while: the kills land in queries, queuing, writes
    rng = random.Random(17)
    env = cmk.environment()
    for trial in range(6):
        proc = subprocess.Popen([runtime_python(), "-m", "cmk_ilert", "sync", "--api-url", ilert.url, "--reconcile",
                                 *GRACE, "--reconcile-max", "2"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        time.sleep(rng.uniform(0.05, 0.9))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=30)
        RECORDED_OUTPUT.append(out.decode("utf-8", "replace"))
        if trial % 2:
            flush(cmk)
    live.always(None)
    for _ in range(4):
        sync(cmk, ilert, "--reconcile-max", "2")
        flush(cmk)
    assert _resolves(ilert) == {k: 1 for k in keys}, _resolves(ilert)
    assert all(a["status"] == "RESOLVED" for a in ilert.alerts())
    assert cmk.dead() == []


def test_dry_run_queues_nothing(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    opened = open_alert(cmk, ilert, service("PROBLEM", stored(ilert.url)))
    recovered(live, "web01", "CPU load")
    run = sync(cmk, ilert, "--dry-run")
    assert "sync: reconcile: alert %d %s: would resolve it: resolved by cmk_ilert sync" % (
        opened["id"], opened["key"]) in run.output, run.output
    assert cmk.queue() == [] and not (cmk.state_dir / "sync" / "reconcile.json").exists()
    assert "1 stale alerts resolved" in sync(cmk, ilert).output  # the real run still does it


def test_options_are_checked(cmk: FakeSite, ilert: Any) -> None:
    for args in (["--reconcile-raise"], ["--reconcile", "--reconcile-max", "0"],
                 ["--reconcile", "--reconcile-grace", "-1"]):
        run = cmk.cli("sync", "--api-url", ilert.url, *args)
        assert run.returncode == 2 and len(run.lines) == 1 and "Traceback" not in run.output, run.output


def test_a_record_write_cut_by_a_kill_is_cleaned_up(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    folder = cmk.state_dir / "sync"
    folder.mkdir(parents=True, exist_ok=True)
    leftover = folder / ".reconcile.json.99999.tmp"
    leftover.write_text('{"v": 1, "do')
    (folder / "reconcile.json").write_text("not json")
    run = sync(cmk, ilert)
    assert "the reconcile record" in run.output and "unreadable; starting afresh" in run.output, run.output
    assert not leftover.exists()
    assert json.loads((folder / "reconcile.json").read_text())["last"]["resolved"] == 0
