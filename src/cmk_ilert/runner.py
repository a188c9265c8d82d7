"""The notification run: contexts -> events -> outbox -> delivery -> exit code.

Exit code (Checkmk's protocol): 0 when every event of this call was delivered
or ignored by design, 1 when some are safely queued for a later run, 2 when
one was permanently rejected (or the rule cannot be used).
"""

from __future__ import annotations

import os
import time
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Set, Tuple

from .context import NotificationContext
from .delivery import Deliverer, Result, rate_window
from .errors import EXIT_OK, EXIT_PERMANENT, EXIT_TEMPORARY, CmkIlertError
from .identity import endpoint_fingerprint, event_identity, group_of, rate_key
from .keyindex import Target, remember
from .locking import FileLock
from .mapping import Event, Ignored, map_notification
from .outbox import DEAD, DELIVERED, QUEUED, Outbox
from .output import Printer
from .params import Settings, parse_settings
from .password_store import Lookup
from .paths import state_dir
from .wire import build

#: Time a notification call may spend delivering; Checkmk kills plugins at 60 s.
NOTIFY_BUDGET = 45.0
#: A single notification waits at most this long for a rate-limit slot; longer
#: waits are left to the site cron's flush so the core is not held up.
SINGLE_MAX_RATE_WAIT = 2.0

IGNORED = "ignored"
_STATE_EXIT = {DELIVERED: EXIT_OK, IGNORED: EXIT_OK, QUEUED: EXIT_TEMPORARY, DEAD: EXIT_PERMANENT}


class Prepared:
    """One event ready to be queued: outbox data plus its names."""

    __slots__ = ("identity", "group", "data", "label", "target")

    def __init__(self, identity: str, group: str, data: Dict[str, Any], target: Target) -> None:
        self.identity = identity
        self.group = group
        self.data = data
        self.label = "%s %s" % (data["event_type"], data["alert_key"])
        self.target = target


def prepare(ctx: NotificationContext, settings: Settings, n: int) -> Tuple[Optional[Prepared], Optional[Ignored]]:
    mapped = map_notification(ctx, settings)
    if isinstance(mapped, Ignored):
        return None, mapped
    return _prepared(ctx, settings, mapped, n), None


def _prepared(ctx: NotificationContext, settings: Settings, event: Event, n: int) -> Prepared:
    if settings.inventory_facts and settings.source_type == "api" and event.event_type == "ALERT":
        from .inventory import enrich  # issue 12; lazy: only such rules pay for the import

        event = enrich(event, os.environ.get("OMD_ROOT") or ctx.get("OMD_ROOT"), ctx.get("HOSTNAME"))
    request = build(event, ctx, settings)
    endpoint = endpoint_fingerprint(settings)
    now = time.time()
    order = microtime(ctx, int(now * 1e6))
    data: Dict[str, Any] = {
        "v": 1,
        "seq": "%020d-%020d-%08d-%06d" % (order, time.time_ns(), os.getpid(), n),
        "created": now,
        "event_type": event.event_type,
        "notification_type": event.notification_type,
        "alert_key": event.alert_key,
        "summary": event.summary,
        "endpoint": request.kind,
        "key_hint": request.key_hint,
        "rate_key": rate_key(settings),
        "rate_limit": settings.rate_limit,
        "request": {"url": request.url, "body": request.body},
        "transport": {
            "timeout": settings.timeout,
            "verify": not settings.ignore_ssl,
            "proxy_mode": settings.proxy.mode,
            "proxy_url": settings.proxy.url.reveal() if settings.proxy.url is not None else None,
        },
        "attempts": 0,
        "next_attempt": 0.0,
    }
    target = Target(event.alert_key, ctx.get("OMD_SITE"), ctx.get("HOSTNAME"),
                    ctx.get("SERVICEDESC") if ctx.is_service else "")
    return Prepared(event_identity(endpoint, ctx.values), group_of(endpoint, event.alert_key), data, target)


def microtime(ctx: NotificationContext, default: int) -> int:
    """The notification's time in microseconds (``str.isdigit`` alone would accept '²')."""
    raw = ctx.get("MICROTIME").strip()
    return int(raw) if raw.isascii() and raw.isdigit() else default


