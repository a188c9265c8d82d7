"""A link into iLert: the ``alertUrl`` of iLert's 202 answer (ilert-go ``EventResponse``) ends
the ``notify.log`` line of the delivery, and ``status`` shows the last one per alert key.

Real answers come from the stand-in; odd ones (no ``alertUrl``, not an http(s) URL, a URL
with credentials or a line break, a huge URL or body, HTML, an echo of the key) from a small
real HTTP server below. An odd body changes nothing: no link, no extra line, and the event's
fate is what it would be without the link feature.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Tuple

import pytest

from tests.script.util import assert_clean, assert_no_key_fragment, event_requests, microtime, params
from tests.support.contexts import service
from tests.support.site import KEY_API

pytestmark = pytest.mark.runtime

KEY = "cmk/mysite/web01/cpu load~f26268fd97"


def links_dir(site) -> Any:
    return site.state_dir / "links"


def stored_links(site) -> List[Dict[str, Any]]:
    folder = links_dir(site)
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.exists() else []


# --- with the stand-in ------------------------------------------------------------------------


def test_delivery_line_ends_with_the_alert_url(site, standin):
    line = assert_clean(site.run(service("PROBLEM", params("api", standin.url))), 0)
    url = standin.alerts()[0]["alertUrl"]
    assert url == standin.url + "/alert/1"
    assert line == "cmk_ilert: ALERT %s: delivered (HTTP 202, NEW_ALERT_CREATED), alert %s" % (KEY, url)
    assert [(link["alert_key"], link["alert_url"]) for link in stored_links(site)] == [(KEY, url)]
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in links_dir(site).glob("*"))


def test_status_shows_the_last_url_of_a_pending_key(site, standin):
    """The alert was opened; the RECOVERY waits (iLert down): status links straight to it."""
    assert_clean(site.run(service("PROBLEM", params("api", standin.url))), 0)
    url = standin.alerts()[0]["alertUrl"]
    standin.stop()
    run = site.run(service("RECOVERY", params("api", standin.url), MICROTIME=microtime(1)))
    assert run.returncode == 1, run.output
    status = site.cli("status")
    assert "  - %s [" % KEY in status.stdout
    assert "    last iLert alert: %s\n" % url in status.stdout
    info = json.loads(site.cli("status", "--json").stdout)
    assert [(k["alert_key"], k["alert_url"]) for k in info["keys"]] == [(KEY, url)]
    standin.start()
    assert site.cli("flush", "--now").returncode == 0
    assert "last iLert alert" not in site.cli("status").stdout  # nothing pending, nothing to link


def test_status_shows_the_last_url_next_to_a_dead_letter(site, standin):
    assert_clean(site.run(service("PROBLEM", params("api", standin.url))), 0)
    url = standin.alerts()[0]["alertUrl"]
    standin.inject("400")
    run = site.run(service("ACKNOWLEDGEMENT", params("api", standin.url, comment_events="False"),
                           MICROTIME=microtime(1)))
    assert run.returncode == 2, run.output
    info = json.loads(site.cli("status", "--json").stdout)
    assert [(d["event_type"], d["alert_key"], d["alert_url"]) for d in info["dead"]] == [("ACCEPT", KEY, url)]


def test_the_last_url_per_key_wins(site, standin):
    """Problem, recovery, problem again: iLert opens a second alert; status links to that one.
    Another key keeps its own link."""
    rule = params("api", standin.url)
    assert_clean(site.run(service("PROBLEM", rule)), 0)
    assert_clean(site.run(service("RECOVERY", rule, MICROTIME=microtime(1))), 0)
    line = assert_clean(site.run(service("PROBLEM", rule, MICROTIME=microtime(2))), 0)
    assert line.endswith(", alert %s/alert/2" % standin.url)
    assert_clean(site.run(service("PROBLEM", rule, MICROTIME=microtime(3), HOSTNAME="web02")), 0)
    links = {link["alert_key"]: link["alert_url"] for link in stored_links(site)}
    assert links == {KEY: standin.url + "/alert/2", "cmk/mysite/web02/cpu load~2ced9b42fa": standin.url + "/alert/3"}


def test_an_answer_without_body_keeps_the_last_link(site, standin):
    """iLert may answer 202 without a body (the OAS allows it): delivered, no link in the
    line, and the link stored before stays."""
    rule = params("api", standin.url)
    assert_clean(site.run(service("PROBLEM", rule)), 0)
    standin.configure(empty_202_body=True)
    ack = site.run(service("ACKNOWLEDGEMENT", rule, MICROTIME=microtime(1)))
    assert_clean(ack, 0, lines=2)
    assert all(line.endswith("delivered (HTTP 202)") for line in ack.lines), ack.output
    assert [link["alert_url"] for link in stored_links(site)] == [standin.url + "/alert/1"]


def test_checkmk_source_type_has_no_link(site, standin):
    """iLert's checkmk-ext endpoint answers without alertUrl: nothing to show, nothing stored."""
    line = assert_clean(site.run(service("PROBLEM", params("checkmk", standin.url))), 0)
    assert line.startswith("cmk_ilert: ALERT %s: delivered (HTTP 200" % KEY) and ", alert " not in line
    assert stored_links(site) == []


# --- odd answers ---------------------------------------------------------------------------------


