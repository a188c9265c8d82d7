"""Checkmk's real sample contexts (from Checkmk's unit tests of its mail plugin, Checkmk/checkmk
``tests/unit/.../test_mail.py``, ``mock_service_context``/``mock_host_context``) and the odd ones:
HTML and state markers, literal ``\\n``, missing variables, Nagios macros, Event Console,
unicode, huge outputs, test notifications, bulk calls."""

from __future__ import annotations

import json
from typing import Dict

import pytest

from tests.script.util import (
    FORMATS,
    assert_clean,
    event_requests,
    event_type_of,
    microtime,
    params,
)
from tests.support.contexts import alert_key, host

pytestmark = pytest.mark.runtime

# the service PROBLEM of Checkmk's mail unit test (mock_service_context), verbatim.
SAMPLE_SERVICE_PROBLEM: Dict[str, str] = {
    "CONTACTALIAS": "cmkadmin", "CONTACTEMAIL": "test@abc.de", "CONTACTNAME": "cmkadmin", "CONTACTPAGER": "",
    "CONTACTS": "cmkadmin", "DATE": "2019-03-20", "HOSTACKAUTHOR": "", "HOSTACKCOMMENT": "",
    "HOSTADDRESS": "127.0.0.1", "HOSTALIAS": "heute", "HOSTATTEMPT": "1", "HOSTCHECKCOMMAND": "check-mk-host-smart",
    "HOSTCONTACTGROUPNAMES": "all", "HOSTDOWNTIME": "0", "HOSTFORURL": "heute", "HOSTGROUPNAMES": "check_mk",
    "HOSTNAME": "heute", "HOSTNOTES": "", "HOSTNOTESURL": "", "HOSTNOTIFICATIONNUMBER": "1",
    "HOSTOUTPUT": '<script>console.log("evil");</script>Packet received via smart PING (!)',
    "HOSTPERFDATA": "", "HOSTPROBLEMID": "0", "HOSTSHORTSTATE": "UP", "HOSTSTATE": "UP", "HOSTSTATEID": "0",
    "HOSTTAGS": "/wato/ cmk-agent ip-v4 ip-v4-only lan no-snmp prod site:heute tcp wato",
    "HOSTURL": "/check_mk/index.py?start_url=view.py%3Fview_name%3Dhoststatus%26host%3Dheute%26site%3Dheute",
    "HOST_ADDRESS_4": "127.0.0.1", "HOST_ADDRESS_6": "", "HOST_ADDRESS_FAMILY": "4", "HOST_EC_CONTACT": "",
    "HOST_FILENAME": "/wato/hosts.mk", "HOST_SL": "",
    "HOST_TAGS": "/wato/ cmk-agent ip-v4 ip-v4-only lan no-snmp prod site:heute tcp wato",
    "LASTHOSTPROBLEMID": "0", "LASTHOSTSHORTSTATE": "UP", "LASTHOSTSTATE": "UP",
    "LASTHOSTSTATECHANGE": "1552482625", "LASTHOSTSTATECHANGE_REL": "7d 02:41:21", "LASTHOSTSTATEID": "0",
    "LASTHOSTUP": "1553097106", "LASTHOSTUP_REL": "0d 00:00:00", "LASTSERVICEOK": "1553097092",
    "LASTSERVICEOK_REL": "0d 00:00:14", "LASTSERVICEPROBLEMID": "171", "LASTSERVICESHORTSTATE": "OK",
    "LASTSERVICESTATE": "OK", "LASTSERVICESTATECHANGE": "1553097106", "LASTSERVICESTATECHANGE_REL": "0d 00:00:00",
    "LASTSERVICESTATEID": "0", "LOGDIR": "/omd/sites/heute/var/check_mk/notify",
    "LONGDATETIME": "Wed Mar 20 16:51:46 CET 2019", "LONGHOSTOUTPUT": "",
    # a real newline first, then Checkmk's literal backslash-n
    "LONGSERVICEOUTPUT": '<script>console.log("evil");</script>(!)\nanother line\\nlast line',
    "MAXHOSTATTEMPTS": "1", "MAXSERVICEATTEMPTS": "1", "MICROTIME": "1553097106779348",
    "MONITORING_HOST": "Klappschloss", "NOTIFICATIONAUTHOR": "", "NOTIFICATIONAUTHORALIAS": "",
    "NOTIFICATIONAUTHORNAME": "", "NOTIFICATIONCOMMENT": "", "NOTIFICATIONTYPE": "PROBLEM",
    "OMD_ROOT": "/omd/sites/heute", "OMD_SITE": "heute", "PREVIOUSHOSTHARDSHORTSTATE": "UP",
    "PREVIOUSHOSTHARDSTATE": "UP", "PREVIOUSHOSTHARDSTATEID": "0", "PREVIOUSSERVICEHARDSHORTSTATE": "OK",
    "PREVIOUSSERVICEHARDSTATE": "OK", "PREVIOUSSERVICEHARDSTATEID": "0", "SERVICEACKAUTHOR": "",
    "SERVICEACKCOMMENT": "", "SERVICEATTEMPT": "1", "SERVICECHECKCOMMAND": "check_mk-kernel.util",
    "SERVICECONTACTGROUPNAMES": "all", "SERVICEDESC": "CPU utilization", "SERVICEDISPLAYNAME": "CPU utilization",
    "SERVICEDOWNTIME": "0", "SERVICEFORURL": "CPU%20utilization", "SERVICEGROUPNAMES": "", "SERVICENOTES": "",
    "SERVICENOTESURL": "", "SERVICENOTIFICATIONNUMBER": "1",
    "SERVICEOUTPUT": '<script>console.log("evil");</script> Ok (!)', "SERVICEPERFDATA": "",
    "SERVICEPROBLEMID": "171", "SERVICESHORTSTATE": "WARN", "SERVICESTATE": "WARNING", "SERVICESTATEID": "1",
    "SERVICEURL": "/check_mk/index.py?start_url=view.py%3Fview_name%3Dservice%26host%3Dheute%26service%3DCPU"
                  "%20utilization%26site%3Dheute",
    "SERVICE_EC_CONTACT": "", "SERVICE_SL": "", "SHORTDATETIME": "2019-03-20 16:51:46", "SVC_SL": "",
    "WHAT": "SERVICE", "PARAMETER_URL_PREFIX_AUTOMATIC": "http",
}

