"""COMMENT events, iLert's 202 body, ignored checkmk-ext types, and how answers hit the wire."""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import trustme

from ilert_standin import StandIn, StandInClient

KEY = "il1api0001"
CMK_KEY = "il1cmk0002"


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with StandIn(keys=[KEY, CMK_KEY]) as server:
        yield server


def event(event_type: str, alert_key: str | None = "Web01/CPU", **extra: Any) -> Any:
    body: dict[str, Any] = {"integrationKey": KEY, "eventType": event_type, "summary": "s"}
    if alert_key is not None:
        body["alertKey"] = alert_key
    body.update(extra)
    return body


def post(server: StandIn, body: Any) -> requests.Response:
    return requests.post(f"{server.url}/api/events", json=body)


def comment(content: str, creator: str | None = "cmkadmin") -> dict[str, str]:
    return {"content": content} if creator is None else {"creator": creator, "content": content}


# -- COMMENT ----------------------------------------------------------------------------
def test_comment_on_pending_and_accepted_alert(standin: StandIn) -> None:
    first = post(standin, event("ALERT", summary="CPU high"))
    assert first.status_code == 202
    created = first.json()
    number = standin.alerts()[0]["id"]
    assert created == {
        "alertKey": "Web01/CPU",
        "alertUrl": f"{standin.url}/alert/{number}",
        "responseCode": "NEW_ALERT_CREATED",
    }
    note = comment("Downtime started by ann: kernel update, until 14:00")
    on_pending = post(standin, event("COMMENT", "web01/cpu", comments=[note]))
    assert on_pending.status_code == 202
    assert on_pending.json() == {
        "alertKey": "Web01/CPU",  # as the alert's first event spelled it
        "alertUrl": created["alertUrl"],
        "responseCode": "EVENT_APPENDED",
    }
    assert post(standin, event("ACCEPT")).json()["responseCode"] == "ALERT_ACCEPTED"
    second = comment("Flapping stopped", creator=None)
    assert post(standin, event("COMMENT", comments=[second])).status_code == 202
    (alert,) = standin.alerts()
    assert alert["status"] == "ACCEPTED"
    assert alert["comments"] == [note, second]
    assert [e["eventType"] for e in alert["events"]] == ["ALERT", "COMMENT", "ACCEPT", "COMMENT"]
    assert [h["action"] for h in alert["history"]] == ["ALERT", "COMMENT", "ACCEPT", "COMMENT"]
    assert alert["alertUrl"] == created["alertUrl"]
    resolved = post(standin, event("RESOLVE"))
    assert resolved.json()["responseCode"] == "ALERT_RESOLVED"


def test_comment_without_open_alert(standin: StandIn) -> None:
    note = [comment("x")]
    nothing = post(standin, event("COMMENT", comments=note))
    assert nothing.status_code == 400
    assert nothing.json()["code"] == "NO_OPEN_ALERT_WITH_KEY"
    post(standin, event("ALERT"))
    post(standin, event("RESOLVE"))
    after = post(standin, event("COMMENT", comments=note))
    assert (after.status_code, after.json()["code"]) == (400, "NO_OPEN_ALERT_WITH_KEY")
    assert standin.alerts()[0]["comments"] == []


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (event("COMMENT"), "comments"),
        (event("COMMENT", comments=[]), "comments"),
        (event("COMMENT", comments=[{"creator": "a"}]), "content"),
        (event("COMMENT", comments=[{"content": ""}]), "content"),
        (event("COMMENT", None, comments=[comment("x")]), "alertKey"),
        ({k: v for k, v in event("COMMENT", comments=[comment("x")]).items()
          if k != "summary"}, "summary"),  # fmt: skip
    ],
)
def test_comment_schema(standin: StandIn, body: Any, needle: str) -> None:
    post(standin, event("ALERT"))
    response = post(standin, body)
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_INPUT"
    assert needle in response.json()["message"]
    assert standin.alerts()[0]["comments"] == []


