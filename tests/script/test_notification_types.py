"""Every notification type, host and service, through the real script, in both wire formats.

The stand-in is the judge: what it received (request log) and what it made of it (alert
state). The `api` format is checked field by field; the `checkmk` format by what the
posted context carries and by the alert iLert's Checkmk source would open.
"""

from __future__ import annotations

from typing import Callable, Dict

import pytest

from tests.script.util import (
    CHECKMK_PATH,
    FORMATS,
    assert_clean,
    event_requests,
    event_type_of,
    key_of,
    microtime,
    params,
)
from tests.support.contexts import BASE_HOST, BASE_SERVICE, host, service
from tests.support.site import KEY_API, KEY_CMK, PROXY_PASSWORD

pytestmark = pytest.mark.runtime

BUILDERS: Dict[str, Callable[..., Dict[str, str]]] = {"host": host, "service": service}
OBJECTS = ("host", "service")


def expected_key(obj: str, hostname: str = "", servicedesc: str = "") -> str:
    base = BASE_SERVICE if obj == "service" else BASE_HOST
    from tests.support.contexts import alert_key

    return alert_key(base["OMD_SITE"], hostname or base["HOSTNAME"],
                     (servicedesc or base["SERVICEDESC"]) if obj == "service" else "")


def only_alert(standin):
    alerts = standin.alerts()
    assert len(alerts) == 1, alerts
    return alerts[0]


# --- PROBLEM -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("obj", OBJECTS)
def test_problem_opens_an_alert(site, standin, fmt, obj):
    run = site.run(BUILDERS[obj]("PROBLEM", params(fmt, standin.url)))
    line = assert_clean(run, 0)
    assert "delivered" in line
    assert expected_key(obj) in line
    sent = event_requests(standin)
    assert len(sent) == 1
    assert sent[0]["method"] == "POST"
    assert sent[0]["headers"].get("User-Agent", "").startswith("cmk_ilert/")
    alert = only_alert(standin)
    assert alert["status"] == "PENDING"
    assert alert["priority"] == "HIGH"  # CRITICAL service / DOWN host under auto
    if fmt == "api":
        assert sent[0]["path"] == "/api/events"
        body = sent[0]["body"]
        assert body["eventType"] == "ALERT"
        assert body["alertKey"] == expected_key(obj)
        assert body["integrationKey"] == KEY_API
        assert body["summary"].startswith("PROBLEM")
        assert body["details"]
        assert alert["key"] == expected_key(obj)
    else:
        assert sent[0]["path"] == CHECKMK_PATH + KEY_CMK
        assert sent[0]["body"]["NOTIFICATIONTYPE"] == "PROBLEM"
        assert sent[0]["body"]["HOSTNAME"] == BUILDERS[obj]("PROBLEM", {})["HOSTNAME"]


CRIT = {"SERVICESTATE": "CRITICAL", "SERVICESHORTSTATE": "CRIT"}
WARN = {"SERVICESTATE": "WARNING", "SERVICESHORTSTATE": "WARN"}
UNKN = {"SERVICESTATE": "UNKNOWN", "SERVICESHORTSTATE": "UNKN"}
DOWN = {"HOSTSTATE": "DOWN", "HOSTSHORTSTATE": "DOWN"}
UNREACH = {"HOSTSTATE": "UNREACHABLE", "HOSTSHORTSTATE": "UNRE"}


@pytest.mark.parametrize(
    "fmt, obj, state, configured, expected",
    [
        ("api", "service", CRIT, None, "HIGH"),
        ("api", "service", WARN, None, "LOW"),
        ("api", "service", UNKN, None, "LOW"),
        ("api", "host", DOWN, None, "HIGH"),
        ("api", "host", UNREACH, None, "HIGH"),
        ("api", "service", WARN, "auto", "LOW"),
        ("api", "service", WARN, "HIGH", "HIGH"),
        ("api", "host", DOWN, "LOW", "LOW"),
        ("checkmk", "service", WARN, None, "LOW"),
        ("checkmk", "host", UNREACH, None, "HIGH"),
        ("checkmk", "service", CRIT, "LOW", "LOW"),
    ],
)
def test_problem_priority(site, standin, fmt, obj, state, configured, expected):
    extra = {"ilert_priority": configured} if configured else {}
    run = site.run(BUILDERS[obj]("PROBLEM", params(fmt, standin.url, **extra), **state))
    assert_clean(run, 0)
    body = event_requests(standin)[0]["body"]
    if fmt == "api":
        assert body["priority"] == expected
    else:
        assert body["PARAMETER_ILERT_PRIORITY"] == expected
    assert only_alert(standin)["priority"] == expected