_HOST_ONLY = {k: v for k, v in SAMPLE_SERVICE_PROBLEM.items()
              if not k.startswith(("SERVICE", "LASTSERVICE", "LONGSERVICE", "PREVIOUSSERVICE", "SVC_"))}
# the host RECOVERY of the same test file (mock_host_context; as above, without service variables).
SAMPLE_HOST_RECOVERY: Dict[str, str] = dict(
    _HOST_ONLY, NOTIFICATIONTYPE="RECOVERY", WHAT="HOST", HOSTNAME="heute", HOSTSTATE="UP", HOSTSHORTSTATE="UP",
    HOSTSTATEID="0", HOSTPROBLEMID="10", LASTHOSTPROBLEMID="10", LASTHOSTSTATE="DOWN", LASTHOSTSHORTSTATE="DOWN",
    LASTHOSTSTATEID="1", LASTHOSTSTATECHANGE="1566551597", PREVIOUSHOSTHARDSTATE="DOWN",
    PREVIOUSHOSTHARDSHORTSTATE="DOWN", PREVIOUSHOSTHARDSTATEID="1", HOSTOUTPUT="Packet received via smart PING",
    HOSTTAGS="/wato/ auto-piggyback cmk-agent ip-v4 ip-v4-only lan no-snmp prod site:heute tcp",
    LONGDATETIME="Fri Aug 23 11:13:17 CEST 2019", SHORTDATETIME="2019-08-23 11:13:17", MICROTIME="1566551597286646",
    PARAMETER_URL_PREFIX_AUTOMATIC="https",
)
SAMPLE_HOST_PROBLEM: Dict[str, str] = dict(
    SAMPLE_HOST_RECOVERY, NOTIFICATIONTYPE="PROBLEM", HOSTSTATE="DOWN", HOSTSHORTSTATE="DOWN", HOSTSTATEID="1",
    PREVIOUSHOSTHARDSTATE="UP", PREVIOUSHOSTHARDSHORTSTATE="UP", HOSTOUTPUT="CRIT - 127.0.0.1: rta nan, lost 100%",
    MICROTIME="1566551000000000",
)


