"""``sync``: what responders do in iLert shows up in Checkmk, pulled by the site's cron.

Each run (bounded by ``--max-time``, one at a time per site):

1. lists this site's open alerts (``states=PENDING&states=ACCEPTED``) created within the
   look-back window, and the alerts created since the last run that are already RESOLVED;
   alerts seen open by an earlier run that left the open list are fetched one by one
   (``GET /api/alerts/{id}``) to learn whether they were resolved. ``from``/``until`` select by
   *creation* time (iLert's API reference), so "changed since the last run" cannot be asked
   for directly;
2. keeps the alerts whose key belongs to this site (``cmk/<site>/...``), maps each key back to
   the host/service (the key index that delivery writes, else the key's own parts looked up
   case-insensitively in Livestatus);
3. for each new transition (alert id + status) asks Livestatus for the object's state first:
   ACCEPTED by a responder + unacknowledged problem -> ``ACKNOWLEDGE_*_PROBLEM``;
   RESOLVED by a responder + still a problem -> ``ADD_*_COMMENT`` (never a fake recovery).
   Names go into the command exactly; afterwards the object is asked for again (Livestatus
   answers commands silently), and only an effect that shows is logged and recorded as done.

Every filter a listing asked for (states, sources, from/until) is checked again on each alert
that comes back; requests stay within a budget per minute across runs, and a listing the budget
cut short continues next run from the cursor kept in the state (docs/sync.md).

Crash safety: a transition is written to the state file as an *intent* before its command is
sent and as *done* after. Both commands are guarded by the state query of the next attempt
(an acknowledged problem is never acknowledged again; a comment starting "Resolved in iLert"
that names ``iLert alert <id>`` is never added again), and an intent younger than
INTENT_GRACE is waited out first, because Livestatus applies commands asynchronously. So a
SIGKILL at any point never applies a transition twice, and the next run completes it.

No echo loop: the acknowledgement is sent with notify=1, so Checkmk's ACKNOWLEDGEMENT
notification reaches iLert as ACCEPT on an alert that is already accepted, which iLert answers
with ALREADY_ACCEPTED and delivery counts as delivered; transitions that an event from Checkmk
caused in iLert (``acknowledgedByType``/``resolvedByType`` SOURCE) are never mirrored back.
"""

from __future__ import annotations

import os
import time
from typing import Callable, Dict, List, Tuple

from ..base.errors import EXIT_OK, EXIT_TEMPORARY
from ..base.output import Printer
from ..base.text import printable
from ..checkmk import livestatus
from ..ilert.alerts import REQUESTS_PER_MINUTE, ApiError, Client, OutOfBudget, RemoteAlert
from . import state as sync_state
from .actions import ACCEPTED, RESOLVED, Mirror
from .comments import CommentMirror
from .lookup import ObjectFinder
from .objects import CheckmkSources
from .options import Options
from .reconcile import reconcile
from .reopen import Reopen

#: The first run (and every run after it) never looks further back than this before it.
FIRST_LOOK_BACK = 3600.0
#: ``from`` of the RESOLVED listing: the last complete run minus this overlap.
OVERLAP = 600.0
#: Alerts fetched one by one per run (the rest wait for the next run).
MAX_SINGLE = 20
#: Longest pause honoured from a Retry-After header.
MAX_PAUSE = 600.0
HTTP_TIMEOUT = 10.0
#: Malformed entries named one by one per run (the rest are counted).
MAX_NOTES = 5


