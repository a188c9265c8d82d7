"""The iLert stand-in over real sockets and real HTTP."""

from __future__ import annotations

import http.client
import json
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import trustme

from ilert_standin import StandIn, StandInClient, parse_fault

STANDIN_DIR = Path(__file__).resolve().parents[2] / "standin"
KEY = "il1api0001"


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with StandIn(
        keys=[KEY, "il1cmk0002"],
        unauthorized_keys=["il1bad"],
        heartbeat_keys=["il1hbt01"],
    ) as server:
        yield server


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as sess:
        yield sess


def event(
    event_type: str = "ALERT", alert_key: str | None = "Host1/CPU", **extra: Any
) -> Any:
    body: dict[str, Any] = {
        "integrationKey": KEY,
        "eventType": event_type,
        "summary": "s",
    }
    if alert_key is not None:
        body["alertKey"] = alert_key
    body.update(extra)
    return body


def post(
    server: StandIn, body: Any, sess: Any = requests, **kw: Any
) -> requests.Response:
    response: requests.Response = sess.post(f"{server.url}/api/events", json=body, **kw)
    return response


# -- schema -------------------------------------------------------------------------------
def test_full_event_accepted(standin: StandIn) -> None:
    body = event(
        details="**md**",
        priority="HIGH",
        severity=2,
        images=[{"src": "https://i/x.png", "href": "https://i", "alt": "x"}],
        links=[{"href": "https://cmk/view", "text": "Checkmk"}],
        comments=[{"creator": "cmk", "content": "hello"}],
        labels={"site": "prod"},
        customDetails={"nested": {"a": [1, 2]}},
        routingKey="team-a",
        services=[{"alias": "web"}, {"id": 42}],
    )
    response = post(standin, body)
    assert response.status_code == 202
    assert response.json()["responseCode"] == "NEW_ALERT_CREATED"
    (alert,) = standin.alerts()
    assert alert["details"] == "**md**"
    assert alert["priority"] == "HIGH"
    assert alert["labels"] == {"site": "prod"}
    assert alert["customDetails"] == {"nested": {"a": [1, 2]}}
    assert alert["routingKey"] == "team-a"
    assert alert["links"] == [{"href": "https://cmk/view", "text": "Checkmk"}]
    assert alert["comments"] == [{"creator": "cmk", "content": "hello"}]


def test_api_key_synonym(standin: StandIn) -> None:
    body = event()
    body["apiKey"] = body.pop("integrationKey")
    assert post(standin, body).status_code == 202
    body["integrationKey"] = "il1cmk0002"  # known, but differs from apiKey
    assert post(standin, body).status_code == 400


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"summary": None}, "summary"),
        ({"summary": ""}, "summary"),
        ({"eventType": "OPEN"}, "eventType"),
        ({"priority": "high"}, "priority"),
        ({"severity": 6}, "severity"),
        ({"severity": "3"}, "severity"),
        ({"alertkey": "typo"}, "alertkey"),
        ({"links": [{"url": "x"}]}, "links"),
        ({"labels": {"a": 1}}, "labels"),
        ({"services": [{}]}, "services"),
    ],
)
def test_schema_rejects(standin: StandIn, change: dict[str, Any], needle: str) -> None:
    body = event()
    for name, value in change.items():
        if value is None:
            del body[name]
        else:
            body[name] = value
    response = post(standin, body)
    assert response.status_code == 400
    error = response.json()
    assert error["status"] == 400
    assert error["code"] == "INVALID_INPUT"
    assert needle in error["message"]
    assert standin.alerts() == []


def test_bad_bodies(standin: StandIn) -> None:
    url = f"{standin.url}/api/events"
    for data in (b"{not json", b"", b"[1, 2]", "\u00e4".encode("latin-1")):
        response = requests.post(url, data=data)
        assert response.status_code == 400, data
        assert response.json()["code"] == "INVALID_INPUT"
    no_key = event()
    del no_key["integrationKey"]
    assert post(standin, no_key).json()["code"] == "INVALID_INPUT"


def test_unknown_and_unauthorized_keys(standin: StandIn) -> None:
    response = post(standin, event() | {"integrationKey": "il1nope"})
    assert response.status_code == 404
    assert response.json()["code"] == "NO_ALERT_SOURCE_FOUND"
    response = post(standin, event() | {"integrationKey": "il1bad"})
    assert response.status_code == 401
    assert response.json()["status"] == 401


