"""Where the outbox lives and whether it may be used.

Layout below the state directory (mode 0700, owned by the site user; files 0600)::

    queue/<group>.<identity>.json   pending events (group = endpoint + alert key)
    sent/<identity>                 delivered markers, kept DEDUP_SECONDS for dedup
    dead/<identity>.json            permanently rejected events: reason, type, key
                                    (never the integration key or the payload)
    tmp/                            files being written
    locks/<group>.lock, flush.lock  flock files (group locks pruned when idle)
    rate/<keyhash>.json             rate-limit state per integration key
    index/<keyhash>.json            alert key -> host/service, for ``sync`` (pruned
                                    when the key is closed and idle, ``keystate``)
    journal/superseded.jsonl        what ``coalesce`` dropped, when and why
    links/<keyhash>.json            the last iLert alert URL of an alert key
    sync/                           the state of ``sync`` (iLert -> Checkmk)
    sent/<identity>.try             an ALERT was (about to be) sent: never coalesce it
    sent/<group>.closed             the key's last event that may have reached iLert
                                    was a delivered RESOLVE: no alert of ours is open
    sent/<group>.last               an event of the key was delivered (its mtime: when)
    dead/<identity>.unresolved.json a queued event whose RESOLVE could not be stored
                                    (disk full, no reserve left): needs the admin
    journal/handled.jsonl           dead letters retried or discarded, and why
    reserve                         RESERVE_BYTES kept for a RESOLVE on a full disk

Hostile state: the directory must belong to the site user and be writable by
nobody else (``UnsafeStateDir`` otherwise); a sub-folder that is not a folder
is moved aside and recreated.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from typing import List

from ..base.fsutil import errno_name

#: Space the outbox holds for one thing: storing a RESOLVE when the disk is full, so
#: an ALERT queued before it is never delivered alone. An api-format RESOLVE entry is
#: 1-3 KiB; a checkmk-format one carries the context, usually well below this.
RESERVE_BYTES = 64 * 1024
RESERVE = "reserve"

SUBDIRS = ("queue", "sent", "dead", "tmp", "locks", "rate", "index", "journal", "links", "sync")


class UnsafeStateDir(OSError):
    """The state directory can be written by another user: it is not used."""


def unusable_reason(exc: OSError) -> str:
    """One phrase for why the outbox cannot be used (never a path-bearing OS text)."""
    if isinstance(exc, UnsafeStateDir):
        return str(exc.strerror)
    return errno_name(exc)


class Layout:
    """The paths of one outbox and the setup that makes them safe to use."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.queue = os.path.join(root, "queue")
        self.sent = os.path.join(root, "sent")
        self.dead = os.path.join(root, "dead")
        self.tmp = os.path.join(root, "tmp")
        self.locks = os.path.join(root, "locks")
        self.rate = os.path.join(root, "rate")
        self.journal = os.path.join(root, "journal", "superseded.jsonl")
        #: identities of unreadable entries moved to the dead letters by this object
        self.buried: List[str] = []
        #: one line per sub-folder that was not a folder and was moved aside by ``ensure``
        self.repaired: List[str] = []

    def ensure(self) -> None:
        """Create the layout, check who may write it, repair what is broken.

        Raises UnsafeStateDir when the directory belongs to another user or is
        writable by group or others, OSError when it cannot be created.
        """
        old = os.umask(0o077)
        try:
            os.makedirs(self.root, 0o700, exist_ok=True)
            check_safe_dir(self.root)
            for name in SUBDIRS:
                self._ensure_subdir(name)
        finally:
            os.umask(old)
        self.keep_reserve()

    @property
    def reserve(self) -> str:
        return os.path.join(self.root, RESERVE)

    def has_reserve(self) -> bool:
        try:
            info = os.lstat(self.reserve)
        except OSError:
            return False
        return stat.S_ISREG(info.st_mode) and info.st_size >= RESERVE_BYTES

    def keep_reserve(self) -> bool:
        """Make the space reserve if it is missing (after it was used, once there is
        room again). Never raises: without room it stays missing. Returns whether it exists."""
        if self.has_reserve():
            return True
        tmp = os.path.join(self.tmp, ".reserve.%d.tmp" % os.getpid())
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
            try:
                os.fchmod(fd, 0o600)  # whatever the umask
                try:
                    os.posix_fallocate(fd, 0, RESERVE_BYTES)  # real blocks, not a sparse file
                except (AttributeError, OSError) as exc:
                    if getattr(exc, "errno", None) == errno.ENOSPC:
                        raise
                    os.write(fd, b"\0" * RESERVE_BYTES)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.reserve)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            return False
        return True

    def release_reserve(self) -> bool:
        """Give the reserve's space back (removing a file needs no space). The
        directory is fsync'd so a journaling file system (ext4) commits the freed
        blocks before they are needed. Returns whether there was a reserve."""
        if not self.has_reserve():
            return False
        try:
            os.unlink(self.reserve)
        except OSError:
            return False
        try:
            fd = os.open(self.root, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:
            pass
        return True

    def _ensure_subdir(self, name: str) -> None:
        path = os.path.join(self.root, name)
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            _mkdir(path)
            return
        if stat.S_ISDIR(info.st_mode):
            return
        aside = "%s.broken-%d-%d" % (path, int(time.time()), os.getpid())
        os.rename(path, aside)
        _mkdir(path)
        self.repaired.append("outbox folder %s was not a folder: moved aside to %s and recreated" % (
            name, os.path.basename(aside)))

    def exists(self) -> bool:
        return os.path.isdir(self.queue)

    def group_lock_path(self, group: str) -> str:
        return os.path.join(self.locks, group + ".lock")

    def flush_lock_path(self) -> str:
        return os.path.join(self.locks, "flush.lock")

    def rate_path(self, rate_key: str) -> str:
        return os.path.join(self.rate, rate_key + ".json")


def check_safe_dir(path: str) -> None:
    """Refuse a state directory another user owns or can write (symlinks to it are fine)."""
    info = os.stat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeStateDir(errno.ENOTDIR, "state directory %s is not a directory" % path)
    if info.st_uid != os.geteuid():
        raise UnsafeStateDir(errno.EPERM, "state directory %s belongs to another user (uid %d), not used: "
                                          "remove it or give it to the site user" % (path, info.st_uid))
    if info.st_mode & 0o022:
        raise UnsafeStateDir(errno.EPERM, "state directory %s is writable by other users (mode %04o), not used: "
                                          "run chmod 700 on it" % (path, stat.S_IMODE(info.st_mode)))


def _mkdir(path: str) -> None:
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
