"""Issue 9, item 5: file-system faults after an event is durable.

A full disk (a real ENOSPC: a small tmpfs over the state directory, filled up) while a retry is
recorded, a dead letter is written or a delivered marker is created: the event stays queued
(or, delivered, leaves the queue) with one clear line, the other alert keys go on, nothing half
written stays behind, and a sub-folder replaced by a file (or a symlink) is moved aside and
recreated with one line. Before the fix each of these was an "internal error" with exit 2 that
crashed every flush, and 0-byte files stayed in tmp/.
"""

from __future__ import annotations

import os
import shutil
import time

import pytest

from tests.hostile.conftest import load, no_crash, notification, posted, refused_url, rewrite, run
from tests.hostile.servers import Reply

pytestmark = pytest.mark.outbox_logic  # interpreter-independent: run once, on the dev Python

SUBDIRS = ("queue", "sent", "dead", "tmp", "locks", "rate", "index")


def queue_two_keys(site, standin, down_url: str) -> None:
    """down01 (older) queued against ``down_url``, good01 queued while iLert was down; both due."""
    first = run(site, context=notification(down_url, host="down01", n=0, timeout="1"))
    assert first.returncode == 1, first.output
    standin.stop()
    second = run(site, context=notification(standin.url, host="good01", n=1, timeout="1"))
    assert second.returncode == 1, second.output
    standin.start()
    for path in site.queue():
        rewrite(path, next_attempt=0)


def entry_of(site, host: str):
    return [p for p in site.queue() if "/%s/" % host in load(p)["alert_key"] + "/"]


def test_full_disk_while_recording_a_retry_keeps_the_event_and_flush_goes_on(site, standin, mounts):
    disk = mounts.tmpfs(site.state_dir)
    queue_two_keys(site, standin, refused_url())
    (down,) = entry_of(site, "down01")
    before = down.read_bytes()
    disk.fill()
    result = run(site, "flush")
    no_crash(result)
    assert result.returncode == 1, result.output
    assert "could not record the retry, disk full (ENOSPC): the event stays queued" in result.output, result.output
    assert [e["body"]["alertKey"] for e in posted(standin)] == ["cmk/mysite/good01/cpu load~c477d6e813"]
    assert down.read_bytes() == before, "the queued event was changed or lost"
    assert os.listdir(site.state_dir / "tmp") == []
    disk.free()
    again = run(site, "flush")
    no_crash(again)
    assert again.returncode == 1 and load(down)["attempts"] == 2, again.output


def test_full_disk_while_writing_a_dead_letter_keeps_the_event(site, standin, mounts):
    disk = mounts.tmpfs(site.state_dir)
    with Reply(400, [("Content-Type", "application/json")], b'{"status": 400, "code": "INVALID_INPUT"}') as bad:
        queue_two_keys(site, standin, refused_url())
        (down,) = entry_of(site, "down01")
        rewrite(down, request=dict(load(down)["request"], url=bad.url + "/api/events"))
        for other in entry_of(site, "good01"):
            other.unlink()  # its delivery would free the room the dead letter needs
        disk.fill()
        result = run(site, "flush")
        no_crash(result)
        assert result.returncode == 1, result.output
        assert "could not move it to the dead letters, disk full (ENOSPC): it stays queued" in result.output, \
            result.output
        assert down.exists() and site.dead() == []
        disk.free()
        again = run(site, "flush")
    no_crash(again)
    assert again.returncode == 2 and not down.exists() and len(site.dead()) == 1, again.output


def test_no_inode_left_for_the_delivered_marker(site, standin, mounts):
    """The marker cannot be created (no inode left): the event was delivered, it leaves the
    queue (it must not be posted again), and one line says the marker is missing."""
    disk = mounts.tmpfs(site.state_dir, size_kb=1024, inodes=64)
    standin.stop()
    run(site, context=notification(standin.url, host="good01", timeout="1"))
    standin.start()
    run(site, "flush")  # creates the flush lock while there is room
    rewrite(site.queue()[0], next_attempt=0)
    disk.fill(inodes=True)
    result = run(site, "flush")
    no_crash(result)
    assert "could not write its delivered marker, disk full (ENOSPC)" in result.output, result.output
    assert len(posted(standin)) == 1 and site.queue() == []
    assert result.returncode == 0, result.output
    again = run(site, "flush", "--now")
    assert len(posted(standin)) == 1, again.output


