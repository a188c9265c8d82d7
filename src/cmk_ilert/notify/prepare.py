"""One notification's events made ready for the outbox: the entry each event is
queued as (request, transport settings, key reference, order), its identity for
dedup and its group (endpoint + alert key) for order.

Pure apart from the clock and, for rules with ``inventory_facts``, the lazy
inventory lookup (``inventory.enrich``).
"""

from __future__ import annotations

import os
import time
from typing import Any, Dict, List, Optional, Tuple

from ..base.digest import sha256
from ..checkmk.context import NotificationContext
from ..checkmk.params import Settings
from ..ilert.event import Event
from ..ilert.wire import build
from ..outbox import keyindex
from ..outbox.keyindex import Target
from .identity import endpoint_fingerprint, event_identity, group_of, rate_key
from .mapping import Ignored, legacy_alert_key, map_notification


class Prepared:
    """One event ready to be queued: outbox data plus its names."""

    __slots__ = ("identity", "group", "data", "label", "target", "notes", "enrich", "route")

    def __init__(self, identity: str, group: str, data: Dict[str, Any], target: Target,
                 notes: Tuple[str, ...] = (),
                 enrich: Optional[Tuple[Event, NotificationContext, Settings]] = None) -> None:
        self.identity = identity
        self.group = group
        self.data = data
        self.label = "%s %s" % (data["event_type"], data["alert_key"])
        self.target = target
        #: how the rule's templates came out (routing key, severity, services), for dry-run
        self.notes = notes
        #: inventory facts still to be added (``inventory_facts``): after the event is durable
        self.enrich = enrich
        #: the rule parameters, kept in the key index with an ALERT (``sync --reconcile``)
        self.route: Optional[Dict[str, str]] = None


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


def prepared(ctx: NotificationContext, settings: Settings, event: Event, root: str = "") -> Prepared:
    """One event that did not come from a notification (``sync --reconcile`` makes it from
    Livestatus' answer) prepared like every other: same key, entry, identity and group."""
    return _prepared(ctx, settings, event, 0, 0, root)


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
    if event.event_type == "ACCEPT" and event.comments and request.kind == "api" and settings.accept_comments \
            and settings.comment_events:
        data["comment_followup"] = True  # see outbox.delivery.comment_followup
    identity = event_identity(endpoint, ctx.values)
    if part:
        identity = sha256(("%s/%d" % (identity, part)).encode()).hexdigest()[:32]
    target = Target(event.alert_key, ctx.get("OMD_SITE"), ctx.get("HOSTNAME"),
                    ctx.get("SERVICEDESC") if ctx.is_service else "")
    item = Prepared(identity, group_of(endpoint, event.alert_key), data, target, event.notes, enrich)
    if event.event_type == "ALERT":
        params, secrets = ctx.parameters(), settings.secrets()
        kept = {name: value for name, value in params.items() if not any(s in value for s in secrets)}
        if len(kept) < len(params):  # the rule holds a secret: keep the rest, and say so
            kept[keyindex.SECRET_TYPED_IN] = "1"
        item.route = kept
    return item


def microtime(ctx: NotificationContext, default: int) -> int:
    """The notification's time in microseconds: ASCII digits only (``str.isdigit``
    alone accepts '²'), at most 20 of them (Python 3.11+ refuses to convert a
    5000-digit number, and no clock needs more)."""
    raw = ctx.get("MICROTIME").strip()
    return int(raw) if 0 < len(raw) <= 20 and raw.isascii() and raw.isdigit() else default