class Run:
    """One sync run: list this site's alerts in iLert, hand each transition to the ``Mirror``."""

    def __init__(self, opts: Options, site: str, omd_root: str, root: str, key: str, printer: Printer,
                 deadline: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.opts = opts
        self.site = site
        self.prefix = "cmk/%s/" % " ".join(site.split()).casefold()
        self.root = root
        self.printer = printer
        self.client = Client(opts.api_url, key, HTTP_TIMEOUT, deadline, clock)
        self.state = sync_state.SyncState()
        socket = os.path.join(omd_root, *livestatus.SOCKET)
        self.finder = ObjectFinder(root, site, self.prefix, socket, deadline, clock)
        self.checkmk = CheckmkSources(opts.sources, site)  # alerts of Checkmk-type sources (objects.py)
        self.now = time.time()
        #: ``until`` of the RESOLVED listing that completed (``last`` of the next run)
        self.resolved_until = self.now

    # -- the run ------------------------------------------------------------------------

    def main(self) -> int:
        state, note = sync_state.load(self.root)
        if note:
            self.printer.line("sync: " + note)
        self.state = state
        # what writes to Checkmk, on the state just loaded
        self.mirror = Mirror(self.opts, state, self.finder, self.printer, self._save, checkmk=self.checkmk)
        self.reopen = Reopen(self.opts, state, self.finder, self.printer, self._save, checkmk=self.checkmk)
        self.comments = CommentMirror(self.opts, state, self.finder, self.client, self.printer, self._save,
                                      checkmk=self.checkmk)
        self.client.stamps = state.requests  # the request budget holds across runs
        if not self.opts.dry_run:
            sync_state.clean_temporaries(self.root)
        if state.pause > self.now and not self.opts.dry_run:
            self.printer.line("sync: paused, iLert asked to wait %ds more (HTTP 429)" % (state.pause - self.now + 0.5))
            return EXIT_TEMPORARY
        if not state.first:
            state.first = self.now
        try:
            complete = self.sync()
        except ApiError as exc:
            if exc.rate_limited:
                pause = min(MAX_PAUSE, exc.retry_after if exc.retry_after is not None else 60.0)
                self.state.pause = time.time() + pause
                self.printer.line("sync: %s; pausing %ds" % (exc, pause))
            else:
                self.printer.line("sync: %s" % exc)
            self._save()
            return exc.exit_code
        except livestatus.LivestatusError as exc:
            self.printer.line("sync: %s; the next run retries" % exc)
            self._save()
            return EXIT_TEMPORARY
        complete = complete and not self.mirror.unsettled and not self.mirror.unconfirmed
        if complete:
            self.state.last = self.resolved_until
        self.state.prune(self.now - self.opts.look_back - 86400.0)
        self._save()
        self._summary()
        return EXIT_OK if complete and not (self.reopen.trouble or self.comments.trouble) else EXIT_TEMPORARY

    def sync(self) -> bool:
        opts = self.opts
        window = max(self.now - opts.look_back, self.state.first - FIRST_LOOK_BACK)
        open_alerts, complete, fresh = self.listing("open", ("PENDING", ACCEPTED), window)
        since = max(window, (self.state.last - OVERLAP) if self.state.last else self.now - FIRST_LOOK_BACK)
        resolved, complete_resolved, _ = self.listing("resolved", (RESOLVED,), since)
        complete = complete and complete_resolved
        mine_open = [a for a in open_alerts if self.mine(a)]
        mine_resolved: Dict[int, RemoteAlert] = {a.id: a for a in resolved if self.mine(a)}
        open_ids = {a.id for a in mine_open}
        # only a whole open listing tells which watched alerts left it
        gone = [int(i) for i in self.state.watch if int(i) not in open_ids and int(i) not in mine_resolved] \
            if fresh else []
        fetched = 0
        for alert_id in sorted(gone)[:MAX_SINGLE]:
            try:
                alert = self.client.get(alert_id)
            except OutOfBudget:
                break
            fetched += 1
            if alert is None or not self.mine(alert) or (opts.sources and alert.source_id not in opts.sources):
                self.state.watch.pop(str(alert_id), None)
            elif alert.status == RESOLVED:
                mine_resolved[alert.id] = alert
        complete = complete and fetched == len(gone)
        self._notes()
        if not complete and not self.client.can_request():
            self.printer.line("sync: the request budget (%d requests to iLert per minute) is spent; the next run "
                              "goes on" % REQUESTS_PER_MINUTE)
        for alert in mine_open:
            self.state.watch.setdefault(str(alert.id), {"t": self.now})
        for alert in mine_resolved.values():
            self.state.watch.pop(str(alert.id), None)
        transitions = [a for a in mine_open if a.status == ACCEPTED] + list(mine_resolved.values())
        self.mirror.counts.seen = len(mine_open) + len(mine_resolved)
        for alert in sorted(transitions, key=lambda a: (a.id, a.status)):
            self.mirror.transition(alert)
        self.reopen.run(mine_open)  # sync's acknowledgement of an alert pending again (reopen.py)
        self.comments.run(mine_open)  # responders' comments (comments.py)
        if opts.reconcile:  # drift between iLert and Checkmk (reconcile.py)
            reconcile(opts, self.site, self.root, self.finder, self.printer, mine_open, fresh)
        return complete

    def listing(self, name: str, states: Tuple[str, ...], since: float) -> Tuple[List[RemoteAlert], bool, bool]:
        """One listing, continued from the cursor an earlier run left; (alerts, complete, whole):
        ``whole`` when this run read it from the first page to the last."""
        cursor = self.state.cursor.get(name)
        start, until = 0, self.now
        if cursor and cursor["until"] <= self.now and cursor["from"] >= self.now - self.opts.look_back - 86400.0:
            since, until, start = cursor["from"], cursor["until"], int(cursor["start"])
        alerts, complete, next_start = self.client.list(states, self.opts.sources, since, until, start=start)
        if complete:
            self.state.cursor.pop(name, None)
            if name == "resolved":
                self.resolved_until = until
        else:
            self.state.cursor[name] = {"from": since, "until": until, "start": next_start}
        return alerts, complete, complete and start == 0

    def _notes(self) -> None:
        """One line per malformed entry (a few), one for entries outside the filters asked for."""
        notes: List[str] = []
        for key, note in self.client.malformed:  # an entry can come in both listings: one line
            if (not key or self.mine_key(key)) and note not in notes:
                notes.append(note)
        for note in notes[:MAX_NOTES]:
            self.printer.line("sync: %s: skipped" % printable(note))
        if len(notes) > MAX_NOTES:
            self.printer.line("sync: %d more malformed entries from iLert skipped" % (len(notes) - MAX_NOTES))
        if self.client.filtered and not self.opts.quiet:
            self.printer.line("sync: %d alerts iLert listed do not match the query (alert source, status or time) "
                              "and were left alone" % self.client.filtered)

    def mine(self, alert: RemoteAlert) -> bool:
        return self.mine_key(alert.alert_key) or self.checkmk.owns(alert)

    def mine_key(self, alert_key: str) -> bool:
        return alert_key[:len(self.prefix) + 8].casefold().startswith(self.prefix)

    # -- bookkeeping ----------------------------------------------------------------------------

    def _save(self) -> None:
        if not self.opts.dry_run:
            sync_state.save(self.root, self.state)

    def _summary(self) -> None:
        c = self.mirror.counts
        if self.checkmk.hint() and not self.opts.quiet:
            self.printer.line("sync: " + self.checkmk.hint())
        if self.opts.quiet and not (c.acknowledged or c.commented):
            return
        self.printer.line("sync: %d open or resolved alerts of site %s, %d acknowledged, %d commented, %d unchanged, "
                          "%d skipped (%d requests to iLert)%s" % (
                              c.seen, self.site, c.acknowledged, c.commented, c.unchanged, c.skipped,
                              self.client.requests, ", dry run: nothing changed" if self.opts.dry_run else ""))