def ctx_with(sample: Dict[str, str], fmt: str, url: str, **extra: str) -> Dict[str, str]:
    out = dict(sample)
    out.update(params(fmt, url, **extra))
    return out


def assert_plain(text: str) -> None:
    assert "<script" not in text and "</script>" not in text and "<" not in text, text
    assert "$" not in text, text


# --- the two samples --------------------------------------------------------------------------


def test_sample_service_problem_api(site, standin):
    ctx = ctx_with(SAMPLE_SERVICE_PROBLEM, "api", standin.url)
    line = assert_clean(site.run(ctx), 0)
    assert "cmk/heute/heute/cpu utilization" in line
    body = event_requests(standin)[0]["body"]
    assert body["eventType"] == "ALERT"
    assert body["alertKey"] == "cmk/heute/heute/cpu utilization~18ac95bcf4"
    assert body["priority"] == "LOW"  # WARNING
    summary, details = body["summary"], body["details"]
    assert_plain(summary)
    assert_plain(details)
    assert "\n" not in summary and len(summary) <= 250
    assert "CPU utilization" in summary and "WARNING" in summary and "Ok" in summary
    # the state marker stays readable
    assert "(!)" in summary or "[WARN]" in summary or "WARN" in summary.replace("WARNING", "")
    # literal \n and real newlines both end up as separate lines
    lines = [part.strip() for part in details.split("\n")]
    assert "another line" in lines and "last line" in lines
    assert "\\n" not in details
    hrefs = [link["href"] for link in body["links"]]
    assert hrefs == ["http://Klappschloss/heute" + ctx["HOSTURL"], "http://Klappschloss/heute" + ctx["SERVICEURL"]]
    for value in body["customDetails"].values():
        if isinstance(value, str):
            assert "<script" not in value


def test_sample_service_problem_checkmk(site, standin):
    ctx = ctx_with(SAMPLE_SERVICE_PROBLEM, "checkmk", standin.url)
    assert_clean(site.run(ctx), 0)
    body = event_requests(standin)[0]["body"]
    summary = body["PARAMETER_ILERT_SUMMARY_SERVICE"]
    assert_plain(summary)
    assert "CPU utilization" in summary and len(summary) <= 250
    assert body["PARAMETER_ILERT_PRIORITY"] == "LOW"
    assert body["SERVICEDESC"] == "CPU utilization" and body["HOSTNAME"] == "heute"
    assert standin.alerts()[0]["summary"] == summary


