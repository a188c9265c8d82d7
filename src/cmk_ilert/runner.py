"""The notification run: contexts -> events -> outbox -> delivery -> exit code.

Exit code (Checkmk's protocol): 0 when every event of this call was delivered
or ignored by design, 1 when some are safely queued for a later run (or left
to Checkmk's retry), 2 when one was permanently rejected or the rule cannot be
used.

Order is never broken: an event goes to iLert only after every earlier event
of its alert key. With the outbox usable that is the outbox's job. When the
outbox cannot take the event (disk full, permissions, a directory another user
can write), the event is sent directly only if the queue of its alert key is
empty, or once the queued events of that key were delivered first; when that
cannot be established, it is not sent and Checkmk's retry gets exit 1.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Set, Tuple

from . import keyindex
from .context import NotificationContext
from .digest import sha256
from .errors import EXIT_OK, EXIT_PERMANENT, EXIT_TEMPORARY, CmkIlertError
from .fsutil import errno_name, replace_atomically
from .identity import endpoint_fingerprint, event_identity, group_of, rate_key
from .keyindex import Target, remember
from .locking import FileLock
from .mapping import Event, Ignored, alert_key, legacy_alert_key, map_notification
from .outbox import DEAD, DELIVERED, QUEUED, SUPERSEDED, Outbox, check_safe_dir, encode, unusable_reason
from .output import Printer
from .params import Settings, parse_settings
from .password_store import Lookup
from .paths import state_dir
from .script import Progress
from .wire import build

if TYPE_CHECKING:  # delivery (transport, sockets, rate limits) is imported only when something is sent
    from .delivery import Deliverer, Result

#: Time a notification call may spend delivering; Checkmk kills plugins at 60 s.
NOTIFY_BUDGET = 45.0
#: A single notification waits at most this long for a rate-limit slot; longer
#: waits are left to the site cron's flush so the core is not held up.
SINGLE_MAX_RATE_WAIT = 2.0

IGNORED = "ignored"
_STATE_EXIT = {DELIVERED: EXIT_OK, IGNORED: EXIT_OK, SUPERSEDED: EXIT_OK, QUEUED: EXIT_TEMPORARY,
               DEAD: EXIT_PERMANENT}


class Prepared:
    """One event ready to be queued: outbox data plus its names."""

    __slots__ = ("identity", "group", "data", "label", "target", "enrich")

    def __init__(self, identity: str, group: str, data: Dict[str, Any], target: Target,
                 enrich: Optional[Tuple[Event, NotificationContext, Settings]] = None) -> None:
        self.identity = identity
        self.group = group
        self.data = data
        self.label = "%s %s" % (data["event_type"], data["alert_key"])
        self.target = target
        #: inventory facts still to be added (``inventory_facts``): after the event is durable
        self.enrich = enrich


def prepare(ctx: NotificationContext, settings: Settings, n: int,
            root: str = "") -> Tuple[List[Prepared], Optional[Ignored]]:
    """The events of one notification, ready to be queued. ``root`` (the state
    directory) lets an object keep the alert key of an earlier release while an
    alert opened under it may be open (``upgraded_key``)."""
    mapped = map_notification(ctx, settings)
    if isinstance(mapped, Ignored):
        return [], mapped
    return [_prepared(ctx, settings, event, n, part, root) for part, event in enumerate(mapped)], None


def upgraded_key(ctx: NotificationContext, key: str, endpoint: str, root: str) -> str:
    """``key``, or the object's key of an earlier release (folded only) while an alert
    opened under that key may still be open: this object's ALERT went out under it
    (the key index names exactly this object), no RESOLVE of it was delivered since
    (neither the index nor the outbox's ``closed`` marker says so), and the object has
    not moved to ``key`` yet (no index entry of ``key``). Only the object the index
    names ever uses the old key, so two objects never share it again."""
    legacy = legacy_alert_key(ctx)
    if not root or legacy == key:
        return key
    target = Target(legacy, ctx.get("OMD_SITE"), ctx.get("HOSTNAME"), ctx.get("SERVICEDESC") if ctx.is_service else "")
    if keyindex.lookup(root, legacy) != target or keyindex.closed(root, legacy):
        return key
    if keyindex.lookup(root, key) is not None:
        return key
    if os.path.lexists(os.path.join(root, "sent", group_of(endpoint, legacy) + ".closed")):
        return key
    return legacy


def _prepared(ctx: NotificationContext, settings: Settings, event: Event, n: int, part: int,
              root: str = "") -> Prepared:
    endpoint = endpoint_fingerprint(settings)
    key = upgraded_key(ctx, event.alert_key, endpoint, root)
    if key != event.alert_key:
        event = event._replace(alert_key=key)
    enrich: Optional[Tuple[Event, NotificationContext, Settings]] = None
    if settings.inventory_facts and settings.source_type == "api" and event.event_type == "ALERT":
        enrich = (event, ctx, settings)  # after the event is durable: a lookup may be slow
    request = build(event, ctx, settings)
    now = time.time()
    order = microtime(ctx, int(now * 1e6))
    key_ref = {"store": settings.api_key_store_id} if settings.api_key_store_id else \
        {"value": settings.api_key.reveal()}
    data: Dict[str, Any] = {
        "v": 2,
        "seq": "%020d-%020d-%08d-%06d-%02d" % (order, time.time_ns(), os.getpid(), n, part),
        "created": now,
        "event_type": event.event_type,
        "notification_type": event.notification_type,
        "alert_key": event.alert_key,
        "summary": event.summary,
        "endpoint": request.kind,
        "api_url": settings.api_url,
        "key_hint": request.key_hint,
        "key": key_ref,
        "rate_key": rate_key(settings),
        "rate_limit": settings.rate_limit,
        "coalesce": settings.coalesce,
        "request": {"url": request.url, "body": request.body, "key_in": request.key_in},
        "transport": {
            "timeout": settings.timeout,
            "verify": not settings.ignore_ssl,
            "proxy_mode": settings.proxy.mode,
            "proxy_url": settings.proxy.url.reveal() if settings.proxy.url is not None else None,
        },
        "attempts": 0,
        "next_attempt": 0.0,
    }
    identity = event_identity(endpoint, ctx.values)
    if part:
        identity = sha256(("%s/%d" % (identity, part)).encode()).hexdigest()[:32]
    target = Target(event.alert_key, ctx.get("OMD_SITE"), ctx.get("HOSTNAME"),
                    ctx.get("SERVICEDESC") if ctx.is_service else "")
    return Prepared(identity, group_of(endpoint, event.alert_key), data, target, enrich)


def microtime(ctx: NotificationContext, default: int) -> int:
    """The notification's time in microseconds: ASCII digits only (``str.isdigit``
    alone accepts '²'), at most 20 of them (Python 3.11+ refuses to convert a
    5000-digit number, and no clock needs more)."""
    raw = ctx.get("MICROTIME").strip()
    return int(raw) if 0 < len(raw) <= 20 and raw.isascii() and raw.isdigit() else default


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
            from .delivery import Deliverer, rate_window

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
            from .script import where

            printer.line("%s: notification skipped, it could not be read: %s at %s" % (
                _safe_type(ctx), type(exc).__name__, where(exc)))
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
    trusted = True if ensured else _trusted(root)
    if run.config_errors and not unusable:
        _record_config_errors(outbox, run.config_errors, printer)
    for item in run.with_outbox:
        if item.data["event_type"] == "ALERT" and not unusable:
            remember(root, item.target)  # for `sync`: alert key -> host/service

    deliverer = _LazyDeliverer(environ, password_lookup, run.keys)
    omd_root = environ.get("OMD_ROOT", "")
    enrichment = Enrichment(omd_root)
    enqueued: Optional[List[Tuple[str, str]]] = None
    try:
        if run.with_outbox:
            if not unusable:
                try:
                    enqueued = outbox.enqueue((i.group, i.identity, i.data) for i in run.with_outbox)
                except OSError as exc:
                    unusable = errno_name(exc)
            if enqueued is not None:
                progress.settled += len(enqueued)  # on disk: the next run or the flush delivers them
                enrichment.queued(run.with_outbox, enqueued, outbox)
        if run.direct:
            enrichment.in_memory(run.direct)
            run.states.extend(_deliver_direct(run.direct, outbox, deliverer(), printer, deadline, "outbox off",
                                              trusted))
            progress.settled += len(run.direct)
        if run.with_outbox:
            if enqueued is None:
                printer.line("outbox %s unusable: %s; delivering directly, in order, without retries" % (
                    root, unusable))
                enrichment.in_memory(run.with_outbox)
                run.states.extend(_deliver_direct(run.with_outbox, outbox, deliverer(), printer, deadline,
                                                  "outbox unusable", trusted))
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
        printer.line("bulk: %d notifications: %s" % (len(contexts), _summary(run.states)))
    return max((_STATE_EXIT[s] for s in run.states), default=EXIT_OK)


class Enrichment:
    """``inventory_facts`` after the events are safe: a lookup may be slow (a huge or
    crafted inventory), so it never runs before an event is durable, each lookup has
    its own budget (``inventory.DEFAULT_BUDGET``) and all lookups of a run share
    ``inventory.RUN_BUDGET``; a late lookup means an alert without facts, never a lost
    or delayed event."""

    def __init__(self, omd_root: str) -> None:
        self.omd_root = omd_root
        self.budget = 0.0
        self.late = 0
        self._end: Optional[float] = None

    def _facts(self, item: Prepared) -> Optional[Dict[str, Any]]:
        """The item's request with facts, or None (no facts, or no time left)."""
        assert item.enrich is not None
        from . import inventory  # lazy: only such rules pay for the import

        if self._end is None:
            self.budget = inventory.RUN_BUDGET
            self._end = time.monotonic() + inventory.RUN_BUDGET
        remaining = self._end - time.monotonic()
        if remaining <= 0:
            self.late += 1
            return None
        event, ctx, settings = item.enrich
        found = inventory.lookup(self.omd_root or ctx.get("OMD_ROOT"), ctx.get("HOSTNAME"),
                                 min(inventory.DEFAULT_BUDGET, remaining))
        if not found:
            return None
        request = build(inventory.apply(event, found), ctx, settings)
        return {"url": request.url, "body": request.body, "key_in": request.key_in}

    def in_memory(self, items: List[Prepared]) -> None:
        for item in items:
            if item.enrich is not None:
                request = self._facts(item)
                if request is not None:
                    item.data = dict(item.data, request=request)

    def queued(self, items: List[Prepared], enqueued: List[Tuple[str, str]], outbox: Outbox) -> None:
        """Rewrite queued entries with their facts, each under its key's lock and only while
        it waits undelivered (a run that delivered it meanwhile is never undone)."""
        for item, (identity, state) in zip(items, enqueued):
            if item.enrich is None or state != QUEUED:
                continue
            lock = FileLock(outbox.group_lock_path(item.group))
            try:
                if not lock.acquire(wait=0.0):
                    continue  # another run delivers the key right now: no facts
            except OSError:
                continue
            try:
                path = os.path.join(outbox.queue, "%s.%s.json" % (item.group, identity))
                if not os.path.lexists(path) or os.path.lexists(os.path.join(outbox.sent, identity)):
                    continue
                request = self._facts(item)
                if request is None:
                    continue
                data = dict(item.data, request=request)
                try:
                    replace_atomically(path, encode(data), outbox.tmp)
                except OSError:
                    continue  # the entry without facts stays queued
                item.data = data
            finally:
                lock.release()


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
        printer.line("%s: configuration error: %s" % (_safe_type(ctx), settings))
        run.config_errors.append((ctx, str(settings)))
        run.states.append(DEAD)
        return
    items, ignored = prepare(ctx, settings, n, run.root)
    if ignored is not None:
        printer.line("%s %s: ignored (%s)" % (ignored.notification_type, ignored.alert_key, ignored.reason))
        run.states.append(IGNORED)
        return
    (run.with_outbox if settings.outbox else run.direct).extend(items)