# --- RECOVERY, ACKNOWLEDGEMENT -----------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("obj", OBJECTS)
def test_recovery_resolves(site, standin, fmt, obj):
    build = BUILDERS[obj]
    assert_clean(site.run(build("PROBLEM", params(fmt, standin.url))), 0)
    run = site.run(build("RECOVERY", params(fmt, standin.url), MICROTIME=microtime(1)))
    line = assert_clean(run, 0)
    assert "delivered" in line and "RESOLVE" in line
    sent = event_requests(standin)
    assert len(sent) == 2
    if fmt == "api":
        body = sent[1]["body"]
        assert body["eventType"] == "RESOLVE"
        assert body["alertKey"] == expected_key(obj)
        assert "priority" not in body and "routingKey" not in body
    else:
        assert sent[1]["body"]["NOTIFICATIONTYPE"] == "RECOVERY"
    assert only_alert(standin)["status"] == "RESOLVED"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("obj", OBJECTS)
def test_acknowledgement_accepts_with_author_and_comment(site, standin, fmt, obj):
    build = BUILDERS[obj]
    assert_clean(site.run(build("PROBLEM", params(fmt, standin.url))), 0)
    ack = build("ACKNOWLEDGEMENT", params(fmt, standin.url), MICROTIME=microtime(1))
    run = site.run(ack)
    line = assert_clean(run, 0, lines=2 if fmt == "api" else 1)
    assert "ACCEPT" in line and "delivered" in line
    alert = only_alert(standin)
    assert alert["status"] == "ACCEPTED"
    sent = event_requests(standin)[1]
    if fmt == "api":
        # api + comment_events (default on): ACCEPT, then the comment as its own COMMENT
        # event, so that it also reaches an alert somebody accepted in iLert already.
        body = sent["body"]
        assert body["eventType"] == "ACCEPT"
        assert body["alertKey"] == expected_key(obj)
        assert "comments" not in body
        comment = event_requests(standin)[2]["body"]
        assert comment["eventType"] == "COMMENT" and comment["alertKey"] == expected_key(obj)
        author = ack.get("NOTIFICATIONAUTHORALIAS") or ack["NOTIFICATIONAUTHOR"]
        assert comment["comments"] == [{"creator": author, "content": ack["NOTIFICATIONCOMMENT"]}]
        assert "COMMENT" in run.lines[1] and "delivered" in run.lines[1]
    else:
        assert sent["body"]["NOTIFICATIONTYPE"] == "ACKNOWLEDGEMENT"
        assert sent["body"]["NOTIFICATIONCOMMENT"] == ack["NOTIFICATIONCOMMENT"]
        assert sent["body"]["NOTIFICATIONAUTHOR"] == ack["NOTIFICATIONAUTHOR"]


def test_acknowledgement_comment_falls_back_to_ack_variables(site, standin):
    """Without NOTIFICATIONAUTHOR/COMMENT the ...ACKAUTHOR/...ACKCOMMENT variables travel."""
    assert_clean(site.run(service("PROBLEM", params("api", standin.url))), 0)
    ack = service("ACKNOWLEDGEMENT", params("api", standin.url), MICROTIME=microtime(1))
    for name in ("NOTIFICATIONAUTHOR", "NOTIFICATIONAUTHORALIAS", "NOTIFICATIONCOMMENT"):
        del ack[name]
    ack.update(SERVICEACKAUTHOR="dave", SERVICEACKCOMMENT="Disk swap scheduled")
    assert_clean(site.run(ack), 0, lines=2)
    body = event_requests(standin)[2]["body"]
    assert body["eventType"] == "COMMENT"
    assert body["comments"] == [{"creator": "dave", "content": "Disk swap scheduled"}]