@pytest.mark.parametrize("fmt", FORMATS)
def test_sample_host_problem_and_recovery(site, standin, fmt):
    assert_clean(site.run(ctx_with(SAMPLE_HOST_PROBLEM, fmt, standin.url)), 0)
    line = assert_clean(site.run(ctx_with(SAMPLE_HOST_RECOVERY, fmt, standin.url)), 0)
    assert "cmk/heute/heute" in line
    sent = event_requests(standin)
    assert [event_type_of(e) for e in sent] == (["ALERT", "RESOLVE"] if fmt == "api" else ["PROBLEM", "RECOVERY"])
    assert [a["status"] for a in standin.alerts()] == ["RESOLVED"]
    if fmt == "api":
        assert sent[0]["body"]["alertKey"] == sent[1]["body"]["alertKey"] == "cmk/heute/heute"
        assert [link["href"] for link in sent[0]["body"]["links"]] == [
            "https://Klappschloss/heute" + SAMPLE_HOST_PROBLEM["HOSTURL"]]


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_host_address(site, standin, fmt):
    ctx = ctx_with(SAMPLE_HOST_PROBLEM, fmt, standin.url)
    ctx.update(HOSTADDRESS="", HOST_ADDRESS_4="", HOST_ADDRESS_FAMILY="")
    assert_clean(site.run(ctx), 0)
    assert len(standin.alerts()) == 1
    if fmt == "api":
        body = event_requests(standin)[0]["body"]
        assert "()" not in body["details"] and "(, )" not in body["details"]
        assert "heute" in body["details"]
        assert body["customDetails"].get("host_address", "") == ""
    else:
        assert event_requests(standin)[0]["body"]["HOSTADDRESS"] == ""


def test_empty_host_address_leaves_no_dangling_separator(site, standin):
    ctx = ctx_with(SAMPLE_HOST_PROBLEM, "api", standin.url)
    ctx.update(HOSTADDRESS="")
    assert_clean(site.run(ctx), 0)
    details = event_requests(standin)[0]["body"]["details"]
    host_line = [line for line in details.split("\n") if line.startswith("Host:")]
    assert host_line and ", )" not in host_line[0] and not host_line[0].rstrip().endswith(",")


# --- Nagios core: unresolved service macros in a host notification ------------------------------

NAGIOS_HOST_PROBLEM = dict(
    SAMPLE_HOST_PROBLEM,
    SERVICEDESC="$SERVICEDESC$", SERVICESTATE="$SERVICESTATE$", SERVICESHORTSTATE="$SERVICESHORTSTATE$",
    SERVICEOUTPUT="$SERVICEOUTPUT$", LONGSERVICEOUTPUT="$LONGSERVICEOUTPUT$", SERVICEPROBLEMID="$SERVICEPROBLEMID$",
    LASTSERVICEPROBLEMID="$LASTSERVICEPROBLEMID$", SERVICEPERFDATA="$SERVICEPERFDATA$",
    SERVICEACKAUTHOR="$SERVICEACKAUTHOR$", SERVICEACKCOMMENT="$SERVICEACKCOMMENT$",
    SERVICEURL="$SERVICEURL$", SERVICEDISPLAYNAME="$SERVICEDISPLAYNAME$",
)


@pytest.mark.parametrize("what", ["HOST", None])
def test_nagios_host_notification_with_unresolved_macros_api(site, standin, what):
    ctx = ctx_with(NAGIOS_HOST_PROBLEM, "api", standin.url,
                   ilert_summary_host="$HOSTNAME$ is $HOSTSTATE$ $SERVICEDESC$ $NOSUCHMACRO$")
    if what is None:
        del ctx["WHAT"]
    line = assert_clean(site.run(ctx), 0)
    assert "cmk/heute/heute" in line and "$" not in line
    body = event_requests(standin)[0]["body"]
    assert body["alertKey"] == "cmk/heute/heute"
    assert body["priority"] == "HIGH"
    assert "heute is DOWN" in body["summary"]
    for text in (body["summary"], body["details"]):
        assert "$" not in text, text
    for value in body["customDetails"].values():
        assert "$" not in str(value)
    assert "service" not in body["customDetails"]
    assert [link["href"] for link in body["links"]] == ["https://Klappschloss/heute" + ctx["HOSTURL"]]


def test_nagios_host_notification_with_unresolved_macros_checkmk(site, standin):
    ctx = ctx_with(NAGIOS_HOST_PROBLEM, "checkmk", standin.url)
    assert_clean(site.run(ctx), 0)
    body = event_requests(standin)[0]["body"]
    assert "$" not in body["PARAMETER_ILERT_SUMMARY_HOST"]
    assert "PARAMETER_ILERT_SUMMARY_SERVICE" not in body
    assert len(standin.alerts()) == 1