def run_notify(
    contexts: List[NotificationContext],
    environ: Mapping[str, str],
    printer: Printer,
    bulk: bool = False,
    password_lookup: Optional[Lookup] = None,
) -> int:
    start = time.monotonic()
    deadline = start + NOTIFY_BUDGET
    states: List[str] = []
    settings_cache: Dict[FrozenSet[Tuple[str, str]], Any] = {}
    with_outbox: List[Prepared] = []
    direct: List[Prepared] = []
    if bulk:
        # Checkmk sorts bulks newest first by default; deliver oldest first.
        contexts = sorted(contexts, key=lambda c: microtime(c, 0))
    site = environ.get("OMD_SITE", "")
    for n, ctx in enumerate(contexts):
        if site and not ctx.get("OMD_SITE"):
            ctx = ctx.with_values({"OMD_SITE": site})  # the site's own environment knows it
        params = frozenset(ctx.parameters().items())
        settings = settings_cache.get(params)
        if settings is None:
            try:
                settings = parse_settings(ctx.values, password_lookup)
            except CmkIlertError as exc:
                settings = exc
            settings_cache[params] = settings
            if isinstance(settings, Settings):
                printer.add_secrets(settings.secrets())
        if isinstance(settings, CmkIlertError):
            printer.line("%s: configuration error: %s" % (ctx.notification_type or "?", settings))
            states.append(DEAD)
            continue
        prepared, ignored = prepare(ctx, settings, n)
        if ignored is not None:
            printer.line("%s %s: ignored (%s)" % (ignored.notification_type, ignored.alert_key, ignored.reason))
            states.append(IGNORED)
            continue
        assert prepared is not None
        (with_outbox if settings.outbox else direct).append(prepared)

    for item in with_outbox:  # outbox off promises no files: sync then asks Livestatus
        if item.data["event_type"] == "ALERT":
            remember(state_dir(environ), item.target)  # for `sync`: alert key -> host/service
    deliverer = Deliverer(rate_window(dict(environ)))
    try:
        if direct:
            states.extend(_deliver_direct(direct, deliverer, printer, deadline))
        if with_outbox:
            try:
                outbox = Outbox(state_dir(environ))
                outbox.ensure()
                enqueued = outbox.enqueue((i.group, i.identity, i.data) for i in with_outbox)
            except OSError as exc:
                # Better one direct attempt than none: Checkmk still sees a truthful exit code.
                printer.line("outbox %s unusable (%s): delivering directly, without retries" % (
                    state_dir(environ), type(exc).__name__))
                states.extend(_deliver_direct(with_outbox, deliverer, printer, deadline))
            else:
                states.extend(_deliver_with_outbox(with_outbox, enqueued, outbox, deliverer, printer, deadline,
                                                   bulk))
    finally:
        deliverer.close()
    if bulk:
        printer.line("bulk: %d notifications: %s" % (len(contexts), _summary(states)))
    return max((_STATE_EXIT[s] for s in states), default=EXIT_OK)


def _summary(states: Iterable[str]) -> str:
    counts: Dict[str, int] = {}
    for s in states:
        counts[s] = counts.get(s, 0) + 1
    order = (DELIVERED, QUEUED, DEAD, IGNORED)
    words = {DELIVERED: "delivered", QUEUED: "queued", DEAD: "rejected", IGNORED: "ignored"}
    return ", ".join("%d %s" % (counts.get(s, 0), words[s]) for s in order)


def _deliver_direct(items: List[Prepared], deliverer: Deliverer, printer: Printer,
                    deadline: Optional[float] = None) -> List[str]:
    """``outbox`` off: one attempt each, in order; Checkmk's spooler owns retries."""
    from .delivery import transport_config
    from .transport import DELIVERED as OK
    from .transport import PERMANENT

    states: List[str] = []
    for item in items:
        if deadline is not None and states and deadline - time.monotonic() < transport_config(item.data).timeout:
            printer.line("%s: not sent, the run's time budget is used up; outbox off: Checkmk may retry" % item.label)
            states.append(QUEUED)
            continue
        outcome = deliverer.send(item.data)
        if outcome.status == OK:
            state, text = DELIVERED, "delivered (%s)" % outcome.detail
        elif outcome.status == PERMANENT:
            state, text = DEAD, "rejected permanently (%s)" % outcome.detail
        else:
            state, text = QUEUED, "failed temporarily (%s); outbox off: Checkmk may retry" % outcome.detail
        printer.line("%s: %s" % (item.label, text))
        states.append(state)
    return states


