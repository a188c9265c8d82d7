"""Issue 20, defects 2-4: ``sync`` against an iLert that answers what it should not, and a
Livestatus that takes commands without applying them.

Every test runs ``python3 -m cmk_ilert sync`` as a real process in a fake site, against a real
HTTP server on loopback (``AlertsApi`` below: answers the alert listings with entries the test
chooses, ignoring every filter, as a server that does not know a query parameter's spelling
would) or the iLert stand-in, and the Livestatus stand-in on the site's real Unix socket.

* defect 2: alerts of another alert source, of another status, created outside the time window
  are not acted on, whatever the server returned;
* defect 3: object names reach Livestatus exactly (``Interface  2`` with two blanks is not
  ``Interface 2``), commands end with the empty line, and a command the core did not apply is
  "not confirmed", never "acknowledged", and retried by the next run (once per run);
* defect 4: a malformed entry is skipped with one line; nesting deeper than any parser goes is a
  temporary failure (exit 1, one line); keys are printed cleaned and bounded; endless paging
  stays within a request budget across runs; Livestatus closing early is said as such.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Dict, Iterator, List, Optional
from urllib.parse import parse_qs, urlsplit

import pytest

from livestatus_standin import LivestatusStandIn
from tests.hostile.conftest import Timed, no_crash, run
from tests.support.contexts import api_params, service
from tests.support.hostile import HostileServer, _Conn
from tests.support.site import FakeSite
from tests.sync.conftest import USER_KEY, ilert, write_key  # noqa: F401 - ilert is a fixture

pytestmark = pytest.mark.outbox_logic  # interpreter-independent: run once

SITE = "mysite"
NOW = time.time()


def iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(epoch))


def entry(alert_id: int, key: str, status: str = "ACCEPTED", source: int = 1001,
          created: Optional[float] = None, **extra: Any) -> Dict[str, Any]:
    """An alert as iLert's ``GET /api/alerts`` lists it (OpenAPI ``Alert``)."""
    raw: Dict[str, Any] = {
        "id": alert_id, "status": status, "alertKey": key, "summary": "x",
        "reportTime": iso(NOW - 120 if created is None else created),
        "alertSource": {"id": source, "name": "Checkmk", "integrationType": "API"},
    }
    if status == "ACCEPTED":
        raw.update(acknowledgedBy={"firstName": "Jane", "lastName": "Doe"}, acknowledgedByType="USER")
    if status == "RESOLVED":
        raw.update(resolvedBy={"firstName": "Jane", "lastName": "Doe"}, resolvedByType="USER")
    raw.update(extra)
    return raw


class AlertsApi(HostileServer):
    """``GET /api/alerts`` -> ``listing(query)`` (bytes or a JSON-able list) for every query,
    whatever its filters; ``GET /api/alerts/{id}`` -> 404. Records the paths asked for."""

    def __init__(self, listing: Callable[[Dict[str, List[str]]], Any]) -> None:
        super().__init__()
        self.listing = listing
        self.paths: List[str] = []

    def serve(self, conn: _Conn) -> None:
        while self.read_request(conn):
            path = conn.arrival.request_line.split(" ")[1]
            self.paths.append(path)
            parts = urlsplit(path)
            status, body = 404, b'{"code":"NOT_FOUND"}'
            if parts.path == "/api/alerts":
                result = self.listing(parse_qs(parts.query))
                status, body = 200, result if isinstance(result, bytes) else json.dumps(result).encode()
            head = "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (
                status, len(body))
            if not self.send(conn, head.encode("latin-1") + body):
                return

    def lists(self) -> List[str]:
        return [p for p in self.paths if p.startswith("/api/alerts?")]


