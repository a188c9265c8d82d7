"""Issue 9, item 10: answers that are not iLert's.

iLert answers an event with 202 and a JSON body: a 2xx that is not iLert's JSON (a captive
portal's login page, plain text, a JSON list, an answer longer than the read cap) is a temporary
failure, named as such; a SOCKS proxy without PySocks is a permanent failure that names the
missing module; an entry whose ``sent/`` marker exists (a kill came between the marker and the
unlink) is never posted again. Before the fix every 2xx counted as delivered, the SOCKS case read
"invalid URL: check ilert_api_url", and the marked entry was posted a second time.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.hostile.conftest import (
    event_types,
    group_and_identity,
    load,
    no_crash,
    notification,
    posted,
    rewrite,
    run,
)
from tests.hostile.servers import Reply
from tests.support.hostile import CaptivePortal
from tests.support.site import runtime_python

pytestmark = pytest.mark.runtime


def test_a_captive_portal_page_is_a_temporary_failure(site):
    with CaptivePortal() as portal:
        result = run(site, context=notification(portal.url))
        no_crash(result)
        assert result.returncode == 1 and "not an iLert answer" in result.output, result.output
        (entry,) = site.queue()
        assert "not an iLert answer" in load(entry)["last_error"]
        rewrite(entry, next_attempt=0)
        flush = run(site, "flush")
    no_crash(flush)
    assert flush.returncode == 1 and len(site.queue()) == 1 and len(portal.arrivals) == 2, flush.output
    status = run(site, "status")
    assert "not an iLert answer" in status.output, status.output


ANSWERS = {
    # status, content type, body -> delivered?
    "202-ilert-json": (202, "application/json", b'{"responseCode": "NEW_ALERT_CREATED"}', True),
    "202-empty": (202, "application/json", b"", True),
    "204-no-content": (204, "application/json", b"", True),
    "200-html": (200, "text/html", b"<html><body>Welcome to the guest network</body></html>", False),
    "202-plain-text": (202, "text/plain", b"OK", False),
    "200-json-list": (200, "application/json", b"[]", False),
    "200-json-null": (200, "application/json", b"null", False),
    "202-broken-json": (202, "application/json", b'{"responseCode": "NEW_AL', False),
    "202-json-beyond-the-cap": (202, "application/json", b'{"pad": "' + b"p" * 70000 + b'"}', False),
}


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_only_ilerts_2xx_answers_count_as_delivered(site, name):
    status, kind, body, delivered = ANSWERS[name]
    with Reply(status, [("Content-Type", kind)], body) as server:
        result = run(site, context=notification(server.url))
    no_crash(result)
    if delivered:
        assert result.returncode == 0 and site.queue() == [], result.output
    else:
        assert result.returncode == 1 and "HTTP %d but not an iLert answer" % status in result.output, result.output
        assert len(site.queue()) == 1


def test_a_socks_proxy_without_pysocks_names_the_missing_module(site, standin):
    has_socks = subprocess.run([runtime_python(), "-c", "import socks"], capture_output=True).returncode == 0
    if has_socks:
        pytest.skip("PySocks is installed for the runtime Python")
    result = run(site, context=notification(standin.url, proxy_url="socks5h://127.0.0.1:1080"))
    no_crash(result)
    assert result.returncode == 2 and "PySocks" in result.output, result.output
    assert "invalid URL" not in result.output
    (dead,) = site.dead()
    assert "PySocks" in load(dead)["reason"]
    assert posted(standin) == []


@pytest.mark.parametrize("then", ["flush", "notify"])
def test_an_entry_whose_sent_marker_exists_is_never_posted_again(site, standin, then):
    """The kill came after iLert took the event and the marker was written, before the unlink:
    the entry is still queued, its marker exists. Simulated by writing the marker by hand."""
    standin.stop()
    run(site, context=notification(standin.url, "PROBLEM", n=0, timeout="1"))
    standin.start()
    (entry,) = site.queue()
    _, identity = group_and_identity(entry)
    rewrite(entry, next_attempt=0)
    (site.state_dir / "sent" / identity).write_bytes(b"")
    if then == "flush":
        result = run(site, "flush", "--now")
        expected = []
    else:
        result = run(site, context=notification(standin.url, "RECOVERY", n=1))
        expected = ["RESOLVE"]
    no_crash(result)
    assert result.returncode == 0, result.output
    assert event_types(standin) == expected, "the delivered ALERT was posted again"
    assert site.queue() == []
