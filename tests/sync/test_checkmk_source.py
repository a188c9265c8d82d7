"""sync with alert sources of type Checkmk (``checkmk-ext``): keys iLert makes, without a site.

The alert is opened the way production opens it (the installed notification script with
``ilert_source_type: checkmk``), so the iLert stand-in keys it as it models iLert's Checkmk
source (``host`` or ``host/service``, case-folded, no site; docs/standins.md); a responder acts
on it; ``python3 -m cmk_ilert sync --alert-source <id>`` runs as the site cron runs it; the
Livestatus stand-in shows which commands reached this site's core.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import requests

from livestatus_standin import LivestatusStandIn
from tests.support.contexts import api_params, checkmk_params, host, service
from tests.support.site import KEY_API, KEY_CMK, FakeSite
from tests.sync.conftest import livestatus_of
from tests.sync.test_sync import commands, sync

pytestmark = pytest.mark.runtime

ODD_HOST = "hôst-ü1"
ODD_SERVICE = "Log  file\tcheck ü"  # two blanks and a tab

FIXTURES = {
    "hosts": [{"name": "web01", "state": 0}, {"name": "db01", "state": 1, "plugin_output": "rta nan"},
              {"name": ODD_HOST, "state": 0}],
    "services": [{"host_name": "web01", "description": "CPU load", "state": 2},
                 {"host_name": "web01", "description": "Memory", "state": 0},
                 {"host_name": "web01", "description": "Disk IO", "state": 2},
                 {"host_name": "web01", "description": "DISK IO", "state": 2},
                 {"host_name": ODD_HOST, "description": ODD_SERVICE, "state": 2},
                 {"host_name": ODD_HOST, "description": "Dienst ß", "state": 2}],
}


@pytest.fixture
def live(cmk: FakeSite) -> Iterator[LivestatusStandIn]:
    with livestatus_of(cmk, FIXTURES) as server:
        yield server


def source_id(ilert: Any, key: str = KEY_CMK) -> str:
    return str(ilert.source_id(key))


def open_checkmk(site: FakeSite, ilert: Any, ctx: Dict[str, str]) -> Dict[str, Any]:
    """Open an alert through a Checkmk-type source; return it as the stand-in has it."""
    before = {a["id"] for a in ilert.alerts()}
    run = site.run(ctx)
    assert run.returncode == 0, run.output
    new = [a for a in ilert.alerts() if a["id"] not in before]
    assert len(new) == 1, (run.output, ilert.alerts())
    assert new[0]["origin"] == "checkmk-ext"
    return new[0]


def lines_with(run: Any, text: str) -> List[str]:
    return [line for line in run.lines if text in line]


def test_accepted_service_is_acknowledged(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    opened = open_checkmk(cmk, ilert, service("PROBLEM", checkmk_params(ilert.url)))
    assert opened["alertKey"] == "web01/cpu load"  # iLert's key (as the stand-in models it): no site
    ilert.accept_alert(opened["id"], "Jane Doe")
    run = sync(cmk, ilert, "--alert-source", source_id(ilert))
    assert run.returncode == 0, run.output
    (cmd,) = commands(live, 1)
    assert cmd["name"] == "ACKNOWLEDGE_SVC_PROBLEM" and cmd["effect"] == "acknowledged", cmd
    assert cmd["args"][:5] == ["web01", "CPU load", "2", "1", "0"]
    assert cmd["args"][5:] == ["iLert: Jane Doe", "Accepted in iLert by Jane Doe (iLert alert %d)" % opened["id"]]
    assert run.lines[0] == ("cmk_ilert: sync: alert %d web01/cpu load: acknowledged web01/CPU load in Checkmk "
                            "(accepted in iLert by Jane Doe)" % opened["id"])
    assert "1 open or resolved alerts of site mysite, 1 acknowledged" in run.lines[-1]
    again = sync(cmk, ilert, "--alert-source", source_id(ilert))
    assert again.returncode == 0 and "0 acknowledged" in again.output, again.output
    assert len(commands(live)) == 1


def test_without_alert_source_nothing_is_touched_and_the_run_says_why(
        cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    opened = open_checkmk(cmk, ilert, service("PROBLEM", checkmk_params(ilert.url)))
    ilert.accept_alert(opened["id"], "Jane Doe")
    run = sync(cmk, ilert)
    assert run.returncode == 0, run.output
    assert commands(live) == []
    assert lines_with(run, "alerts of Checkmk-type alert source %s left alone: name this site's source with "
                           "--alert-source ID" % source_id(ilert)), run.output
    assert "0 open or resolved alerts" in run.lines[-1]
    # --quiet keeps the cron log free of the hint (nothing changed)
    assert sync(cmk, ilert, "--quiet").lines == []


def test_accepted_host_acknowledged_resolved_service_commented(
        cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    down = open_checkmk(cmk, ilert, host("PROBLEM", checkmk_params(ilert.url)))
    assert down["alertKey"] == "db01"
    crit = open_checkmk(cmk, ilert, service("PROBLEM", checkmk_params(ilert.url)))
    ilert.accept_alert(down["id"], "Jane Doe")
    ilert.resolve_alert(crit["id"], "Max Mustermann")
    run = sync(cmk, ilert, "--alert-source", source_id(ilert))
    assert run.returncode == 0, run.output
    got = {c["name"]: c for c in commands(live, 2)}
    assert got["ACKNOWLEDGE_HOST_PROBLEM"]["args"][:2] == ["db01", "2"]
    assert got["ADD_SVC_COMMENT"]["args"][:4] == ["web01", "CPU load", "1", "iLert: Max Mustermann"]
    assert got["ADD_SVC_COMMENT"]["args"][4].startswith("Resolved in iLert by Max Mustermann (iLert alert %d"
                                                        % crit["id"])
    assert live.host("db01")["acknowledged"] == 1


def test_host_this_site_does_not_monitor_is_left_alone(
        cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    opened = open_checkmk(cmk, ilert, service("PROBLEM", checkmk_params(ilert.url), HOSTNAME="other01"))
    ilert.accept_alert(opened["id"], "Jane Doe")
    run = sync(cmk, ilert, "--alert-source", source_id(ilert))
    assert run.returncode == 0, run.output
    assert run.lines[0] == ("cmk_ilert: sync: alert %d other01/cpu load: skipped: host other01 is not monitored "
                            "on this site" % opened["id"])
    assert commands(live) == []
    again = sync(cmk, ilert, "--alert-source", source_id(ilert))
    assert not lines_with(again, "skipped:"), again.output  # said once


def test_ambiguous_match_is_skipped(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    # "Disk IO" and "DISK IO" both exist; iLert's key "web01/disk io" names neither exactly
    opened = open_checkmk(cmk, ilert, service("PROBLEM", checkmk_params(ilert.url), SERVICEDESC="Disk IO"))
    ilert.accept_alert(opened["id"], "Jane Doe")
    run = sync(cmk, ilert, "--alert-source", source_id(ilert))
    assert run.returncode == 0, run.output
    assert lines_with(run, "skipped: web01/disk io matches 2 services on this site"), run.output
    assert commands(live) == []
    assert live.service("web01", "Disk IO")["acknowledged"] == 0


@pytest.mark.parametrize("sent", [ODD_SERVICE, "Log file check ü", "LOG FILE  CHECK Ü"],
                         ids=["as-monitored", "blanks-collapsed", "case-and-blanks"])
def test_unicode_blanks_and_tabs(cmk: FakeSite, ilert: Any, live: LivestatusStandIn, sent: str) -> None:
    # the key iLert makes may differ from Livestatus' names in case and blanks: the one
    # object that matches is acknowledged under its exact Livestatus names
    opened = open_checkmk(cmk, ilert, service("PROBLEM", checkmk_params(ilert.url), HOSTNAME=ODD_HOST,
                                              SERVICEDESC=sent))
    ilert.accept_alert(opened["id"], "Jane Doe")
    run = sync(cmk, ilert, "--alert-source", source_id(ilert))
    assert run.returncode == 0, run.output
    (cmd,) = commands(live, 1)
    assert cmd["name"] == "ACKNOWLEDGE_SVC_PROBLEM" and cmd["effect"] == "acknowledged", cmd
    assert cmd["args"][:2] == [ODD_HOST, ODD_SERVICE]
    assert live.service(ODD_HOST, ODD_SERVICE)["acknowledged"] == 1


def test_unicode_names_differing_in_case(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    opened = open_checkmk(cmk, ilert, service("PROBLEM", checkmk_params(ilert.url), HOSTNAME="HÔST-Ü1",
                                              SERVICEDESC="DIENST SS"))  # "ß".casefold() == "ss"
    assert opened["alertKey"] == "hôst-ü1/dienst ss"
    ilert.accept_alert(opened["id"], "Jane Doe")
    run = sync(cmk, ilert, "--alert-source", source_id(ilert))
    assert run.returncode == 0, run.output
    (cmd,) = commands(live, 1)
    assert cmd["effect"] == "acknowledged" and cmd["args"][:2] == [ODD_HOST, "Dienst ß"], cmd


@pytest.mark.parametrize("marker", ["custom_details", "links"])
def test_site_marker_of_another_site_is_never_acted_on(
        cmk: FakeSite, ilert: Any, live: LivestatusStandIn, marker: str) -> None:
    # web01 exists here too, but the alert says it came from site "othersite"
    ilert.configure(checkmk_site_marker=marker)
    url = "/check_mk/index.py?start_url=view.py%3Fview_name%3Dhoststatus%26host%3Dweb01%26site%3D"
    other = open_checkmk(cmk, ilert, service("PROBLEM", checkmk_params(ilert.url), OMD_SITE="othersite",
                                             HOSTURL=url + "othersite"))
    ilert.accept_alert(other["id"], "Jane Doe")
    run = sync(cmk, ilert, "--alert-source", source_id(ilert))
    assert run.returncode == 0, run.output
    assert lines_with(run, "alert %d web01/cpu load: skipped: the alert names Checkmk site othersite, not this one"
                      % other["id"]), run.output
    assert commands(live) == []
    # the same alert from this site: acknowledged
    ilert.resolve_alert(other["id"], "Jane Doe")
    live.update_service("web01", "CPU load", state=2)
    mine = open_checkmk(cmk, ilert, service("PROBLEM", checkmk_params(ilert.url), HOSTURL=url + "mysite"))
    ilert.accept_alert(mine["id"], "Jane Doe")
    run = sync(cmk, ilert, "--alert-source", source_id(ilert))
    assert run.returncode == 0, run.output
    acks = [c for c in commands(live, 1) if c["name"] == "ACKNOWLEDGE_SVC_PROBLEM"]
    assert len(acks) == 1 and acks[0]["args"][:2] == ["web01", "CPU load"], acks


def test_api_and_checkmk_sources_side_by_side(cmk: FakeSite, ilert: Any, live: LivestatusStandIn) -> None:
    via_api = open_any(cmk, ilert, service("PROBLEM", api_params(ilert.url)))
    assert via_api["alertKey"] == "cmk/mysite/web01/cpu load~f26268fd97"
    assert open_checkmk(cmk, ilert, host("PROBLEM", checkmk_params(ilert.url)))["alertKey"] == "db01"
    # an alert of another tool on the api source, whose key looks like a host of this site:
    # an API-type source's keys are cmk_ilert's only when they start with cmk/<site>/
    answer = requests.post(ilert.url + "/api/events", timeout=10, json={
        "integrationKey": KEY_API, "eventType": "ALERT", "summary": "other tool", "alertKey": "web01/memory"})
    assert answer.status_code == 202, answer.text
    for opened in ilert.alerts():
        ilert.accept_alert(opened["id"], "Jane Doe")
    run = sync(cmk, ilert, "--alert-source", source_id(ilert, KEY_API), "--alert-source", source_id(ilert))
    assert run.returncode == 0, run.output
    got = sorted((c["name"], c["args"][0]) for c in commands(live, 2))
    assert got == [("ACKNOWLEDGE_HOST_PROBLEM", "db01"), ("ACKNOWLEDGE_SVC_PROBLEM", "web01")]
    assert "2 open or resolved alerts of site mysite, 2 acknowledged" in run.lines[-1]
    assert not lines_with(run, "web01/memory"), run.output


def open_any(site: FakeSite, ilert: Any, ctx: Dict[str, str]) -> Dict[str, Any]:
    before = {a["id"] for a in ilert.alerts()}
    run = site.run(ctx)
    assert run.returncode == 0, run.output
    (new,) = [a for a in ilert.alerts() if a["id"] not in before]
    return new


def test_docs_say_what_is_assumed() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "sync.md").read_text(encoding="utf-8")
    assert "## Alert sources of type Checkmk" in text
    assert "assumed" in text and "--alert-source" in text


def test_a_responder_comment_reaches_the_object_of_a_checkmk_type_alert(cmk: FakeSite, ilert: Any,
                                                                       live: LivestatusStandIn) -> None:
    """Comment mirroring (sync/comments.py) finds the object of an alert iLert keyed, with its
    exact odd names, as acknowledgements do; once."""
    opened = open_checkmk(cmk, ilert, service("PROBLEM", checkmk_params(ilert.url), HOSTNAME=ODD_HOST,
                                              SERVICEDESC=ODD_SERVICE))
    ilert.comment_alert(opened["id"], "Jane Doe", "Looking at the log rotation")
    run = sync(cmk, ilert, "--alert-source", source_id(ilert))
    assert run.returncode == 0, run.output
    adds = [c for c in commands(live) if c["name"].startswith("ADD_")]
    assert len(adds) == 1, (adds, run.output)
    assert adds[0]["name"] == "ADD_SVC_COMMENT" and adds[0]["args"][:2] == [ODD_HOST, ODD_SERVICE], adds
    assert adds[0]["args"][3] == "iLert: Jane Doe"
    assert adds[0]["args"][4].startswith("iLert comment by Jane Doe: Looking at the log rotation (iLert alert %d"
                                         % opened["id"]), adds
    again = sync(cmk, ilert, "--alert-source", source_id(ilert))
    assert again.returncode == 0, again.output
    assert len([c for c in commands(live) if c["name"].startswith("ADD_")]) == 1
