"""What coalescing must know per key: attempt markers, closed markers, the journal.

``sent/<identity>.try`` is written right before an ALERT is sent (it may reach
iLert from then on, so it is never coalesced away); ``sent/<group>.closed``
says the key's last event that may have reached iLert was a delivered RESOLVE.
``journal/superseded.jsonl`` records every run of events ``coalesce`` dropped
(rotated at JOURNAL_MAX_BYTES, one old file kept).
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional

from ..base.fsutil import errno_name, read_regular, touch, unlink
from .entry import Entry, encode
from .layout import Layout

#: The journal of superseded events is rotated (one old file kept) at this size.
JOURNAL_MAX_BYTES = 256 * 1024


class Markers(Layout):
    def mark_attempt(self, entry: Entry) -> bool:
        """Written right before an ALERT is sent: it may reach iLert from now on,
        so it must never be coalesced away (also after a kill mid-request), and
        the key may have an open alert from now on. Returns whether the key was
        known to be closed before (for ``clear_attempt``)."""
        was_closed = self.closed(entry.group)
        self.forget_closed(entry.group)
        try:
            touch(os.path.join(self.sent, entry.identity + ".try"))
        except OSError:
            pass  # a full disk: the attempt is still recorded by reschedule() if it fails
        return was_closed

    def clear_attempt(self, entry: Entry, was_closed: bool) -> None:
        """The attempt certainly did not reach iLert (refused, DNS, 429, ...):
        as if it had not been made."""
        unlink(os.path.join(self.sent, entry.identity + ".try"))
        if was_closed:
            self.mark_closed(entry.group)

    def attempted(self, entry: Entry) -> bool:
        """Whether the event may have reached iLert: a failed attempt that may have
        been processed (recorded by reschedule), or an attempt in flight or killed."""
        reached = entry.data.get("reached")
        if reached is None:
            reached = entry.attempts > 0 or "last_attempt" in entry.data  # written by an older version
        return bool(reached) or os.path.lexists(os.path.join(self.sent, entry.identity + ".try"))

    def _closed_path(self, group: str) -> str:
        return os.path.join(self.sent, group + ".closed")

    def mark_closed(self, group: str) -> None:
        """A RESOLVE of ``group`` was delivered: iLert holds no open alert of it."""
        try:
            touch(self._closed_path(group))
        except OSError:
            pass  # unknown counts as "may be open": the next RESOLVE is sent, never dropped

    def closed(self, group: str) -> bool:
        return os.path.lexists(self._closed_path(group))

    def forget_closed(self, group: str) -> None:
        """An ALERT of ``group`` goes out (from the queue or directly): it may be open."""
        unlink(self._closed_path(group))

    def supersede(self, run: List[Entry], now: float) -> Optional[str]:
        """Drop a coalesced run: journal first, then a delivered marker per event
        (so a later duplicate of it, another contact's call, is not queued
        again), then the entries. Returns None, or why it could not be done (the
        entries then stay queued and are delivered normally)."""
        head = run[0].data
        record = {
            "at": now,
            "alert_key": head.get("alert_key"),
            "endpoint": head.get("endpoint"),
            "api_url": head.get("api_url"),
            "key_hint": head.get("key_hint"),
            "events": [e.data.get("event_type") for e in run],
            "queued_since": head.get("created"),
            "why": "the problem recovered before its ALERT was sent",
        }
        try:
            self._journal(encode(record) + b"\n")
            for entry in run:
                touch(os.path.join(self.sent, entry.identity))
        except OSError as exc:
            return "could not record it, %s: the events stay queued" % errno_name(exc)
        for entry in run:
            unlink(entry.path)
        return None

    def _journal(self, line: bytes, journal: str = "") -> None:
        journal = journal or self.journal
        try:
            if os.lstat(journal).st_size > JOURNAL_MAX_BYTES:
                os.replace(journal, journal + ".1")
        except FileNotFoundError:
            pass
        fd = os.open(journal, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def superseded_since(self, since: float, journal: str = "") -> List[Dict[str, Any]]:
        """Journal records newer than ``since`` (malformed lines are skipped)."""
        out: List[Dict[str, Any]] = []
        journal = journal or self.journal
        for path in (journal + ".1", journal):
            try:
                raw = read_regular(path, 4 * JOURNAL_MAX_BYTES)
            except OSError:
                continue
            for line in raw.splitlines():
                try:
                    record = json.loads(line.decode("utf-8", "replace"))
                except ValueError:
                    continue
                if isinstance(record, dict) and isinstance(record.get("at"), (int, float)) and record["at"] >= since:
                    out.append(record)
        return out
