"""The cron log: what ``--log FILE`` writes instead of standard output.

The site cron lines (docs/site-cron.md) give each command ``--log
$OMD_ROOT/var/log/cmk_ilert.log``. Every line written there starts with the
local time in ISO 8601 with its UTC offset, and the file is bounded: once it
holds ``MAX_BYTES`` it is renamed to ``FILE.1`` (replacing the previous one)
and a new file is started, so the log never takes more than about twice
``MAX_BYTES``. Each write opens the file, takes an exclusive ``flock`` on it,
rotates if needed and appends whole lines, so the flush, heartbeat and sync
lines of the same minute neither interleave nor rotate twice. A log that
cannot be written (a full disk, a missing folder) costs the line, never the
command: its exit code still tells what happened.
"""

from __future__ import annotations

import fcntl
import os
import time

from .text import local_time

#: Rotate when the file reaches this size; one older file (``FILE.1``) is kept.
MAX_BYTES = 1 << 20
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class LogStream:
    """A text stream (``write``/``flush``) that appends timestamped lines to ``path``."""

    def __init__(self, path: str, max_bytes: int = MAX_BYTES) -> None:
        self.path = path
        self.max_bytes = max_bytes

    def write(self, text: str) -> int:
        stamp = local_time(time.time())
        lines = text.splitlines()
        if not lines:
            return len(text)
        data = "".join("%s %s\n" % (stamp, line) for line in lines).encode("utf-8", "replace")
        append(self.path, data, self.max_bytes)
        return len(text)

    def flush(self) -> None:
        pass


def append(path: str, data: bytes, max_bytes: int = MAX_BYTES) -> None:
    """Append ``data`` to ``path`` under an exclusive lock, rotating first when full.
    Raises OSError when the file cannot be written."""
    for _ in range(3):  # another process may rotate between our open and our lock
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                current = os.stat(path, follow_symlinks=False)
            except FileNotFoundError:
                continue  # rotated away under us: open the new one
            held = os.fstat(fd)
            if (current.st_dev, current.st_ino) != (held.st_dev, held.st_ino):
                continue  # rotated under us: write to the new one
            if held.st_size > 0 and held.st_size + len(data) > max_bytes:
                os.replace(path, path + ".1")
                continue  # start the new file (still ours to create: we hold the lock on the old)
            os.write(fd, data)
            return
        finally:
            os.close(fd)
    raise OSError("log file %s keeps changing" % path)