def test_full_disk_at_enqueue_leaves_nothing_in_tmp(site, standin, mounts):
    disk = mounts.tmpfs(site.state_dir)
    run(site, "flush")  # the layout exists
    site.state_dir.joinpath("queue").mkdir(exist_ok=True)
    for sub in SUBDIRS:
        site.state_dir.joinpath(sub).mkdir(exist_ok=True)
    disk.fill()
    result = run(site, context=notification(standin.url))
    no_crash(result)
    assert result.returncode == 0 and "ENOSPC" in result.output, result.output
    assert os.listdir(site.state_dir / "tmp") == []


def test_full_disk_leaves_no_temporary_file_anywhere(site, standin, mounts):
    disk = mounts.tmpfs(site.state_dir)
    for sub in SUBDIRS:
        site.state_dir.joinpath(sub).mkdir(exist_ok=True)
    disk.fill()
    result = run(site, context=notification(standin.url))
    assert result.returncode == 0, result.output
    disk.free()
    run(site, "flush")
    leftovers = [str(p.relative_to(site.state_dir)) for p in site.state_dir.rglob("*")
                 if p.name.endswith(".tmp") and ".filler" not in p.parts]
    assert leftovers == []


def test_flush_prunes_stale_temporary_files(site, standin):
    run(site, context=notification(standin.url))
    tmp = site.state_dir / "tmp"
    now = time.time()
    for name, mtime in (("old.tmp", now - 700), ("future.tmp", now + 7200), ("fresh.tmp", now)):
        (tmp / name).write_bytes(b"")
        os.utime(tmp / name, (mtime, mtime))
    result = run(site, "flush")
    no_crash(result)
    assert sorted(os.listdir(tmp)) == ["fresh.tmp"], "a write in progress must be left alone, the rest pruned"


@pytest.mark.parametrize("sub,kind", [(sub, "file") for sub in SUBDIRS]
                         + [(sub, "symlink") for sub in ("queue", "sent", "tmp", "rate")])
def test_a_sub_folder_that_is_not_a_folder_is_moved_aside(site, standin, tmp_path, sub, kind):
    first = run(site, context=notification(standin.url, n=0))
    assert first.returncode == 0, first.output
    path = site.state_dir / sub
    shutil.rmtree(path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    if kind == "file":
        path.write_text("not a folder")
    else:
        path.symlink_to(elsewhere)
    result = run(site, context=notification(standin.url, n=1))
    no_crash(result)
    assert result.returncode == 0, result.output
    repaired = [line for line in result.lines if "was not a folder" in line]
    assert len(repaired) == 1 and "outbox folder %s " % sub in repaired[0], result.output
    assert len(result.lines) == 2, result.output
    assert path.is_dir() and not path.is_symlink()
    assert list(elsewhere.iterdir()) == [], "something was written through the planted symlink"
    assert len(posted(standin)) == 2


@pytest.mark.parametrize("sub", [s for s in SUBDIRS if s != "queue"])
def test_flush_repairs_a_sub_folder_and_delivers(site, standin, sub):
    standin.stop()
    run(site, context=notification(standin.url, timeout="1"))
    standin.start()
    path = site.state_dir / sub
    shutil.rmtree(path)
    path.write_text("not a folder")
    result = run(site, "flush", "--now")
    no_crash(result)
    assert result.returncode == 0, result.output
    assert any("outbox folder %s was not a folder" % sub in line for line in result.lines), result.output
    assert len(posted(standin)) == 1 and site.queue() == []


def test_a_key_flush_cannot_lock_is_named_by_its_alert_key_not_a_hash(site, standin):
    """issue 16: a line names the alert key (and key hint, endpoint), never an internal hash."""
    queue_two_keys(site, standin, refused_url())
    (down,) = entry_of(site, "down01")
    group = down.name.split(".")[0]
    lock = site.state_dir / "locks" / (group + ".lock")
    if lock.exists():
        lock.unlink()
    lock.mkdir()  # the group's lock cannot be opened: flush skips the key and goes on
    result = run(site, "flush")
    no_crash(result)
    assert "flush: alert key %s (key ...a7b8, api endpoint) skipped" % load(down)["alert_key"] in result.output, \
        result.output
    assert group not in result.output
    assert "good01" in " ".join(e["body"]["alertKey"] for e in posted(standin))
