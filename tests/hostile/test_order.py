"""Issue 9, item 3: order is never broken, not even when the outbox cannot take an event.

When the outbox is unusable (a full disk, a read-only file system, a directory another user can
write) or switched off, an event is sent directly only if no earlier event of its alert key is
queued, or after those were delivered first; otherwise it is not sent, the run exits 1 and says
so (Checkmk's retry). Before the fix the RESOLVE went straight out while its ALERT was queued:
iLert got RESOLVE, then ALERT, and the alert stayed open for good.

A full disk is a real one: a 256 KiB tmpfs over the state directory, filled up (ENOSPC). A
read-only file system is a read-only bind mount (EROFS).
"""

from __future__ import annotations

import pytest

from tests.hostile.conftest import event_types, no_crash, notification, rewrite, run

pytestmark = pytest.mark.outbox_logic  # interpreter-independent: run once, on the dev Python


def queue_alert(site, standin, due: bool, via: str = "down", **params: str) -> None:
    """An ALERT of web01 queued while iLert was down (or answered ``via``, e.g. 503: then it was
    tried and may have reached iLert); ``due``: its retry time has come."""
    if via == "down":
        standin.stop()
    else:
        standin.inject(via)
    result = run(site, context=notification(standin.url, "PROBLEM", n=0, timeout="1", **params))
    assert result.returncode == 1 and len(site.queue()) == 1, result.output
    if via == "down":
        standin.start()
    if due:
        rewrite(site.queue()[0], next_attempt=0)


def resolve(site, standin, **params: str):
    return run(site, context=notification(standin.url, "RECOVERY", n=1, **params))


def assert_order_kept(standin) -> None:
    """iLert never got an ALERT after the RESOLVE of the same key."""
    types = event_types(standin, "web01")
    if "RESOLVE" in types:
        assert "ALERT" not in types[types.index("RESOLVE"):], "iLert got %s" % types
        assert "ALERT" in types[: types.index("RESOLVE")], "the RESOLVE went out before its ALERT: %s" % types


def test_full_disk_the_resolve_waits_while_its_alert_is_in_backoff(site, standin, mounts):
    """The ALERT was tried (503) and is in backoff, no space reserve is left: the RESOLVE is not
    sent around it, and the ALERT is set aside so it is never sent alone later (issue 16;
    the cases with a reserve and with a never-tried ALERT: test_full_disk_resolve.py)."""
    disk = mounts.tmpfs(site.state_dir)
    queue_alert(site, standin, due=False, via="503")
    (site.state_dir / "reserve").unlink()
    disk.fill()
    result = resolve(site, standin)
    no_crash(result)
    assert result.returncode == 1, result.output
    assert event_types(standin) == ["ALERT"], "the RESOLVE went around its queued ALERT"
    assert "disk full (ENOSPC)" in result.output
    assert "RESOLVE cmk/mysite/web01/cpu load~f26268fd97: not sent" in result.output
    assert len(result.lines) == 2, result.output  # outbox unusable + why the RESOLVE was not sent
    disk.free()
    flush = run(site, "flush", "--now")
    assert flush.returncode == 0 and event_types(standin) == ["ALERT"], flush.output


def test_full_disk_the_queued_alert_goes_first_then_the_resolve(site, standin, mounts):
    disk = mounts.tmpfs(site.state_dir)
    queue_alert(site, standin, due=True, via="503")
    (site.state_dir / "reserve").unlink()  # no reserve: delivered directly, the queued ALERT first
    disk.fill()
    result = resolve(site, standin)
    no_crash(result)
    assert result.returncode == 0, result.output
    assert event_types(standin) == ["ALERT", "ALERT", "RESOLVE"]  # the 503, then both in order
    assert site.queue() == []


def test_full_disk_a_bulk_never_sends_a_resolve_after_its_alert_failed(site, standin, mounts):
    """ALERT and RESOLVE of one key in one bulk (Checkmk sorts newest first), the disk full,
    iLert fails the ALERT: the RESOLVE must not go out."""
    disk = mounts.tmpfs(site.state_dir)
    run(site, "status")  # nothing queued; the state directory exists
    site.state_dir.joinpath("queue").mkdir(exist_ok=True)
    disk.fill()
    standin.inject("503")
    bulk = [notification(standin.url, "RECOVERY", n=1), notification(standin.url, "PROBLEM", n=0)]
    result = run(site, bulk=bulk)
    no_crash(result)
    assert [e["status"] for e in standin.log() if e["method"] == "POST"] == [503]
    assert event_types(standin) == ["ALERT"], "only the failed ALERT may have been tried"
    assert "an earlier event of this alert key was not delivered" in result.output, result.output


def test_read_only_state_dir_keeps_the_order(site, standin, mounts):
    """The file system under var/ went read-only (what ext4 does after I/O errors): the queued
    ALERT cannot be removed from the queue, so whatever is sent now, iLert must never get the
    ALERT again after the RESOLVE once the file system is writable again."""
    queue_alert(site, standin, due=True)
    mounts.read_only(site.state_dir)
    result = resolve(site, standin)
    no_crash(result)
    assert "EROFS" in result.output, result.output
    mounts.undo()
    flush = run(site, "flush", "--now")
    no_crash(flush)
    assert_order_kept(standin)
    assert event_types(standin)[-1:] == ["RESOLVE"] or result.returncode == 1, (event_types(standin), result.output)


def test_state_dir_writable_by_others_keeps_the_order(site, standin):
    queue_alert(site, standin, due=True)
    site.state_dir.chmod(0o777)
    result = resolve(site, standin)
    no_crash(result)
    assert "writable by other users" in result.output, result.output
    assert_order_kept(standin)
    assert result.returncode == (0 if "RESOLVE" in event_types(standin) else 1), result.output


@pytest.mark.parametrize("due", [True, False], ids=["alert-due", "alert-in-backoff"])
def test_outbox_off_never_goes_around_events_queued_before(site, standin, due):
    """The rule's outbox was switched off while an ALERT of the key waited in it."""
    queue_alert(site, standin, due=due)
    result = resolve(site, standin, outbox="False")
    no_crash(result)
    if due:
        assert result.returncode == 0 and event_types(standin) == ["ALERT", "RESOLVE"], result.output
        assert site.queue() == []
    else:
        assert result.returncode == 1 and event_types(standin) == [], result.output
        assert "not sent" in result.output


def test_read_only_state_dir_the_line_names_the_real_reason(site, standin, mounts):
    queue_alert(site, standin, due=True)
    mounts.read_only(site.state_dir)
    result = resolve(site, standin)
    no_crash(result)
    assert result.returncode == 1 and event_types(standin) == [], result.output
    assert "another run is delivering" not in result.output, result.output
