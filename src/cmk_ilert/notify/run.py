"""The notification run: contexts -> events -> outbox -> delivery -> exit code.

Each context is mapped (``prepare``), its events are queued durably in the
outbox, and the keys they belong to are delivered right away, oldest event
first, within the run's budget; what iLert does not take yet stays queued for
the site cron's flush. When the outbox cannot be used, ``fallback`` delivers
directly, never out of order. The lines and the exit code: ``lines``.
"""

from __future__ import annotations

import errno
import time
from typing import TYPE_CHECKING, Any, Dict, FrozenSet, List, Mapping, Optional, Tuple

from ..base.digest import sha256
from ..base.errors import CmkIlertError, where
from ..base.fsutil import errno_name, unlink
from ..base.locking import FileLock
from ..base.output import Printer
from ..checkmk.context import NotificationContext
from ..checkmk.params import Settings, parse_settings
from ..checkmk.password_store import Lookup
from ..checkmk.paths import state_dir
from ..outbox.entry import DEAD, DELIVERED, QUEUED, SUPERSEDED
from ..outbox.keyindex import remember
from ..outbox.layout import unusable_reason
from ..outbox.store import Outbox
from .enrichment import Enrichment
from .fallback import SINGLE_MAX_RATE_WAIT, deliver_direct, state_dir_trusted
from .lines import IGNORED, exit_code, print_result, safe_type, summary
from .mapping import alert_key
from .prepare import Prepared, microtime, prepare
from .progress import Progress

if TYPE_CHECKING:  # delivery (transport, sockets, rate limits) is imported only when something is sent
    from ..outbox.delivery import Deliverer

#: Time a notification call may spend delivering; Checkmk kills plugins at 60 s.
NOTIFY_BUDGET = 45.0


class _LazyDeliverer:
    """The run's Deliverer, built on first use: a call whose events are all duplicates
    (another contact's call) or ignored never imports delivery and transport."""

    def __init__(self, environ: Mapping[str, str], lookup: Optional[Lookup], keys: Dict[str, str]) -> None:
        self._environ = environ
        self._lookup = lookup
        self._keys = keys
        self._deliverer: Optional["Deliverer"] = None

    def __call__(self) -> "Deliverer":
        if self._deliverer is None:
            from ..outbox.delivery import Deliverer, rate_window  # lazy: duplicates/ignored never load it

            self._deliverer = Deliverer(rate_window(dict(self._environ)), password_lookup=self._lookup)
            self._deliverer.keys.update(self._keys)
        return self._deliverer

    def close(self) -> None:
        if self._deliverer is not None:
            self._deliverer.close()


class _Run:
    """What one notification call collects before delivery."""

    def __init__(self) -> None:
        self.states: List[str] = []
        self.with_outbox: List[Prepared] = []
        self.direct: List[Prepared] = []
        self.config_errors: List[Tuple[NotificationContext, str]] = []
        self.keys: Dict[str, str] = {}
        self.root = ""


def run_notify(
    contexts: List[NotificationContext],
    environ: Mapping[str, str],
    printer: Printer,
    bulk: bool = False,
    password_lookup: Optional[Lookup] = None,
    progress: Optional[Progress] = None,
) -> int:
    deadline = time.monotonic() + NOTIFY_BUDGET
    progress = progress or Progress()
    progress.notifications = len(contexts)
    run = _Run()
    if bulk:
        # Checkmk sorts bulks newest first by default; deliver oldest first.
        contexts = sorted(contexts, key=lambda c: microtime(c, 0))
    site = environ.get("OMD_SITE", "")
    root = run.root = state_dir(environ)
    settings_cache: Dict[FrozenSet[Tuple[str, str]], Any] = {}
    for n, ctx in enumerate(contexts):
        before = len(run.states) + len(run.with_outbox) + len(run.direct)
        try:
            _take(ctx, n, site, settings_cache, run, printer, password_lookup)
        except Exception as exc:  # noqa: BLE001 - a bad context costs only itself
            printer.line("%s: notification skipped, it could not be read: %s at %s" % (
                safe_type(ctx), type(exc).__name__, where(exc)))
            run.states.append(DEAD)
        progress.read += 1
        progress.events += len(run.states) + len(run.with_outbox) + len(run.direct) - before
        progress.settled = len(run.states)  # ignored or rejected by design: nothing to queue

    outbox = Outbox(root)
    unusable = ""
    if run.with_outbox or run.config_errors:
        try:
            outbox.ensure()
        except OSError as exc:
            unusable = unusable_reason(exc)
        for line in outbox.repaired:
            printer.line(line)
    # A state directory another user can write is never read: what lies in its queue may be
    # planted (an entry with a foreign URL would send this site's stored key there). A
    # successful ensure() has checked that already.
    ensured = (run.with_outbox or run.config_errors) and not unusable
    trusted = True if ensured else state_dir_trusted(root)
    if run.config_errors and not unusable:
        _record_config_errors(outbox, run.config_errors, printer)
    for item in run.with_outbox:
        if item.data["event_type"] == "ALERT" and not unusable:
            remember(root, item.target, item.route)  # for `sync`: alert key -> host/service, its rule

    deliverer = _LazyDeliverer(environ, password_lookup, run.keys)
    enrichment = Enrichment(environ.get("OMD_ROOT", ""))
    enqueued: Optional[List[Tuple[str, str]]] = None
    disk_full = False
    try:
        if run.with_outbox:
            if not unusable:
                enqueued, unusable, disk_full = _enqueue(outbox, run.with_outbox, printer)
            if enqueued is not None:
                progress.settled += len(enqueued)  # on disk: the next run or the flush delivers them
                enrichment.queued(run.with_outbox, enqueued, outbox)
        if run.direct:
            enrichment.in_memory(run.direct)
            run.states.extend(deliver_direct(run.direct, outbox, deliverer(), printer, deadline, "outbox off",
                                             trusted))
            progress.settled += len(run.direct)
        if run.with_outbox:
            if enqueued is None:
                printer.line("outbox %s unusable: %s; delivering directly, in order, without retries" % (
                    root, unusable))
                direct = run.with_outbox
                if disk_full:
                    direct = _supersede_unstored(outbox, direct, printer, run.states)
                enrichment.in_memory(direct)
                run.states.extend(deliver_direct(direct, outbox, deliverer(), printer, deadline,
                                                 "outbox unusable", trusted, disk_full))
            else:
                run.states.extend(_deliver_with_outbox(run.with_outbox, enqueued, outbox, deliverer, printer,
                                                       deadline, bulk))
    finally:
        deliverer.close()
    if enrichment.late:
        printer.line("inventory_facts: the run's %.0f s for inventory lookups were used up: %d alerts sent without "
                     "facts" % (enrichment.budget, enrichment.late))
    for identity in outbox.buried:
        printer.line("unreadable or malformed outbox entry %s moved to the dead letters" % identity)
    if bulk:
        printer.line("bulk: %d notifications: %s" % (len(contexts), summary(run.states)))
    return exit_code(run.states)


