"""sync against a REAL Livestatus server: icinga2's ``livestatus`` feature (Debian 12's icinga2 2.13).

``make test`` installs icinga2 (``tools/icinga2_livestatus.py install``); this module starts one
private daemon (``Icinga2Livestatus``: own configuration and directories, forced states from the
``dummy`` check) and runs the installed ``python3 -m cmk_ilert sync`` against it and the iLert
stand-in, as the site cron runs it. The site's ``tmp/run/live`` is a symbolic link to the
daemon's socket. Each test uses objects of its own: the daemon (acknowledgements, comments)
lives for the whole module.

The differential tests at the end send the queries and commands sync sends to icinga2 and to the
Livestatus stand-in in its ``icinga2`` dialect and compare the answers' shapes (status codes,
column types, booleans), so the stand-in is checked against a real implementation.

Without icinga2 the module is skipped with a loud reason; under ``CI=true`` it fails instead.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from livestatus_standin import LivestatusStandIn
from tests.support.contexts import api_params, checkmk_params, host, service
from tests.support.site import FakeSite
from tests.sync.test_checkmk_source import open_checkmk, source_id
from tests.sync.test_sync import open_alert, sync
from tools.icinga2_livestatus import Icinga2Livestatus, installed

pytestmark = pytest.mark.livestatus_server

ODD_HOST = "app  02"  # two blanks
ODD_SERVICE = "Log  file\tcheck ü"  # two blanks, a tab, unicode
UNICODE_HOST = "hôst-ü1"
HOSTS = {"web01": 0, "db01": 2, "mail01": 0, ODD_HOST: 0, UNICODE_HOST: 2, "edge01": 0,
         "cmk01": 0, "cmkdown": 2, "Ünïcode-CASE": 2, "diff01": 2, "cmd01": 2}
SERVICES = {("web01", "CPU load"): 2, ("web01", "Memory"): 0, ("mail01", "Queue"): 2, (ODD_HOST, ODD_SERVICE): 2,
            ("edge01", "Ping"): 2, ("cmk01", "Disk IO"): 2, ("cmk01", ODD_SERVICE): 2,
            ("diff01", "Svc  a\tb ü"): 2, ("diff01", "OK svc"): 0, ("diff01", "Ack svc"): 1,
            ("cmd01", "OK svc"): 0, ("cmd01", "Ack svc"): 1}


@pytest.fixture(scope="module")
def icinga() -> Iterator[Icinga2Livestatus]:
    if not installed():
        reason = ("!!! icinga2 is NOT installed: sync is not tested against a real Livestatus server "
                  "(python3 tools/icinga2_livestatus.py install, as root)")
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(reason + " -- CI=true: make test installs it")
        pytest.skip(reason)
    with Icinga2Livestatus(HOSTS, SERVICES) as daemon:
        yield daemon


@pytest.fixture
def live_site(cmk: FakeSite, icinga: Icinga2Livestatus) -> FakeSite:
    """The installed site whose Livestatus socket ($OMD_ROOT/tmp/run/live) is icinga2's."""
    link = cmk.root / "tmp" / "run" / "live"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(icinga.socket)
    return cmk


def settle(icinga: Icinga2Livestatus, host_name: str, service_name: str = "") -> Dict[str, Any]:
    time.sleep(0.3)  # Livestatus applies commands asynchronously: give a stray one time to show
    return icinga.objects(host_name, service_name)


def test_accepted_service_and_host_are_acknowledged_once(live_site: FakeSite, ilert: Any,
                                                          icinga: Icinga2Livestatus) -> None:
    crit = open_alert(live_site, ilert, service("PROBLEM", api_params(ilert.url)))
    down = open_alert(live_site, ilert, host("PROBLEM", api_params(ilert.url)))
    assert icinga.objects("web01", "CPU load")["acknowledged"] is False  # JSON false, not 0
    ilert.accept_alert(crit["id"], "Jane Doe")
    ilert.accept_alert(down["id"], "Jane Doe")
    run = sync(live_site, ilert)
    assert run.returncode == 0, run.output
    assert "acknowledged web01/CPU load in Checkmk (accepted in iLert by Jane Doe)" in run.output
    assert "acknowledged host db01 in Checkmk" in run.output, run.output
    assert "2 acknowledged" in run.lines[-1], run.output
    svc, hst = icinga.objects("web01", "CPU load"), icinga.objects("db01")
    assert svc["acknowledged"] is True and hst["acknowledged"] is True
    assert svc["acknowledgement_type"] == 2 and hst["acknowledgement_type"] == 2  # sticky
    link = "%s/alert/%d" % (ilert.url, crit["id"])
    assert [c[1:] for c in svc["comments_with_info"]] == [
        ["iLert: Jane Doe", "Accepted in iLert by Jane Doe (iLert alert %d %s)" % (crit["id"], link)]]
    assert isinstance(svc["comments_with_info"][0][0], int)
    # idempotent: a second run, and a run after the state file was lost, send nothing
    again = sync(live_site, ilert)
    assert again.returncode == 0 and "0 acknowledged" in again.lines[-1], again.output
    (live_site.state_dir / "sync" / "state.json").unlink()
    lost = sync(live_site, ilert)
    assert lost.returncode == 0 and "0 acknowledged" in lost.lines[-1], lost.output
    assert "already acknowledged in Checkmk" in lost.output, lost.output
    assert len(settle(icinga, "web01", "CPU load")["comments_with_info"]) == 1
    assert len(icinga.objects("db01")["comments_with_info"]) == 1