# --- Event Console ---------------------------------------------------------------------------------

EC_PROBLEM = dict(
    SAMPLE_SERVICE_PROBLEM, HOSTNAME="switch01", HOSTALIAS="switch01", HOSTADDRESS="10.1.1.2", SERVICEDESC="sshd",
    SERVICEDISPLAYNAME="sshd", SERVICECHECKCOMMAND="ec-rule-ssh_failures", SERVICESTATE="CRITICAL",
    SERVICESHORTSTATE="CRIT", SERVICEOUTPUT="Failed password for root from 203.0.113.9", SERVICEPROBLEMID="ec-id-7",
    LASTSERVICEPROBLEMID="ec-id-7", EC_ID="7", EC_RULE_ID="ssh_failures", EC_PRIORITY="2", EC_FACILITY="4",
    EC_PHASE="open", EC_COMMENT="", EC_OWNER="", LONGSERVICEOUTPUT="", SERVICEURL="", HOSTURL="",
)


@pytest.mark.parametrize("fmt", FORMATS)
def test_event_console_notification(site, standin, fmt):
    line = assert_clean(site.run(ctx_with(EC_PROBLEM, fmt, standin.url)), 0)
    assert "cmk/heute/switch01/sshd" in line
    if fmt == "api":
        body = event_requests(standin)[0]["body"]
        assert body["alertKey"] == "cmk/heute/switch01/sshd"
        assert "ec-id" not in body["alertKey"]
        assert body["priority"] == "HIGH"
        details = body["customDetails"]
        assert details["ec_id"] == "7" and details["problem_id"] == "ec-id-7"
        assert details["ec_rule_id"] == "ssh_failures"
    # the EC cancels the event: RECOVERY of the same event resolves the alert
    rec = ctx_with(EC_PROBLEM, fmt, standin.url, ilert_priority="auto")
    rec.update(NOTIFICATIONTYPE="RECOVERY", SERVICESTATE="OK", SERVICESHORTSTATE="OK", EC_PHASE="closed",
               MICROTIME=microtime(9))
    assert_clean(site.run(rec), 0)
    assert [a["status"] for a in standin.alerts()] == ["RESOLVED"]


# --- unicode -------------------------------------------------------------------------------------

UNICODE_HOST = "Müller-Straße-東京-🚀"
UNICODE_SERVICE = "Prüfung Ümlaut ✓ 服务 🔥"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("ascii_stdout", [False, True])
def test_unicode_host_and_service_names(site, standin, fmt, ascii_stdout):
    ctx = ctx_with(SAMPLE_SERVICE_PROBLEM, fmt, standin.url)
    ctx.update(HOSTNAME=UNICODE_HOST, HOSTALIAS="Zürich ☃", SERVICEDESC=UNICODE_SERVICE,
               SERVICEOUTPUT="Temperatur 45 °C – zu heiß ⚠ (!!)", LONGSERVICEOUTPUT="Zeile 1\\nZeile 2 – äöü")
    env = {"PYTHONIOENCODING": "ascii", "LANG": "C", "LC_ALL": "C"} if ascii_stdout else None
    run = site.run(ctx, env=env)
    line = assert_clean(run, 0)
    key = "cmk/heute/%s/%s" % (UNICODE_HOST, UNICODE_SERVICE)
    assert key.casefold() in line
    assert "strasse" in key.casefold()
    alert = standin.alerts()[0]
    if fmt == "api":
        body = event_requests(standin)[0]["body"]
        assert body["alertKey"] == alert_key("heute", UNICODE_HOST, UNICODE_SERVICE)
        assert UNICODE_SERVICE in body["summary"] and "zu heiß ⚠" in body["summary"]
        assert "Zeile 2 – äöü" in body["details"].split("\n")
        assert body["customDetails"]["host"] == UNICODE_HOST
        assert alert["summary"] == body["summary"]
    else:
        body = event_requests(standin)[0]["body"]
        assert body["HOSTNAME"] == UNICODE_HOST and body["SERVICEDESC"] == UNICODE_SERVICE
        assert UNICODE_SERVICE in body["PARAMETER_ILERT_SUMMARY_SERVICE"]


