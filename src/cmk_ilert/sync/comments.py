"""Comments responders write on an alert in iLert -> comments on the Checkmk object, once.

Which alerts: this site's open alerts (PENDING or ACCEPTED) whose object is a problem in
Checkmk now; at most MAX_ALERTS per run, the ones read longest ago first, one page of their
log entries each (``GET /api/alerts/{id}/log-entries``, 100 entries, LOG_PAGE_BYTES), inside
the run's request budget. A cursor per alert (``state.comments``: next start-index, highest
log entry id dealt with) continues there next run, and goes with the alert.

What: entries of type ``AlertCommentAddedLogEntry`` (a user's comment), never
``AlertCommentAddedBySystemLogEntry`` (what an event -- from Checkmk -- brought), never a text
that names ``iLert alert <n>`` (what ``sync`` itself wrote and Checkmk's notification carried
back), never one that repeats a comment the object already has in Checkmk (an
acknowledgement's comment that delivery sent to iLert). Each becomes ``ADD_*_COMMENT``
(persistent), author ``iLert: <name>``, text ``iLert comment by <name>: <comment> (iLert
alert <id>, log entry <n>)`` -- one line, at most MAX_COMMENT characters of the comment.

Exactly once: an intent is recorded before the command, done (cursor) after the comment
shows; a later attempt first waits out INTENT_GRACE and looks for a comment naming that log
entry on the object. Checkmk does not notify about comments (only ACKNOWLEDGEMENT carries
one), so nothing added here goes back to iLert.
"""

from __future__ import annotations

import re
import time
from typing import Dict, List, Optional

from ..base.output import Printer
from ..base.text import bound, printable
from ..ilert.alerts import PAGE, ApiError, Client, OutOfBudget, RemoteAlert
from ..ilert.logentries import USER_COMMENT, LogEntry, parse
from . import guarded
from . import state as sync_state
from .lookup import LiveObject, ObjectFinder, describe
from .objects import CheckmkSources
from .options import Options

#: Alerts whose log entries one run reads (one request each).
MAX_ALERTS = 10
#: Alerts looked up in Livestatus per run to find those (a problem in Checkmk).
MAX_CANDIDATES = 50
#: Characters of a responder's comment carried into Checkmk.
MAX_COMMENT = 1000
#: Anything that names an iLert alert as ``sync`` writes it came from here (never mirrored).
_OURS = re.compile(r"\biLert alert \d+\b")


