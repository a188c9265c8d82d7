"""iLert unreachable: the event waits on disk, a later flush delivers it exactly once."""

from __future__ import annotations

import stat

import pytest

from tests.delivery.conftest import accepted_counts, event, event_requests, load, no_traceback

pytestmark = pytest.mark.runtime


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_outage_keeps_event_on_disk_and_flush_delivers_it_once(site, standin, params):
    standin.stop()
    run = site.run(event("outage", params, micro=1795341600000001))
    no_traceback(run)
    assert run.returncode == 1, run.output
    assert "queued" in run.stdout, run.output

    queued = site.queue()
    assert len(queued) == 1, [p.name for p in queued]
    entry = queued[0]
    assert _mode(entry) == 0o600
    for folder in (site.state_dir, site.state_dir / "queue", site.state_dir / "dead", site.state_dir / "sent"):
        assert _mode(folder) == 0o700, folder
    data = load(entry)
    assert data["event_type"] == "ALERT"
    assert data["alert_key"] == "cmk/mysite/web01/cpu load~f26268fd97"
    assert data["attempts"] == 1
    assert "connection refused" in data["last_error"]

    standin.start()
    assert event_requests(standin) == []
    flush = site.cli("flush", "--now")
    no_traceback(flush)
    assert flush.returncode == 0, flush.output
    assert "1 delivered, 0 rejected, 0 still queued" in flush.stdout, flush.output
    assert accepted_counts(event_requests(standin)) == {"outage": 1}
    assert [a["status"] for a in standin.alerts()] == ["PENDING"]
    assert site.queue() == [] and site.dead() == []

    seen = len(standin.log())
    again = site.cli("flush", "--now")
    no_traceback(again)
    assert again.returncode == 0, again.output
    assert len(standin.log()) == seen, "a second flush sent something again"
    # and a plain flush (the cron's) neither
    cron = site.cli("flush", "--quiet")
    assert cron.returncode == 0 and len(standin.log()) == seen


def test_flush_without_outbox_creates_it_and_sends_nothing(site, standin):
    """Issue 16: the cron's first flush creates the outbox, so the local check is OK, not UNKNOWN."""
    run = site.cli("flush")
    assert run.returncode == 0, run.output
    assert "0 delivered, 0 rejected, 0 still queued" in run.stdout
    assert (site.state_dir / "queue").is_dir()
    assert standin.log() == []
    status = site.cli("status")
    assert status.returncode == 0 and "nothing sent yet" in status.stdout, status.output


def test_outage_of_several_keys_flush_delivers_all(site, standin, params):
    standin.stop()
    for n, host in enumerate(("web01", "web02", "db01")):
        run = site.run(event("o-%s" % host, params, micro=1795341600000100 + n, host=host))
        assert run.returncode == 1, run.output
    assert len(site.queue()) == 3
    standin.start()
    flush = site.cli("flush", "--now")
    assert flush.returncode == 0, flush.output
    assert accepted_counts(event_requests(standin)) == {"o-web01": 1, "o-web02": 1, "o-db01": 1}
    assert site.queue() == []