def test_ok_service_is_not_acknowledged(live_site: FakeSite, ilert: Any, icinga: Icinga2Livestatus) -> None:
    opened = open_alert(live_site, ilert, service("PROBLEM", api_params(ilert.url), SERVICEDESC="Memory"))
    ilert.accept_alert(opened["id"], "Jane Doe")
    run = sync(live_site, ilert)
    assert run.returncode == 0 and "nothing to do: web01/Memory has no problem in Checkmk" in run.output, run.output
    assert settle(icinga, "web01", "Memory") == {"state": 0, "acknowledged": False, "acknowledgement_type": 0,
                                                  "comments_with_info": []}


def test_resolved_while_still_a_problem_is_commented_once(live_site: FakeSite, ilert: Any,
                                                           icinga: Icinga2Livestatus) -> None:
    opened = open_alert(live_site, ilert, service("PROBLEM", api_params(ilert.url), HOSTNAME="mail01",
                                             SERVICEDESC="Queue"))
    ilert.resolve_alert(opened["id"], "Bob Smith")
    run = sync(live_site, ilert)
    assert run.returncode == 0, run.output
    assert "commented mail01/Queue in Checkmk (resolved in iLert by Bob Smith)" in run.output, run.output
    now = icinga.objects("mail01", "Queue")
    assert now["state"] == 2 and now["acknowledged"] is False  # never a fake recovery or an acknowledgement
    ((_, author, text),) = now["comments_with_info"]
    assert author == "iLert: Bob Smith"
    assert text.startswith("Resolved in iLert by Bob Smith (iLert alert %d" % opened["id"])
    assert text.endswith("). Checkmk still shows the problem.")
    (live_site.state_dir / "sync" / "state.json").unlink()  # lost: the comment itself is the guard
    again = sync(live_site, ilert)
    assert again.returncode == 0 and "already has the comment" in again.output, again.output
    assert len(settle(icinga, "mail01", "Queue")["comments_with_info"]) == 1


def test_names_with_double_blanks_tabs_and_unicode(live_site: FakeSite, ilert: Any, icinga: Icinga2Livestatus) -> None:
    svc = open_alert(live_site, ilert, service("PROBLEM", api_params(ilert.url), HOSTNAME=ODD_HOST,
                                          SERVICEDESC=ODD_SERVICE))
    hst = open_alert(live_site, ilert, host("PROBLEM", api_params(ilert.url), HOSTNAME=UNICODE_HOST))
    ilert.accept_alert(svc["id"], "Jörg Müller")
    ilert.accept_alert(hst["id"], "Jörg Müller")
    run = sync(live_site, ilert)
    assert run.returncode == 0, run.output
    assert "2 acknowledged" in run.lines[-1], run.output
    odd = icinga.objects(ODD_HOST, ODD_SERVICE)
    assert odd["acknowledged"] is True
    assert odd["comments_with_info"][0][1:] == ["iLert: Jörg Müller", "Accepted in iLert by Jörg Müller (iLert alert "
                                                "%d %s/alert/%d)" % (svc["id"], ilert.url, svc["id"])]
    assert icinga.objects(UNICODE_HOST)["acknowledged"] is True


