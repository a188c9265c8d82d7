"""Advisory file locks (``fcntl.flock``) that never block for long."""

from __future__ import annotations

import fcntl
import os
import time
from typing import Optional

from .fsutil import open_lock_file


def _still_at(fd: int, path: str) -> bool:
    """Whether ``fd`` is still the file at ``path`` (not unlinked or replaced)."""
    try:
        here, there = os.fstat(fd), os.lstat(path)
    except OSError:
        return False
    return (here.st_ino, here.st_dev) == (there.st_ino, there.st_dev)


class FileLock:
    """An exclusive flock on ``path``; ``acquire(wait)`` polls at most ``wait`` seconds."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: Optional[int] = None

    def acquire(self, wait: float = 0.0) -> bool:
        """Raises OSError when the lock file cannot be opened (never follows a symlink)."""
        fd = open_lock_file(self.path)
        deadline = time.monotonic() + max(0.0, wait)
        delay = 0.005
        reopened = 0
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
                delay = min(delay * 2, 0.1)
                continue
            if reopened < 20 and not _still_at(fd, self.path):
                # pruned (Outbox.prune_keys) between our open and our flock: the lock
                # another run takes now is on the new file at the path, so take that one
                os.close(fd)
                fd = open_lock_file(self.path)
                reopened += 1
                continue
            self._fd = fd
            return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self) -> "FileLock":
        if self._fd is None:
            self.acquire(wait=3600.0)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