def _safe_type(ctx: NotificationContext) -> str:
    return " ".join(ctx.notification_type.split())[:40] or "?"


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
            "notification_type": _safe_type(ctx), "alert_key": alert_key(ctx),
            "summary": "", "endpoint": "rule", "api_url": None, "key_hint": "",
        }
        if not outbox.dead_record(identity, record):
            printer.line("could not record the configuration error in the dead letters")


def _summary(states: Iterable[str]) -> str:
    counts: Dict[str, int] = {}
    for s in states:
        counts[s] = counts.get(s, 0) + 1
    order = (DELIVERED, QUEUED, DEAD, IGNORED)
    words = {DELIVERED: "delivered", QUEUED: "queued", DEAD: "rejected", IGNORED: "ignored"}
    text = ", ".join("%d %s" % (counts.get(s, 0), words[s]) for s in order)
    if counts.get(SUPERSEDED):
        text += ", %d superseded" % counts[SUPERSEDED]
    return text


def _trusted(root: str) -> bool:
    """Whether the state directory may be read: missing, or the site user's and writable by nobody else."""
    try:
        check_safe_dir(root)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


def _earlier_queued(outbox: Outbox, group: str) -> Optional[bool]:
    """Whether events of ``group`` wait in the outbox (None: cannot tell)."""
    try:
        names = os.listdir(outbox.queue)
    except (FileNotFoundError, NotADirectoryError):
        return False  # no queue can exist there
    except OSError:
        return None
    prefix = group + "."
    return any(name.startswith(prefix) and name.endswith(".json") for name in names)