# -- alert lifecycle ----------------------------------------------------------------------
def test_lifecycle_with_case_folded_keys(
    standin: StandIn, session: requests.Session
) -> None:
    first = post(standin, event("ALERT", "Host1/CPU", summary="first"), session)
    assert first.status_code == 202
    assert first.json()["alertKey"] == "Host1/CPU"
    assert first.json()["alertUrl"].startswith(standin.url)
    again = post(standin, event("ALERT", "HOST1/cpu", summary="second"), session)
    assert again.json()["responseCode"] == "EVENT_APPENDED"
    comment = {"creator": "bob", "content": "looking"}
    accept = post(standin, event("ACCEPT", "host1/CPU", comments=[comment]), session)
    assert accept.json()["responseCode"] == "ALERT_ACCEPTED"
    assert standin.alerts()[0]["status"] == "ACCEPTED"
    appended = post(standin, event("ALERT", "host1/cpu"), session)
    assert appended.json()["responseCode"] == "EVENT_APPENDED"
    resolve = post(standin, event("RESOLVE", "hOST1/Cpu"), session)
    assert resolve.json()["responseCode"] == "ALERT_RESOLVED"
    (alert,) = standin.alerts()
    assert alert["status"] == "RESOLVED"
    assert alert["summary"] == "first"
    assert alert["key"] == "host1/cpu"
    assert alert["comments"] == [comment]
    assert [e["eventType"] for e in alert["events"]] == [
        "ALERT",
        "ALERT",
        "ACCEPT",
        "ALERT",
        "RESOLVE",
    ]
    assert alert["acceptedAt"] is not None and alert["resolvedAt"] is not None


def test_accept_twice_and_unknown_keys(standin: StandIn) -> None:
    post(standin, event("ALERT", "a"))
    assert post(standin, event("ACCEPT", "a")).status_code == 202
    twice = post(standin, event("ACCEPT", "A"))
    assert twice.status_code == 400
    assert twice.json()["code"] == "ALERT_ALREADY_ACCEPTED"
    note = [{"content": "n"}]
    for kind in ("ACCEPT", "RESOLVE", "COMMENT"):
        extra = {"comments": note} if kind == "COMMENT" else {}
        response = post(standin, event(kind, "unknown", **extra))
        assert response.status_code == 400
        assert response.json() == {
            "status": 400,
            "code": "NO_OPEN_ALERT_WITH_KEY",
            "message": "no open alert with this key",
        }
    assert post(standin, event("RESOLVE", None)).json()["code"] == "INVALID_INPUT"


def test_resolved_alert_is_never_reopened(standin: StandIn) -> None:
    post(standin, event("ALERT", "k"))
    post(standin, event("RESOLVE", "k"))
    assert (
        post(standin, event("RESOLVE", "k")).json()["code"] == "NO_OPEN_ALERT_WITH_KEY"
    )
    response = post(standin, event("ALERT", "K"))
    assert response.json()["responseCode"] == "NEW_ALERT_CREATED"
    assert [a["status"] for a in standin.alerts()] == ["RESOLVED", "PENDING"]


def test_alert_without_key_and_comment(standin: StandIn) -> None:
    one = post(standin, event("ALERT", None)).json()["alertKey"]
    two = post(standin, event("ALERT", None)).json()["alertKey"]
    assert one and two and one != two
    note = {"content": "note"}
    response = post(standin, event("COMMENT", one, comments=[note]))
    assert response.json()["responseCode"] == "EVENT_APPENDED"
    assert standin.alerts()[0]["comments"] == [note]


def test_empty_202_body(standin: StandIn) -> None:
    standin.configure(empty_202_body=True)
    response = post(standin, event())
    assert response.status_code == 202
    assert response.content == b""
    assert response.headers["Content-Length"] == "0"


# -- checkmk-ext --------------------------------------------------------------------------
def cmk(kind: str, what: str = "SERVICE", **extra: str) -> dict[str, str]:
    context = {
        "NOTIFICATIONTYPE": kind,
        "WHAT": what,
        "HOSTNAME": "Web01",
        "HOSTALIAS": "web 01",
        "HOSTSTATE": "DOWN",
        "HOSTOUTPUT": "no ping",
        "SERVICEDESC": "CPU load",
        "SERVICESTATE": "CRITICAL",
        "SERVICEOUTPUT": "load 9",
    }
    context.update(extra)
    return context