def _deliver_with_outbox(
    items: List[Prepared],
    enqueued: List[Tuple[str, str]],
    outbox: Outbox,
    deliverer: Deliverer,
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
    reported = set()
    index = outbox.groups()
    for group in groups:
        lock = FileLock(outbox.group_lock_path(group))
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not lock.acquire(wait=min(remaining, 5.0)):
            continue  # another run delivers this key, or time is up: stays queued
        try:
            entries = outbox.load_group(group, index.get(group, []))
            results, _ = deliverer.deliver_group(outbox, entries, deadline, max_wait)
        finally:
            lock.release()
        for result in results:
            _print_result(printer, result, own=result.identity in mine)
            reported.add(result.identity)
    for item in pending_duplicates:
        states.append(outbox.state_of(item.identity, item.group) or DELIVERED)
    for identity, item in mine.items():
        state = outbox.state_of(identity, item.group) or DELIVERED
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


def deliver_due(
    environ: Mapping[str, str],
    printer: Printer,
    max_time: float,
    force: bool = False,
    quiet: bool = False,
) -> int:
    """The ``flush`` command: deliver every due entry, oldest key first."""
    outbox = Outbox(state_dir(environ))
    if not outbox.exists():
        if not quiet:
            printer.line("flush: outbox is empty")
        return EXIT_OK
    outbox.ensure()
    flush_lock = FileLock(outbox.flush_lock_path())
    if not flush_lock.acquire(wait=0.0):
        printer.line("flush: another flush is running, nothing to do")
        return EXIT_OK
    deadline = time.monotonic() + max_time
    deliverer = Deliverer(rate_window(dict(environ)))
    counts = {DELIVERED: 0, QUEUED: 0, DEAD: 0}
    try:
        now = time.time()
        outbox.prune(now)
        if force:
            _clear_pauses(outbox, deliverer)
        blocked: Set[str] = set()
        again = True
        while again and time.monotonic() < deadline:
            again = False
            index = outbox.groups()
            oldest = {g: outbox.oldest_seq(g, index[g]) for g in index if g not in blocked}
            for group in sorted(oldest, key=oldest.__getitem__):
                if time.monotonic() >= deadline:
                    break
                lock = FileLock(outbox.group_lock_path(group))
                if not lock.acquire(wait=0.0):
                    continue  # a notification run is delivering this key right now
                try:
                    entries = outbox.load_group(group, index[group])
                    remaining = deadline - time.monotonic()
                    results, drained = deliverer.deliver_group(outbox, entries, deadline, remaining, force)
                finally:
                    lock.release()
                for result in results:
                    counts[result.state] = counts.get(result.state, 0) + 1
                    if result.state != QUEUED or not quiet:
                        printer.line("%s: %s" % (result.label, result.detail))
                    again = again or result.state in (DELIVERED, DEAD) or result.rate_limited
                if not drained and not (results and results[-1].rate_limited):
                    blocked.add(group)  # in backoff or failing: try again in a later flush
    finally:
        deliverer.close()
        flush_lock.release()
    for identity in outbox.buried:
        printer.line("flush: unreadable or malformed outbox entry %s moved to the dead letters" % identity)
        counts[DEAD] += 1
    pending = sum(len(v) for v in outbox.groups().values())
    if not quiet or counts[DELIVERED] or counts[DEAD]:
        printer.line("flush: %d delivered, %d rejected, %d still queued" % (counts[DELIVERED], counts[DEAD], pending))
    if counts[DEAD]:
        return EXIT_PERMANENT
    return EXIT_TEMPORARY if pending else EXIT_OK


def _clear_pauses(outbox: Outbox, deliverer: Deliverer) -> None:
    from .ratelimit import RateLimiter

    try:
        names = os.listdir(outbox.rate)
    except FileNotFoundError:
        return
    for name in names:
        if name.endswith(".json"):
            RateLimiter(os.path.join(outbox.rate, name), 0, deliverer.window).clear_pause()
