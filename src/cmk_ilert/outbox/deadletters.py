"""Dead letters: events iLert rejected for good, and entries that cannot be read.

A dead letter keeps what an admin needs to understand the failure (reason,
type, alert key, endpoint, key hint), never the integration key or the payload.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Tuple

from ..base.fsutil import errno_name, read_regular, replace_atomically, unlink
from .entry import Entry, Redactor, encode
from .layout import Layout


class DeadLetters(Layout):
    def dead_letter(self, entry: Entry, reason: str, now: float, redact: Optional[Redactor] = None) -> Optional[str]:
        """Keep what an admin needs to understand the failure, never the key or
        payload. Returns None, or why the entry could not be moved (it then stays
        queued)."""
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
        return True

    def _bury(self, path: str, identity: str, record: Dict[str, Any]) -> None:
        target = os.path.join(self.dead, identity + ".json")
        replace_atomically(target, encode(record), self.tmp)
        unlink(path)

    def dead_letters(self) -> List[Tuple[str, Dict[str, Any]]]:
        out: List[Tuple[str, Dict[str, Any]]] = []
        try:
            names = sorted(n for n in os.listdir(self.dead) if n.endswith(".json"))
        except OSError:
            return out
        for name in names:
            path = os.path.join(self.dead, name)
            try:
                record = json.loads(read_regular(path, 1 << 20).decode("utf-8"))
            except (OSError, ValueError, RecursionError):
                record = {"reason": "unreadable dead letter"}
            out.append((path, record if isinstance(record, dict) else {"reason": "unreadable dead letter"}))
        return out