def test_acknowledgement_comment_travels_with_accept_when_comment_events_is_off(site, standin):
    assert_clean(site.run(service("PROBLEM", params("api", standin.url, comment_events="False"))), 0)
    ack = service("ACKNOWLEDGEMENT", params("api", standin.url, comment_events="False"), MICROTIME=microtime(1))
    assert_clean(site.run(ack), 0)
    sent = event_requests(standin)
    assert [e["body"]["eventType"] for e in sent] == ["ALERT", "ACCEPT"]
    assert sent[1]["body"]["comments"] == [{"creator": "Carol Admin", "content": "Working on it"}]


# --- CUSTOM ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("obj", OBJECTS)
def test_custom_is_ignored_by_default(site, standin, fmt, obj):
    run = site.run(BUILDERS[obj]("CUSTOM", params(fmt, standin.url)))
    line = assert_clean(run, 0)
    assert "ignored" in line.lower()
    assert standin.log() == []
    assert site.queue() == [] and site.dead() == []


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("obj", OBJECTS)
def test_custom_with_forward_custom_opens_an_alert(site, standin, fmt, obj):
    ctx = BUILDERS[obj]("CUSTOM", params(fmt, standin.url, forward_custom="True"),
                        NOTIFICATIONAUTHOR="cmkadmin", NOTIFICATIONCOMMENT="test from GUI")
    line = assert_clean(site.run(ctx), 0)
    assert "delivered" in line
    alert = only_alert(standin)
    assert alert["status"] == "PENDING"
    body = event_requests(standin)[0]["body"]
    if fmt == "api":
        assert body["eventType"] == "ALERT"
        assert body["alertKey"] == expected_key(obj)
    else:
        # iLert's Checkmk source opens alerts for PROBLEM only
        assert body["NOTIFICATIONTYPE"] == "PROBLEM"


# --- types that are never sent ------------------------------------------------------------

IGNORED_TYPES = (
    "FLAPPINGSTART", "FLAPPINGSTOP", "FLAPPINGDISABLED",
    "DOWNTIMESTART", "DOWNTIMEEND", "DOWNTIMECANCELLED",
    "ALERTHANDLER", "ALERTHANDLER (OK)", "ALERTHANDLER (CRITICAL)",
    "SOMETHINGNEW", "",
)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("obj", OBJECTS)
@pytest.mark.parametrize("ntype", IGNORED_TYPES)
def test_types_without_an_ilert_event_send_nothing(site, standin, fmt, obj, ntype):
    """With comment_events off; the checkmk format ignores these types whatever it says
    (test_checkmk_format_ignores_downtime_and_flapping, and tests/script/test_comment_events.py)."""
    ctx = BUILDERS[obj](ntype, params(fmt, standin.url, forward_custom="True", comment_events="False"),
                        NOTIFICATIONAUTHOR="cmkadmin", NOTIFICATIONCOMMENT="2H Downtime")
    run = site.run(ctx)
    line = assert_clean(run, 0)
    assert "ignored" in line.lower()
    assert standin.log() == []
    assert site.queue() == [] and site.dead() == []


@pytest.mark.parametrize("obj", OBJECTS)
@pytest.mark.parametrize("ntype", IGNORED_TYPES[:6])
def test_checkmk_format_ignores_downtime_and_flapping(site, standin, obj, ntype):
    """iLert's Checkmk alert source ignores them (iLert's Checkmk guide): comment_events
    does not apply to the checkmk format."""
    ctx = BUILDERS[obj](ntype, params("checkmk", standin.url, comment_events="True"),
                        NOTIFICATIONAUTHOR="cmkadmin", NOTIFICATIONCOMMENT="2H Downtime")
    line = assert_clean(site.run(ctx), 0)
    assert "ignored" in line.lower() and "type Checkmk" in line
    assert standin.log() == []


def test_missing_notification_type_sends_nothing(site, standin):
    ctx = service("PROBLEM", params("api", standin.url))
    del ctx["NOTIFICATIONTYPE"]
    assert_clean(site.run(ctx), 0)
    assert standin.log() == []