# --- huge output ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_100kb_output_is_bounded(site, standin, fmt):
    chunk = "disk /var/lib/data%d usage 99%% (!!) <b>full</b> "
    output = "".join(chunk % n for n in range(3000))[:100_000]
    long_output = "\\n".join("line %05d: é ✓ (!)" % n for n in range(5000))[:100_000]
    ctx = ctx_with(SAMPLE_SERVICE_PROBLEM, fmt, standin.url)
    ctx.update(SERVICEOUTPUT=output, LONGSERVICEOUTPUT=long_output, SERVICEPERFDATA="x=1;2;3 " * 5000)
    assert len(ctx["SERVICEOUTPUT"]) == 100_000
    run = site.run(ctx)
    assert_clean(run, 0)
    assert len(run.output) < 2000
    sent = event_requests(standin)
    assert len(sent) == 1 and sent[0]["status"] in (200, 202)
    body = sent[0]["body"]
    if fmt == "api":
        assert len(body["summary"]) <= 250
        assert len(body["details"]) <= 20_000
        assert body["details"].startswith("disk /var/lib/data0 usage 99%")
        assert all(len(str(v)) <= 5000 for v in body["customDetails"].values())
        assert len(json.dumps(body)) < 64_000
    else:
        assert len(body["PARAMETER_ILERT_SUMMARY_SERVICE"]) <= 250
        assert all(len(v) <= 65536 for v in body.values())
    assert len(standin.alerts()) == 1


# --- test notifications and near-empty contexts ----------------------------------------------------

