"""``sync --reconcile``: drift between iLert and Checkmk, found and mended in bounded steps.

Two kinds of drift, both compared on HARD states and on Livestatus' ``last_state_change``:

* **stale open**: an alert of this site, open in iLert (PENDING/ACCEPTED, from this run's
  open listing) under cmk_ilert's own key, whose object Checkmk shows OK/UP (hard) for
  longer than ``--reconcile-grace``, with nothing queued for its key -> a RESOLVE through
  the outbox to the alert source its last ALERT went to (``drift_events``), with a comment
  saying why. An object Checkmk does not know is left alone (one line); a key without a
  route in the key index, or of a Checkmk-type alert source, is left alone (one line).
* **missing**: a hard problem Checkmk shows (not acknowledged, no downtime, notifications
  on; ``livestate.problems``) for longer than the grace, whose alert key has no open alert
  in iLert and nothing queued -> one line (report); with ``--reconcile-raise`` and a route,
  an ALERT through the outbox. Looked for only when this run read the whole open listing:
  otherwise an alert on an unread page would look missing.

Bounds: at most ``--reconcile-max`` events queued (and as many problems reported) per run,
oldest state change first; the rest is counted as left for the next runs. No request to
iLert's REST API is made here: the events go out with the outbox's order, dedup, coalescing
and per-source rate limit (the site cron's ``flush``, every minute). Each decision is
recorded in ``reconcile_state`` after its event is durable; the event's identity makes a
second queuing after a kill a duplicate the outbox folds.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from ..base.output import Printer
from ..base.text import local_time, printable
from ..ilert.alerts import RemoteAlert
from ..notify.mapping import MAX_ALERT_KEY
from ..notify.prepare import Prepared
from ..outbox import keyindex
from ..outbox.entry import QUEUED
from ..outbox.store import Outbox
from . import reconcile_state
from .drift_events import CHECKMK_TYPE, Routes, event, keys
from .guarded import label
from .livestate import Query, Shown, objects, problems, querier
from .lookup import ObjectFinder
from .options import Options

#: Lines naming single alerts left alone, per run (the rest are counted).
MAX_NOTES = 5
#: Time kept back for the state file and the summary.
RESERVE = 2.0


class Counts:
    def __init__(self) -> None:
        self.resolved = 0
        self.raised = 0
        self.reported = 0
        self.left = 0
        self.alone = 0

    def as_json(self, now: float) -> Dict[str, Any]:
        out: Dict[str, Any] = {name: getattr(self, name) for name in reconcile_state.COUNTS}
        out["t"] = now
        return out


class Reconciler:
    """One run's reconciliation (``run``), after the sync run's listings and transitions."""

    def __init__(self, opts: Options, site: str, root: str, query: Query, printer: Printer,
                 deadline: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.opts = opts
        self.site = site
        self.prefix = "cmk/%s/" % " ".join(site.split()).casefold()
        self.root = root
        self.query = query
        self.printer = printer
        self.deadline = deadline
        self.clock = clock
        self.outbox = Outbox(root)
        self.routes = Routes()
        self.counts = Counts()
        self.now = time.time()
        self.done: Dict[str, Dict[str, Any]] = {}
        self.notes = 0
        self.budget = opts.reconcile_max
        self.queued: Set[str] = set()

    # -- the run ---------------------------------------------------------------------------

    def run(self, open_alerts: List[RemoteAlert], whole: bool) -> None:
        self.done, note = reconcile_state.load(self.root)
        if note:
            self.printer.line("sync: " + note)
        self.queued = set(self.outbox.groups())
        try:
            self.stale(open_alerts)
            if whole:
                self.missing(open_alerts)
            elif not self.opts.quiet:
                self.printer.line("sync: reconcile: problems without an iLert alert not looked for: this run did "
                                  "not read the whole list of open alerts (request budget or time); a later run does")
        finally:
            if not self.opts.dry_run:
                reconcile_state.save(self.root, self.done, self.counts.as_json(self.now),
                                     self.now - self.opts.look_back - 86400.0)
        self._summary()

    def stale(self, open_alerts: List[RemoteAlert]) -> None:
        """Open in iLert, OK/UP in Checkmk for longer than the grace: RESOLVE."""
        routed: List[Tuple[RemoteAlert, keyindex.Target, Dict[str, str]]] = []
        for alert in sorted(open_alerts, key=lambda a: a.id):
            key = alert.alert_key.casefold()
            if not key.startswith(self.prefix):
                continue  # a Checkmk-type alert: iLert made its key (sync/objects.py)
            target, route = keyindex.entry(self.root, key)
            if target is None or route is None or target.site.casefold() != self.site.casefold() or not target.host:
                self._alone("stale:%d:noroute" % alert.id, label(alert), "open in iLert; no record here of the rule "
                            "its ALERT went out by (key index): cannot resolve it, left alone")
                continue
            routed.append((alert, target, route))
        shown = objects(self.query, [(t.host, t.service) for _, t, _ in routed]) if routed else {}
        due: List[Tuple[float, int, RemoteAlert, Shown, Dict[str, str]]] = []
        for alert, target, route in routed:
            found = shown.get((target.host, target.service))
            if found is None:
                self._alone("stale:%d:unknown" % alert.id, label(alert), "open in iLert, but Checkmk does not know "
                            "%s: left alone" % _what(target.host, target.service))
                continue
            if found.state != 0 or not found.hard or found.since <= 0 \
                    or self.now - found.since < self.opts.reconcile_grace:
                continue
            due.append((found.since, alert.id, alert, found, route))
        for since, _, alert, found, route in sorted(due, key=lambda d: (d[0], d[1])):
            tag = "stale:%d:%d" % (alert.id, int(since))
            if tag in self.done:
                continue
            settings = self.routes.settings(route)
            if isinstance(settings, str):
                self._alone(tag, label(alert), "cannot resolve it: " + settings)
                continue
            if self.routes.group(settings, alert.alert_key.casefold()) in self.queued:
                continue  # the outbox has events of the key: they decide
            if not self._room():
                self.counts.left += 1
                continue
            why = "resolved by cmk_ilert sync: Checkmk shows %s %s since %s, grace %d min" % (
                _what(found.host, found.service), found.state_name, local_time(since),
                self.opts.reconcile_grace // 60)
            item = event(self.site, found, settings, route, "RESOLVE", why, self.root)
            if isinstance(item, str):
                self._alone(tag, label(alert), "cannot resolve it: " + item)
                continue
            if item.data["alert_key"] != alert.alert_key.casefold():
                self._alone(tag, label(alert), "cannot resolve it: the rule now makes the key %s"
                            % printable(item.data["alert_key"], MAX_ALERT_KEY))
                continue
            if self._queue(item, tag, label(alert), why):
                self.counts.resolved += 1

    def missing(self, open_alerts: List[RemoteAlert]) -> None:
        """A hard problem in Checkmk older than the grace, no open alert in iLert: report (raise)."""
        open_keys = {a.alert_key.casefold() for a in open_alerts}
        found, cut = problems(self.query, self.now - self.opts.reconcile_grace)
        if cut and not self.opts.quiet:
            self.printer.line("sync: reconcile: Checkmk shows more hard problems than one run reads; the oldest of "
                              "those read come first")
        due: List[Tuple[float, str, Shown, str]] = []
        for shown in found:
            key, legacy = keys(self.site, shown.host, shown.service)
            if key in open_keys or legacy in open_keys:
                continue
            due.append((shown.since, key, shown, legacy))
        reported = 0
        wanted: List[Tuple[str, Shown, Dict[str, str]]] = []
        for since, key, shown, legacy in sorted(due, key=lambda d: (d[0], d[1])):
            route = keyindex.route(self.root, key) or keyindex.route(self.root, legacy)
            unusable = "no ALERT of it went out by a rule with the outbox on this site (key index)"
            if route is not None:
                settings = self.routes.settings(route)
                if settings == CHECKMK_TYPE:
                    continue  # iLert made the key of its alert: a key of ours cannot be compared
                if isinstance(settings, str):
                    unusable, route = settings, None
                elif {self.routes.group(settings, key), self.routes.group(settings, legacy)} & self.queued:
                    continue  # on its way
            tag = "missing:%s:%d" % (key, int(since))
            if tag in self.done and not (self.opts.reconcile_raise and route is not None
                                         and self.done[tag].get("r") == "reported"):
                continue
            if reported >= self.opts.reconcile_max:
                self.counts.left += 1
                continue
            reported += 1
            self.counts.reported += 1
            what = "%s %s in Checkmk since %s (hard, not acknowledged, no downtime, notifications on)" % (
                _what(shown.host, shown.service), shown.state_name, local_time(since))
            if not self.opts.reconcile_raise:
                self._record(tag, "reported", "sync: reconcile: %s: %s has no open alert in iLert; not raised "
                             "(--reconcile-raise raises it)" % (printable(key, MAX_ALERT_KEY), what))
            elif route is None:
                self._record(tag, "reported", "sync: reconcile: %s: %s has no open alert in iLert; not raised: %s"
                             % (printable(key, MAX_ALERT_KEY), what, unusable))
            else:
                wanted.append((tag, shown, route))
        if not wanted:
            return
        full = objects(self.query, [s.name for _, s, _ in wanted])
        for tag, shown, route in wanted:
            now = full.get(shown.name)
            label = printable(keys(self.site, shown.host, shown.service)[0], MAX_ALERT_KEY)
            if now is None or now.state == 0 or now.since != shown.since:
                continue  # changed meanwhile: the core notifies, or the next run looks again
            if not self._room():
                self.counts.left += 1
                continue
            settings = self.routes.settings(route)
            if isinstance(settings, str):
                continue
            why = "raised by cmk_ilert sync: Checkmk shows %s %s since %s (hard), grace %d min, and iLert had no " \
                  "open alert for it" % (_what(now.host, now.service), now.state_name, local_time(now.since),
                                         self.opts.reconcile_grace // 60)
            item = event(self.site, now, settings, route, "ALERT", why, self.root)
            if isinstance(item, str):
                self._record(tag, "reported", "sync: reconcile: %s: not raised: %s" % (label, item))
                continue
            if self._queue(item, tag, label, why, raised=True):
                self.counts.raised += 1

    # -- helpers -------------------------------------------------------------------------------

    def _room(self) -> bool:
        if self.budget <= 0 or self.clock() + RESERVE > self.deadline:
            return False
        self.budget -= 1
        return True

    def _queue(self, item: Prepared, tag: str, label: str, why: str, raised: bool = False) -> bool:
        verb = "raise" if raised else "resolve"
        if self.opts.dry_run:
            self.printer.line("sync: reconcile: %s: would %s it: %s" % (label, verb, why))
            return True
        if raised:
            keyindex.remember(self.root, item.target, item.route)
        ((_, state),) = self.outbox.enqueue([(item.group, item.identity, item.data)])
        self.queued.add(item.group)
        outcome = ("%s queued" % item.data["event_type"]) if state == QUEUED else \
            "%s already %s" % (item.data["event_type"], state[len("duplicate-"):])
        self._record(tag, outcome, "sync: reconcile: %s: %s (%s); the outbox delivers it" % (label, outcome, why))
        return state == QUEUED

    def _alone(self, tag: str, label: str, why: str) -> None:
        if tag in self.done:
            return
        self.counts.alone += 1
        line: Optional[str] = None
        if self.notes < MAX_NOTES:
            line = "sync: reconcile: %s: %s" % (label, why)
        self.notes += 1
        self._record(tag, "left alone", line)

    def _record(self, tag: str, outcome: str, line: Optional[str]) -> None:
        if not self.opts.dry_run:
            self.done[tag] = {"t": self.now, "r": outcome}
        if line and not (self.opts.quiet and outcome == "left alone"):
            self.printer.line(line)

    def _summary(self) -> None:
        c = self.counts
        if self.notes > MAX_NOTES:
            self.printer.line("sync: reconcile: %d more alerts left alone" % (self.notes - MAX_NOTES))
        if self.opts.quiet and not (c.resolved or c.raised or c.reported):
            return
        self.printer.line("sync: reconcile: %d stale alerts resolved, %d missing reported (%d raised), %d left for "
                          "the next runs, %d left alone%s" % (c.resolved, c.reported, c.raised, c.left, c.alone,
                                                              ", dry run: nothing queued" if self.opts.dry_run else ""))


def _what(host: str, service: str) -> str:
    return printable("%s/%s" % (host, service) if service else "host %s" % host)


def reconcile(opts: Options, site: str, root: str, finder: ObjectFinder, printer: Printer,
              open_alerts: List[RemoteAlert], whole: bool) -> None:
    """The sync run's one call: reconcile with the run's Livestatus socket and deadline."""
    query = querier(finder.socket, finder.live_deadline, finder.clock)
    Reconciler(opts, site, root, query, printer, finder.deadline, finder.clock).run(open_alerts, whole)
