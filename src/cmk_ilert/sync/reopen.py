"""An alert ``sync`` acknowledged that is PENDING again in iLert -> sync's acknowledgement goes.

iLert has no "un-accept": an accepted alert becomes PENDING again when it is reassigned to
someone else (who has not accepted it yet) -- nobody is on it any more, and Checkmk should say
so. When ``sync`` acknowledged the problem (``state.done["<id>:ACCEPTED"]`` says
"acknowledged ...") and every acknowledgement on the object is that one (entry type 4 in
``comments_with_extra_info``, comment ``Accepted in iLert ... iLert alert <id>``), the
acknowledgement is removed (``REMOVE_*_ACKNOWLEDGEMENT``). An acknowledgement a person gave in
Checkmk is never removed. Afterwards the alert's ACCEPTED transition is forgotten, so that an
accept of the new responder acknowledges again. Checkmk sends no notification when an
acknowledgement is removed, so nothing goes back to iLert.

Crash-safe like actions.py: intent ``"<id>:PENDING"`` before the command; a later attempt
waits out INTENT_GRACE and finds the object no longer acknowledged (nothing to do).
"""

from __future__ import annotations

import re
from typing import Any, List, Optional

from ..base.output import Printer
from ..checkmk import livestatus
from ..ilert.alerts import RemoteAlert
from . import guarded
from . import state as sync_state
from .lookup import LiveObject, ObjectFinder, describe
from .objects import CheckmkSources
from .options import Options

#: Livestatus' entry type of an acknowledgement's comment (Nagios numbering).
ACK_ENTRY = 4


class Reopen(guarded.Writer):
    """Removes sync's own acknowledgement of alerts that are pending again (``run``)."""

    def __init__(self, opts: Options, state: sync_state.SyncState, finder: ObjectFinder, printer: Printer,
                 save: guarded.Save, checkmk: Optional[CheckmkSources] = None) -> None:
        super().__init__(opts, state, finder, printer, save, checkmk)
        self.removed = 0
        self.trouble = False

    def run(self, pending: List[RemoteAlert]) -> None:
        for alert in sorted(pending, key=lambda a: a.id):
            accepted = self.state.done.get("%d:ACCEPTED" % alert.id)
            if alert.status == "PENDING" and accepted and str(accepted.get("r", "")).startswith("acknowledged "):
                self.alert(alert)

    def alert(self, alert: RemoteAlert) -> None:
        tkey, trigger = "%d:PENDING" % alert.id, "%d:ACCEPTED" % alert.id
        label = guarded.label(alert)
        intent = self.state.intent.get(tkey)
        if intent is not None and not self.opts.dry_run and not guarded.settled(intent, self.finder):
            self.printer.line("sync: %s: an earlier run was stopped while removing an acknowledgement; the next run "
                              "finishes it" % label)
            self.trouble = True
            return
        found = guarded.locate(alert, self.finder, self.checkmk)
        if isinstance(found, str):
            return self._finish(tkey, trigger, label, "pending again in iLert; " + found)
        what = describe(found)
        if not found.acknowledged:
            return self._finish(tkey, trigger, label, "pending again in iLert; %s is not acknowledged" % what)
        if not self._only_ours(found, alert.id):
            return self._finish(tkey, trigger, label, "pending again in iLert; the acknowledgement of %s was given "
                                "in Checkmk, left alone" % what)
        if self.opts.dry_run:
            self.printer.line("sync: %s: would remove the acknowledgement of %s (pending again in iLert)"
                              % (label, what))
            return None
        name = "REMOVE_SVC_ACKNOWLEDGEMENT" if found.service else "REMOVE_HOST_ACKNOWLEDGEMENT"
        if not self.send(tkey, "unacknowledge", found, name, [], lambda o: not o.acknowledged):
            self.trouble = True
            self.printer.line("sync: %s: sent the command to remove the acknowledgement of %s, not confirmed: "
                              "Livestatus still shows it; the next run checks again" % (label, what))
            return None
        self.removed += 1
        return self._finish(tkey, trigger, label, "removed the acknowledgement of %s in Checkmk: the alert is "
                            "pending again in iLert (un-accepted or reassigned)" % what, quietly=False)

    def _only_ours(self, found: LiveObject, alert_id: int) -> bool:
        """Whether every acknowledgement comment on the object is the one sync gave for this alert."""
        if found.service:
            lines = ["GET services", "Columns: comments_with_extra_info",
                     "Filter: host_name = %s" % found.host, "Filter: description = %s" % found.service]
        else:
            lines = ["GET hosts", "Columns: comments_with_extra_info", "Filter: name = %s" % found.host]
        rows = livestatus.query(self.finder.socket, lines, self.finder.live_deadline(), self.finder.clock)
        marker = re.compile(r"^Accepted in iLert\b.*\biLert alert %d\b" % alert_id)
        acks: List[Any] = []
        for row in rows[:1]:
            entries = row[0] if row and isinstance(row[0], list) else []
            acks = [e for e in entries if isinstance(e, list) and len(e) >= 4 and e[3] == ACK_ENTRY]
        return bool(acks) and all(
            isinstance(e[1], str) and e[1].startswith("iLert") and isinstance(e[2], str) and marker.search(e[2])
            for e in acks)

    def _finish(self, tkey: str, trigger: str, label: str, outcome: str, quietly: bool = True) -> None:
        if not self.opts.dry_run:
            self.state.done.pop(trigger, None)
            if self.state.intent.pop(tkey, None) is not None or not quietly:
                self.save()
        if not (quietly and self.opts.quiet):
            self.printer.line("sync: %s: %s" % (label, outcome))