def test_checkmk_ext_lifecycle(standin: StandIn, session: requests.Session) -> None:
    url = f"{standin.url}/api/v1/events/checkmk-ext/il1cmk0002"
    template = {"PARAMETER_ILERT_SUMMARY_SERVICE": "$HOSTNAME$: $SERVICEDESC$ $NOPE$"}
    problem = session.post(
        url, json=cmk("PROBLEM", PARAMETER_ILERT_PRIORITY="low", **template)
    )
    assert problem.status_code == 200
    assert problem.json() == {"incidentKey": "web01/cpu load"}
    assert session.post(url, json=cmk("PROBLEM")).status_code == 200
    ack = cmk("ACKNOWLEDGEMENT", NOTIFICATIONAUTHOR="ann", NOTIFICATIONCOMMENT="mine")
    assert session.post(url, json=ack).status_code == 200
    again = session.post(url, json=ack)
    assert (again.status_code, again.json()["code"]) == (400, "ALERT_ALREADY_ACCEPTED")
    assert session.post(url, json=cmk("DOWNTIMESTART")).status_code == 200
    assert session.post(url, json=cmk("RECOVERY")).status_code == 200
    gone = session.post(url, json=cmk("RECOVERY"))
    assert (gone.status_code, gone.json()["code"]) == (400, "NONE_OPEN_FOR_KEY")
    (alert,) = standin.alerts()
    assert alert["summary"] == "Web01: CPU load $NOPE$"
    assert alert["priority"] == "LOW"
    assert alert["status"] == "RESOLVED"
    assert alert["origin"] == "checkmk-ext"
    assert alert["comments"] == [{"creator": "ann", "content": "mine"}]
    assert [e["eventType"] for e in alert["events"]] == [
        "PROBLEM",
        "PROBLEM",
        "ACKNOWLEDGEMENT",
        "RECOVERY",
    ]


def test_checkmk_ext_host_default_summary_and_errors(standin: StandIn) -> None:
    url = f"{standin.url}/api/v1/events/checkmk-ext/il1cmk0002"
    response = requests.post(url, json=cmk("PROBLEM", what="HOST"))
    assert response.json() == {"incidentKey": "web01"}
    assert (
        standin.alerts()[0]["summary"] == "PROBLEM Host Alert: Web01 is DOWN - no ping"
    )
    assert requests.post(url, json=cmk("ACKNOWLEDGEMENT", HOSTNAME="x")).json()[
        "code"
    ] == ("NONE_OPEN_FOR_KEY")
    assert (
        requests.post(url, json={"NOTIFICATIONTYPE": "PROBLEM", "N": 1}).status_code
        == 400
    )
    assert requests.post(url, json=["PROBLEM"]).status_code == 400
    unknown = requests.post(
        f"{standin.url}/api/v1/events/checkmk-ext/il1nope", json=cmk("PROBLEM")
    )
    assert (unknown.status_code, unknown.json()["code"]) == (
        404,
        "NO_ALERT_SOURCE_FOUND",
    )
    assert requests.get(url).status_code == 405


# -- heartbeats ---------------------------------------------------------------------------
def test_heartbeats(standin: StandIn, session: requests.Session) -> None:
    paths = ("/api/heartbeats/", "/api/v1/heartbeats/", "/api/pings/")
    for path in paths:
        for method in ("GET", "HEAD", "POST"):
            ok = session.request(method, f"{standin.url}{path}il1hbt01")
            assert ok.status_code == 202
            missing = session.request(method, f"{standin.url}{path}il1nope")
            assert missing.status_code == 404
    pings = standin.pings()
    assert len(pings) == 9
    assert {p["key"] for p in pings} == {"il1hbt01"}
    assert pings[0]["time"] <= pings[-1]["time"]


# -- rate limits --------------------------------------------------------------------------
def at_window_start(server: StandIn) -> None:
    time.sleep(server.next_window_in() + 0.02)


def burst(
    server: StandIn, sess: requests.Session, count: int
) -> list[requests.Response]:
    return [post(server, event("ALERT", f"r{i}"), sess) for i in range(count)]


