"""Per-integration-key rate limit shared by all processes of a site.

iLert accepts ``limit`` events per minute per alert source and answers 429
beyond that (iLert docs, "Alert source throttle": 50 per minute per
integration key). A sliding-window log of the last ``limit`` send times, kept
in one small JSON file per key, guarantees that no window of ``window``
seconds ever holds more than ``limit`` sends, so a server counting fixed
windows is never exceeded either. A 429 pauses the key for every process
until ``Retry-After`` (capped) or a default pause has passed.

The state heals itself: a file of the wrong shape, non-finite numbers or
times in the future (the clock was stepped back) are reset or clamped, so no
file content and no step of the clock can block a key longer than
``MAX_PAUSE``. The flock is taken on a separate lock file and the state is
replaced by rename, so a symlink planted in ``rate/`` is never written through.

Written by hand because the well-kept primitives (urllib3's ``Retry``,
token buckets in memory) are per process; this limit must hold across the
many short-lived processes Checkmk starts, so it has to live on disk.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import time
from typing import Any, Dict, List, Optional

from ..base.fsutil import open_lock_file, read_regular, replace_atomically

#: No pause (429) lasts longer than this, whatever a server or a state file says.
MAX_PAUSE = 600.0
_MAX_STATE_BYTES = 1 << 20


class RateLimiter:
    def __init__(self, path: str, limit: int, window: float) -> None:
        self.path = path
        self.limit = limit
        self.window = window
        self.last_grant = 0.0

    def acquire(self, now: Optional[float] = None, ignore_pause: bool = False) -> float:
        """Take a send slot. Returns 0.0 when granted, else seconds to wait.
        The grant time is kept in ``last_grant`` for ``settle()``. If the state
        cannot be read or written (a full disk), the slot is granted: the limit
        is a courtesy to iLert, delivery must not stop for it (a 429 still pauses)."""
        try:
            return self._acquire(now, ignore_pause)
        except OSError:
            self.last_grant = time.time() if now is None else now
            return 0.0

    def _acquire(self, now: Optional[float], ignore_pause: bool) -> float:
        with _Locked(self.path) as state:
            now = time.time() if now is None else now
            paused = state.paused_until(now)
            if paused > now and not ignore_pause:
                return paused - now
            sent = state.sent(now, self.window)
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
        try:
            self._settle(granted_at, now)
        except OSError:
            pass

    def _settle(self, granted_at: float, now: Optional[float]) -> None:
        with _Locked(self.path) as state:
            now = time.time() if now is None else now
            sent = state.sent(now, self.window)
            if granted_at in sent:
                sent[sent.index(granted_at)] = max(granted_at, now)
                sent.sort()
                state.data["sent"] = sent
                state.dirty = True

    def release(self, granted_at: float) -> None:
        """Give a slot back whose request was never sent."""
        if self.limit <= 0:
            return
        try:
            with _Locked(self.path) as state:
                sent = state.sent(time.time(), self.window)
                if granted_at in sent:
                    sent.remove(granted_at)
                    state.data["sent"] = sent
                    state.dirty = True
        except OSError:
            pass

    def pause(self, seconds: float, now: Optional[float] = None) -> float:
        """Pause the key (after a 429) for at most MAX_PAUSE; returns the time the pause ends."""
        seconds = min(max(seconds, 0.0), MAX_PAUSE) if math.isfinite(seconds) else MAX_PAUSE
        now = time.time() if now is None else now
        try:
            with _Locked(self.path) as state:
                until = max(state.paused_until(now), now + seconds)
                state.data["paused_until"] = until
                state.dirty = True
                return until
        except OSError:
            return now + seconds

    def paused_until(self, now: Optional[float] = None) -> float:
        """When the pause of this key ends (clamped, 0.0 when there is none)."""
        now = time.time() if now is None else now
        return _State(_load(self.path)).paused_until(now)

    def clear_pause(self) -> None:
        try:
            with _Locked(self.path) as state:
                if state.data.pop("paused_until", None) is not None:
                    state.dirty = True
        except OSError:
            pass


class _State:
    """The parsed state with every value checked; wrong shapes read as empty."""

    def __init__(self, data: Dict[str, Any]) -> None:
        self.data = data
        self.dirty = False

    def paused_until(self, now: float) -> float:
        value = _number(self.data.get("paused_until"))
        if value is None or value <= now:
            return 0.0
        return min(value, now + MAX_PAUSE)

    def sent(self, now: float, window: float) -> List[float]:
        raw = self.data.get("sent")
        if not isinstance(raw, list):
            return []
        out = []
        for item in raw:
            value = _number(item)
            if value is None or value <= now - window:
                continue
            out.append(min(value, now))  # a stamp from the future (clock stepped back) counts as now
        out.sort()
        return out


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _load(path: str) -> Dict[str, Any]:
    try:
        loaded = json.loads(read_regular(path, _MAX_STATE_BYTES).decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}  # missing, a torn write after a crash, not a regular file: start a fresh window
    return loaded if isinstance(loaded, dict) else {}


class _Locked(_State):
    """flock the key's lock file, parse the state; write it back (by rename) if changed."""

    def __init__(self, path: str) -> None:
        super().__init__({})
        self.path = path
        self._fd = -1

    def __enter__(self) -> "_Locked":
        self._fd = open_lock_file(self.path + ".lock")
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)  # held for microseconds only
            self.data = _load(self.path)
        except BaseException:
            os.close(self._fd)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.dirty:
                payload = json.dumps(self.data, separators=(",", ":"), allow_nan=False).encode("utf-8")
                # not fsync'd: losing the last stamps in a power cut costs at most one window
                replace_atomically(self.path, payload, os.path.dirname(self.path), sync=False)
        finally:
            os.close(self._fd)
