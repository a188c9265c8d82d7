"""A damaged queue entry (a crash cannot make one, an old version, an admin's edit or a bad disk
can) becomes a dead letter; it never stops the delivery of the other events."""

from __future__ import annotations

import json

import pytest

from tests.delivery.conftest import accepted_counts, event, event_requests, no_traceback

pytestmark = pytest.mark.runtime

T0 = 1795341600000000
GOOD_URL = "http://127.0.0.1:1/api/events"

UNREADABLE = {
    "empty": b"",
    "garbage": b"\x00\xffnot json",
    "truncated": b'{"request": {"url": "http',
    "array": b"[1, 2, 3]",
    "no request": b'{"seq": "0", "created": 1}',
}
MALFORMED = {
    "request without url": b'{"request": {}}',
    "request not an object": b'{"request": "x"}',
    "created not a number": json.dumps({"request": {"url": GOOD_URL, "body": {}}, "created": "yesterday"}).encode(),
    "attempts null": json.dumps({"request": {"url": GOOD_URL, "body": {}}, "attempts": None}).encode(),
    "rate_limit not a number": json.dumps({"request": {"url": GOOD_URL, "body": {}}, "rate_limit": "abc"}).encode(),
    "timeout not a number": json.dumps({"request": {"url": GOOD_URL, "body": {}}, "transport": {"timeout": "x"}})
    .encode(),
}


def _setup(site, standin, params, payload: bytes):
    standin.inject("503", "503")
    for n, host in enumerate(("web01", "web02")):
        run = site.run(event(host, params, micro=T0 + 10 + n, host=host))
        assert run.returncode == 1, run.output
    group = site.queue()[0].name.split(".")[0]
    # one damaged entry in a group of its own, one in a group with a real event
    (site.state_dir / "queue" / "0000000000000000.deadbeef.json").write_bytes(payload)
    (site.state_dir / "queue" / ("%s.feedface.json" % group)).write_bytes(payload)


def _check(site, standin):
    flush = site.cli("flush", "--now")
    no_traceback(flush)
    assert "internal error" not in flush.output, flush.output
    # 2 would tell the cron's log about the new dead letters; the product buries unreadable
    # entries silently (exit 0), status reports them
    assert flush.returncode in (0, 2), flush.output
    assert accepted_counts(event_requests(standin)) == {"web01": 1, "web02": 1}
    assert site.queue() == []
    assert len(site.dead()) == 2
    status = site.cli("status")
    no_traceback(status)
    assert "internal error" not in status.output, status.output
    assert status.returncode == 2 and "dead letter" in status.stdout, status.output


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_unreadable_entry_is_buried_and_the_rest_flows(site, standin, params, name):
    _setup(site, standin, params, UNREADABLE[name])
    _check(site, standin)
    for path in site.dead():
        assert "unreadable" in json.loads(path.read_text())["reason"]


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_entry_is_buried_and_the_rest_flows(site, standin, params, name):
    _setup(site, standin, params, MALFORMED[name])
    _check(site, standin)
