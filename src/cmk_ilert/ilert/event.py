"""The iLert event: what iLert should learn about one Checkmk notification,
independent of the wire format (``wire.py`` turns it into a request).

Event types are those of iLert's events API (``eventType`` of the ``Event``
schema in iLert's public OpenAPI document, v2.2026.3-r.4): ALERT opens or
appends to the alert of an ``alertKey``, ACCEPT accepts it, RESOLVE resolves
it, COMMENT adds comments to it. ``severity`` (1..5), ``services`` (iLert service
aliases), ``routing_key`` and the rest are that schema's fields of the same names.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Optional, Tuple

ALERT, ACCEPT, RESOLVE, COMMENT = "ALERT", "ACCEPT", "RESOLVE", "COMMENT"


class Link(NamedTuple):
    href: str
    text: str


class Comment(NamedTuple):
    creator: str
    content: str


class Event(NamedTuple):
    """What iLert should learn; independent of the wire format."""

    event_type: str
    alert_key: str
    summary: str
    notification_type: str
    details: str = ""
    priority: Optional[str] = None
    links: Tuple[Link, ...] = ()
    comments: Tuple[Comment, ...] = ()
    labels: Tuple[Tuple[str, str], ...] = ()
    custom_details: Tuple[Tuple[str, Any], ...] = ()
    routing_key: Optional[str] = None
    severity: Optional[int] = None
    #: iLert service aliases the alert affects (``services``: ``[{"alias": ...}]``).
    services: Tuple[str, ...] = ()
    #: How the rule's templates came out (for ``dry-run``); never sent.
    notes: Tuple[str, ...] = ()