def serving(alerts: List[Dict[str, Any]], honest: bool = False) -> Callable[[Dict[str, List[str]]], Any]:
    """The same alerts for every listing, paged by ``start-index`` (a server ignoring filters);
    ``honest``: only those of the ``states`` asked for."""

    def listing(query: Dict[str, List[str]]) -> Any:
        start = int(query.get("start-index", ["0"])[0])
        chosen = [a for a in alerts if not honest or a.get("status") in query.get("states", [])]
        return chosen[start:start + 100]

    return listing


FIXTURES = {
    "hosts": [{"name": "web01", "state": 0}, {"name": "db01", "state": 1}, {"name": "app01", "state": 0},
              {"name": "sw01", "state": 0}],
    "services": [{"host_name": "web01", "description": "CPU load", "state": 2},
                 {"host_name": "app01", "description": "Filesystem /var/log", "state": 1},
                 {"host_name": "sw01", "description": "Interface  2", "state": 2},
                 {"host_name": "sw01", "description": "Interface 2", "state": 2}],
}


@pytest.fixture
def cmk(site: FakeSite) -> FakeSite:
    write_key(site)
    return site


@pytest.fixture
def live(cmk: FakeSite) -> Iterator[LivestatusStandIn]:
    with LivestatusStandIn(cmk.root / "tmp" / "run" / "live", FIXTURES) as server:
        yield server


@pytest.fixture
def api() -> Iterator[AlertsApi]:
    server = AlertsApi(serving([]))
    with server:
        yield server


def sync(site: FakeSite, url: str, *args: str) -> Timed:
    result = run(site, "sync", "--api-url", url, *args, timeout=90)
    no_crash(result)
    assert USER_KEY not in result.output
    return result


def settled(live: LivestatusStandIn) -> List[Dict[str, Any]]:
    time.sleep(0.3)  # a stray command would arrive by now
    return live.commands()


def state(site: FakeSite) -> Dict[str, Any]:
    return json.loads((site.state_dir / "sync" / "state.json").read_text(encoding="utf-8"))


# --- defect 2: what the server-side filters should have excluded --------------------------------


def test_alerts_of_another_alert_source_are_not_acted_on(cmk: FakeSite, api: AlertsApi,
                                                         live: LivestatusStandIn) -> None:
    """A second Checkmk installation whose site is also called ``mysite`` sends to source 2002."""
    api.listing = serving([entry(1, "cmk/mysite/web01/cpu load", source=2002),
                           entry(2, "cmk/mysite/db01", source=1001),
                           entry(3, "cmk/mysite/app01/filesystem /var/log", alertSource=None)])
    result = sync(cmk, api.url, "--alert-source", "1001")
    assert result.returncode == 0, result.output
    assert all("sources=1001" in p for p in api.lists())
    names = [(c["name"], c["args"][0]) for c in settled(live)]
    assert names == [("ACKNOWLEDGE_HOST_PROBLEM", "db01")], (names, result.output)
    assert live.service("web01", "CPU load")["acknowledged"] == 0
    assert live.service("app01", "Filesystem /var/log")["acknowledged"] == 0


def test_alerts_of_another_status_or_time_are_not_acted_on(cmk: FakeSite, api: AlertsApi,
                                                           live: LivestatusStandIn) -> None:
    """Every listing answers the same entries: a PENDING alert in ``states=RESOLVED``, a RESOLVED
    one in the open listing, an ACCEPTED one created years before ``from``, one after ``until``."""
    api.listing = serving([entry(1, "cmk/mysite/web01/cpu load", status="PENDING"),
                           entry(2, "cmk/mysite/db01", status="RESOLVED", created=NOW - 400 * 86400),
                           entry(3, "cmk/mysite/app01/filesystem /var/log", created=978307200.0),
                           entry(4, "cmk/mysite/web01/cpu load", created=NOW + 3 * 86400)])
    result = sync(cmk, api.url)
    assert result.returncode == 0, result.output
    assert settled(live) == [], result.output
    assert "Resolved in iLert" not in json.dumps(live.service("web01", "CPU load"))
    assert live.service("app01", "Filesystem /var/log")["acknowledged"] == 0