def test_rate_limit_scaled_window(standin: StandIn, session: requests.Session) -> None:
    standin.configure(rate_limit=3, rate_window=0.5)
    at_window_start(standin)
    responses = burst(standin, session, 5)
    assert [r.status_code for r in responses] == [202, 202, 202, 429, 429]
    limited = responses[3]
    assert limited.json()["code"] == "TOO_MANY_REQUESTS"
    assert limited.headers["Retry-After"] == "1"
    assert len(standin.alerts()) == 3
    # other keys have their own window; the next window accepts again
    cmk_url = f"{standin.url}/api/v1/events/checkmk-ext/il1cmk0002"
    assert session.post(cmk_url, json=cmk("PROBLEM")).status_code == 200
    at_window_start(standin)
    assert post(standin, event("ALERT", "later"), session).status_code == 202


@pytest.mark.parametrize("mode", ["never", "alternate", "seconds-float"])
def test_retry_after_modes(
    standin: StandIn, session: requests.Session, mode: str
) -> None:
    standin.configure(rate_limit=1, rate_window=0.5, retry_after_mode=mode)
    at_window_start(standin)
    limited = burst(standin, session, 5)[1:]
    assert {r.status_code for r in limited} == {429}
    values = [r.headers.get("Retry-After") for r in limited]
    if mode == "never":
        assert values == [None] * 4
    elif mode == "alternate":
        assert [v is not None for v in values] == [True, False, True, False]
    else:
        assert all(v is not None and 0 < float(v) <= 0.5 for v in values)


def test_unlimited(standin: StandIn, session: requests.Session) -> None:
    standin.configure(rate_limit=0)
    assert {r.status_code for r in burst(standin, session, 60)} == {202}


# -- faults -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "code"),
    [
        (500, "INTERNAL_SERVER_ERROR"),
        (502, "BAD_GATEWAY"),
        (503, "SERVICE_UNAVAILABLE"),
        (400, "BAD_REQUEST"),
        (401, "UNAUTHORIZED"),
        (404, "NOT_FOUND"),
        (413, "REQUEST_ENTITY_TOO_LARGE"),
    ],
)
def test_status_faults(standin: StandIn, status: int, code: str) -> None:
    standin.inject(status)
    response = post(standin, event())
    assert response.status_code == status
    assert response.json()["status"] == status
    assert response.json()["code"] == code
    assert standin.alerts() == []
    assert post(standin, event()).status_code == 202
    assert [entry["fault"] for entry in standin.log()] == [str(status), None]


def test_429_faults(standin: StandIn, session: requests.Session) -> None:
    standin.inject(429, "429:7", "429-noretry")
    first, second, third = burst(standin, session, 3)
    assert first.headers["Retry-After"].isdigit()
    assert second.headers["Retry-After"] == "7"
    assert third.status_code == 429 and "Retry-After" not in third.headers
    assert standin.alerts() == []


def test_reset_and_drop_faults(standin: StandIn, session: requests.Session) -> None:
    standin.inject("reset", "drop")
    with pytest.raises(requests.ConnectionError) as reset:
        post(standin, event(), session)
    assert "ConnectionResetError" in repr(reset.value)
    with pytest.raises(requests.ConnectionError) as dropped:
        post(standin, event(), session)
    assert "RemoteDisconnected" in repr(dropped.value)
    assert post(standin, event(), session).status_code == 202
    assert [entry["status"] for entry in standin.log()] == ["reset", "drop", 202]
    assert len(standin.alerts()) == 1


def test_delay_fault_times_out_then_proceeds(standin: StandIn) -> None:
    standin.inject("delay:0.4")
    with pytest.raises(requests.Timeout):
        post(standin, event(), timeout=0.15)
    deadline = time.monotonic() + 2
    while not standin.alerts() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(standin.alerts()) == 1
    assert standin.log()[0]["fault"] == "delay:0.4"


def test_redirect_fault_and_matching(standin: StandIn) -> None:
    standin.inject("redirect", path_prefix="/api/v1/")
    standin.inject(503, key="il1cmk0002")
    assert len(standin.faults()) == 2
    assert post(standin, event()).status_code == 202
    url = f"{standin.url}/api/v1/events/checkmk-ext/il1cmk0002"
    redirected = requests.post(url, json=cmk("PROBLEM"), allow_redirects=False)
    assert redirected.status_code == 302
    assert redirected.headers["Location"] == "https://example.invalid/"
    assert requests.post(url, json=cmk("PROBLEM")).status_code == 503
    assert standin.faults() == []
    assert len(standin.alerts()) == 1


