"""Per-key state beside the queue, pruned when its key is closed and idle.

``index/`` (alert key -> host/service, for ``sync``), ``links/`` (the last iLert
alert URL) and ``locks/`` get a file per distinct alert key; sites with churning
host names would grow them without limit. ``prune_keys`` (run by ``flush``
through ``Outbox.prune``) removes what belongs to keys that are closed and idle,
keeps what ``sync`` still needs for open alerts, and is bounded in time per call.
Bounds: docs/delivery.md, "Per-key state and its bounds".
"""

from __future__ import annotations

import json
import os
import time
from typing import Callable, Iterable

from ..base.fsutil import read_regular, touch, unlink
from ..base.locking import FileLock
from .layout import Layout
from .policy import DEDUP_SECONDS

#: ``index/`` and ``links/`` entries of a key never resolved through the outbox are kept this
#: long after its last ALERT: longer than ``sync``'s default look-back of 30 days.
OPEN_KEY_SECONDS = 35 * 24 * 3600
#: The per-key state is examined at most this often (``flush`` runs every minute), for at
#: most this long per flush.
KEY_PRUNE_INTERVAL = 3600.0
KEY_PRUNE_BUDGET = 10.0


def prune_keys(outbox: Layout, queued_groups: Callable[[], Iterable[str]], now: float, force: bool = False,
               budget: float = KEY_PRUNE_BUDGET) -> int:
    """Per-key state of keys that are closed and idle (at most once per
    KEY_PRUNE_INTERVAL): ``index/`` and ``links/`` entries of a key whose last
    RESOLVE was delivered DEDUP_SECONDS ago with no ALERT since, or whose last
    ALERT is OPEN_KEY_SECONDS old (never resolved through the outbox: beyond
    ``sync``'s look-back); lock files of groups with nothing queued, unused for
    DEDUP_SECONDS. At most ``budget`` seconds per call: what is left (a backlog of
    history after an upgrade) is examined by the next flush. Returns how many files
    were removed."""
    deadline = time.monotonic() + budget
    stamp = os.path.join(outbox.root, "index", ".pruned")
    try:
        info = os.lstat(stamp)
        if not force and now - KEY_PRUNE_INTERVAL < info.st_mtime <= now + 3600:
            return 0
    except OSError:
        pass
    try:
        touch(stamp)
    except OSError:
        return 0  # a full or read-only disk: nothing to gain by trying now
    removed = 0
    index, links = os.path.join(outbox.root, "index"), os.path.join(outbox.root, "links")
    for folder in (index, links):
        try:
            names = [n for n in os.listdir(folder) if n.endswith(".json")]
        except OSError:
            continue
        for name in names:
            if time.monotonic() > deadline:
                unlink(stamp)  # not done: the next flush goes on
                return removed
            path = os.path.join(folder, name)
            try:
                age = _idle(now, os.lstat(path).st_mtime)
            except OSError:
                continue
            if age < DEDUP_SECONDS:
                continue
            if folder == links and age < OPEN_KEY_SECONDS and os.path.lexists(os.path.join(index, name)):
                continue  # the key's index entry is kept: so is its link
            if folder == index and age < OPEN_KEY_SECONDS and not _closed_entry(path):
                continue  # may be open in iLert: ``sync`` needs it
            if unlink(path):
                removed += 1
    queued = set(queued_groups())
    try:
        locks = [n for n in os.listdir(outbox.locks) if n.endswith(".lock") and n[:-5] not in queued]
    except OSError:
        locks = []
    for name in locks:
        if time.monotonic() > deadline:
            unlink(stamp)
            return removed
        path = os.path.join(outbox.locks, name)
        if path == outbox.flush_lock_path() or len(name) != 21:
            continue  # only group locks (16 hex digits)
        try:
            age = _idle(now, os.lstat(path).st_mtime)
        except OSError:
            continue
        if age < DEDUP_SECONDS:
            continue
        # Only a lock nobody holds is removed, while we hold it: a run that opened the
        # old file finds it gone once it gets the lock and opens the path again
        # (FileLock.acquire compares the inode), so two runs never hold one group.
        lock = FileLock(path)
        try:
            if not lock.acquire(wait=0.0):
                continue
        except OSError:
            continue
        try:
            if unlink(path):
                removed += 1
        finally:
            lock.release()
    return removed


def _idle(now: float, mtime: float) -> float:
    """Seconds since ``mtime``; a time up to an hour ahead (a clock stepped back) is "now",
    one further ahead cannot be trusted and counts as long ago (as in ``prune``)."""
    if mtime > now + 3600:
        return float(OPEN_KEY_SECONDS)
    return max(0.0, now - mtime)


def _closed_entry(path: str) -> bool:
    """Whether an ``index/`` entry says its key was closed by a delivered RESOLVE."""
    try:
        data = json.loads(read_regular(path, 65536).decode("utf-8"))
    except (OSError, ValueError):
        return True  # unreadable or malformed: no use to ``sync`` either
    return not isinstance(data, dict) or data.get("closed") is True