# --- defect 3: exact names, the empty line, confirmation -----------------------------------------


@pytest.fixture
def ilert_site(site: FakeSite) -> FakeSite:
    write_key(site)
    return site


def _open_and_accept(site: FakeSite, server: Any, description: str) -> Dict[str, Any]:
    ctx = service("PROBLEM", api_params(server.url), HOSTNAME="sw01", SERVICEDESC=description)
    opened = site.run(ctx)
    assert opened.returncode == 0, opened.output
    (alert,) = [a for a in server.alerts() if a["key"].startswith("cmk/mysite/sw01/")]
    server.accept_alert(alert["id"], "Jane Doe")
    return alert


def test_names_reach_livestatus_exactly(ilert_site: FakeSite, ilert: Any) -> None:  # noqa: F811
    """The key index holds ``Interface  2``; ``Interface 2`` (one blank) is another service."""
    with LivestatusStandIn(ilert_site.root / "tmp" / "run" / "live", FIXTURES) as live:
        _open_and_accept(ilert_site, ilert, "Interface  2")
        result = sync(ilert_site, ilert.url)
        assert result.returncode == 0, result.output
        (cmd,) = settled(live)
        assert cmd["args"][:2] == ["sw01", "Interface  2"], cmd
        assert live.service("sw01", "Interface  2")["acknowledged"] == 1
        assert live.service("sw01", "Interface 2")["acknowledged"] == 0
        assert "acknowledged sw01/Interface  2 in Checkmk" in result.output


def test_commands_end_with_the_empty_line(ilert_site: FakeSite, ilert: Any) -> None:  # noqa: F811
    """Checkmk's own client sends ``COMMAND ...\\n\\n``; icinga2 logs an error without it."""
    with LivestatusStandIn(ilert_site.root / "tmp" / "run" / "live", FIXTURES, dialect="icinga2") as live:
        _open_and_accept(ilert_site, ilert, "Interface  2")
        assert sync(ilert_site, ilert.url).returncode == 0
        (cmd,) = settled(live)
        assert cmd["terminated"] is True, cmd
        assert cmd["effect"] == "acknowledged", cmd


def test_a_command_the_core_did_not_apply_is_not_done(ilert_site: FakeSite, ilert: Any) -> None:  # noqa: F811
    """The core took the command and changed nothing (as with a non-existent object): sync says
    so, does not record it, sends it once per run, and the next run completes it."""
    with LivestatusStandIn(ilert_site.root / "tmp" / "run" / "live", FIXTURES) as live:
        alert = _open_and_accept(ilert_site, ilert, "Interface  2")
        live.drop_commands(1)
        first = sync(ilert_site, ilert.url)
        assert first.returncode == 1, first.output
        assert len(settled(live)) == 1
        assert "not confirmed" in first.output, first.output
        assert "acknowledged sw01" not in first.output
        assert "%d:ACCEPTED" % alert["id"] not in state(ilert_site)["done"]
        assert live.service("sw01", "Interface  2")["acknowledged"] == 0
        second = sync(ilert_site, ilert.url)
        assert second.returncode == 0, second.output
        assert [c["effect"] for c in settled(live)] == ["dropped", "acknowledged"]
        assert "acknowledged sw01/Interface  2 in Checkmk" in second.output
        assert "%d:ACCEPTED" % alert["id"] in state(ilert_site)["done"]
        third = sync(ilert_site, ilert.url)
        assert third.returncode == 0 and len(settled(live)) == 2, third.output


# --- defect 4: one bad answer must not stop every run --------------------------------------------