def test_alert_url_page(standin: StandIn) -> None:
    url = post(standin, event("ALERT", summary="<b>disk</b> full")).json()["alertUrl"]
    page = requests.get(url)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "&lt;b&gt;disk&lt;/b&gt; full" in page.text and "PENDING" in page.text
    assert requests.get(f"{standin.url}/alert/99").status_code == 404
    assert [e["path"] for e in standin.log()] == ["/api/events"]  # pages are not logged


def test_empty_202_body_still_possible(standin: StandIn) -> None:
    standin.configure(empty_202_body=True)
    response = post(standin, event("ALERT"))
    assert (response.status_code, response.content) == (202, b"")


# -- checkmk-ext: types iLert's Checkmk integration ignores -----------------------------
@pytest.mark.parametrize(
    "kind",
    [
        "FLAPPINGSTART",
        "FLAPPINGSTOP",
        "FLAPPINGDISABLED",
        "DOWNTIMESTART",
        "DOWNTIMEEND",
        "DOWNTIMECANCELLED",
        "CUSTOM",
        "ALERTHANDLER",
    ],
)
def test_checkmk_ext_ignores(standin: StandIn, kind: str) -> None:
    url = f"{standin.url}/api/v1/events/checkmk-ext/{CMK_KEY}"
    context = {"NOTIFICATIONTYPE": kind, "WHAT": "HOST", "HOSTNAME": "Web01"}
    ignored = requests.post(url, json=context)
    assert (ignored.status_code, ignored.json()) == (200, {"incidentKey": "web01"})
    assert standin.alerts() == []
    problem = dict(context, NOTIFICATIONTYPE="PROBLEM", HOSTSTATE="DOWN")
    assert requests.post(url, json=problem).status_code == 200
    assert requests.post(url, json=context).status_code == 200
    (alert,) = standin.alerts()
    assert alert["status"] == "PENDING" and alert["comments"] == []
    assert [e["eventType"] for e in alert["events"]] == ["PROBLEM"]


# -- the wire: TCP_NODELAY and one write per answer -------------------------------------
def keep_alive_posts(conn: http.client.HTTPConnection, count: int) -> list[int]:
    statuses = []
    for n in range(count):
        body = json.dumps(event("ALERT", f"bulk/{n % 7}"))
        conn.request("POST", "/api/events", body=body,
                     headers={"Content-Type": "application/json"})  # fmt: skip
        response = conn.getresponse()
        assert json.loads(response.read())["alertUrl"]
        statuses.append(response.status)
    return statuses


def test_keep_alive_answers_are_single_writes_on_nodelay_sockets(standin: StandIn) -> None:
    standin.configure(rate_limit=0)
    conn = http.client.HTTPConnection("127.0.0.1", standin.port, timeout=5)
    try:
        assert keep_alive_posts(conn, 50) == [202] * 50
        # a 400 with a body, and a HEAD (headers only), on the same connection
        conn.request("POST", "/api/events", body=b"{bad")
        assert conn.getresponse().read()
        conn.request("HEAD", "/api/pings/il1nope")
        conn.getresponse().read()
    finally:
        conn.close()
    stats = standin.stats()
    assert stats == {
        "connections": 1,
        "nodelay_connections": 1,
        "responses": 52,
        "writes": 52,
    }
    client = StandInClient(standin.url)  # admin answers go the same way (new connections)
    client.stats()
    assert client.stats() == {
        "connections": 3,
        "nodelay_connections": 3,
        "responses": 53,
        "writes": 53,
    }


def test_tls_answers_are_single_writes(tmp_path: Path) -> None:
    ca = trustme.CA()
    certfile, cafile = tmp_path / "server.pem", tmp_path / "ca.pem"
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(certfile))
    ca.cert_pem.write_to_path(str(cafile))
    with StandIn(keys=[KEY], certfile=str(certfile)) as server:
        context = ssl.create_default_context(cafile=str(cafile))
        conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=context)
        try:
            assert keep_alive_posts(conn, 10) == [202] * 10
        finally:
            conn.close()
        assert server.stats() == {
            "connections": 1,
            "nodelay_connections": 1,
            "responses": 10,
            "writes": 10,
        }
