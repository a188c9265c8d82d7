"""Per-integration-key rate limit shared by all processes of a site.

iLert accepts ``limit`` events per minute per alert source and answers 429
beyond that (ilert-api.md §1.4). A sliding-window log of the last ``limit``
send times, kept in one small JSON file per key under an flock, guarantees
that no window of ``window`` seconds ever holds more than ``limit`` sends, so
a server counting fixed windows is never exceeded either. A 429 pauses the
key for every process until ``Retry-After`` (or a default pause) has passed.

Written by hand because the well-kept primitives (urllib3's ``Retry``,
token buckets in memory) are per process; this limit must hold across the
many short-lived processes Checkmk starts, so it has to live on disk.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from typing import Any, Dict, List, Optional


class RateLimiter:
    def __init__(self, path: str, limit: int, window: float) -> None:
        self.path = path
        self.limit = limit
        self.window = window
        self.last_grant = 0.0

    def acquire(self, now: Optional[float] = None, ignore_pause: bool = False) -> float:
        """Take a send slot. Returns 0.0 when granted, else seconds to wait.
        The grant time is kept in ``last_grant`` for ``settle()``."""
        with _Locked(self.path) as state:
            now = time.time() if now is None else now
            paused = float(state.data.get("paused_until", 0.0))
            if paused > now and not ignore_pause:
                return paused - now
            sent: List[float] = [t for t in state.data.get("sent", []) if t > now - self.window]
            if self.limit > 0 and len(sent) >= self.limit:
                sent = sent[-self.limit:]
                state.data["sent"] = sent
                state.dirty = True
                return max(0.001, sent[0] + self.window - now)
            if self.limit > 0:
                sent.append(now)
                state.data["sent"] = sent[-self.limit:]
                state.dirty = True
            self.last_grant = now
            return 0.0

    def settle(self, granted_at: float, now: Optional[float] = None) -> None:
        """Move a granted slot to the time its request completed.

        iLert counts a request when it arrives, which is after the slot was
        taken (connect, TLS, proxy). Recording the completion time instead keeps
        every window at the server within the limit, however slow the request.
        """
        if self.limit <= 0:
            return
        with _Locked(self.path) as state:
            now = time.time() if now is None else now
            sent = list(state.data.get("sent", []))
            if granted_at in sent:
                sent[sent.index(granted_at)] = max(granted_at, now)
                sent.sort()
                state.data["sent"] = sent
                state.dirty = True

    def pause(self, seconds: float, now: Optional[float] = None) -> float:
        """Pause the key (after a 429); returns the time the pause ends."""
        with _Locked(self.path) as state:
            now = time.time() if now is None else now
            until = max(float(state.data.get("paused_until", 0.0)), now + seconds)
            state.data["paused_until"] = until
            state.dirty = True
            return until

    def paused_until(self) -> float:
        try:
            with open(self.path, "r", encoding="utf-8") as handle:
                return float(json.load(handle).get("paused_until", 0.0))
        except (OSError, ValueError, AttributeError):
            return 0.0

    def clear_pause(self) -> None:
        with _Locked(self.path) as state:
            if state.data.pop("paused_until", None) is not None:
                state.dirty = True


class _Locked:
    """Open, flock and parse the state file; write it back if changed."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.data: Dict[str, Any] = {}
        self.dirty = False
        self._fd = -1

    def __enter__(self) -> "_Locked":
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)  # held for microseconds only
        raw = b""
        while True:
            chunk = os.read(self._fd, 65536)
            if not chunk:
                break
            raw += chunk
        try:
            loaded = json.loads(raw.decode("utf-8")) if raw else {}
            self.data = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            self.data = {}  # a torn write after a crash: start a fresh window
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.dirty:
                payload = json.dumps(self.data, separators=(",", ":")).encode("utf-8")
                os.lseek(self._fd, 0, os.SEEK_SET)
                os.ftruncate(self._fd, 0)
                os.write(self._fd, payload)
        finally:
            os.close(self._fd)