# --- alert key ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_alert_key_is_case_folded_and_objects_differing_in_case_stay_apart(site, standin, fmt):
    """Issue 20: ``WEB01.Example.NET/CPU Load`` and ``web01.example.net/cpu load`` are two Checkmk
    objects; iLert compares keys case-insensitively, so the first key carries a digest of its
    exact names, and the RECOVERY of the second never resolves the first one's alert (api)."""
    upper = service("PROBLEM", params(fmt, standin.url), HOSTNAME="WEB01.Example.NET", SERVICEDESC="CPU Load",
                    OMD_SITE="MySite")
    line = assert_clean(site.run(upper), 0)
    key = "cmk/mysite/web01.example.net/cpu load~"
    assert key in line
    if fmt == "api":
        assert event_requests(standin)[0]["body"]["alertKey"].startswith(key)
    lower = service("RECOVERY", params(fmt, standin.url), HOSTNAME="web01.example.net", SERVICEDESC="cpu load",
                    OMD_SITE="mysite", MICROTIME=microtime(1))
    line = assert_clean(site.run(lower), 0)
    assert "cmk/mysite/web01.example.net/cpu load:" in line  # already folded: no digest
    if fmt == "api":
        assert only_alert(standin)["status"] == "PENDING"


@pytest.mark.parametrize("fmt, problem_id", [("api", "0"), ("api", "171"), ("checkmk", "0")])
def test_recovery_problem_id_does_not_matter(site, standin, fmt, problem_id):
    assert_clean(site.run(service("PROBLEM", params(fmt, standin.url))), 0)
    rec = service("RECOVERY", params(fmt, standin.url), SERVICEPROBLEMID=problem_id, MICROTIME=microtime(1))
    assert_clean(site.run(rec), 0)
    assert only_alert(standin)["status"] == "RESOLVED"
    if fmt == "api":
        keys = [e["body"]["alertKey"] for e in event_requests(standin)]
        assert keys[0] == keys[1] and "171" not in keys[0]