def _deliver_direct(items: List[Prepared], outbox: Outbox, deliverer: Deliverer, printer: Printer,
                    deadline: float, why: str, trusted: bool) -> List[str]:
    """One attempt each, in order, never around earlier queued events of a key;
    Checkmk's spooler owns retries."""
    from .transport import DELIVERED as OK
    from .transport import PERMANENT

    states: List[str] = []
    held: Set[str] = set()  # groups in which an event of this call was not delivered
    retry = "%s: Checkmk may retry" % why
    for item in items:
        if item.group in held:
            printer.line("%s: not sent, an earlier event of this alert key was not delivered; %s" % (item.label, retry))
            states.append(QUEUED)
            continue
        blocker = _clear_the_way(item, outbox, deliverer, printer, deadline, trusted)
        if blocker:
            printer.line("%s: not sent, %s; %s" % (item.label, blocker, retry))
            states.append(QUEUED)
            held.add(item.group)
            continue
        if not deliverer.fits(item.data, deadline):
            printer.line("%s: not sent, the run's time budget is used up; %s" % (item.label, retry))
            states.append(QUEUED)
            held.add(item.group)
            continue
        if item.data["event_type"] == "ALERT":
            outbox.forget_closed(item.group)  # coalescing must not think the key is closed later
        outcome = deliverer.send(item.data, deadline)
        printer.add_secrets(deliverer.redactor.secrets)
        if outcome.status == OK:
            state, text = DELIVERED, "delivered (%s)" % outcome.detail
            if outcome.alert_url:
                text += ", alert " + outcome.alert_url
        elif outcome.status == PERMANENT:
            state, text = DEAD, "rejected permanently (%s)" % outcome.detail
        else:
            state, text = QUEUED, "failed temporarily (%s); %s" % (outcome.detail, retry)
        printer.line("%s: %s" % (item.label, text))
        states.append(state)
        if state != DELIVERED:
            held.add(item.group)
    return states