class CommentMirror(guarded.Writer):
    """One run's pass over the open alerts' log entries (``run``)."""

    def __init__(self, opts: Options, state: sync_state.SyncState, finder: ObjectFinder, client: Client,
                 printer: Printer, save: "guarded.Save", checkmk: Optional[CheckmkSources] = None) -> None:
        super().__init__(opts, state, finder, printer, save, checkmk)
        self.client = client
        self.added = 0
        self.echoes = 0
        #: an answer could not be read, or a command is not known to have taken effect yet
        self.trouble = False

    def run(self, open_alerts: List[RemoteAlert]) -> None:
        """Read one page per alert (a few alerts) and mirror its comments; what is left (more
        pages, more alerts) is for the next runs, and ``trouble`` tells of a failure."""
        order = sorted(open_alerts, key=lambda a: (self._cursor(a.id)["t"], a.id))
        read = 0
        for alert in order[:MAX_CANDIDATES]:
            if read >= MAX_ALERTS:
                break
            found = guarded.locate(alert, self.finder, self.checkmk)
            if isinstance(found, str) or found.state == 0:
                continue  # comments on an object without a problem are not mirrored
            read += 1
            try:
                page = self.client.log_page(alert.id, int(self._cursor(alert.id)["n"]))
            except OutOfBudget:
                break  # the listings come first; the next run goes on
            except ApiError as exc:
                if exc.rate_limited:
                    raise
                self.trouble = True
                self.printer.line("sync: alert %d: log entries not read: %s; the next run retries" % (alert.id, exc))
                break
            if page is None:
                self.state.comments.pop(str(alert.id), None)
                continue
            self._page(alert, found, page)
        if self.echoes and not self.opts.quiet:
            self.printer.line("sync: %d comments in iLert came from Checkmk or from sync and were not mirrored back"
                              % self.echoes)

    def _cursor(self, alert_id: int) -> Dict[str, float]:
        return self.state.comments.get(str(alert_id)) or {"t": 0.0, "n": 0, "id": 0}

    def _page(self, alert: RemoteAlert, found: LiveObject, page: List[object]) -> None:
        cursor = dict(self._cursor(alert.id))
        if len(page) > PAGE:
            self.printer.line("sync: alert %d: iLert answered %d log entries for a page of %d; the first %d are read"
                              % (alert.id, len(page), PAGE, PAGE))
            page = page[:PAGE]
        for raw in page:
            entry = parse(raw, alert.id)
            if entry is None or entry.id <= cursor["id"]:
                continue
            if entry.kind == USER_COMMENT and entry.content:  # an empty comment says nothing
                if self._echo(entry, found):
                    self.echoes += 1
                elif not self._mirror(alert, found, entry):
                    return  # the cursor stays before this entry: the next run goes on here
            cursor["id"] = max(cursor["id"], entry.id)
            if not self.opts.dry_run:
                self.state.comments[str(alert.id)] = dict(cursor, t=time.time())
        cursor["n"] = cursor["n"] + len(page)
        if not self.opts.dry_run:
            self.state.comments[str(alert.id)] = dict(cursor, t=time.time())

    def _echo(self, entry: LogEntry, found: LiveObject) -> bool:
        if _OURS.search(entry.content) or _OURS.search(entry.text):
            return True
        own = [" ".join(text.split()) for text in found.comments]
        return any(text and (entry.content == text or entry.text.endswith(": " + text)) for text in own)

    def _mirror(self, alert: RemoteAlert, found: LiveObject, entry: LogEntry) -> bool:
        """The comment is on the object (now or already); False when that is not known yet."""
        tkey = "%d:comment:%d" % (alert.id, entry.id)
        marker = re.compile(r"\(iLert alert %d, log entry %d\)" % (alert.id, entry.id))
        label = guarded.label(alert)
        what = describe(found)
        intent = self.state.intent.get(tkey)
        if intent is not None and not self.opts.dry_run:
            if not guarded.settled(intent, self.finder):
                self.printer.line("sync: %s: an earlier run was stopped while adding a comment; the next run "
                                  "finishes it" % label)
                self.trouble = True
                return False
            now = self.finder.find(guarded.wanted_of(found))
            if isinstance(now, LiveObject):
                found = now
        if any(marker.search(text) for text in found.comments):
            self._done(tkey)
            return True
        author = entry.author
        comment = bound(entry.content if author else entry.text, MAX_COMMENT)
        text = "iLert comment%s: %s (iLert alert %d, log entry %d)" % (
            " by " + author if author else "", comment, alert.id, entry.id)
        if self.opts.dry_run:
            self.printer.line("sync: %s: would add iLert comment %d to %s" % (label, entry.id, what))
            return True
        name = "ADD_SVC_COMMENT" if found.service else "ADD_HOST_COMMENT"
        if not self.send(tkey, "comment", found, name, [1, "iLert: " + author if author else "iLert", text],
                         lambda o: any(marker.search(t) for t in o.comments)):
            self.trouble = True
            self.printer.line("sync: %s: sent the command to add iLert comment %d to %s, not confirmed: Livestatus "
                              "does not show it; the next run checks again" % (label, entry.id, what))
            return False
        self._done(tkey)
        self.added += 1
        self.printer.line("sync: %s: added iLert comment %d%s to %s in Checkmk" % (
            label, entry.id, " by " + printable(author, 80) if author else "", what))
        return True

    def _done(self, tkey: str) -> None:
        if self.state.intent.pop(tkey, None) is not None:
            self.save()