@pytest.mark.parametrize("fmt", FORMATS)
def test_address_change_between_problem_and_recovery(site, standin, fmt):
    assert_clean(site.run(host("PROBLEM", params(fmt, standin.url), HOSTADDRESS="10.0.0.21")), 0)
    rec = host("RECOVERY", params(fmt, standin.url), HOSTADDRESS="192.168.7.9", MICROTIME=microtime(1))
    assert_clean(site.run(rec), 0)
    assert only_alert(standin)["status"] == "RESOLVED"
    if fmt == "api":
        for entry in event_requests(standin):
            assert "10.0.0.21" not in entry["body"]["alertKey"]
            assert "192.168" not in entry["body"]["alertKey"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("obj", OBJECTS)
def test_recovery_without_open_alert_counts_as_delivered(site, standin, fmt, obj):
    run = site.run(BUILDERS[obj]("RECOVERY", params(fmt, standin.url)))
    assert_clean(run, 0)
    sent = event_requests(standin)
    assert len(sent) == 1
    assert sent[0]["status"] == 400
    code = sent[0]["response"]["code"]
    assert code == ("NO_OPEN_ALERT_WITH_KEY" if fmt == "api" else "NONE_OPEN_FOR_KEY")
    assert site.queue() == [] and site.dead() == []
    assert standin.alerts() == []


@pytest.mark.parametrize("fmt, obj", [("api", "service"), ("checkmk", "host")])
def test_second_acknowledgement_counts_as_delivered(site, standin, fmt, obj):
    build = BUILDERS[obj]
    assert_clean(site.run(build("PROBLEM", params(fmt, standin.url))), 0)
    assert_clean(site.run(build("ACKNOWLEDGEMENT", params(fmt, standin.url), MICROTIME=microtime(1))), 0, lines=None)
    run = site.run(build("ACKNOWLEDGEMENT", params(fmt, standin.url), MICROTIME=microtime(2),
                         NOTIFICATIONCOMMENT="still on it"))
    assert_clean(run, 0, lines=None)
    sent = [e for e in event_requests(standin) if event_type_of(e) != "COMMENT"]
    assert len(sent) == 3
    assert sent[2]["status"] == 400
    assert "ALREADY_ACCEPTED" in sent[2]["response"]["code"]
    assert site.queue() == [] and site.dead() == []
    alert = only_alert(standin)
    assert alert["status"] == "ACCEPTED"
    if fmt == "api":  # the second comment still reaches the accepted alert, as a COMMENT event
        assert any(c["content"] == "still on it" for c in alert["comments"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_notification_for_two_contacts_is_delivered_once(site, standin, fmt):
    """Checkmk calls the script once per contact with otherwise identical contexts."""
    first = service("PROBLEM", params(fmt, standin.url), CONTACTNAME="alice", CONTACTEMAIL="alice@example.net")
    second = dict(first, CONTACTNAME="bob", CONTACTEMAIL="bob@example.net")
    assert_clean(site.run(first), 0)
    run = site.run(second)
    assert_clean(run, 0)
    assert len(event_requests(standin)) == 1


# --- links -------------------------------------------------------------------------------

MANUAL = "https://cmk.example.net/mysite/check_mk/"
URL_PREFIX_SHAPES = {
    "2.0-2.3 automatic https": ({"PARAMETER_URL_PREFIX_AUTOMATIC": "https"}, "https://cmk.example.net/mysite"),
    "2.0-2.3 automatic http": ({"PARAMETER_URL_PREFIX_AUTOMATIC": "http"}, "http://cmk.example.net/mysite"),
    "2.0-2.3 manual": ({"PARAMETER_URL_PREFIX_MANUAL": MANUAL}, "https://cmk.example.net/mysite"),
    "2.0-2.3 manual without check_mk": ({"PARAMETER_URL_PREFIX_MANUAL": "https://cmk.example.net/mysite"},
                                        "https://cmk.example.net/mysite"),
    "2.4 automatic_https": ({"PARAMETER_URL_PREFIX_1": "automatic_https"}, "https://cmk.example.net/mysite"),
    "2.4 automatic_http with empty _2": ({"PARAMETER_URL_PREFIX_1": "automatic_http", "PARAMETER_URL_PREFIX_2": ""},
                                         "http://cmk.example.net/mysite"),
    "2.4 manual": ({"PARAMETER_URL_PREFIX_1": "manual", "PARAMETER_URL_PREFIX_2": MANUAL},
                   "https://cmk.example.net/mysite"),
    "2.0 tab-joined manual": ({"PARAMETER_URL_PREFIX": "manual\t" + MANUAL}, "https://cmk.example.net/mysite"),
    "2.1-2.3 tuple manual": ({"PARAMETER_URL_PREFIX": "manual\t" + MANUAL, "PARAMETER_URL_PREFIX_1": "manual",
                              "PARAMETER_URL_PREFIX_2": MANUAL}, "https://cmk.example.net/mysite"),
}


@pytest.mark.parametrize(
    "obj, shape",
    [("service", shape) for shape in URL_PREFIX_SHAPES] + [("host", "2.0-2.3 automatic https"), ("host", "2.4 manual")],
)
def test_links_for_every_url_prefix_shape(site, standin, obj, shape):
    prefix_params, base = URL_PREFIX_SHAPES[shape]
    ctx = BUILDERS[obj]("PROBLEM", params("api", standin.url))
    ctx.update(prefix_params)
    assert_clean(site.run(ctx), 0)
    links = event_requests(standin)[0]["body"].get("links")
    expected = [base + ctx["HOSTURL"]]
    if obj == "service":
        expected.append(base + ctx["SERVICEURL"])
    assert links is not None, "no links for %s" % shape
    assert [link["href"] for link in links] == expected
    assert all(link.get("text") for link in links)
    assert only_alert(standin)["links"] == links


def test_no_url_prefix_no_links(site, standin):
    assert_clean(site.run(service("PROBLEM", params("api", standin.url))), 0)
    assert "links" not in event_requests(standin)[0]["body"]


@pytest.mark.parametrize("shape", sorted(URL_PREFIX_SHAPES))
def test_checkmk_format_carries_the_url_prefix_as_the_rule_holds_it(site, standin, shape):
    """As Checkmk's built-in method sends it: iLert builds its links back to Checkmk (and its own
    two-way sync) from the prefix, MONITORING_HOST, OMD_SITE and HOSTURL/SERVICEURL."""
    values, _ = URL_PREFIX_SHAPES[shape]
    ctx = service("PROBLEM", dict(params("checkmk", standin.url), **values))
    assert_clean(site.run(ctx), 0)
    body = event_requests(standin)[0]["body"]
    for name, value in values.items():
        assert body[name] == value
    for name in ("SERVICEURL", "HOSTURL", "MONITORING_HOST", "OMD_SITE", "HOSTNAME", "SERVICEDESC",
                 "SERVICEPROBLEMID", "LASTSERVICEPROBLEMID"):
        assert body[name] == ctx[name]


def test_checkmk_format_sends_the_native_agent_header(site, standin):
    """Checkmk's built-in method sends "Agent: checkmk/extension/1.0" (cmk/notification_plugins/ilert.py)."""
    assert_clean(site.run(service("PROBLEM", params("checkmk", standin.url))), 0)
    headers = event_requests(standin)[0]["headers"]
    assert headers.get("Agent") == "checkmk/extension/1.0"
    assert headers.get("User-Agent", "").startswith("cmk_ilert/")


# --- customDetails, labels, routingKey -----------------------------------------------------


@pytest.mark.parametrize("obj", OBJECTS)
def test_custom_details(site, standin, obj):
    ctx = BUILDERS[obj]("PROBLEM", params("api", standin.url))
    assert_clean(site.run(ctx), 0)
    details = event_requests(standin)[0]["body"]["customDetails"]
    pre = "SERVICE" if obj == "service" else "HOST"
    assert details["site"] == ctx["OMD_SITE"]
    assert details["host"] == ctx["HOSTNAME"]
    assert details["host_address"] == ctx["HOSTADDRESS"]
    assert details["state"] == ctx[pre + "STATE"]
    assert details["problem_id"] == ctx[pre + "PROBLEMID"]
    assert details["notification_type"] == "PROBLEM"
    if obj == "service":
        assert details["service"] == ctx["SERVICEDESC"]
        assert details["perfdata"] == ctx["SERVICEPERFDATA"]
    else:
        assert "service" not in details
    for value in details.values():
        assert PROXY_PASSWORD not in str(value) and KEY_API not in str(value)
    assert only_alert(standin)["customDetails"] == details


@pytest.mark.parametrize("obj", OBJECTS)
def test_labels(site, standin, obj):
    ctx = BUILDERS[obj]("PROBLEM", params("api", standin.url), **{
        "HOSTLABEL_cmk/os_family": "linux", "HOSTLABEL_env": "prod", "SERVICELABEL_team": "web",
        "SERVICELABEL_env": "staging"})
    assert_clean(site.run(ctx), 0)
    labels = event_requests(standin)[0]["body"]["labels"]
    if obj == "service":
        # a service label wins over the host label of the same name
        assert labels == {"cmk/os_family": "linux", "env": "staging", "team": "web"}
    else:
        assert labels == {"cmk/os_family": "linux", "env": "prod"}


def test_routing_key_on_alert_only(site, standin):
    assert_clean(site.run(service("PROBLEM", params("api", standin.url, routing_key="team-web"))), 0)
    ack = service("ACKNOWLEDGEMENT", params("api", standin.url, routing_key="team-web"), MICROTIME=microtime(1))
    assert_clean(site.run(ack), 0, lines=2)
    rec = service("RECOVERY", params("api", standin.url, routing_key="team-web"), MICROTIME=microtime(2))
    assert_clean(site.run(rec), 0)
    bodies = [e["body"] for e in event_requests(standin) if e["body"]["eventType"] != "COMMENT"]
    assert [b["eventType"] for b in bodies] == ["ALERT", "ACCEPT", "RESOLVE"]
    assert bodies[0]["routingKey"] == "team-web"
    assert "routingKey" not in bodies[1] and "routingKey" not in bodies[2]


def test_no_routing_key_by_default(site, standin):
    assert_clean(site.run(service("PROBLEM", params("api", standin.url))), 0)
    assert "routingKey" not in event_requests(standin)[0]["body"]


# --- checkmk format: no secrets in the posted context ---------------------------------------


KEY_SHAPES = {
    "2.1-2.3": lambda key: {"PARAMETER_ILERT_API_KEY": "password\t" + key, "PARAMETER_ILERT_API_KEY_1": "password",
                            "PARAMETER_ILERT_API_KEY_2": key},
    "2.4 FormSpec": lambda key: {
        "PARAMETER_ILERT_API_KEY_1": "cmk_postprocessed", "PARAMETER_ILERT_API_KEY_2": "explicit_password",
        "PARAMETER_ILERT_API_KEY_3": "uuid0b7f7c1e-6f5d-4c1b-9f1a-3c2d1e0f9a8b\t" + key,
        "PARAMETER_ILERT_API_KEY_3_1": "uuid0b7f7c1e-6f5d-4c1b-9f1a-3c2d1e0f9a8b", "PARAMETER_ILERT_API_KEY_3_2": key},
}


@pytest.mark.parametrize("shape", list(KEY_SHAPES))
def test_checkmk_format_posts_no_secret(site, standin, auth_proxy, shape):
    proxy_url = auth_proxy.url_with("proxyuser", PROXY_PASSWORD)
    ctx = service("PROBLEM", params("checkmk", standin.url, proxy_url=proxy_url, routing_key="team-web",
                                    ilert_priority="auto"))
    for name in [k for k in ctx if k.startswith("PARAMETER_ILERT_API_KEY")]:
        del ctx[name]
    ctx.update(KEY_SHAPES[shape](KEY_CMK))
    # context values that happen to contain a secret must stay home as well
    ctx["HOSTNOTES"] = "key is " + KEY_CMK
    ctx["SERVICENOTES"] = "proxy via " + proxy_url
    ctx["HOST_PASSWORD_HINT"] = PROXY_PASSWORD
    run = site.run(ctx)
    assert_clean(run, 0)
    sent = event_requests(standin)
    assert len(sent) == 1
    assert sent[0]["path"] == CHECKMK_PATH + KEY_CMK  # the key travels in the path only
    body = sent[0]["body"]
    assert not [k for k in body if k.startswith("PARAMETER_ILERT_API_KEY")]
    assert not [k for k in body if k.startswith("PARAMETER_PROXY_URL")]
    assert not [k for k in body if k.startswith("PARAMETER_ROUTING_KEY")]
    for name, value in body.items():
        for secret in (KEY_CMK, PROXY_PASSWORD, "proxyuser:" + PROXY_PASSWORD):
            assert secret not in name and secret not in value, "%s carries a secret" % name
    assert "HOSTNOTES" not in body and "HOST_PASSWORD_HINT" not in body
    # the rest of the context travels
    assert body["HOSTNAME"] == ctx["HOSTNAME"] and body["SERVICEDESC"] == ctx["SERVICEDESC"]
    assert body["PARAMETER_ILERT_PRIORITY"] == "HIGH"
    assert "PARAMETER_ILERT_SUMMARY_SERVICE" in body
    # and it really went through the authenticated proxy
    assert [r["authorized"] for r in auth_proxy.requests()] == [True]


def test_api_format_key_only_in_body(site, standin):
    assert_clean(site.run(service("PROBLEM", params("api", standin.url))), 0)
    entry = event_requests(standin)[0]
    assert entry["path"] == "/api/events"
    assert entry["body"]["integrationKey"] == key_of("api")
    assert key_of("api") not in str(entry["headers"])
    assert sum(key_of("api") in str(v) for v in entry["body"].values()) == 1


# --- long names ------------------------------------------------------------------------------


def test_long_alert_key_is_bounded_and_stable(site, standin):
    hostname = "h" * 150 + ".example.net"
    first = service("PROBLEM", params("api", standin.url), HOSTNAME=hostname, SERVICEDESC="Filesystem " + "x" * 150)
    second = service("PROBLEM", params("api", standin.url), HOSTNAME=hostname,
                     SERVICEDESC="Filesystem " + "x" * 149 + "y", MICROTIME=microtime(1))
    assert_clean(site.run(first), 0)
    assert_clean(site.run(second), 0)
    keys = [e["body"]["alertKey"] for e in event_requests(standin)]
    assert all(len(k) <= 200 for k in keys), keys
    assert keys[0] != keys[1]  # same prefix, different objects: different alerts
    assert all(k.startswith("cmk/mysite/hhh") for k in keys)
    rec = service("RECOVERY", params("api", standin.url), HOSTNAME=hostname, SERVICEDESC="Filesystem " + "x" * 150,
                  MICROTIME=microtime(2))
    assert_clean(site.run(rec), 0)
    assert [e["body"]["alertKey"] for e in event_requests(standin)][2] == keys[0]
    assert sorted(a["status"] for a in standin.alerts()) == ["PENDING", "RESOLVED"]
