"""Retry backoff per entry, and the 24 h limit after which an event becomes a dead letter."""

from __future__ import annotations

import json
import time

import pytest

from tests.delivery.conftest import accepted_counts, event, event_requests, load, no_traceback, rewrite

pytestmark = pytest.mark.runtime

T0 = 1795341600000000


def _queued_one(site, standin, params, tag="bo"):
    standin.inject("503")
    run = site.run(event(tag, params, micro=T0 + 1))
    assert run.returncode == 1, run.output
    [path] = site.queue()
    return path


def test_failed_entry_backs_off_plain_flush_waits_now_retries(site, standin, params):
    path = _queued_one(site, standin, params)
    data = load(path)
    assert data["attempts"] == 1
    assert data["next_attempt"] > time.time() + 10  # 30 s first backoff
    assert data["next_attempt"] <= time.time() + 31
    assert "HTTP 503" in data["last_error"]

    seen = len(standin.log())
    plain = site.cli("flush")
    no_traceback(plain)
    assert plain.returncode == 1, plain.output
    assert len(standin.log()) == seen, "a plain flush retried an entry in backoff"
    assert site.queue() == [path]
    assert load(path)["attempts"] == 1

    # a second failure doubles the backoff
    standin.inject("500")
    forced = site.cli("flush", "--now")
    assert forced.returncode == 1, forced.output
    data = load(path)
    assert data["attempts"] == 2
    assert time.time() + 40 < data["next_attempt"] <= time.time() + 61
    assert "HTTP 500" in data["last_error"]

    forced = site.cli("flush", "--now")
    no_traceback(forced)
    assert forced.returncode == 0, forced.output
    assert site.queue() == []
    assert accepted_counts(event_requests(standin)) == {"bo": 1}


def test_entry_whose_retry_time_has_come_is_sent_by_a_plain_flush(site, standin, params):
    path = _queued_one(site, standin, params)
    rewrite(path, next_attempt=time.time() - 1)
    plain = site.cli("flush")
    assert plain.returncode == 0, plain.output
    assert accepted_counts(event_requests(standin)) == {"bo": 1}


@pytest.mark.parametrize("force", [False, True])
def test_entry_older_than_24h_becomes_expired_dead_letter(site, standin, params, force):
    path = _queued_one(site, standin, params)
    rewrite(path, created=time.time() - 25 * 3600)
    seen = len(event_requests(standin))
    flush = site.cli("flush", *(["--now"] if force else []))
    no_traceback(flush)
    assert flush.returncode == 2, flush.output
    assert "expired" in flush.stdout, flush.output
    assert len(event_requests(standin)) == seen, "an expired event was still sent"
    assert site.queue() == []
    [dead] = site.dead()
    record = json.loads(dead.read_text())
    assert "expired" in record["reason"] and "HTTP 503" in record["reason"], record
    assert record["alert_key"] == "cmk/mysite/web01/cpu load~f26268fd97" and record["event_type"] == "ALERT"
    status = site.cli("status")
    assert status.returncode == 2 and "expired" in status.stdout, status.output


def test_entry_just_under_24h_is_still_delivered(site, standin, params):
    path = _queued_one(site, standin, params)
    rewrite(path, created=time.time() - 23.9 * 3600)
    flush = site.cli("flush", "--now")
    assert flush.returncode == 0, flush.output
    assert site.dead() == []
    assert accepted_counts(event_requests(standin)) == {"bo": 1}


def test_expired_head_does_not_block_the_next_event_of_the_key(site, standin, params):
    path = _queued_one(site, standin, params, tag="old")
    run = site.run(event("new", params, "RECOVERY", micro=T0 + 2))
    assert run.returncode == 1, run.output  # behind the queued ALERT
    rewrite(path, created=time.time() - 30 * 3600)
    flush = site.cli("flush", "--now")
    assert flush.returncode == 2, flush.output
    assert len(site.dead()) == 1 and site.queue() == []
    assert [r["body"]["eventType"] for r in event_requests(standin)][-1] == "RESOLVE"


def test_status_reports_age_and_warns_on_old_entries(site, standin, params):
    path = _queued_one(site, standin, params)
    rewrite(path, created=time.time() - 600)
    status = site.cli("status")  # default --warn 300 s
    assert status.returncode == 1, status.output
    assert "cmk/mysite/web01/cpu load~f26268fd97" in status.stdout and "10m" in status.stdout, status.output
    rewrite(path, created=time.time() - 7200)
    status = site.cli("status", "--local-check")  # default --crit 3600 s
    assert status.returncode == 2 and status.stdout.startswith("2 "), status.output
