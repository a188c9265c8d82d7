"""One transition in iLert -> what Checkmk shows: the sync run's actions.

ACCEPTED by a responder + an unacknowledged problem -> ``ACKNOWLEDGE_*_PROBLEM``;
RESOLVED by a responder + still a problem -> ``ADD_*_COMMENT`` (never a fake
recovery). The object's state is asked first, an intent is recorded before the
command and the command's effect is confirmed by asking again after it (the
core answers commands silently): only a confirmed effect is logged as done.
"""

from __future__ import annotations

import re
import time
from typing import Any, Callable, List, Optional

from ..base.output import Printer
from ..base.text import printable
from ..ilert.alerts import RemoteAlert
from ..outbox import links as alertlinks
from . import state as sync_state
from .guarded import Writer, settled
from .guarded import label as alert_label
from .lookup import ObjectFinder, describe
from .objects import CheckmkSources
from .options import Options

ACCEPTED, RESOLVED = "ACCEPTED", "RESOLVED"


class Counts:
    def __init__(self) -> None:
        self.seen = 0
        self.acknowledged = 0
        self.commented = 0
        self.unchanged = 0
        self.skipped = 0


class Mirror(Writer):
    """Applies transitions to Checkmk, each at most once (``state.done``, ``state.intent``)."""

    def __init__(self, opts: Options, state: sync_state.SyncState, finder: ObjectFinder, printer: Printer,
                 save: Callable[[], None], checkmk: Optional[CheckmkSources] = None) -> None:
        super().__init__(opts, state, finder, printer, save, checkmk)
        self.counts = Counts()
        #: an intent of an earlier run could not be settled in time
        self.unsettled = False
        #: a command's effect did not show
        self.unconfirmed = False

    def transition(self, alert: RemoteAlert) -> None:
        tkey = "%d:%s" % (alert.id, alert.status)
        if tkey in self.state.done:
            return
        label = alert_label(alert)
        if alert.by_type == "SOURCE":
            self.finish(tkey, "caused by an event from Checkmk", label, quietly=True)
            return
        if self.checkmk is not None and self.checkmk.owns(alert):  # a key iLert made (objects.py)
            wanted = self.checkmk.wanted(alert, self.finder)
        else:
            wanted = self.finder.wanted(alert.alert_key)
        if isinstance(wanted, str):
            self.counts.skipped += 1
            self.finish(tkey, "skipped: " + wanted, label, quietly=False)
            return
        intent = self.state.intent.get(tkey)
        if intent is not None and not self.opts.dry_run and not settled(intent, self.finder):
            self.printer.line("sync: %s: an earlier run was stopped after deciding; the next run finishes it"
                              % label)
            self.unsettled = True
            return
        found = self.finder.find(wanted)
        if isinstance(found, str):
            self.counts.skipped += 1
            self.finish(tkey, "skipped: " + found, label, quietly=False)
            return
        what = describe(found)
        marker = re.compile(r"^Resolved in iLert\b.*\biLert alert %d\b" % alert.id)
        if alert.status == ACCEPTED:
            if found.state == 0:
                return self.finish(tkey, "nothing to do: %s has no problem in Checkmk" % what, label)
            if found.acknowledged:
                return self.finish(tkey, "nothing to do: %s is already acknowledged in Checkmk" % what, label)
            name = "ACKNOWLEDGE_SVC_PROBLEM" if found.service else "ACKNOWLEDGE_HOST_PROBLEM"
            # sticky 2 (until OK/UP), notify 1 (see the module docstring), persistent 0
            args: List[Any] = [2, 1, 0, self.author(alert), "Accepted in iLert by %s (%s)" % (
                alert.by or "a responder", self.reference(alert))]
            done, verb = "acknowledged", "acknowledge"
        else:
            if found.state == 0:
                return self.finish(tkey, "nothing to do: %s shows no problem in Checkmk" % what, label)
            if any(marker.search(text) for text in found.comments):
                return self.finish(tkey, "nothing to do: %s already has the comment" % what, label)
            name = "ADD_SVC_COMMENT" if found.service else "ADD_HOST_COMMENT"
            # persistent 1: a record of what happened in iLert survives a core restart
            args = [1, self.author(alert), "Resolved in iLert by %s (%s). Checkmk still shows the problem." % (
                alert.by or "a responder", self.reference(alert))]
            done, verb = "commented", "comment"
        if self.opts.dry_run:
            self.printer.line("sync: %s: would %s %s (%s in iLert%s)" % (
                label, verb, what, alert.status.lower(), _by(alert)))
            return None
        if not self.send(tkey, verb, found, name, args, lambda now: now.acknowledged if alert.status == ACCEPTED
                         else any(marker.search(text) for text in now.comments)):
            # the intent stays: the next run asks again before it sends anything (once per run)
            self.unconfirmed = True
            self.printer.line("sync: %s: sent the command to %s %s, not confirmed: Livestatus does not show it "
                              "(a core that did not apply it, or a non-existent object); the next run checks "
                              "again" % (label, verb, what))
            return None
        self.state.intent.pop(tkey, None)
        if done == "acknowledged":
            self.counts.acknowledged += 1
        else:
            self.counts.commented += 1
        self.finish(tkey, "%s %s in Checkmk (%s in iLert%s)" % (done, what, alert.status.lower(), _by(alert)),
                    label, quietly=False, count=False)
        return None

    def finish(self, tkey: str, outcome: str, label: str, quietly: bool = True, count: bool = True) -> None:
        if count and outcome.startswith("nothing"):
            self.counts.unchanged += 1
        if not self.opts.dry_run:
            self.state.done[tkey] = {"t": time.time(), "r": outcome[:200]}
            if self.state.intent.pop(tkey, None) is not None or not count:
                self.save()  # a command was sent: record it at once; other outcomes at the end
        if not (quietly and self.opts.quiet):
            self.printer.line("sync: %s: %s" % (label, outcome))

    def author(self, alert: RemoteAlert) -> str:
        return "iLert: %s" % (alert.by or "a responder")

    def reference(self, alert: RemoteAlert) -> str:
        text = "iLert alert %d" % alert.id
        if self.opts.alert_url:
            text += " " + self.opts.alert_url.replace("{id}", str(alert.id))
        else:
            # the alertUrl iLert answered when delivery sent this key's last ALERT (alertlinks)
            url = alertlinks.last(self.finder.root, alert.alert_key.casefold())
            if url and url.rstrip("/").endswith("/%d" % alert.id):
                text += " " + url
        return text


def _by(alert: RemoteAlert) -> str:
    return " by %s" % printable(alert.by, 80) if alert.by else ""
