"""Issue 16, section 2: a full disk never leaves a stale ALERT to be delivered alone.

Found again on a simulated site: an ALERT queued behind a 503, the disk fills, the RECOVERY
arrives; notify.log said ``RESOLVE …: not sent … outbox unusable: Checkmk may retry`` (exit 1),
then ``flush --now`` delivered the stale ALERT and the iLert alert stayed open for a service that
was OK, while ``status`` said OK. Now the outbox holds a space reserve (``reserve``, 64 KiB) that it
gives up to store that RESOLVE; without a reserve, a RESOLVE supersedes its key's queued ALERT
that was never sent (removing files needs no space), and an ALERT that was tried already is set
aside (a rename) so it is never sent alone, and ``status`` shows the key as needing attention.

A full disk is a real one: a 256 KiB tmpfs over the state directory, filled up (ENOSPC).
"""

from __future__ import annotations

import pytest

from tests.hostile.conftest import event_types, no_crash, notification, run

pytestmark = pytest.mark.outbox_logic  # interpreter-independent: run once, on the dev Python

KEY = "cmk/mysite/web01/cpu load~f26268fd97"  # tests.support.contexts.alert_key("mysite", "web01", "CPU load")
HEARTBEAT_KEY = "il1hbt-TEST-HEARTBEAT-0001"  # registered by the standin fixture


def queue_tried_alert(site, standin) -> None:
    """The ALERT of web01 tried once, iLert answered 503 (it may have reached iLert): queued, in backoff."""
    standin.inject("503")
    result = run(site, context=notification(standin.url, "PROBLEM", n=0, timeout="1"))
    assert result.returncode == 1 and len(site.queue()) == 1, result.output


def queue_unsent_alert(site, standin) -> None:
    """The ALERT of web01 never reached iLert (connection refused): queued."""
    standin.stop()
    result = run(site, context=notification(standin.url, "PROBLEM", n=0, timeout="1"))
    assert result.returncode == 1 and len(site.queue()) == 1, result.output
    standin.start()


def resolve(site, standin):
    return run(site, context=notification(standin.url, "RECOVERY", n=1))


def alert_states(standin):
    return [a["status"] for a in standin.alerts()]


def test_the_space_reserve_stores_the_resolve_behind_a_tried_alert(site, standin, mounts):
    disk = mounts.tmpfs(site.state_dir)
    queue_tried_alert(site, standin)
    reserve = site.state_dir / "reserve"
    assert reserve.stat().st_size == 64 * 1024
    disk.fill()
    result = resolve(site, standin)
    no_crash(result)
    assert result.returncode == 1, result.output
    assert "disk full: the outbox gave up its space reserve" in result.output, result.output
    assert len(site.queue()) == 2 and not reserve.exists()
    used = run(site, "status")
    assert used.returncode == 1 and "no space reserve" in used.output, used.output

    flush = run(site, "flush", "--now")
    no_crash(flush)
    assert flush.returncode == 0, flush.output
    types = event_types(standin)
    assert types[-2:] == ["ALERT", "RESOLVE"], types  # in order: the alert it opened is resolved
    assert alert_states(standin) in ([], ["RESOLVED"]), standin.alerts()
    disk.free()
    run(site, "flush")
    assert reserve.stat().st_size == 64 * 1024  # made again once there is room
    assert run(site, "status").returncode == 0


def test_without_reserve_a_resolve_supersedes_its_never_sent_alert(site, standin, mounts):
    disk = mounts.tmpfs(site.state_dir)
    queue_unsent_alert(site, standin)
    (site.state_dir / "reserve").unlink()  # used up by an earlier full disk
    disk.fill()
    result = resolve(site, standin)
    no_crash(result)
    assert "ALERT %s: superseded, not sent: its RESOLVE arrived while the disk was full" % KEY in result.output, \
        result.output
    assert result.returncode == 0, result.output
    assert site.queue() == []
    disk.free()
    flush = run(site, "flush", "--now")
    no_crash(flush)
    assert "ALERT" not in event_types(standin), event_types(standin)  # nobody paged
    assert alert_states(standin) == []
    assert run(site, "status").returncode == 0


def test_without_reserve_a_tried_alert_is_set_aside_never_sent_alone(site, standin, mounts):
    disk = mounts.tmpfs(site.state_dir)
    queue_tried_alert(site, standin)
    (site.state_dir / "reserve").unlink()
    disk.fill()
    result = resolve(site, standin)
    no_crash(result)
    assert result.returncode == 1, result.output
    assert "RESOLVE %s: not sent" % KEY in result.output and "set aside" in result.output, result.output
    assert "disk full (ENOSPC)" in result.output, result.output
    assert site.queue() == []
    assert [p.name.endswith(".unresolved.json") for p in site.dead()] == [True]
    status = run(site, "status")
    assert status.returncode == 2 and KEY in status.output and "RESOLVE could not be stored" in status.output, \
        status.output

    disk.free()
    flush = run(site, "flush", "--now")
    no_crash(flush)
    assert event_types(standin) == ["ALERT"], "only the first, failed try"
    retry = run(site, "retry", "--all")
    no_crash(retry)
    assert retry.returncode == 0 and "discarded, not sent again" in retry.output, retry.output
    assert event_types(standin) == ["ALERT"]
    assert run(site, "status").returncode == 0


def test_a_full_disk_is_crit_and_the_heartbeat_is_not_pinged(site, standin, mounts):
    """Issue 16, section 1: an outbox that cannot be written means this site cannot notify."""
    disk = mounts.tmpfs(site.state_dir)
    assert run(site, context=notification(standin.url, "PROBLEM")).returncode == 0
    disk.fill()
    status = run(site, "status", "--local-check")
    assert status.returncode == 2 and "the outbox cannot be written: disk full (ENOSPC)" in status.output, \
        status.output
    beat = run(site, "heartbeat", standin.url + "/api/heartbeats/" + HEARTBEAT_KEY)
    no_crash(beat)
    assert beat.returncode == 1 and standin.pings() == [], beat.output
    assert len(beat.lines) == 1 and beat.lines[0].endswith(
        "heartbeat: skipped, this site cannot notify: the outbox cannot be written: disk full (ENOSPC); see status"), \
        beat.output
    disk.free()
    beat = run(site, "heartbeat", standin.url + "/api/heartbeats/" + HEARTBEAT_KEY)
    assert beat.returncode == 0 and len(standin.pings()) == 1, beat.output