def test_bad_fault_specs() -> None:
    for spec in ("429:x", "delay:-1", "explode", 200, True, "delay:nan"):
        with pytest.raises(ValueError):
            parse_fault(spec)


# -- HTTP details ---------------------------------------------------------------------------
def test_keep_alive_over_one_connection(standin: StandIn) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", standin.port, timeout=5)
    requests_made = [
        ("POST", "/api/events", json.dumps(event())),
        ("POST", "/api/events", "{bad"),
        ("HEAD", "/api/pings/il1nope", None),
        ("GET", "/nowhere", None),
        ("POST", "/api/events", json.dumps(event("RESOLVE"))),
    ]
    statuses = []
    for method, path, body in requests_made:
        conn.request(
            method, path, body=body, headers={"Content-Type": "application/json"}
        )
        response = conn.getresponse()
        response.read()
        statuses.append(response.status)
    sock = conn.sock
    conn.request("GET", "/_standin/health")
    conn.getresponse().read()
    assert conn.sock is sock  # the same connection served every request
    assert statuses == [202, 400, 404, 404, 202]
    conn.close()


def test_chunked_and_oversized_bodies(standin: StandIn) -> None:
    chunks = (
        part.encode() for part in (json.dumps(event())[:10], json.dumps(event())[10:])
    )
    assert requests.post(f"{standin.url}/api/events", data=chunks).status_code == 202
    big = requests.post(f"{standin.url}/api/events", data=b"x" * (2 << 20))
    assert big.status_code == 413


def test_stop_start_same_port(standin: StandIn, session: requests.Session) -> None:
    assert post(standin, event(), session).status_code == 202
    port = standin.port
    standin.stop()
    with pytest.raises(requests.ConnectionError):
        post(standin, event("RESOLVE"), session, timeout=2)
    standin.start()
    assert standin.port == port
    assert post(standin, event("RESOLVE"), session).status_code == 202
    assert standin.alerts()[0]["status"] == "RESOLVED"


def test_admin_api_via_client(standin: StandIn) -> None:
    client = StandInClient(standin.url)
    assert client.health()
    post(standin, event())
    client.inject(500, key=KEY)
    assert client.faults() == [{"fault": "500", "path_prefix": None, "key": KEY}]
    assert post(standin, event("ACCEPT")).status_code == 500
    assert [e["status"] for e in client.log()] == [202, 500]
    assert [e["index"] for e in client.log(since=1)] == [1]
    client.configure(rate_limit=7, keys=["il1x"])
    assert client.config()["rate_limit"] == 7
    assert post(standin, event()).status_code == 404
    assert client.alerts()[0]["status"] == "PENDING"
    client.reset()
    assert client.log() == [] and client.alerts() == [] and client.faults() == []
    assert (
        requests.post(
            f"{standin.url}/_standin/config", json={"rate_limit": -1}
        ).status_code
        == 400
    )


# -- process and TLS ------------------------------------------------------------------------
def test_cli_subprocess() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ilert_standin",
            "--port",
            "0",
            "--key",
            KEY,
            "--rate-limit",
            "5",
        ],
        cwd=STANDIN_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["url"] == f"http://127.0.0.1:{info['port']}"
        assert (
            requests.post(f"{info['url']}/api/events", json=event()).status_code == 202
        )
        client = StandInClient(info["url"])
        assert client.config()["rate_limit"] == 5
        assert len(client.alerts()) == 1
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert out == "" and err == ""


def test_tls(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    certfile, cafile = tmp_path / "server.pem", tmp_path / "ca.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    ca.cert_pem.write_to_path(str(cafile))
    with StandIn(keys=[KEY], certfile=str(certfile)) as server:
        assert server.url.startswith("https://127.0.0.1:")
        assert post(server, event(), verify=str(cafile)).status_code == 202
        with pytest.raises(requests.exceptions.SSLError):
            post(server, event())
        context = ssl.create_default_context(cafile=str(cafile))
        assert len(StandInClient(server.url, ssl_context=context).alerts()) == 1