def test_injection_through_a_responder_name(live_site: FakeSite, ilert: Any, icinga: Icinga2Livestatus) -> None:
    """A responder's name is free text in iLert: a line break and ';' must not make a second
    command or shift the command's fields."""
    opened = open_alert(live_site, ilert, service("PROBLEM", api_params(ilert.url), HOSTNAME="edge01",
                                             SERVICEDESC="Ping"))
    evil = "Eve;x\n\nCOMMAND [1] ADD_HOST_COMMENT;edge01;1;pwned;pwned\r\nCOMMAND [1] ACKNOWLEDGE_HOST_PROBLEM;db01"
    ilert.accept_alert(opened["id"], evil)
    run = sync(live_site, ilert)
    assert run.returncode == 0, run.output
    assert "1 acknowledged" in run.lines[-1], run.output
    now = settle(icinga, "edge01", "Ping")
    ((_, author, text),) = now["comments_with_info"]
    assert now["acknowledged"] is True and now["acknowledgement_type"] == 2
    # one line, ';' made ',' (the name is cut where sync bounds it)
    assert author.startswith("iLert: Eve,x COMMAND [1] ADD_HOST_COMMENT,edge01,1,pwned,pwned COMMAND [1] "), author
    assert not any(c in author + text for c in ";\r\n")
    assert icinga.objects("edge01")["comments_with_info"] == []  # no second command
    everything = icinga.query(["GET hosts", "Columns: comments_with_info"])
    everything += icinga.query(["GET services", "Columns: comments_with_info"])
    assert [c[1] for row in everything for c in row[0] if "pwned" in c[1]] == [author]  # the acknowledgement's only


def test_checkmk_type_source(live_site: FakeSite, ilert: Any, icinga: Icinga2Livestatus) -> None:
    """Alerts of a Checkmk-type source: keys iLert makes (case-folded, no site). icinga2's
    Livestatus names no site anywhere (its ``status`` table has ``program_version``
    ``r2.13.6-1-icinga2``, no site column): sync takes the site from ``OMD_SITE``."""
    crit = open_checkmk(live_site, ilert, service("PROBLEM", checkmk_params(ilert.url), HOSTNAME="cmk01",
                                             SERVICEDESC="Disk IO"))
    assert crit["alertKey"] == "cmk01/disk io"
    down = open_checkmk(live_site, ilert, host("PROBLEM", checkmk_params(ilert.url), HOSTNAME="cmkdown"))
    blanks = open_checkmk(live_site, ilert, service("PROBLEM", checkmk_params(ilert.url), HOSTNAME="cmk01",
                                               SERVICEDESC="LOG FILE CHECK ü"))  # case and blanks differ
    for opened in (crit, down, blanks):
        ilert.accept_alert(opened["id"], "Jane Doe")
    run = sync(live_site, ilert, "--alert-source", source_id(ilert))
    assert run.returncode == 0, run.output
    assert "3 open or resolved alerts of site mysite, 3 acknowledged" in run.lines[-1], run.output
    assert icinga.objects("cmk01", "Disk IO")["acknowledged"] is True
    assert icinga.objects("cmkdown")["acknowledged"] is True
    assert icinga.objects("cmk01", ODD_SERVICE)["acknowledged"] is True
    (status,) = icinga.query(["GET status", "Columns: program_version"])
    assert "icinga2" in status[0]


def test_checkmk_type_unicode_case_is_not_found_on_icinga2(live_site: FakeSite, ilert: Any,
                                                            icinga: Icinga2Livestatus) -> None:
    """icinga2's ``=~`` folds ASCII letters only: iLert's folded key ``ünïcode-case`` does not find
    the host ``Ünïcode-CASE`` there (Checkmk's Livestatus folds Unicode). Nothing is done, and
    the run says why."""
    opened = open_checkmk(live_site, ilert, host("PROBLEM", checkmk_params(ilert.url), HOSTNAME="Ünïcode-CASE"))
    assert opened["alertKey"] == "ünïcode-case"
    ilert.accept_alert(opened["id"], "Jane Doe")
    run = sync(live_site, ilert, "--alert-source", source_id(ilert))
    assert run.returncode == 0, run.output
    assert "skipped: host ünïcode-case is not monitored on this site" in run.output, run.output
    assert settle(icinga, "Ünïcode-CASE")["acknowledged"] is False


# --- the stand-in against the real server ------------------------------------------------