@pytest.mark.parametrize("responders", [5, True, "x"])
def test_a_malformed_entry_is_skipped_with_one_line(cmk: FakeSite, api: AlertsApi, live: LivestatusStandIn,
                                                    responders: Any) -> None:
    bad = entry(7, "cmk/mysite/web01/cpu load", responders=responders)
    del bad["acknowledgedBy"]
    api.listing = serving([bad, entry(8, "cmk/mysite/db01")], honest=True)
    result = sync(cmk, api.url)
    assert result.returncode == 0, result.output
    assert [c["args"][0] for c in settled(live)] == ["db01"]
    mentions = [line for line in result.lines if "alert 7" in line]
    assert len(mentions) == 1 and "malformed" in mentions[0], result.output


def test_deep_nesting_from_ilert_is_temporary(cmk: FakeSite, api: AlertsApi, live: LivestatusStandIn) -> None:
    api.listing = lambda query: b"[" * 100000
    result = sync(cmk, api.url)
    assert result.returncode == 1, result.output
    assert len(result.lines) == 1, result.output


def test_deep_nesting_from_livestatus_is_temporary(cmk: FakeSite, api: AlertsApi, live: LivestatusStandIn) -> None:
    api.listing = serving([entry(8, "cmk/mysite/db01")], honest=True)
    live.always("nested")
    result = sync(cmk, api.url)
    assert result.returncode == 1, result.output
    assert len(result.lines) == 1 and "Livestatus" in result.output, result.output


def test_keys_are_printed_clean_and_bounded(cmk: FakeSite, api: AlertsApi, live: LivestatusStandIn) -> None:
    api.listing = serving([entry(20, "cmk/mysite/web01/\x1b[31mred\x1b]0;owned\x07\x9b2J\u202etxt"),
                           entry(21, "cmk/mysite/web01/" + "x" * (2 * 1024 * 1024)),
                           entry(22, "cmk/mysite/web01/cpu\x00load")])
    result = sync(cmk, api.url)
    assert result.returncode == 0, result.output
    assert settled(live) == []
    for bad in ("\x1b", "\x07", "\x9b", "\u202e", "\x00"):
        assert bad not in result.output, repr(bad)
    assert max(len(line) for line in result.lines) <= 400, max(len(line) for line in result.lines)
    assert any("alert 21" in line for line in result.lines), result.output


def test_endless_paging_stays_within_the_request_budget_across_runs(cmk: FakeSite, api: AlertsApi,
                                                                    live: LivestatusStandIn) -> None:
    """Every page is full, forever. iLert allows 120 requests per minute per user API key; a site
    at the documented one run per minute must stay well below it, and a long listing continues
    where the last run stopped."""
    page = [entry(1000 + i, "cmk/othersite/h%03d" % i) for i in range(100)]
    api.listing = lambda query: page
    first = sync(cmk, api.url)
    assert first.returncode == 1, first.output
    used = len(api.paths)
    assert 0 < used <= 30, used
    assert len(first.lines) <= 3, first.output
    second = sync(cmk, api.url)  # within the same minute: the budget is spent
    assert second.returncode == 1, second.output
    assert len(api.paths) == used, api.paths[used:]
    # a minute later (the state's request times moved back), the listing continues
    path = cmk.state_dir / "sync" / "state.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["requests"] = [t - 120 for t in data["requests"]]
    path.write_text(json.dumps(data), encoding="utf-8")
    third = sync(cmk, api.url)
    assert third.returncode == 1, third.output
    resumed = parse_qs(urlsplit(api.paths[used]).query)
    assert int(resumed["start-index"][0]) == 100 * used, api.paths[used]
    assert len(api.paths) - used <= 30


@pytest.mark.parametrize("fault, expected", [("close", "closed the connection without an answer"),
                                             ("truncate", "closed the connection early")])
def test_livestatus_closing_early_is_said_as_such(cmk: FakeSite, api: AlertsApi, live: LivestatusStandIn,
                                                  fault: str, expected: str) -> None:
    api.listing = serving([entry(8, "cmk/mysite/db01")], honest=True)
    live.always(fault)
    result = sync(cmk, api.url)
    assert result.returncode == 1, result.output
    assert expected in result.output and "garbage" not in result.output, result.output