def _clear_the_way(item: Prepared, outbox: Outbox, deliverer: Deliverer, printer: Printer,
                   deadline: float, trusted: bool) -> str:
    """Deliver the queued events of the item's alert key first. Returns '' when
    the way is clear, else why the item must not be sent now."""
    earlier = _earlier_queued(outbox, item.group)
    if earlier is False:
        return ""
    if earlier is None:
        return "the outbox cannot be read, so earlier events of this alert key may be waiting"
    if not trusted:
        return "events of this alert key lie in a state directory other users can write, which is not read"
    lock = FileLock(outbox.group_lock_path(item.group))
    try:
        locked = lock.acquire(wait=min(5.0, max(0.0, deadline - time.monotonic())))
    except OSError as exc:
        return "earlier events of this alert key wait in the outbox, which cannot be locked: %s" % errno_name(exc)
    if not locked:
        return "earlier events of this alert key wait in the outbox and another run is delivering them"
    try:
        entries = outbox.load_group(item.group)
        results, drained = deliverer.deliver_group(outbox, entries, deadline, SINGLE_MAX_RATE_WAIT)
    finally:
        lock.release()
    printer.add_secrets(deliverer.redactor.secrets)
    for result in results:
        _print_result(printer, result, own=False)
    if not drained:
        return "earlier events of this alert key wait in the outbox and could not be delivered first"
    return ""


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
    index = outbox.groups() if groups else {}  # all duplicates: no need to list the queue
    for group in groups:
        remaining = deadline - time.monotonic()
        lock = FileLock(outbox.group_lock_path(group))
        try:
            locked = remaining > 0 and lock.acquire(wait=min(remaining, 5.0))
        except OSError:
            locked = False
        if not locked:
            continue  # another run delivers this key, or time is up: stays queued
        try:
            entries = outbox.load_group(group, index.get(group, []))
            results, _ = deliverer().deliver_group(outbox, entries, deadline, max_wait)
        finally:
            lock.release()
        printer.add_secrets(deliverer().redactor.secrets)
        for result in results:
            _print_result(printer, result, own=result.identity in mine)
            reported[result.identity] = result.state
    for item in pending_duplicates:
        states.append(outbox.state_of(item.identity, item.group) or DELIVERED)
    for identity, item in mine.items():
        state = outbox.state_of(identity, item.group) or DELIVERED
        if reported.get(identity) == SUPERSEDED:
            state = SUPERSEDED  # its marker says "delivered"; it was dropped on purpose
        if identity not in reported:
            if state == QUEUED:
                printer.line("%s: queued (will be delivered by a later run or the site cron's flush)" % item.label)
            else:
                printer.line("%s: %s by another run" % (item.label, state))
        states.append(state)
    return states


def _print_result(printer: Printer, result: Result, own: bool) -> None:
    prefix = "" if own else "(earlier event) "
    printer.line("%s%s: %s" % (prefix, result.label, result.detail))