TEST_NOTIFICATION = {
    "NOTIFICATIONTYPE": "PROBLEM", "WHAT": "SERVICE", "OMD_SITE": "heute", "SITEOFHOST": "heute",
    "MONITORING_HOST": "Klappschloss", "HOSTNAME": "heute", "HOSTALIAS": "heute", "HOSTSTATE": "UP",
    "SERVICEDESC": "CPU utilization", "SERVICESTATE": "CRITICAL", "SERVICESHORTSTATE": "CRIT",
    "SERVICEOUTPUT": "This is a test notification", "HOSTPROBLEMID": "notify_test_1732270000123456",
    "SERVICEPROBLEMID": "notify_test_1732270000123456", "CONTACTS": "cmkadmin", "CONTACTNAME": "cmkadmin",
    "HOSTLABEL_cmk/site": "heute", "SERVICELABEL_cmk/periodic_service_discovery": "yes",
    "HOSTGROUPNAMES": "check_mk", "MICROTIME": "1732270000123456", "LONGDATETIME": "Fri Nov 22 10:00:00 CET 2024",
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_gui_test_notification_with_most_variables_missing(site, standin, fmt):
    ctx = dict(TEST_NOTIFICATION, **params(fmt, standin.url, url_prefix_automatic="https"))
    line = assert_clean(site.run(ctx), 0)
    assert "delivered" in line
    assert len(standin.alerts()) == 1
    if fmt == "api":
        body = event_requests(standin)[0]["body"]
        for text in (body["summary"], body["details"]):
            assert "$" not in text and "()" not in text and "(, )" not in text and "None" not in text
        assert "This is a test notification" in body["summary"]
        assert body["customDetails"]["problem_id"].startswith("notify_test_")
        assert body["labels"] == {"cmk/site": "heute", "cmk/periodic_service_discovery": "yes"}


def test_gui_test_notification_of_type_downtimestart_is_ignored_by_the_checkmk_format(site, standin):
    ctx = dict(TEST_NOTIFICATION, NOTIFICATIONTYPE="DOWNTIMESTART", **params("checkmk", standin.url))
    assert_clean(site.run(ctx), 0)
    assert standin.log() == []


def test_gui_test_notification_of_type_downtimestart_comments_nothing_without_an_open_alert(site, standin):
    """api + comment_events: a COMMENT; with no open alert iLert has nothing to comment on,
    which counts as delivered."""
    ctx = dict(TEST_NOTIFICATION, NOTIFICATIONTYPE="DOWNTIMESTART", **params("api", standin.url))
    line = assert_clean(site.run(ctx), 0)
    assert "COMMENT" in line and "nothing left to do" in line
    assert [e["body"]["eventType"] for e in event_requests(standin)] == ["COMMENT"]
    assert standin.alerts() == [] and site.queue() == [] and site.dead() == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_context_with_nothing_but_parameters(site, standin, fmt):
    run = site.run(params(fmt, standin.url))
    assert run.returncode in (0, 2)
    assert_clean(run, run.returncode)
    assert event_requests(standin) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_context_with_parameters_and_problem_type_only(site, standin, fmt):
    run = site.run(dict(params(fmt, standin.url), NOTIFICATIONTYPE="PROBLEM"))
    assert run.returncode in (0, 2)
    assert_clean(run, run.returncode)


def test_context_with_nothing_at_all(site):
    run = site.run({})
    assert run.returncode in (0, 2)
    assert_clean(run, run.returncode)


def test_empty_bulk(site):
    run = site.run(bulk=[], bulk_parameters=params("api", "http://127.0.0.1:9"))
    assert_clean(run, 0)


# --- bulk -----------------------------------------------------------------------------------------


def bulk_contexts():
    """Checkmk's default bulk order is newest first; one of them has a multi-line long output."""
    web = dict(SAMPLE_SERVICE_PROBLEM, HOSTNAME="web01", HOSTALIAS="web01", SERVICEDESC="Disk /var")
    problem = dict(web, MICROTIME=microtime(1), SERVICESTATE="CRITICAL", SERVICESHORTSTATE="CRIT",
                   LONGSERVICEOUTPUT="first line\nsecond line\nthird line")
    ack = dict(web, NOTIFICATIONTYPE="ACKNOWLEDGEMENT", MICROTIME=microtime(2), NOTIFICATIONAUTHOR="cmkadmin",
               NOTIFICATIONCOMMENT="on it\nreally")
    recovery = dict(web, NOTIFICATIONTYPE="RECOVERY", MICROTIME=microtime(3), SERVICESTATE="OK",
                    SERVICESHORTSTATE="OK", SERVICEOUTPUT="OK - 20% used")
    other = host("PROBLEM", {}, MICROTIME=microtime(0), OMD_SITE="heute")
    return [recovery, ack, problem, other]


@pytest.mark.parametrize("fmt", FORMATS)
def test_bulk_delivered_oldest_first_over_one_connection(site, standin, proxy, fmt):
    contexts = bulk_contexts()
    # coalesce off: this bulk holds a problem and its recovery, which coalescing would drop
    # (tests/delivery/test_coalesce.py); here the order and the one connection are the point
    run = site.run(bulk=contexts, bulk_parameters=params(fmt, standin.url, proxy_url=proxy.url, coalesce="False"))
    assert_clean(run, 0, lines=None)
    assert len(run.lines) <= len(contexts) + 2  # api: the ACK's comment is an event of its own
    sent = [e for e in event_requests(standin) if event_type_of(e) != "COMMENT"]
    types = [event_type_of(e) for e in sent]
    hosts = [(e["body"]["customDetails"]["host"] if fmt == "api" else e["body"]["HOSTNAME"]) for e in sent]
    if fmt == "api":
        assert types == ["ALERT", "ALERT", "ACCEPT", "RESOLVE"]
    else:
        assert types == ["PROBLEM", "PROBLEM", "ACKNOWLEDGEMENT", "RECOVERY"]
    assert hosts == ["db01", "web01", "web01", "web01"]
    assert sorted(a["status"] for a in standin.alerts()) == ["PENDING", "RESOLVED"]
    # \x01-encoded newlines are real newlines again
    if fmt == "api":
        details = sent[1]["body"]["details"].split("\n")
        assert "first line" in details and "second line" in details and "third line" in details
        comment = [e for e in event_requests(standin) if event_type_of(e) == "COMMENT"][0]
        assert comment["body"]["comments"][0]["content"].split("\n") == ["on it", "really"]
    else:
        assert sent[1]["body"]["LONGSERVICEOUTPUT"] == "first line\nsecond line\nthird line"
    # one HTTP session: every request went over the same client connection of the proxy
    seen = proxy.requests()
    assert len(seen) == len(event_requests(standin)) == (5 if fmt == "api" else 4)
    assert len({r["conn"] for r in seen}) == 1, seen


@pytest.mark.parametrize("fmt", FORMATS)
def test_bulk_with_a_problem_that_recovered_inside_it_pages_nobody_for_it(site, standin, fmt):
    """coalesce (default on): web01's PROBLEM, ACK and RECOVERY arrive in one bulk, none sent yet:
    the PROBLEM and the ACK are superseded. Whether iLert holds an older alert of the key is not
    known here (no RESOLVE of it was delivered before), so the RECOVERY is still sent: it finds
    nothing open and pages nobody. db01's PROBLEM is delivered."""
    run = site.run(bulk=bulk_contexts(), bulk_parameters=params(fmt, standin.url))
    assert_clean(run, 0, lines=None)
    sent = event_requests(standin)
    hosts = [e["body"]["customDetails"]["host"] if fmt == "api" else e["body"]["HOSTNAME"] for e in sent]
    assert hosts == ["db01", "web01"]
    assert event_type_of(sent[1]) == ("RESOLVE" if fmt == "api" else "RECOVERY")
    assert [a["key"].split("/")[-1] if fmt == "api" else a["key"] for a in standin.alerts()] == ["db01"]
    superseded = [line for line in run.lines if ": superseded, not sent" in line]
    assert len(superseded) == (3 if fmt == "api" else 2)  # PROBLEM, ACK (api: + its COMMENT)
    assert "superseded" in run.lines[-1] and run.lines[-1].startswith("cmk_ilert: bulk: 4 notifications")
    status = site.cli("status")
    assert "superseded" in status.stdout and "cmk/heute/web01" in status.stdout.lower()


def test_bulk_is_idempotent(site, standin):
    """Checkmk's spooler may repeat a bulk call: nothing is sent twice."""
    contexts = bulk_contexts()
    rule = params("api", standin.url, coalesce="False")  # every event is sent once (coalescing would drop two)
    assert_clean(site.run(bulk=contexts, bulk_parameters=rule), 0, lines=None)
    before = len(event_requests(standin))
    run = site.run(bulk=contexts, bulk_parameters=rule)
    assert_clean(run, 0, lines=None)
    assert len(event_requests(standin)) == before == 5  # ALERT, ALERT, ACCEPT, its COMMENT, RESOLVE


@pytest.mark.parametrize("fmt", FORMATS)
def test_output_that_is_not_utf8_is_delivered(site, standin, fmt):
    ctx = ctx_with(SAMPLE_SERVICE_PROBLEM, fmt, standin.url)
    ctx["SERVICEOUTPUT"] = "Temperatur 45 \udcb0C caf\udce9"  # the bytes b"\xb0" and b"\xe9" (Latin-1)
    run = site.run(ctx)
    assert_clean(run, 0)
    assert len(standin.alerts()) == 1
