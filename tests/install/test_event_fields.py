"""Issue 18 through the INSTALLED script: routing key templates, severity, services, runbook and
graph links, the ACK comment inside the ACCEPT.

The package is built and installed into a simulated site as in ``test_installed_release`` (same
release selection), the script runs as Checkmk runs it, and every event lands on the iLert
stand-in, where ``tests/conftest.py`` validates it against the ``Event`` schema derived from
iLert's OpenAPI document. Contexts carry what Checkmk puts there (labels, service levels, notes
URLs, contact groups, host tags) and hostile values: 64 KiB labels, unicode, ``$`` and braces.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

from tests.install.test_installed_release import artifacts, installed  # noqa: F401 - fixtures
from tests.support.contexts import api_params, checkmk_params, host, service
from tests.support.event_schema import SCHEMA, validate
from tests.support.site import FakeSite

pytestmark = pytest.mark.runtime

GOLDEN = json.loads((Path(__file__).resolve().parents[1] / "support" / "golden_events_before_18.json")
                    .read_text(encoding="utf-8"))
BIG = "x" * 65536


def bodies(standin: Any) -> List[Dict[str, Any]]:
    return [e["body"] for e in standin.log() if e["path"] == "/api/events"]


def alerts_of(standin: Any) -> List[Dict[str, Any]]:
    return [b for b in bodies(standin) if b["eventType"] == "ALERT"]


def run_ok(site: FakeSite, ctx: Dict[str, str]) -> str:
    run = site.run(ctx)
    assert run.returncode == 0, run.output
    assert "Traceback" not in run.output
    return run.output


# --- 1. one alert source, many teams ---------------------------------------------------------


def test_one_rule_routes_each_host_to_its_team_by_label(installed: FakeSite, standin) -> None:  # noqa: F811
    rule = api_params(standin.url, routing_key="$HOSTLABEL_team$", routing_key_fallback="team-ops")
    run_ok(installed, service("PROBLEM", rule, HOSTNAME="db01", HOSTLABEL_team="team-db", MICROTIME="1"))
    run_ok(installed, service("PROBLEM", rule, HOSTNAME="web01", HOSTLABEL_team="team-web", MICROTIME="2"))
    run_ok(installed, service("PROBLEM", rule, HOSTNAME="misc01", MICROTIME="3"))  # no label: the fallback
    keys = [(b["alertKey"], b["routingKey"]) for b in alerts_of(standin)]
    assert keys == [("cmk/mysite/db01/cpu load~3b45b3e380", "team-db"),
                    ("cmk/mysite/web01/cpu load~f26268fd97", "team-web"),
                    ("cmk/mysite/misc01/cpu load~cb02d3f0c6", "team-ops")]


def test_service_label_first_then_host_label(installed: FakeSite, standin) -> None:  # noqa: F811
    rule = api_params(standin.url, routing_key="$SERVICELABEL_owner$", routing_key_fallback="$HOSTLABEL_team$")
    run_ok(installed, service("PROBLEM", rule, SERVICELABEL_owner="dba", HOSTLABEL_team="team-web", MICROTIME="1"))
    run_ok(installed, service("PROBLEM", rule, SERVICEDESC="Disk", HOSTLABEL_team="team-web", MICROTIME="2"))
    assert [b["routingKey"] for b in alerts_of(standin)] == ["dba", "team-web"]


def test_template_that_yields_nothing_sends_no_routing_key(installed: FakeSite, standin) -> None:  # noqa: F811
    rule = api_params(standin.url, routing_key="team-$HOSTLABEL_team$")  # half-filled would route wrongly
    run_ok(installed, service("PROBLEM", rule, HOSTLABEL_team="   "))
    assert "routingKey" not in alerts_of(standin)[0]


@pytest.mark.parametrize("label, sent", [
    ("\u00e9quipe-\u30c7\u30fc\u30bf", "\u00e9quipe-\u30c7\u30fc\u30bf"),  # unicode as it is
    ("${team} $HOSTNAME$ {x}", "${team} $HOSTNAME$ {x}"),  # never expanded again
    ("ops\n\tteam\x07", "ops team"),  # one line, control characters gone
    (BIG, None),  # 64 KiB: not a routing key, the fallback (none here) applies
    ("y" * 256, None),
    ("y" * 255, "y" * 255),
    (" " * 30000 + "team-db" + "\n" * 30000, "team-db"),  # padding is not part of the value
])
def test_routing_key_values_are_bounded_and_sanitised(installed: FakeSite, standin, label, sent) -> None:  # noqa: F811
    rule = api_params(standin.url, routing_key="$HOSTLABEL_team$")
    run_ok(installed, service("PROBLEM", rule, HOSTLABEL_team=label))
    assert alerts_of(standin)[0].get("routingKey") == sent


def test_routing_by_folder_and_contact_group(installed: FakeSite, standin) -> None:  # noqa: F811
    rule = api_params(standin.url, routing_key="$HOSTFOLDER$", routing_key_fallback="$HOSTCONTACTGROUPNAMES$")
    run_ok(installed, host("PROBLEM", rule, HOSTTAGS="/wato/linux/db/ cmk-agent prod tcp", MICROTIME="1"))
    run_ok(installed, host("PROBLEM", rule, HOSTNAME="db02", HOSTTAGS="/wato/ cmk-agent",
                           HOSTCONTACTGROUPNAMES="dbas", MICROTIME="2"))
    assert [b["routingKey"] for b in alerts_of(standin)] == ["linux/db", "dbas"]


# --- 2. severity and impact -------------------------------------------------------------------


@pytest.mark.parametrize("what, fields, setting, expected", [
    ("service", {"SERVICESTATE": "CRITICAL"}, "auto", 2),
    ("service", {"SERVICESTATE": "CRITICAL", "SVC_SL": "20"}, "auto", 1),
    ("service", {"SERVICESTATE": "WARNING", "SVC_SL": "30"}, "auto", 1),
    ("service", {"SERVICESTATE": "WARNING", "SVC_SL": "10"}, "auto", 3),
    ("service", {"SERVICESTATE": "UNKNOWN", "HOST_SL": "20"}, "auto", 3),  # the host's level when the service has none
    ("service", {"SERVICESTATE": "UNKNOWN", "SVC_SL": "$SVC_SL$"}, "auto", 4),  # unresolved macro = no level
    ("service", {"SERVICESTATE": "CRITICAL", "SVC_SL": "9" * 64}, "auto", 2),  # absurd = no level
    ("host", {"HOSTSTATE": "DOWN"}, "auto", 2),
    ("host", {"HOSTSTATE": "UNREACHABLE", "HOST_SL": "20"}, "auto", 2),
    ("service", {"SERVICESTATE": "CRITICAL"}, "severity_4", 4),
    ("service", {"SERVICESTATE": "CRITICAL"}, "5", 5),  # a bare number (hand-written rule) works too
    ("service", {"SERVICESTATE": "CRITICAL", "SVC_SL": "30"}, "off", None),
])
def test_severity(installed: FakeSite, standin, what, fields, setting, expected) -> None:  # noqa: F811
    build = service if what == "service" else host
    run_ok(installed, build("PROBLEM", api_params(standin.url, ilert_severity=setting), **fields))
    assert alerts_of(standin)[0].get("severity") == expected


def test_services_from_labels_on_alert_only(installed: FakeSite, standin) -> None:  # noqa: F811
    rule = api_params(standin.url, ilert_services="$SERVICELABEL_ilert_service$,$HOSTLABEL_ilert_service$")
    labels = {"SERVICELABEL_ilert_service": "checkout, web-shop,\u30c7\u30fc\u30bf",
              "HOSTLABEL_ilert_service": "web-shop"}
    run_ok(installed, service("PROBLEM", rule, MICROTIME="1", **labels))
    run_ok(installed, service("ACKNOWLEDGEMENT", rule, MICROTIME="2", **labels))
    run_ok(installed, service("RECOVERY", rule, MICROTIME="3", **labels))
    sent = bodies(standin)
    assert sent[0]["services"] == [{"alias": "checkout"}, {"alias": "web-shop"}, {"alias": "\u30c7\u30fc\u30bf"}]
    assert all("services" not in b for b in sent[1:]) and len(sent) == 4  # ACCEPT, COMMENT, RESOLVE


def test_services_hostile_values(installed: FakeSite, standin) -> None:  # noqa: F811
    rule = api_params(standin.url, ilert_services="$SERVICELABEL_a$,$SERVICELABEL_b$,$SERVICELABEL_c$")
    run_ok(installed, service("PROBLEM", rule, SERVICELABEL_a=BIG, SERVICELABEL_b="${x} $HOSTNAME$",
                              SERVICELABEL_c=",".join("s%d" % i for i in range(40))))
    aliases = [s["alias"] for s in alerts_of(standin)[0]["services"]]
    assert aliases == ["${x} $HOSTNAME$"] + ["s%d" % i for i in range(19)]  # 64 KiB dropped, 20 at most


def test_empty_services_template_sends_none(installed: FakeSite, standin) -> None:  # noqa: F811
    run_ok(installed, service("PROBLEM", api_params(standin.url, ilert_services="$SERVICELABEL_nothing$")))
    assert "services" not in alerts_of(standin)[0]


# --- 3. what the responder needs on the phone -----------------------------------------------


def test_runbook_and_graph_links(installed: FakeSite, standin) -> None:  # noqa: F811
    rule = api_params(standin.url, url_prefix_automatic="https", runbook_links="True", graph_link="True")
    run_ok(installed, service("PROBLEM", rule, SERVICEDESC="Disk /var \u00e9",
                              SERVICENOTESURL="https://wiki.example.com/run/$HOSTNAME$/$SERVICEDESC$",
                              SERVICEACTIONURL="javascript:alert(1)", HOSTNOTESURL="https://wiki.example.com/" + BIG,
                              HOSTACTIONURL="http://act.example.com/restart?host=web01"))
    links = alerts_of(standin)[0]["links"]
    assert links[2:] == [
        {"href": "https://wiki.example.com/run/web01/Disk%20%2Fvar%20%C3%A9",
         "text": "Notes for service Disk /var \u00e9"},
        {"href": "http://act.example.com/restart?host=web01", "text": "Action for host web01"},
        {"href": "https://cmk.example.net/mysite/check_mk/view.py?view_name=service_graphs&siteopt=mysite&host=web01"
                 "&service=Disk%20%2Fvar%20%C3%A9", "text": "Graphs of Disk /var \u00e9 in Checkmk"},
    ]
    assert [link["text"] for link in links[:2]] == ["Host web01 in Checkmk", "Service Disk /var \u00e9 in Checkmk"]


def test_host_graph_link(installed: FakeSite, standin) -> None:  # noqa: F811
    run_ok(installed, host("PROBLEM", api_params(standin.url, url_prefix_automatic="http", graph_link="True")))
    assert alerts_of(standin)[0]["links"][-1] == {
        "href": "http://cmk.example.net/mysite/check_mk/view.py?view_name=host_graphs&siteopt=mysite&host=db01",
        "text": "Graphs of host db01 in Checkmk"}


def test_ack_comment_travels_in_the_accept(installed: FakeSite, standin) -> None:  # noqa: F811
    rule = api_params(standin.url, accept_comments="True")
    run_ok(installed, service("PROBLEM", rule, MICROTIME="1"))
    output = run_ok(installed, service("ACKNOWLEDGEMENT", rule, MICROTIME="2"))
    sent = bodies(standin)
    assert [b["eventType"] for b in sent] == ["ALERT", "ACCEPT"], output  # one request, not two
    assert sent[1]["comments"] == [{"creator": "Carol Admin", "content": "Working on it"}]
    assert standin.alerts()[0]["status"] == "ACCEPTED"


def test_ack_on_an_accepted_alert_still_delivers_the_comment(installed: FakeSite, standin) -> None:  # noqa: F811
    rule = api_params(standin.url, accept_comments="True")
    run_ok(installed, service("PROBLEM", rule, MICROTIME="1"))
    run_ok(installed, service("ACKNOWLEDGEMENT", rule, MICROTIME="2"))
    output = run_ok(installed, service("ACKNOWLEDGEMENT", rule, MICROTIME="3", NOTIFICATIONCOMMENT="Still on it",
                                       SERVICEACKCOMMENT="Still on it"))
    sent = bodies(standin)
    assert [b["eventType"] for b in sent] == ["ALERT", "ACCEPT", "ACCEPT", "COMMENT"], output
    assert sent[3]["comments"] == [{"creator": "Carol Admin", "content": "Still on it"}]
    assert sent[3]["alertKey"] == sent[2]["alertKey"]
    assert "ALREADY_ACCEPTED" in output and "COMMENT cmk/mysite/web01/cpu load~f26268fd97: delivered" in output
    contents = [c["content"] for c in standin.alerts()[0]["comments"]]
    assert contents == ["Working on it", "Still on it"]


def test_ack_on_an_accepted_alert_without_the_outbox(installed: FakeSite, standin) -> None:  # noqa: F811
    rule = api_params(standin.url, accept_comments="True", outbox="False")
    run_ok(installed, service("PROBLEM", rule, MICROTIME="1"))
    run_ok(installed, service("ACKNOWLEDGEMENT", rule, MICROTIME="2"))
    run_ok(installed, service("ACKNOWLEDGEMENT", rule, MICROTIME="3"))
    assert [b["eventType"] for b in bodies(standin)] == ["ALERT", "ACCEPT", "ACCEPT", "COMMENT"]


# --- 4. rules saved before: today's payload ---------------------------------------------------


@pytest.mark.parametrize("name", sorted(GOLDEN["bodies"]))
def test_rules_without_the_new_options_send_what_they_sent_before(installed: FakeSite, standin, name) -> None:  # noqa: F811,E501
    ctx = dict(GOLDEN["contexts"][name])
    ctx["PARAMETER_ILERT_API_URL"] = standin.url
    run_ok(installed, ctx)
    sent = [dict(e["body"]) for e in standin.log() if e["method"] == "POST"]
    expected = GOLDEN["bodies"][name]
    if name.startswith("api"):
        for body in sent:
            body.pop("integrationKey")
        assert sent == expected
    else:  # the context as posted: same parameters forwarded, nothing new
        assert len(sent) == len(expected)
        for body, before in zip(sent, expected):
            assert sorted(k for k in body if k.startswith("PARAMETER")) == \
                sorted(k for k in before if k.startswith("PARAMETER"))
            assert {k: v for k, v in body.items() if k in before and k != "PARAMETER_ILERT_API_URL"} == \
                {k: v for k, v in before.items() if k != "PARAMETER_ILERT_API_URL"}


def test_checkmk_source_type_carries_none_of_the_new_fields(installed: FakeSite, standin) -> None:  # noqa: F811
    rule = checkmk_params(standin.url, routing_key="$HOSTLABEL_team$", ilert_severity="auto",
                          ilert_services="$SERVICELABEL_team$", runbook_links="True", graph_link="True")
    run_ok(installed, service("PROBLEM", rule, HOSTLABEL_team="team-db"))
    (entry,) = [e for e in standin.log() if e["method"] == "POST"]
    assert "/checkmk-ext/" in entry["path"]
    parameters = sorted(k for k in entry["body"] if k.startswith("PARAMETER"))
    assert parameters == ["PARAMETER_ILERT_PRIORITY", "PARAMETER_ILERT_SUMMARY_SERVICE"]
    assert entry["body"]["HOSTLABEL_team"] == "team-db"  # the context itself travels unchanged


def test_every_event_of_this_module_was_schema_checked() -> None:
    """The observer in tests/conftest.py saw events and checks them against the derived schema."""
    from tests.conftest import SCHEMA_SEEN

    assert SCHEMA["x-openapi-version"] == "v2.2026.3-r.4"
    assert not validate({"integrationKey": "k", "eventType": "ALERT", "summary": "s", "severity": 1,
                         "services": [{"alias": "a"}], "routingKey": "r"})
    if not SCHEMA_SEEN:
        pytest.skip("run with the other tests of this module (no events seen in this process)")
    assert all(not validate(body) for body in SCHEMA_SEEN)


def _context_file(path: Path, ctx: Dict[str, str]) -> str:
    path.write_text("".join("%s=%s\n" % (k, v) for k, v in ctx.items()), encoding="utf-8")
    return str(path)


def test_dry_run_shows_how_the_templates_came_out(installed: FakeSite, tmp_path: Path) -> None:  # noqa: F811
    rule = api_params("https://api.ilert.invalid", routing_key="$HOSTLABEL_team$", ilert_severity="auto",
                      ilert_services="$SERVICELABEL_ilert_service$")
    teams = {}
    for team in ("team-db", "team-web"):
        path = _context_file(tmp_path / team, service("PROBLEM", rule, HOSTLABEL_team=team, SVC_SL="20",
                                                      SERVICELABEL_ilert_service="checkout"))
        run = installed.cli("dry-run", path)
        assert run.returncode == 0, run.output
        teams[team] = json.loads(run.stdout)["body"]["routingKey"]
        key = "cmk/mysite/web01/cpu load~f26268fd97"
        assert "ALERT %s: routing key '%s' from routing_key '$HOSTLABEL_team$'" % (key, team) in run.stderr
        assert "severity 1 (state CRITICAL, service level 20)" in run.stderr
        assert "services checkout from ilert_services '$SERVICELABEL_ilert_service$'" in run.stderr
    assert teams == {"team-db": "team-db", "team-web": "team-web"}
    run = installed.cli("dry-run", _context_file(tmp_path / "none", service("PROBLEM", rule)))
    assert run.returncode == 0 and "routingKey" not in json.loads(run.stdout)["body"]
    assert ("no routing key: routing_key '$HOSTLABEL_team$': $HOSTLABEL_team$ is empty; the alert source's own "
            "escalation policy applies") in run.stderr
    assert "no services: ilert_services '$SERVICELABEL_ilert_service$' came out empty" in run.stderr


def test_bulk_notification_routes_each_context_by_its_own_labels(installed: FakeSite, standin) -> None:  # noqa: F811
    rule = api_params(standin.url, routing_key="$HOSTLABEL_team$", routing_key_fallback="team-ops")
    contexts = [host("PROBLEM", {}, HOSTNAME="h%d" % i, MICROTIME=str(1000 + i), **labels)
                for i, labels in enumerate(({"HOSTLABEL_team": "team-db"}, {"HOSTLABEL_team": "team-web"}, {}))]
    run = installed.run(bulk=contexts, bulk_parameters=rule)
    assert run.returncode == 0, run.output
    assert sorted((b["alertKey"], b["routingKey"]) for b in alerts_of(standin)) == [
        ("cmk/mysite/h0", "team-db"), ("cmk/mysite/h1", "team-web"), ("cmk/mysite/h2", "team-ops")]