def _enqueue(outbox: Outbox, items: List[Prepared],
             printer: Printer) -> Tuple[Optional[List[Tuple[str, str]]], str, bool]:
    """Queue the run's events; on a full disk, give up the space reserve and try once
    more, for exactly one case: a RESOLVE whose key has events queued (sent directly, it
    would go around them; not stored, they would later be sent alone). Every other event
    is sent directly, as without the outbox. Returns (states or None, why not, whether
    the disk is full)."""
    try:
        return outbox.enqueue((i.group, i.identity, i.data) for i in items), "", False
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            return None, errno_name(exc), False
    waits = any(i.data.get("event_type") == "RESOLVE" and outbox.has_group(i.group) for i in items)
    if waits and outbox.release_reserve():
        try:
            enqueued = outbox.enqueue((i.group, i.identity, i.data) for i in items)
        except OSError as exc:
            return None, errno_name(exc), exc.errno == errno.ENOSPC
        printer.line("disk full: the outbox gave up its space reserve to store this call's events; "
                     "free space below %s" % outbox.root)
        return enqueued, "", False
    return None, "disk full (ENOSPC)" + (", no space reserve left" if waits else ""), True


def _supersede_unstored(outbox: Outbox, items: List[Prepared], printer: Printer, states: List[str]) -> List[Prepared]:
    """A RESOLVE that cannot be stored (disk full) while its key's queue holds only events
    never sent, led by an ALERT with ``coalesce`` on, supersedes them: removing files needs no
    space, and nobody is paged for a problem that is gone. The RESOLVE itself is still sent
    unless the key is known closed (as ``coalesce`` does). Returns the items left to send."""
    left: List[Prepared] = []
    for item in items:
        if item.data.get("event_type") != "RESOLVE" or not outbox.has_group(item.group):
            left.append(item)
            continue
        lock = FileLock(outbox.group_lock_path(item.group))
        try:
            locked = lock.acquire(wait=2.0)
        except OSError:
            locked = False
        if not locked:
            left.append(item)
            continue
        eligible, entries = False, []
        try:
            entries = outbox.load_group(item.group)
            eligible = bool(entries and entries[0].data.get("event_type") == "ALERT"
                        and bool(entries[0].data.get("coalesce", False))
                        and not any(outbox.attempted(e) for e in entries)
                        and not any(str(e.data.get("notification_type", "")).upper() == "CUSTOM" for e in entries))
            if eligible:
                outbox.supersede(entries, time.time())  # journal and markers: best effort on a full disk
                for entry in entries:
                    unlink(entry.path)
        except OSError:
            eligible = False
        finally:
            lock.release()
        if not eligible:
            left.append(item)
            continue
        for entry in entries:
            printer.line("(earlier event) %s %s: superseded, not sent: its RESOLVE arrived while the disk was full "
                         "and the problem has recovered" % (entry.data.get("event_type"), entry.data.get("alert_key")))
        if outbox.closed(item.group):
            printer.line("%s: superseded, not sent: the key's alert in iLert is already resolved" % item.label)
            states.append(SUPERSEDED)
        else:
            left.append(item)  # an earlier alert of the key may be open: the RESOLVE goes out
    return left


