"""Dead letters: events iLert rejected for good, and entries that cannot be read.

A dead letter keeps what an admin needs to understand the failure (reason,
type, alert key, endpoint, key hint) and, under ``entry``, the queued event
itself, so ``retry`` can send it again once the cause is fixed. The entry holds
the key as the queue does (a password-store id, or the key in this 0600 file);
nothing that prints a dead letter shows it. A dead letter is *handled* when it
is retried (back in the queue) or discarded (removed, one line in
``journal/handled.jsonl``). At most MAX_DEAD_LETTERS are kept: beyond that the
oldest are discarded, journaled as such.

``dead/<identity>.unresolved.json`` is a queued event moved aside (a rename,
which needs no space) because the RESOLVE that followed it could not be stored
on a full disk: it must not be delivered alone, and the admin must look.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..base.fsutil import errno_name, read_regular, replace_atomically, unlink
from .entry import MAX_ENTRY_BYTES, Entry, Redactor, encode
from .markers import Markers

#: Dead letters kept at most; the oldest beyond are discarded (and journaled).
MAX_DEAD_LETTERS = 1000
UNRESOLVED = ".unresolved.json"
UNRESOLVED_REASON = ("the problem recovered, but its RESOLVE could not be stored (disk full): this event "
                     "was not sent alone; if an alert of this key is open in iLert, resolve it there")


class DeadLetters(Markers):
    @property
    def handled_journal(self) -> str:
        return os.path.join(os.path.dirname(self.journal), "handled.jsonl")

    def dead_letter(self, entry: Entry, reason: str, now: float, redact: Optional[Redactor] = None) -> Optional[str]:
        """Keep what an admin needs to understand the failure and the event itself
        (for ``retry``). Returns None, or why the entry could not be moved (it then
        stays queued)."""
        data = entry.data
        clean = redact or (lambda text: text)
        record = {
            "reason": clean(reason),
            "dead_since": now,
            "created": data.get("created"),
            "attempts": entry.attempts + 1,
            "event_type": data.get("event_type"),
            "notification_type": data.get("notification_type"),
            "alert_key": data.get("alert_key"),
            "summary": clean(str(data.get("summary", ""))),
            "endpoint": data.get("endpoint"),
            "api_url": data.get("api_url"),
            "key_hint": data.get("key_hint"),
            "group": entry.group,
            "entry": data,
        }
        try:
            self._bury(entry.path, entry.identity, record)
        except OSError as exc:
            return "could not move it to the dead letters, %s: it stays queued" % errno_name(exc)
        return None

    def dead_record(self, identity: str, record: Dict[str, Any]) -> bool:
        """A dead letter for an event that never was queued (a rule that cannot be
        used): written once per identity. Returns False if it could not be written."""
        target = os.path.join(self.dead, identity + ".json")
        if os.path.lexists(target):
            return True
        try:
            replace_atomically(target, encode(record), self.tmp)
        except OSError:
            return False
        self._bound()
        return True

    def _bury(self, path: str, identity: str, record: Dict[str, Any]) -> None:
        target = os.path.join(self.dead, identity + ".json")
        replace_atomically(target, encode(record), self.tmp)
        unlink(path)
        self._bound()

    def set_aside(self, entry: Entry) -> bool:
        """Move a queued entry to ``dead/<identity>.unresolved.json`` by a rename
        (no space needed): its RESOLVE could not be stored."""
        try:
            os.rename(entry.path, os.path.join(self.dead, entry.identity + UNRESOLVED))
        except OSError:
            return False
        return True

    def _bound(self) -> None:
        names = self._dead_names()
        if len(names) <= MAX_DEAD_LETTERS:
            return
        dated = []
        for name in names:
            try:
                dated.append((os.lstat(os.path.join(self.dead, name)).st_mtime, name))
            except OSError:
                continue
        dated.sort()
        for _, name in dated[:len(dated) - MAX_DEAD_LETTERS]:
            path = os.path.join(self.dead, name)
            self.discard(path, self._read(path), "over the bound of %d dead letters: the oldest go" % MAX_DEAD_LETTERS,
                         time.time())

    def _dead_names(self) -> List[str]:
        try:
            return sorted(n for n in os.listdir(self.dead) if n.endswith(".json") and not n.startswith("."))
        except OSError:
            return []

    @staticmethod
    def _read(path: str) -> Dict[str, Any]:
        try:
            record = json.loads(read_regular(path, MAX_ENTRY_BYTES + (1 << 20)).decode("utf-8"))
        except (OSError, ValueError, RecursionError):
            return {"reason": "unreadable dead letter"}
        if not isinstance(record, dict):
            return {"reason": "unreadable dead letter"}
        if path.endswith(UNRESOLVED):  # a queue entry moved aside as it was
            entry = record
            record = {key: entry.get(key) for key in ("created", "event_type", "notification_type", "alert_key",
                                                      "endpoint", "api_url", "key_hint")}
            record.update({"reason": UNRESOLVED_REASON, "unresolved": True, "entry": entry,
                           "dead_since": entry.get("last_attempt", entry.get("created"))})
        return record

    def dead_letters(self) -> List[Tuple[str, Dict[str, Any]]]:
        """(path, record) of every dead letter, by name. The record's ``entry`` (the
        event, with its key reference) is for ``retry``; nothing prints it."""
        return [(os.path.join(self.dead, name), self._read(os.path.join(self.dead, name)))
                for name in self._dead_names()]

    def discard(self, path: str, record: Mapping[str, Any], why: str, now: float,
                handled: str = "discarded") -> Optional[str]:
        """Remove a dead letter, with a line in the journal of handled ones (best
        effort: removing needs no space, the journal may not fit). Returns None, or
        why it could not be removed."""
        line: Dict[str, Any] = {"at": now, "handled": handled, "why": why, "dead_letter": os.path.basename(path)}
        for key in ("event_type", "alert_key", "endpoint", "key_hint", "reason", "dead_since"):
            line[key] = record.get(key)
        try:
            self._journal(encode(line) + b"\n", self.handled_journal)
        except OSError:
            pass
        if not unlink(path):
            return "could not remove %s" % os.path.basename(path)
        return None

    def handled_since(self, since: float) -> List[Dict[str, Any]]:
        return self.superseded_since(since, self.handled_journal)