class OddAnswers:
    """A real HTTP server that answers every POST with the next (status, content type, body)
    of ``answers`` (the last one repeats) and records what it received."""

    def __init__(self, answers: List[Tuple[int, str, bytes]]) -> None:
        self.answers = list(answers)
        self.received: List[Dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", "0"))
                owner.received.append({"path": self.path, "body": json.loads(self.rfile.read(length) or b"null")})
                status, ctype, body = owner.answers.pop(0) if len(owner.answers) > 1 else owner.answers[0]
                head = "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n" % (status, ctype, len(body))
                self.wfile.write(head.encode("latin-1") + body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "OddAnswers":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def answer(body: Any, status: int = 202, ctype: str = "application/json") -> Tuple[int, str, bytes]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return status, ctype, raw


ACCEPTED = {"alertKey": KEY, "responseCode": "NEW_ALERT_CREATED"}
DELIVERED_WITHOUT_LINK = {
    "no alertUrl": answer(ACCEPTED),
    "alertUrl null": answer(dict(ACCEPTED, alertUrl=None)),
    "alertUrl a number": answer(dict(ACCEPTED, alertUrl=42)),
    "alertUrl a list": answer(dict(ACCEPTED, alertUrl=["https://ilert.example/alert/1"])),
    "javascript URL": answer(dict(ACCEPTED, alertUrl="javascript:alert(1)")),
    "ftp URL": answer(dict(ACCEPTED, alertUrl="ftp://ilert.example/alert/1")),
    "file URL": answer(dict(ACCEPTED, alertUrl="file:///etc/passwd")),
    "no host": answer(dict(ACCEPTED, alertUrl="https:///alert/1")),
    "credentials in the URL": answer(dict(ACCEPTED, alertUrl="https://admin:secret@ilert.example/alert/1")),
    "line break in the URL": answer(dict(ACCEPTED, alertUrl="https://ilert.example/alert/1\ncmk_ilert: RESOLVE x")),
    "control character": answer(dict(ACCEPTED, alertUrl="https://ilert.example/alert/1\x1b[31m")),
    "huge URL": answer(dict(ACCEPTED, alertUrl="https://ilert.example/" + "a" * 20000)),
    "empty body": answer(b"", ctype="text/plain"),
}
NOT_AN_ILERT_ANSWER = {
    "HTML page": answer(b"<html><body><a href='https://ilert.example/alert/1'>alert</a></body></html>",
                        ctype="text/html"),
    "JSON list": answer(b'[{"alertUrl": "https://ilert.example/alert/1"}]'),
    "JSON null": answer(b"null"),
    "body larger than 64 KiB": answer(dict(ACCEPTED, alertUrl="https://ilert.example/alert/1", pad="x" * 70000)),
}


@pytest.mark.parametrize("case", list(DELIVERED_WITHOUT_LINK))
def test_odd_bodies_are_delivered_without_a_link(site, case):
    with OddAnswers([DELIVERED_WITHOUT_LINK[case]]) as server:
        run = site.run(service("PROBLEM", params("api", server.url)))
    line = assert_clean(run, 0)
    assert line.startswith("cmk_ilert: ALERT %s: delivered (HTTP 202" % KEY), line
    assert ", alert " not in line and "ilert.example" not in line and "javascript" not in line
    assert stored_links(site) == []
    assert site.queue() == [] and site.dead() == []


@pytest.mark.parametrize("case", list(NOT_AN_ILERT_ANSWER))
def test_answers_that_are_not_ilerts_stay_queued_without_a_link(site, case):
    """2xx answers that are not iLert JSON (a captive portal, a proxy) are retried as before;
    whatever URL they hold is neither shown nor stored."""
    with OddAnswers([NOT_AN_ILERT_ANSWER[case]]) as server:
        run = site.run(service("PROBLEM", params("api", server.url)))
    line = assert_clean(run, 1)
    assert "not an iLert answer" in line and "ilert.example" not in line
    assert stored_links(site) == [] and len(site.queue()) == 1


def test_an_odd_answer_does_not_replace_the_last_good_link(site):
    good = answer(dict(ACCEPTED, alertUrl="https://ilert.example/alert/7"))
    with OddAnswers([good, answer(dict(ACCEPTED, alertUrl="javascript:alert(1)")), answer({})]) as server:
        rule = params("api", server.url)
        assert_clean(site.run(service("PROBLEM", rule)), 0)
        assert_clean(site.run(service("PROBLEM", rule, MICROTIME=microtime(1))), 0)
        assert_clean(site.run(service("RECOVERY", rule, MICROTIME=microtime(2))), 0)
    assert [link["alert_url"] for link in stored_links(site)] == ["https://ilert.example/alert/7"]


def test_an_answer_echoing_the_key_leaks_it_nowhere(site):
    """A server that puts the integration key into alertUrl: not printed, not stored (a URL
    holding a secret is not iLert's link)."""
    echo = answer(dict(ACCEPTED, alertUrl="https://ilert.example/alert/1?key=" + KEY_API))
    with OddAnswers([echo]) as server:
        run = site.run(service("PROBLEM", params("api", server.url)))
        assert server.received and server.received[0]["body"]["integrationKey"] == KEY_API
    line = assert_clean(run, 0)
    assert_no_key_fragment(line, KEY_API)
    assert ", alert " not in line
    assert stored_links(site) == []
    for path in site.state_dir.rglob("*"):
        if path.is_file():
            assert KEY_API not in path.read_text(errors="replace"), path


def test_links_never_hold_more_than_one_file_per_key(site, standin):
    rule = params("api", standin.url)
    for n in range(4):
        ntype = "PROBLEM" if n % 2 == 0 else "RECOVERY"
        assert_clean(site.run(service(ntype, rule, MICROTIME=microtime(n))), 0)
    assert len(list(links_dir(site).glob("*.json"))) == 1
    assert [e["status"] for e in event_requests(standin)] == [202] * 4