#: What the stand-in serves in this differential: the objects of diff01 (queried, never changed)
#: and cmd01 (commands) as icinga2 has them.
DIFF_FIXTURES = {
    "hosts": [{"name": "diff01", "state": 1, "plugin_output": "forced state 2"},
              {"name": "cmd01", "state": 1, "plugin_output": "forced state 2"},
              {"name": "Ünïcode-CASE", "state": 1}],
    "services": [{"host_name": "diff01", "description": "Svc  a\tb ü", "state": 2},
                 {"host_name": "diff01", "description": "OK svc", "state": 0},
                 {"host_name": "diff01", "description": "Ack svc", "state": 1},
                 {"host_name": "cmd01", "description": "OK svc", "state": 0},
                 {"host_name": "cmd01", "description": "Ack svc", "state": 1}],
}
FIXED = "\nOutputFormat: json\nResponseHeader: fixed16\n\n"
#: The queries sync sends (sync/lookup.py ObjectFinder.find, sync/objects.py _host/_service),
#: on the objects above, and the errors a Livestatus client can meet.
QUERIES = [
    "GET services\nColumns: host_name description state acknowledged comments_with_info\n"
    "Filter: host_name = diff01\nFilter: description = Svc  a\tb ü",
    "GET services\nColumns: host_name description state acknowledged comments_with_info\n"
    "Filter: host_name =~ DIFF01\nFilter: description =~ svc  A\tB ü",
    "GET services\nColumns: host_name description state acknowledged comments_with_info\n"
    "Filter: host_name =~ DIFF01\nFilter: description =~ SVC  A\tB Ü",
    "GET hosts\nColumns: name state acknowledged comments_with_info\nFilter: name = diff01",
    "GET hosts\nColumns: name state acknowledged comments_with_info\nFilter: name =~ Diff01",
    "GET hosts\nColumns: name\nFilter: name =~ diff01",
    "GET hosts\nColumns: name\nFilter: name =~ ünïcode-case",
    "GET hosts\nColumns: name\nFilter: name =~ ÜNÏCODE-CASE",
    "GET hosts\nColumns: name\nFilter: name ~~ ^ünïcode",
    "GET services\nColumns: host_name description\nFilter: host_name =~ diff01",
    "GET hosts\nColumns: name state acknowledged comments_with_info\nFilter: name = nohost",
    "GET services\nColumns: description acknowledged host_acknowledged\nFilter: host_name = diff01\n"
    "Filter: acknowledged = 0",
    "GET hosts\nColumns: name nope",
    "GET hosts\nColumns: name\nFilter: nope = x",
    "GET hosts\nColumns: name\nFilter: name == diff01",
    "GET hosts\nColumns: name\nFilter: state = abc",
    "GET hosts\nColumns: name\nFilter: state = ",
    "GET hosts\nColumns: name\nFilter: name = diff01\nFoo: bar",
    "GET hosts\nColumns: name\nFilter: name ~ [",
    "GET nosuchtable\nColumns: name",
]


def shape(value: Any) -> Any:
    """A JSON value's type, lists element by element (so 0/1 and false/true differ)."""
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


def answer(raw: bytes) -> Tuple[int, Any]:
    """(status, shape of the rows) for 200, else (status, the message's first line)."""
    code, body = int(raw[:3]), raw[16:].decode("utf-8")
    if code != 200:
        return code, body.splitlines()[0] if code == 452 else ""
    return code, shape(json.loads(body)) if body else None


@pytest.fixture
def twin(tmp_path: Path) -> Iterator[LivestatusStandIn]:
    with LivestatusStandIn(tmp_path / "live", DIFF_FIXTURES, dialect="icinga2") as live:
        yield live


def exchange(path: Path, request: str) -> bytes:
    import socket  # the stand-in's socket, talked to as icinga2's is (Icinga2Livestatus.exchange)

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        sock.sendall(request.encode("utf-8"))
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def _label(request: str) -> str:
    """A test id: the table and the last header line, ASCII only."""
    lines = request.split("\n")
    return ("%s %s" % (lines[0][4:], lines[-1])).encode("ascii", "replace").decode()


@pytest.mark.parametrize("request_text", QUERIES, ids=[_label(q) for q in QUERIES])
def test_stand_in_answers_sync_queries_as_icinga2(icinga: Icinga2Livestatus, twin: LivestatusStandIn,
                                                 request_text: str) -> None:
    real = answer(icinga.exchange((request_text + FIXED).encode("utf-8")))
    double = answer(exchange(twin.path, request_text + FIXED))
    assert double == real, "icinga2 %r, stand-in %r" % (real, double)