def _take(ctx: NotificationContext, n: int, site: str, cache: Dict[FrozenSet[Tuple[str, str]], Any], run: _Run,
          printer: Printer, password_lookup: Optional[Lookup]) -> None:
    """Map one context into the run's lists (or a config error / an ignore line)."""
    if site and not ctx.get("OMD_SITE"):
        ctx = ctx.with_values({"OMD_SITE": site})  # the site's own environment knows it
    params = frozenset(ctx.parameters().items())
    settings = cache.get(params)
    if settings is None:
        try:
            settings = parse_settings(ctx.values, password_lookup)
        except CmkIlertError as exc:
            settings = exc
        cache[params] = settings
        if isinstance(settings, Settings):
            printer.add_secrets(settings.secrets())
            if settings.api_key_store_id:
                run.keys[settings.api_key_store_id] = settings.api_key.reveal()
    if isinstance(settings, CmkIlertError):
        printer.line("%s: configuration error: %s" % (safe_type(ctx), settings))
        run.config_errors.append((ctx, str(settings)))
        run.states.append(DEAD)
        return
    items, ignored = prepare(ctx, settings, n, run.root)
    if ignored is not None:
        printer.line("%s %s: ignored (%s)" % (ignored.notification_type, ignored.alert_key, ignored.reason))
        run.states.append(IGNORED)
        return
    (run.with_outbox if settings.outbox else run.direct).extend(items)


def _record_config_errors(outbox: Outbox, errors: List[Tuple[NotificationContext, str]], printer: Printer) -> None:
    """A rule that cannot be used leaves one dead letter per rule and reason, so
    ``status`` turns CRIT (Checkmk ignores the exit code of bulk calls)."""
    now = time.time()
    for ctx, reason in errors:
        params = sorted(ctx.parameters().items())
        identity = "rule-" + sha256(repr((params, reason)).encode("utf-8", "replace")).hexdigest()[:26]
        record = {
            "reason": printer.redact("configuration error: " + reason),
            "dead_since": now, "created": now, "attempts": 0, "event_type": None,
            "notification_type": safe_type(ctx), "alert_key": alert_key(ctx),
            "summary": "", "endpoint": "rule", "api_url": None, "key_hint": "",
        }
        if not outbox.dead_record(identity, record):
            printer.line("could not record the configuration error in the dead letters")


def _deliver_with_outbox(
    items: List[Prepared],
    enqueued: List[Tuple[str, str]],
    outbox: Outbox,
    deliverer: _LazyDeliverer,
    printer: Printer,
    deadline: float,
    bulk: bool,
) -> List[str]:
    mine: Dict[str, Prepared] = {}
    groups: List[str] = []
    states: List[str] = []
    pending_duplicates: List[Prepared] = []
    for item, (identity, state) in zip(items, enqueued):
        if state.startswith("duplicate-"):
            earlier = state[len("duplicate-"):]
            printer.line("%s: duplicate of an event already %s (another contact, a retry or a replay)" % (
                item.label, earlier))
            if earlier == QUEUED:
                pending_duplicates.append(item)  # its fate is known after delivery below
            else:
                states.append(earlier)
            continue
        mine[identity] = item
        if item.group not in groups:
            groups.append(item.group)

    max_wait = NOTIFY_BUDGET if bulk else SINGLE_MAX_RATE_WAIT
    reported: Dict[str, str] = {}
    why: Dict[str, str] = {}  # per group: why its events stay queued without a line of their own
    index = outbox.groups() if groups else {}  # all duplicates: no need to list the queue
    for group in groups:
        remaining = deadline - time.monotonic()
        lock = FileLock(outbox.group_lock_path(group))
        try:
            locked = remaining > 0 and lock.acquire(wait=min(remaining, 5.0))
        except OSError:
            locked = False
        if not locked:
            why[group] = ("another run is delivering this alert key" if remaining > 0
                          else "the run's time budget is used up")
            continue  # another run delivers this key, or time is up: stays queued
        try:
            entries = outbox.load_group(group, index.get(group, []))
            results, _ = deliverer().deliver_group(outbox, entries, deadline, max_wait)
            why[group] = deliverer().why
        finally:
            lock.release()
        printer.add_secrets(deliverer().redactor.secrets)
        for result in results:
            print_result(printer, result, own=result.identity in mine)
            reported[result.identity] = result.state
    for item in pending_duplicates:
        states.append(outbox.state_of(item.identity, item.group) or DELIVERED)
    for identity, item in mine.items():
        state = outbox.state_of(identity, item.group) or DELIVERED
        if reported.get(identity) == SUPERSEDED:
            state = SUPERSEDED  # its marker says "delivered"; it was dropped on purpose
        if identity not in reported:
            if state == QUEUED:
                printer.line("%s: queued%s (will be delivered by a later run or the site cron's flush)" % (
                    item.label, (": " + why[item.group]) if why.get(item.group) else ""))
            else:
                printer.line("%s: %s by another run" % (item.label, state))
        states.append(state)
    return states
