"""The stand-in's alerts REST API (GET /api/alerts, /api/alerts/{id}) over real HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from ilert_standin import StandIn, StandInClient, StandInError

STANDIN_DIR = Path(__file__).resolve().parents[2] / "standin"
KEY = "il1api0001"
CMK_KEY = "il1cmk0002"
USER_KEY = "user-key-reader-0001"
NO_READ_KEY = "user-key-noread-0002"
AUTH = {"Authorization": f"Bearer {USER_KEY}"}


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with StandIn(
        keys=[KEY, CMK_KEY],
        user_api_keys=[USER_KEY],
        user_api_keys_no_read=[NO_READ_KEY],
        source_names={KEY: "Checkmk prod"},
    ) as server:
        yield server


def post_event(server: StandIn, event_type: str, alert_key: str, **extra: Any) -> Any:
    body = {"integrationKey": KEY, "eventType": event_type, "summary": "s"}
    body.update(alertKey=alert_key, **extra)
    response = requests.post(f"{server.url}/api/events", json=body)
    assert response.status_code == 202, response.text
    return response.json()


def alert_id(server: StandIn, alert_key: str) -> int:
    (found,) = [a for a in server.alerts() if a["alertKey"] == alert_key]
    return int(found["id"])


def get(server: StandIn, path: str = "/api/alerts", **params: Any) -> requests.Response:
    return requests.get(f"{server.url}{path}", params=params, headers=AUTH)


def listed(server: StandIn, **params: Any) -> list[dict[str, Any]]:
    response = get(server, **params)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


# -- authorization ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "status"),
    [
        (None, 401),
        (f"Bearer {KEY}", 401),  # an integration key is not a user API key
        (USER_KEY, 401),  # the Bearer prefix is required
        (f"Basic {USER_KEY}", 401),
        ("Bearer ", 401),
        ("Bearer someone-else-0000", 401),
        (f"Bearer {NO_READ_KEY}", 403),
        (f"Bearer {USER_KEY}", 200),
        (f"bearer   {USER_KEY}  ", 200),
    ],
)
def test_authorization(standin: StandIn, header: str | None, status: int) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = requests.get(f"{standin.url}/api/alerts", headers=headers)
    assert response.status_code == status
    body = response.json()
    if status == 200:
        assert body == []
    else:
        assert body["status"] == status and body["code"] and body["message"]
    one = requests.get(f"{standin.url}/api/alerts/1", headers=headers)
    assert one.status_code == (404 if status == 200 else status)


def test_only_get(standin: StandIn) -> None:
    response = requests.post(f"{standin.url}/api/alerts", headers=AUTH, json={})
    assert response.status_code == 405
    assert requests.head(f"{standin.url}/api/alerts", headers=AUTH).status_code == 200


# -- the alert as the REST API serves it ------------------------------------------------
def test_alert_fields(standin: StandIn) -> None:
    post_event(
        standin,
        "ALERT",
        "cmk/mysite/Web01/CPU",
        details="load 9",
        priority="LOW",
        links=[{"href": "https://cmk/view", "text": "Checkmk"}],
        customDetails={"host": "Web01"},
    )
    before = datetime.now(timezone.utc)
    (alert,) = listed(standin)
    assert alert["id"] == alert_id(standin, "cmk/mysite/Web01/CPU")
    assert alert["alertKey"] == "cmk/mysite/Web01/CPU"
    assert alert["summary"] == "s"
    assert alert["details"] == "load 9"
    assert alert["priority"] == "LOW"
    assert alert["status"] == "PENDING"
    assert alert["resolvedOn"] is None
    assert alert["links"] == [{"href": "https://cmk/view", "text": "Checkmk"}]
    assert alert["customDetails"] == {"host": "Web01"}
    assert alert["alertSource"] == {
        "id": standin.source_id(KEY),
        "name": "Checkmk prod",
        "integrationType": "API",
    }
    assert alert["responders"] == []
    assert alert["acknowledgedBy"] is None and "acknowledgedByType" not in alert
    report = datetime.fromisoformat(alert["reportTime"].replace("Z", "+00:00"))
    assert alert["reportTime"].endswith("Z")
    assert abs((report - before).total_seconds()) < 5
    # the public view never carries the integration key or the admin fields
    response = get(standin)
    assert KEY not in response.text
    assert "sourceKey" not in alert and "events" not in alert
    assert get(standin, f"/api/alerts/{alert['id']}").json() == alert


def test_source_ids_are_stable_and_configurable() -> None:
    with StandIn(keys=["il1b", "il1a"], source_ids={"il1b": 7}) as server:
        assert server.source_id("il1b") == 7
        assert server.source_id("il1a") == 8
        server.configure(keys=["il1a", "il1b", "il1c"])
        assert server.source_id("il1c") == 9
        assert StandInClient(server.url).sources()["il1c"] == {
            "id": 9,
            "name": "Alert source 9",
        }
        with pytest.raises(ValueError):
            server.configure(source_ids={"il1a": 1, "il1b": 1})


def test_checkmk_ext_alert_has_checkmk_source(standin: StandIn) -> None:
    context = {"NOTIFICATIONTYPE": "PROBLEM", "HOSTNAME": "db1", "HOSTSTATE": "DOWN"}
    url = f"{standin.url}/api/v1/events/checkmk-ext/{CMK_KEY}"
    assert requests.post(url, json=context).status_code == 200
    (alert,) = listed(standin)
    assert alert["alertSource"]["integrationType"] == "CHECKMK"
    assert alert["alertSource"]["id"] == standin.source_id(CMK_KEY)


# -- responders (admin API) -------------------------------------------------------------
def test_responder_accepts_and_resolves(standin: StandIn) -> None:
    client = StandInClient(standin.url)
    post_event(standin, "ALERT", "k1")
    number = alert_id(standin, "k1")
    admin = client.accept_alert(number, "Jane Doe")
    assert admin["status"] == "ACCEPTED" and admin["acceptedBy"] == "Jane Doe"
    (alert,) = listed(standin)
    jane = {"id": alert["acknowledgedBy"]["id"], "firstName": "Jane", "lastName": "Doe"}
    assert alert["status"] == "ACCEPTED"
    assert alert["acknowledgedByType"] == "USER"
    assert alert["acknowledgedBy"]["email"].endswith("@example.invalid")
    ((responder),) = alert["responders"]
    assert responder["user"] == jane and responder["status"] == "ACCEPTED"
    assert responder["acceptedAt"].endswith("Z")
    with pytest.raises(StandInError, match="ALERT_ALREADY_ACCEPTED"):
        client.accept_alert(number, "Jane Doe")
    # the source's own ACCEPT now meets an accepted alert, as in iLert
    body = {"integrationKey": KEY, "eventType": "ACCEPT", "summary": "s", "alertKey": "k1"}
    again = requests.post(f"{standin.url}/api/events", json=body)
    assert again.json()["code"] == "ALERT_ALREADY_ACCEPTED"
    client.comment_alert(number, "Bob Roe", "on it")
    client.resolve_alert(number, "Bob Roe")
    (alert,) = listed(standin)
    assert alert["status"] == "RESOLVED" and alert["resolvedOn"].endswith("Z")
    assert alert["resolvedBy"]["firstName"] == "Bob"
    assert alert["resolvedByType"] == "USER"
    assert alert["acknowledgedBy"]["firstName"] == "Jane"
    with pytest.raises(StandInError, match="ALERT_ALREADY_RESOLVED"):
        client.resolve_alert(number, "Bob Roe")
    with pytest.raises(StandInError, match="ALERT_ALREADY_RESOLVED"):
        client.accept_alert(number, "Bob Roe")
    (admin_view,) = client.alerts()
    assert {"creator": "Bob Roe", "content": "on it"} in admin_view["comments"]
    history = [(h["action"], h["byType"], h["by"]) for h in admin_view["history"]]
    assert history == [
        ("ALERT", "SOURCE", None),
        ("ACCEPT", "USER", "Jane Doe"),
        ("COMMENT", "USER", "Bob Roe"),
        ("RESOLVE", "USER", "Bob Roe"),
    ]
    names = {u["name"]: u["id"] for u in client.users()}
    assert names == {"Jane Doe": jane["id"], "Bob Roe": alert["resolvedBy"]["id"]}


def test_accept_and_resolve_by_the_source(standin: StandIn) -> None:
    post_event(standin, "ALERT", "k2")
    post_event(standin, "ACCEPT", "k2")
    (alert,) = listed(standin)
    assert alert["acknowledgedBy"] is None
    assert alert["acknowledgedByType"] == "SOURCE"
    assert alert["responders"] == []
    post_event(standin, "COMMENT", "k2", comments=[{"creator": "cmk", "content": "x"}])
    post_event(standin, "RESOLVE", "k2")
    (alert,) = listed(standin)
    assert alert["resolvedByType"] == "SOURCE" and alert["resolvedBy"] is None
    (admin_view,) = standin.alerts()
    assert [h["action"] for h in admin_view["history"]] == [
        "ALERT",
        "ACCEPT",
        "COMMENT",
        "RESOLVE",
    ]


def test_admin_errors(standin: StandIn) -> None:
    base = f"{standin.url}/_standin/alerts"
    assert requests.post(f"{base}/9/accept", json={"user": "x"}).status_code == 404
    post_event(standin, "ALERT", "k3")
    assert requests.post(f"{base}/1/accept", json={}).status_code == 400
    assert requests.post(f"{base}/1/comments", json={"user": "x"}).status_code == 400
    assert requests.post(f"{base}/1/explode", json={"user": "x"}).status_code == 404
    accepted = standin.accept_alert(1, "In Process")
    assert accepted["acceptedByType"] == "USER"


# -- filters and paging -----------------------------------------------------------------
def make_alerts(server: StandIn, count: int) -> None:
    for n in range(count):
        post_event(server, "ALERT", f"page/{n}")


def test_paging(standin: StandIn) -> None:
    make_alerts(standin, 7)
    keys = [a["alertKey"] for a in listed(standin)]
    assert keys == [f"page/{n}" for n in range(7)]
    page = listed(standin, **{"start-index": 2, "max-results": 3})
    assert [a["alertKey"] for a in page] == ["page/2", "page/3", "page/4"]
    assert listed(standin, **{"start-index": 7}) == []
    assert len(listed(standin, **{"max-results": 100})) == 7
    standin.configure(alerts_order="desc")
    assert [a["alertKey"] for a in listed(standin)] == keys[::-1]


def test_default_page_size_is_50(standin: StandIn) -> None:
    standin.configure(rate_limit=0)
    make_alerts(standin, 53)
    assert len(listed(standin)) == 50
    assert len(listed(standin, **{"start-index": 50})) == 3


def test_states_sources_responders(standin: StandIn) -> None:
    for name in ("a", "b", "c"):
        post_event(standin, "ALERT", name)
    standin.accept_alert(alert_id(standin, "b"), "Jane Doe")
    standin.resolve_alert(alert_id(standin, "c"), "Bob Roe")
    cmk = {"NOTIFICATIONTYPE": "PROBLEM", "HOSTNAME": "d"}
    requests.post(f"{standin.url}/api/v1/events/checkmk-ext/{CMK_KEY}", json=cmk)

    def keys(**params: Any) -> list[str]:
        return [a["alertKey"] for a in listed(standin, **params)]

    assert keys(states="PENDING") == ["a", "d"]
    assert keys(states=["PENDING", "ACCEPTED"]) == ["a", "b", "d"]
    assert keys(states="RESOLVED") == ["c"]
    assert keys(sources=standin.source_id(CMK_KEY)) == ["d"]
    assert keys(sources=[standin.source_id(KEY), 99999]) == ["a", "b", "c"]
    assert keys(sources=99999) == []
    jane = [u for u in standin.users() if u["name"] == "Jane Doe"][0]
    assert keys(responders=jane["id"]) == ["b"]
    assert keys(policies=1) == ["a", "b", "c", "d"]
    assert keys(policies=2) == []
    assert keys(states="ACCEPTED", sources=standin.source_id(CMK_KEY)) == []


def test_from_until_filter_on_report_time(standin: StandIn) -> None:
    standin.configure(clock_offset=-7200.0)  # these alerts were reported two hours ago
    post_event(standin, "ALERT", "old")
    standin.configure(clock_offset=0.0)
    post_event(standin, "ALERT", "new")
    standin.accept_alert(alert_id(standin, "old"), "Jane Doe")  # a change does not count
    hour_ago = datetime.fromtimestamp(time.time() - 3600, timezone.utc)
    stamp = hour_ago.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert [a["alertKey"] for a in listed(standin, **{"from": stamp})] == ["new"]
    assert [a["alertKey"] for a in listed(standin, until=stamp)] == ["old"]
    offset = hour_ago.astimezone().isoformat()  # an offset instead of Z
    assert [a["alertKey"] for a in listed(standin, **{"from": offset})] == ["new"]
    (old,) = listed(standin, until=stamp)
    assert old["responders"][0]["acceptedAt"] > old["reportTime"]
    # until is exclusive, from inclusive
    assert listed(standin, **{"from": old["reportTime"], "until": old["reportTime"]}) == []
    assert len(listed(standin, **{"from": old["reportTime"]})) == 2


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"state": "PENDING"}, "'states'"),
        ({"alert-source": "1001"}, "'sources'"),
        ({"assigned-to": "jd"}, "'responders'"),
        ({"limit": "5"}, "unknown query parameter 'limit'"),
        ({"states": "NEW"}, "states"),
        ({"states": "PENDING,ACCEPTED"}, "states"),
        ({"states": "pending"}, "states"),
        ({"sources": "abc"}, "sources"),
        ({"max-results": "101"}, "max-results"),
        ({"max-results": "0"}, "max-results"),
        ({"start-index": "-1"}, "start-index"),
        ({"start-index": ["0", "1"]}, "once"),
        ({"from": "yesterday"}, "ISO-8601"),
        ({"from": "2021-05-25T21:24:56"}, "time zone"),
        ({"include": "escalationRules"}, "include"),
    ],
)
def test_bad_queries(standin: StandIn, params: dict[str, Any], needle: str) -> None:
    response = get(standin, **params)
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_INPUT"
    assert needle in response.json()["message"]


def test_include(standin: StandIn) -> None:
    post_event(standin, "ALERT", "i")
    (alert,) = listed(standin, include="nextEscalationUser")
    assert alert["nextEscalationUser"] is None
    one = get(standin, "/api/alerts/1", include=["escalationRules", "nextEscalationUser"])
    assert one.json()["escalationRules"] == []
    assert get(standin, "/api/alerts/1", states="PENDING").status_code == 400
    assert get(standin, "/api/alerts/x").status_code == 404


# -- rate limit, faults, log ------------------------------------------------------------
def test_user_api_key_rate_limit(standin: StandIn) -> None:
    assert standin.config()["api_rate_limit"] == 120  # iLert: 120/min per user API key
    standin.configure(api_rate_limit=3, rate_window=0.5, user_api_keys=[USER_KEY, "k2"])
    time.sleep(standin.next_window_in() + 0.02)
    statuses = [get(standin).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = get(standin)
    assert limited.json()["code"] == "TOO_MANY_REQUESTS"
    assert limited.headers["Retry-After"] == "1"
    other = requests.get(
        f"{standin.url}/api/alerts", headers={"Authorization": "Bearer k2"}
    )
    assert other.status_code == 200  # each key has its own window
    post_event(standin, "ALERT", "events-count-separately")
    time.sleep(standin.next_window_in() + 0.02)
    assert get(standin).status_code == 200


def test_faults_and_log(standin: StandIn) -> None:
    standin.inject(503, path_prefix="/api/alerts")
    standin.inject("drop", key=USER_KEY)
    assert get(standin).status_code == 503
    with pytest.raises(requests.ConnectionError):
        get(standin)
    assert get(standin).status_code == 200
    log = standin.log()
    assert [e["status"] for e in log] == [503, "drop", 200]
    assert {e["key"] for e in log} == {USER_KEY}
    assert log[-1]["path"] == "/api/alerts"


def test_cli_flags() -> None:
    argv = [sys.executable, "-m", "ilert_standin", "--key", KEY, "--source-id",
            f"{KEY}=42", "--user-api-key", USER_KEY, "--user-api-key-no-read",
            NO_READ_KEY, "--api-rate-limit", "7"]  # fmt: skip
    proc = subprocess.Popen(argv, cwd=STANDIN_DIR, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = json.loads(proc.stdout.readline())["url"]
        client = StandInClient(url)
        assert client.config()["api_rate_limit"] == 7
        assert client.sources()[KEY]["id"] == 42
        ok = requests.get(f"{url}/api/alerts", headers=AUTH)
        assert ok.status_code == 200
        denied = {"Authorization": f"Bearer {NO_READ_KEY}"}
        assert requests.get(f"{url}/api/alerts", headers=denied).status_code == 403
    finally:
        proc.terminate()
        proc.wait(timeout=5)
    bad = subprocess.run(
        [sys.executable, "-m", "ilert_standin", "--source-id", "nokey"],
        cwd=STANDIN_DIR,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "KEY=ID" in bad.stderr
