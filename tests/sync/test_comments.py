"""Comments both ways, and an alert that is pending again: sync against both stand-ins.

A responder comments in the iLert stand-in (its log entries, ``GET /api/alerts/{id}/log-entries``),
``python3 -m cmk_ilert sync`` runs as the site cron runs it, and the Livestatus stand-in shows the
COMMAND lines it received and the comments and acknowledgements it now has.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from cmk_ilert.checkmk import livestatus
from livestatus_standin import LivestatusStandIn
from tests.support.contexts import api_params, host, service
from tests.support.site import FakeSite, Run, runtime_python
from tests.sync.conftest import installed_site, livestatus_of, write_key
from tests.sync.test_setup_and_failures import clean, state_file
from tests.sync.test_sync import commands, open_alert, sync

pytestmark = pytest.mark.runtime


def comment_commands(live: LivestatusStandIn) -> List[Dict[str, Any]]:
    return [c for c in commands(live) if c["name"].startswith("ADD_")]


def log_requests(ilert: Any) -> List[Dict[str, Any]]:
    return [e for e in ilert.log() if e["path"].split("?")[0].endswith("/log-entries")]


def entry_ids(ilert: Any, alert_id: int) -> List[int]:
    (found,) = [a for a in ilert.alerts() if a["id"] == alert_id]
    return [h["id"] for h in found["history"] if h["action"] == "COMMENT"]


# --- a responder's comment -> one Checkmk comment with the author -------------------------


def test_responder_comment_appears_once_with_author(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url)))
    ilert.comment_alert(opened["id"], "Jane Doe", "Rebooting the box, back in 5")
    (entry,) = entry_ids(ilert, opened["id"])
    run = sync(cmk, ilert)
    assert run.returncode == 0, run.output
    (cmd,) = comment_commands(live)
    text = "iLert comment by Jane Doe: Rebooting the box, back in 5 (iLert alert %d, log entry %d)" % (
        opened["id"], entry)
    assert cmd["name"] == "ADD_SVC_COMMENT" and cmd["effect"] == "comment added", cmd
    assert cmd["args"] == ["web01", "CPU load", "1", "iLert: Jane Doe", text]
    assert [c["comment"] for c in live.service("web01", "CPU load")["comment_entries"]] == [text]
    assert any("added iLert comment %d by Jane Doe to web01/CPU load" % entry in line for line in run.lines), \
        run.output
    (request,) = log_requests(ilert)
    assert request["path"] == "/api/alerts/%d/log-entries?lang=en&start-index=0&max-results=100&include=vars" \
        % opened["id"]
    for _ in range(2):  # a second and third run add nothing
        again = sync(cmk, ilert)
        assert again.returncode == 0, again.output
    assert len(comment_commands(live)) == 1
    assert state_file(cmk)["comments"][str(opened["id"])]["id"] >= entry


def test_without_vars_the_text_is_taken_as_ilert_wrote_it(cmk: FakeSite, ilert: Any,
                                                          live: LivestatusStandIn) -> None:
    ilert.configure(log_entry_vars=False)
    opened = open_alert(cmk, ilert, host("PROBLEM", api_params(ilert.url)))
    ilert.comment_alert(opened["id"], "Jane Doe", "ISP says fibre cut")
    (entry,) = entry_ids(ilert, opened["id"])
    assert sync(cmk, ilert).returncode == 0
    (cmd,) = comment_commands(live)
    assert cmd["args"] == ["db01", "1", "iLert", "iLert comment: Jane Doe commented: ISP says fibre cut "
                           "(iLert alert %d, log entry %d)" % (opened["id"], entry)]


def test_comments_on_an_object_without_a_problem_are_not_read(cmk: FakeSite, ilert: Any,
                                                              live: LivestatusStandIn) -> None:
    opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url), SERVICEDESC="Memory"))  # OK now
    ilert.comment_alert(opened["id"], "Jane Doe", "looks fine again")
    assert sync(cmk, ilert).returncode == 0
    assert comment_commands(live) == [] and log_requests(ilert) == []


# --- no echo ---------------------------------------------------------------------------------


def test_checkmk_comments_are_not_mirrored_back(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    """A Checkmk user's acknowledgement comment reaches iLert (ACCEPT with its comment, logged as
    the source's); sync's own texts and copies of Checkmk's comments logged as a user's are not
    mirrored either; a real responder comment beside them is, once."""
    params = api_params(ilert.url)
    opened = open_alert(cmk, ilert, service("PROBLEM", params))
    # a Checkmk user acknowledges: the core holds the acknowledgement, the notification reaches iLert
    livestatus.command(str(live.path), "ACKNOWLEDGE_SVC_PROBLEM", [2, 1, 0, "cmkadmin", "Working on it"],
                       time.monotonic() + 5, names=["web01", "CPU load"])
    delivered = cmk.run(service("ACKNOWLEDGEMENT", params))
    assert delivered.returncode == 0, delivered.output
    (now,) = [a for a in ilert.alerts() if a["id"] == opened["id"]]
    assert now["status"] == "ACCEPTED" and now["history"][-1]["byType"] == "SOURCE", now["history"]
    # as if iLert logged an event's comment as a user's: a copy of Checkmk's, and one of sync's texts
    ilert.comment_alert(opened["id"], "cmkadmin", "Working on it")
    ilert.comment_alert(opened["id"], "Jane Doe", "Accepted in iLert by Jane Doe (iLert alert %d)" % opened["id"])
    ilert.comment_alert(opened["id"], "Jane Doe", "vendor ticket 4711 opened")
    run = sync(cmk, ilert)
    assert run.returncode == 0, run.output
    (cmd,) = comment_commands(live)
    assert cmd["args"][-1].startswith("iLert comment by Jane Doe: vendor ticket 4711 opened"), cmd
    assert "2 comments in iLert came from Checkmk or from sync and were not mirrored back" in run.output


def test_sync_acknowledgement_round_trip_adds_no_comment(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    """Accept in iLert -> sync acknowledges -> Checkmk's ACKNOWLEDGEMENT notification carries sync's
    comment back to iLert (ACCEPT answered ALREADY_ACCEPTED, then a COMMENT event) -> nothing new."""
    params = api_params(ilert.url, comment_events="1")
    opened = open_alert(cmk, ilert, service("PROBLEM", params))
    ilert.accept_alert(opened["id"], "Jane Doe")
    assert sync(cmk, ilert).returncode == 0
    ack = live.service("web01", "CPU load")["comment_entries"][0]
    back = cmk.run(service("ACKNOWLEDGEMENT", params, NOTIFICATIONAUTHOR=ack["author"],
                           NOTIFICATIONCOMMENT=ack["comment"], SERVICEACKAUTHOR=ack["author"],
                           SERVICEACKCOMMENT=ack["comment"]))
    assert back.returncode == 0, back.output
    run = sync(cmk, ilert)
    assert run.returncode == 0, run.output
    assert comment_commands(live) == []
    assert [c["name"] for c in commands(live)] == ["ACKNOWLEDGE_SVC_PROBLEM"]


# --- names and texts -------------------------------------------------------------------------

ODD = {
    "hosts": [{"name": "wéb  01\tβ", "state": 0}],
    "services": [{"host_name": "wéb  01\tβ", "description": "Dïsk  I/O\t➜ /var", "state": 2}],
}


def test_unicode_tabs_and_double_spaces(cmk: FakeSite, ilert: Any) -> None:
    with livestatus_of(cmk, ODD) as live:
        opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url), HOSTNAME="wéb  01\tβ",
                                                SERVICEDESC="Dïsk  I/O\t➜ /var"))
        ilert.comment_alert(opened["id"], "Zoë  O'Brien\tjr", "Überprüft:\tRAID  ok 🚀")
        (entry,) = entry_ids(ilert, opened["id"])
        run = sync(cmk, ilert)
        assert run.returncode == 0, run.output
        (cmd,) = comment_commands(live)
        assert cmd["args"] == ["wéb  01\tβ", "Dïsk  I/O\t➜ /var", "1", "iLert: Zoë O'Brien jr",
                               "iLert comment by Zoë O'Brien jr: Überprüft: RAID ok 🚀 (iLert alert %d, log entry %d)"
                               % (opened["id"], entry)]
        assert cmd["effect"] == "comment added"


def test_a_semicolon_or_line_break_cannot_inject_a_command(cmk: FakeSite, ilert: Any,
                                                           live: LivestatusStandIn) -> None:
    opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url)))
    ilert.accept_alert(opened["id"], "Jane Doe")
    assert sync(cmk, ilert).returncode == 0  # acknowledged: an injected REMOVE would show
    hostile = "done;x\nCOMMAND [1] REMOVE_SVC_ACKNOWLEDGEMENT;web01;CPU load\n\nCOMMAND [1] ADD_HOST_COMMENT;db01;1;x;y"
    ilert.comment_alert(opened["id"], "Mal;lory\nCOMMAND [1] X", hostile)
    assert sync(cmk, ilert).returncode == 0
    names = [c["name"] for c in commands(live)]
    assert names == ["ACKNOWLEDGE_SVC_PROBLEM", "ADD_SVC_COMMENT"], commands(live)
    cmd = commands(live)[-1]
    assert len(cmd["args"]) == 5 and "\n" not in cmd["raw"], cmd
    assert cmd["args"][3] == "iLert: Mal,lory COMMAND [1] X"
    assert ";" not in cmd["args"][4] and cmd["args"][4].startswith("iLert comment by Mal,lory COMMAND [1] X: done,x")
    assert live.service("web01", "CPU load")["acknowledged"] == 1
    assert live.host("db01")["comment_entries"] == []


# --- bounds ------------------------------------------------------------------------------------


def test_a_long_log_is_read_one_page_per_run(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url)))
    ilert.add_log_entries(opened["id"], 1000)
    ilert.comment_alert(opened["id"], "Jane Doe", "finally")
    runs = 0
    while not comment_commands(live):
        _next_minute(cmk)  # the request budget (30 per minute) holds across runs: runs a minute apart
        before = len(log_requests(ilert))
        assert sync(cmk, ilert).returncode == 0
        assert len(log_requests(ilert)) - before == 1  # one page per alert and run
        runs += 1
        assert runs <= 11
    assert runs == 11  # 1003 entries (alert, 1000 notifications, the comment) in pages of 100
    starts = [e["path"].split("start-index=")[1].split("&")[0] for e in log_requests(ilert)]
    assert starts == [str(100 * n) for n in range(11)]
    sync(cmk, ilert)
    assert len(comment_commands(live)) == 1


def _next_minute(site: FakeSite) -> None:
    path = site.state_dir / "sync" / "state.json"
    if path.exists():
        data = json.loads(path.read_text())
        data["requests"] = []
        path.write_text(json.dumps(data))


def test_at_most_ten_alerts_are_read_per_run(cmk: FakeSite, ilert: Any) -> None:
    fixtures = {"hosts": [{"name": "h%02d" % n, "state": 1} for n in range(12)], "services": []}
    with livestatus_of(cmk, fixtures) as live:
        for n in range(12):
            opened = open_alert(cmk, ilert, host("PROBLEM", api_params(ilert.url), HOSTNAME="h%02d" % n))
            ilert.comment_alert(opened["id"], "Jane Doe", "note %d" % n)
        assert sync(cmk, ilert).returncode == 0
        assert len(log_requests(ilert)) == 10 and len(comment_commands(live)) == 10
        assert sync(cmk, ilert).returncode == 0  # the two read longest ago (never) come first
        assert len(comment_commands(live)) == 12
        hosts = sorted(c["args"][0] for c in comment_commands(live))
        assert hosts == ["h%02d" % n for n in range(12)]


class _Proxy:
    """Forwards to the iLert stand-in, but answers every log-entries request with ``mode``:
    "huge" (an endless JSON array as fast as it goes) or "drip" (a few bytes each half second)."""

    def __init__(self, upstream: str, mode: str) -> None:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if "/log-entries" in self.path:
                    return proxy.hostile(self)
                request = urllib.request.Request(upstream + self.path, headers=dict(self.headers))
                with urllib.request.urlopen(request, timeout=10) as answer:
                    body = answer.read()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return None

        self.mode = mode
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def hostile(self, handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.end_headers()
        entry = json.dumps({"id": 1, "logEntryType": "AlertCommentAddedLogEntry", "text": "x" * 1000}) + ","
        try:
            handler.wfile.write(b"[")
            for _ in range(100000):
                handler.wfile.write(entry.encode() if self.mode == "huge" else b" ")
                if self.mode == "drip":
                    time.sleep(0.5)
        except OSError:
            pass

    def __enter__(self) -> "_Proxy":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("mode,words", [
    ("huge", "log entries not read: iLert's answer is larger than 1048576 bytes; the next run retries"),
    ("drip", "stopped, the run's time budget (--max-time 4 s) is used up"),  # the alarm's backstop
])
def test_a_hostile_log_entries_answer_stops_within_bounds(cmk: FakeSite, ilert: Any, live: LivestatusStandIn,
                                                         mode: str, words: str) -> None:
    opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url)))
    ilert.accept_alert(opened["id"], "Jane Doe")
    with _Proxy(ilert.url, mode) as proxy:
        start = time.monotonic()
        run = cmk.cli("sync", "--api-url", proxy.url, "--max-time", "4", timeout=60)
        elapsed = time.monotonic() - start
    clean(run)
    assert run.returncode == 1, run.output
    assert elapsed < 4 + 8, elapsed
    assert [line for line in run.lines if words in line], run.output
    assert len(run.lines) <= 3, run.output  # the acknowledgement, the one line, the summary
    assert [c["name"] for c in commands(live)] == ["ACKNOWLEDGE_SVC_PROBLEM"]  # the rest of the run was done
    assert state_file(cmk)["done"]["%d:ACCEPTED" % opened["id"]]["r"].startswith("acknowledged")


# --- crash safety ------------------------------------------------------------------------------


def _rewind(site: FakeSite, alert_id: int, tkey: str, age: float) -> None:
    """The state of a run killed after recording the intent (and maybe after the command)."""
    path = site.state_dir / "sync" / "state.json"
    data = json.loads(path.read_text())
    data["comments"].pop(str(alert_id), None)
    data["intent"][tkey] = {"t": time.time() - age, "r": "comment"}
    path.write_text(json.dumps(data))


def test_killed_after_the_command_adds_it_once(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url)))
    ilert.comment_alert(opened["id"], "Jane Doe", "on it")
    (entry,) = entry_ids(ilert, opened["id"])
    assert sync(cmk, ilert).returncode == 0
    _rewind(cmk, opened["id"], "%d:comment:%d" % (opened["id"], entry), age=1.0)
    run = sync(cmk, ilert)
    assert run.returncode == 0, run.output
    assert len(comment_commands(live)) == 1
    assert state_file(cmk)["intent"] == {}


def test_killed_before_the_command_adds_it_once(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url)))
    assert sync(cmk, ilert).returncode == 0  # state exists, nothing to comment yet
    ilert.comment_alert(opened["id"], "Jane Doe", "on it")
    (entry,) = entry_ids(ilert, opened["id"])
    _rewind(cmk, opened["id"], "%d:comment:%d" % (opened["id"], entry), age=0.0)
    start = time.monotonic()
    run = sync(cmk, ilert)
    assert run.returncode == 0, run.output
    assert time.monotonic() - start >= 4.0  # it waited out the grace before it looked
    assert len(comment_commands(live)) == 1
    assert sync(cmk, ilert).returncode == 0 and len(comment_commands(live)) == 1


# --- pending again: un-accepted or reassigned; escalation ------------------------------------


def _human_ack(live: LivestatusStandIn, comment: str) -> None:
    livestatus.command(str(live.path), "ACKNOWLEDGE_SVC_PROBLEM", [2, 1, 0, "cmkadmin", comment],
                       time.monotonic() + 5, names=["web01", "CPU load"])


def test_reassigned_alert_loses_only_syncs_acknowledgement(cmk: FakeSite, ilert: Any,
                                                           live: LivestatusStandIn) -> None:
    opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url)))
    ilert.accept_alert(opened["id"], "Jane Doe")
    assert sync(cmk, ilert).returncode == 0
    assert live.service("web01", "CPU load")["acknowledged"] == 1
    ilert.reassign_alert(opened["id"], "Jane Doe", "Bob Roe")
    run = sync(cmk, ilert)
    assert run.returncode == 0, run.output
    assert [c["name"] for c in commands(live)] == ["ACKNOWLEDGE_SVC_PROBLEM", "REMOVE_SVC_ACKNOWLEDGEMENT"]
    assert commands(live)[-1]["args"] == ["web01", "CPU load"]
    assert live.service("web01", "CPU load")["acknowledged"] == 0
    assert "removed the acknowledgement of web01/CPU load in Checkmk" in run.output
    assert sync(cmk, ilert).returncode == 0 and len(commands(live)) == 2  # once
    ilert.accept_alert(opened["id"], "Bob Roe")  # the new responder accepts: acknowledged again
    assert sync(cmk, ilert).returncode == 0
    assert [c["name"] for c in commands(live)][-1] == "ACKNOWLEDGE_SVC_PROBLEM"
    assert commands(live)[-1]["args"][-1].startswith("Accepted in iLert by Bob Roe")


def test_a_human_acknowledgement_is_never_removed(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url)))
    ilert.accept_alert(opened["id"], "Jane Doe")
    assert sync(cmk, ilert).returncode == 0
    _human_ack(live, "I take this one")  # acknowledged again in Checkmk by a person
    ilert.reassign_alert(opened["id"], "Jane Doe", "Bob Roe")
    run = sync(cmk, ilert)
    assert run.returncode == 0, run.output
    assert "REMOVE_SVC_ACKNOWLEDGEMENT" not in [c["name"] for c in commands(live)]
    assert live.service("web01", "CPU load")["acknowledged"] == 1
    assert "given in Checkmk, left alone" in run.output


def test_killed_while_removing_the_acknowledgement_sends_it_once(cmk: FakeSite, ilert: Any,
                                                                 live: LivestatusStandIn) -> None:
    opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url)))
    ilert.accept_alert(opened["id"], "Jane Doe")
    assert sync(cmk, ilert).returncode == 0
    ilert.reassign_alert(opened["id"], "Jane Doe", "Bob Roe")
    saved = (cmk.state_dir / "sync" / "state.json").read_text()
    assert sync(cmk, ilert).returncode == 0  # removes it
    data = json.loads(saved)  # ... and is "killed" before it records that: intent on disk
    data["intent"]["%d:PENDING" % opened["id"]] = {"t": time.time() - 1.0, "r": "unacknowledge"}
    (cmk.state_dir / "sync" / "state.json").write_text(json.dumps(data))
    run = sync(cmk, ilert)
    assert run.returncode == 0, run.output
    assert [c["name"] for c in commands(live)].count("REMOVE_SVC_ACKNOWLEDGEMENT") == 1
    assert state_file(cmk)["intent"] == {}


def test_escalation_changes_nothing_in_checkmk(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    opened = open_alert(cmk, ilert, service("PROBLEM", api_params(ilert.url)))
    ilert.escalate_alert(opened["id"], "Bob Roe", 2)
    run: Run = sync(cmk, ilert)
    assert run.returncode == 0, run.output
    assert len(log_requests(ilert)) == 1 and commands(live) == []


@pytest.fixture(autouse=True)
def _no_rate_limit(ilert: Any) -> Iterator[None]:
    ilert.configure(rate_limit=0)
    yield


# --- random SIGKILL trials: every comment and the removal exactly once ----------------------------

KILL_FIXTURES = {
    "hosts": [{"name": "web01", "state": 0}, {"name": "db01", "state": 1}],
    "services": [{"host_name": "web01", "description": "CPU load", "state": 2}],
}


def _kill_trial(n: int, seed: int, ilert: Any, root: Path, artifacts: List[Path]) -> Dict[str, Any]:
    rnd = random.Random(seed)
    site = installed_site(root / ("kill%03d" % n), artifacts, site="kill%03d" % n)
    write_key(site)
    params = api_params(ilert.url, rate_limit="0")
    with livestatus_of(site, KILL_FIXTURES) as live:
        run = site.run(bulk=[service("PROBLEM", params, OMD_SITE=site.site, MICROTIME="1795341600000001"),
                             host("PROBLEM", params, OMD_SITE=site.site, MICROTIME="1795341600000002")],
                       bulk_parameters=params)
        assert run.returncode == 0, run.output
        ids = {a["key"].split("/")[2].split("~")[0]: a["id"] for a in ilert.alerts()
               if a["key"].startswith("cmk/%s/" % site.site)}
        ilert.accept_alert(ids["db01"], "Jane Doe")
        first = site.cli("sync", "--api-url", ilert.url, timeout=120)
        assert first.returncode == 0 and live.host("db01")["acknowledged"] == 1, first.output
        ilert.reassign_alert(ids["db01"], "Jane Doe", "Bob Roe")
        for text in ("first note", "second note"):
            ilert.comment_alert(ids["web01"], "Jane Doe", text)
        ilert.comment_alert(ids["db01"], "Bob Roe", "looking")
        live.always("slow:%.2f" % rnd.uniform(0.2, 0.6))
        victim = subprocess.Popen([runtime_python(), "-m", "cmk_ilert", "sync", "--api-url", ilert.url],
                                  env=site.environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(rnd.uniform(0.3, 3.0))
        victim.send_signal(signal.SIGKILL)
        out, err = victim.communicate(timeout=60)
        assert b"Traceback" not in out + err
        info = {"n": n, "killed": victim.returncode == -signal.SIGKILL, "sent_before_kill": len(live.commands()) - 1}
        live.always(None)
        for _ in range(4):
            last = site.cli("sync", "--api-url", ilert.url, timeout=120)
            clean(last)
            if last.returncode == 0:
                break
        assert last.returncode == 0, (info, last.output)
        time.sleep(0.1)
        sent = sorted((c["name"], c["args"][0], c["args"][-1].split(" (iLert")[0]) for c in live.commands()[1:])
        assert sent == sorted([("ADD_HOST_COMMENT", "db01", "iLert comment by Bob Roe: looking"),
                               ("ADD_SVC_COMMENT", "web01", "iLert comment by Jane Doe: first note"),
                               ("ADD_SVC_COMMENT", "web01", "iLert comment by Jane Doe: second note"),
                               ("REMOVE_HOST_ACKNOWLEDGEMENT", "db01", "db01")]), (info, sent)
        assert state_file(site)["intent"] == {}, info
    return info


def test_kill_trials_comments_and_removal(ilert: Any, tmp_path: Path, artifacts: List[Path]) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(_kill_trial, n, 5077 + n, ilert, tmp_path, artifacts) for n in range(6)]
        results = [f.result(timeout=300) for f in futures]
    print("comment kill trials:", results)
    assert any(r["killed"] for r in results), results