def test_stand_in_models_icinga2_columns(icinga: Icinga2Livestatus, twin: LivestatusStandIn) -> None:
    """Every column the stand-in models and icinga2 has gives the same type in both; the ones
    icinga2 lacks are named (Checkmk's inventory columns)."""
    from livestatus_standin.tables import HOST_COLUMNS, SERVICE_COLUMNS

    lacking = {"mk_inventory", "mk_inventory_gz", "mk_inventory_last"}
    # custom variables: icinga2 answers each value in its own JSON type (a number stays a number)
    skipped = {"custom_variable_names", "custom_variable_values"}
    for table, spec, key in (("hosts", HOST_COLUMNS, "name"), ("services", SERVICE_COLUMNS, "host_name")):
        columns = [c for c in spec if c.replace("host_", "", 1) not in lacking | skipped]
        if table == "services":  # the joined host columns: the ones sync could use
            columns = [c for c in columns if not c.startswith("host_") or c in ("host_name", "host_state",
                                                                                  "host_acknowledged")]
        request = "GET %s\nColumns: %s\nFilter: %s = diff01" % (table, " ".join(columns), key)
        real = json.loads(icinga.exchange((request + FIXED).encode("utf-8"))[16:])
        double = json.loads(exchange(twin.path, request + FIXED)[16:])
        assert len(real) == len(double) > 0, (real, double)
        got = {c: (shape(r), shape(d)) for row_r, row_d in zip(sorted(real), sorted(double))
               for c, r, d in zip(columns, row_r, row_d)}
        differ = {c: pair for c, pair in got.items() if pair[0] != pair[1] and pair[0] != [] and pair[1] != []}
        assert not differ, differ
    for column in sorted(lacking):
        code, message = answer(icinga.exchange(("GET hosts\nColumns: %s%s" % (column, FIXED)).encode()))
        assert code == 452 and "does not exist" in message, (column, message)


def _commands(now: int) -> List[str]:
    return [
        "COMMAND [%d] ACKNOWLEDGE_SVC_PROBLEM;cmd01;Ack svc;2;1;0;iLert: Jane Doe;Accepted in iLert" % now,
        "COMMAND [%d] ACKNOWLEDGE_SVC_PROBLEM;cmd01;OK svc;2;1;0;iLert: Jane Doe;OK" % now,  # no problem
        "COMMAND [%d] ACKNOWLEDGE_SVC_PROBLEM;cmd01;No such svc;2;1;0;a;b" % now,
        "COMMAND [%d] ACKNOWLEDGE_HOST_PROBLEM;nohost;2;1;0;a;b" % now,
        "COMMAND [%d] ADD_SVC_COMMENT;cmd01;Ack svc;1" % now,  # too few fields
        "COMMAND ADD_HOST_COMMENT;cmd01;1;a;no timestamp",
        "COMMAND [%d] ADD_HOST_COMMENT;cmd01;1;iLert: Bob;Resolved in iLert; with a semicolon" % now,
    ]


def test_stand_in_answers_commands_as_icinga2(icinga: Icinga2Livestatus, twin: LivestatusStandIn) -> None:
    """With ``ResponseHeader: fixed16`` icinga2 answers a command: 200 and nothing, or 452.
    Without it (as sync sends commands) nothing is written, whatever the outcome."""
    now = int(time.time())
    for line in _commands(now):
        request = line + "\nResponseHeader: fixed16\n\n"
        real, double = icinga.exchange(request.encode("utf-8")), exchange(twin.path, request)
        assert real[:3] == double[:3], (line, real[:120], double[:120])
        if real[:3] == b"200":
            assert real == double == b"200           0\n"
    silent = "COMMAND [%d] ACKNOWLEDGE_SVC_PROBLEM;cmd01;No such svc;2;1;0;a;b\n\n" % now
    assert icinga.exchange(silent.encode()) == exchange(twin.path, silent) == b""
    error = "GET hosts\nColumns: nope\nOutputFormat: json\n\n"  # an error without fixed16: nothing at all
    assert icinga.exchange(error.encode()) == exchange(twin.path, error) == b""
    time.sleep(0.3)
    request = ("GET services\nColumns: description state acknowledged acknowledgement_type comments_with_info\n"
               "Filter: host_name = cmd01\nFilter: description = Ack svc")
    real_rows = json.loads(icinga.exchange((request + FIXED).encode())[16:])
    double_rows = json.loads(exchange(twin.path, request + FIXED)[16:])
    assert shape(real_rows) == shape(double_rows) == [["str", "int", "bool", "int", [["int", "str", "str"]]]]
    assert [r[2:4] for r in real_rows] == [r[2:4] for r in double_rows] == [[True, 2]]
    hosts = "GET hosts\nColumns: comments_with_info\nFilter: name = cmd01"
    real_comments = json.loads(icinga.exchange((hosts + FIXED).encode())[16:])[0][0]
    double_comments = json.loads(exchange(twin.path, hosts + FIXED)[16:])[0][0]
    assert [c[1:] for c in real_comments] == [c[1:] for c in double_comments] == [
        ["iLert: Bob", "Resolved in iLert; with a semicolon"]]
