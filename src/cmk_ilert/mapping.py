"""Checkmk notification -> iLert events (pure; the contract's Event mapping).

* PROBLEM -> ALERT; RECOVERY -> RESOLVE.
* ACKNOWLEDGEMENT -> ACCEPT with author and comment; with the ``api`` source
  type and ``comment_events``: ACCEPT, then the comment as a COMMENT event (so
  it also reaches an alert that was accepted before: iLert drops the comments
  of an ACCEPT it answers with ALREADY_ACCEPTED).
* CUSTOM -> with ``forward_custom`` a test ALERT, followed by a RESOLVE when
  the object is OK/UP (nothing stays open); else ignored.
* FLAPPING*, DOWNTIME* -> with ``api`` and ``comment_events`` a COMMENT on the
  open alert; else ignored (iLert's Checkmk alert source ignores them).
* ALERTHANDLER* and anything else -> ignored.

One notification maps to one or two events; they share the alert key and are
delivered in the order given.
"""

from __future__ import annotations

from typing import Any, Dict, List, NamedTuple, Optional, Tuple, Union

from .context import MAX_VALUE, NotificationContext
from .digest import sha256
from .params import Settings, UrlPrefix
from .secret import strip_cut_secret
from .text import bound, is_unresolved_macro, one_line, paragraphs, render

ALERT, ACCEPT, RESOLVE, COMMENT = "ALERT", "ACCEPT", "RESOLVE", "COMMENT"
_OK_STATES = frozenset(("OK", "UP"))
_COMMENT_TYPES = {
    "DOWNTIMESTART": "scheduled downtime started",
    "DOWNTIMEEND": "scheduled downtime ended",
    "DOWNTIMECANCELLED": "scheduled downtime cancelled",
    "FLAPPINGSTART": "started flapping",
    "FLAPPINGSTOP": "stopped flapping",
    "FLAPPINGDISABLED": "flap detection disabled",
}

MAX_SUMMARY = 250
MAX_DETAILS = 16000
MAX_FIELD = 2000
MAX_PERFDATA = 4000
MAX_LABELS = 50
MAX_ALERT_KEY = 200
_KEY_HASH_LEN = 16
#: Hex digits of the digest of exact names appended where folding loses information.
_EXACT_HASH_LEN = 10

_HIGH_STATES = frozenset(("CRITICAL", "CRIT", "DOWN", "UNREACHABLE", "UNREACH", "UNRE"))


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


class Ignored(NamedTuple):
    """A notification that by design sends nothing (exit 0, one log line)."""

    notification_type: str
    alert_key: str
    reason: str


def map_notification(ctx: NotificationContext, settings: Settings) -> Union[Tuple[Event, ...], Ignored]:
    ntype = ctx.notification_type
    key = alert_key(ctx)
    upper = ntype.upper()
    api = settings.source_type == "api"
    if upper == "PROBLEM":
        return (_event(ctx, settings, ALERT, key),)
    if upper == "RECOVERY":
        return (_event(ctx, settings, RESOLVE, key),)
    if upper == "ACKNOWLEDGEMENT":
        accept = _event(ctx, settings, ACCEPT, key)
        if api and settings.comment_events and accept.comments:
            # iLert answers ALREADY_ACCEPTED (and drops the comments) when the alert was
            # accepted before; its client libraries send comments as an event of their own.
            return (accept._replace(comments=()), _comment_event(accept, accept.comments))
        return (accept,)
    if upper == "CUSTOM":
        if not settings.forward_custom:
            return Ignored(ntype, key, "CUSTOM notifications are ignored: enable forward_custom to send them")
        alert = _event(ctx, settings, ALERT, key)
        if state(ctx) in _OK_STATES:
            # A test from the GUI for an object that is fine: open the test alert and resolve
            # it right behind, so nothing stays open. In a problem state the alert stays
            # open like a real one and the next RECOVERY resolves it.
            return (alert, _event(ctx, settings, RESOLVE, key))
        return (alert,)
    what = _COMMENT_TYPES.get(upper.split(" ")[0])
    if what is not None:
        if api and settings.comment_events:
            comment = _checkmk_comment(ctx, what, settings.secrets())
            return (_comment_event(_event(ctx, settings, COMMENT, key), (comment,)),)
        if not api:
            return Ignored(ntype, key, "%s notifications are not sent to an alert source of type Checkmk" % upper)
        return Ignored(ntype, key, "%s notifications are ignored: comment_events is off" % upper)
    if upper.startswith(("FLAPPING", "DOWNTIME", "ALERTHANDLER")):
        return Ignored(ntype, key, "%s notifications are not sent to iLert" % (ntype.split(" ")[0] or "this"))
    return Ignored(ntype or "-", key, "unknown notification type, nothing sent")


def _comment_event(event: Event, comments: Tuple[Comment, ...]) -> Event:
    return event._replace(event_type=COMMENT, comments=comments, details="", priority=None, routing_key=None,
                          links=(), labels=(), custom_details=())


def _checkmk_comment(ctx: NotificationContext, what: str, secrets: Tuple[str, ...]) -> Comment:
    service = ctx.is_service
    subject = "%s on %s" % (_plain(ctx.get("SERVICEDESC")), _plain(ctx.get("HOSTNAME"))) if service else \
        _plain(ctx.get("HOSTNAME"))
    author, comment = _author_comment(ctx, service, secrets)
    parts = ["Checkmk: %s %s" % (subject or "object", what)]
    if author:
        parts.append("by " + author)
    text = " ".join(parts)
    if comment:
        text += ": " + comment
    when = one_line(ctx.get("LONGDATETIME"))
    if when:
        text += " (%s)" % bound(when, 80)
    return Comment("Checkmk", bound(_scrub(text, secrets), MAX_FIELD))


def _event(ctx: NotificationContext, settings: Settings, event_type: str, key: str) -> Event:
    secrets = settings.secrets()
    # Templates see the notification, never the rule's parameters (which hold the key).
    # Secrets are scrubbed from the values *before* anything is cut, so no prefix survives.
    values: Dict[str, str] = {}
    for name, value in ctx.values.items():
        if name.startswith("PARAMETER"):
            continue
        if any(s in value for s in secrets):
            value = _scrub(value, secrets)
        values[name] = strip_cut_secret(value, secrets) if len(value) >= MAX_VALUE else value
    scrubbed = NotificationContext(values)
    service = ctx.is_service
    summary_tpl = settings.summary_service if service else settings.summary_host
    details_tpl = settings.details_service if service else settings.details_host
    if not values.get("HOSTALIAS", "").strip():
        values["HOSTALIAS"] = values.get("HOSTNAME", "")
    summary = bound(one_line(render(summary_tpl, values, MAX_SUMMARY * 4)), MAX_SUMMARY) or bound(key, MAX_SUMMARY)
    details = bound(paragraphs(render(details_tpl, values, MAX_DETAILS // 3)), MAX_DETAILS)
    comments: Tuple[Comment, ...] = ()
    if event_type == ACCEPT or ctx.notification_type.upper() == "CUSTOM":
        author, comment = _author_comment(ctx, service, secrets)
        if comment or author:
            comments = (Comment(_scrub(author, secrets) or "Checkmk",
                                _scrub(comment, secrets) or "Acknowledged in Checkmk"),)
    return Event(
        event_type=event_type,
        alert_key=key,
        summary=summary,
        notification_type=ctx.notification_type,
        details=details if event_type == ALERT else "",
        priority=resolve_priority(ctx, settings.priority) if event_type == ALERT else None,
        links=links(scrubbed, settings.url_prefix),
        comments=comments,
        labels=labels(scrubbed),
        custom_details=tuple(custom_details(scrubbed).items()),
        routing_key=settings.routing_key if event_type == ALERT else None,
    )


def _scrub(text: str, secrets: Tuple[str, ...]) -> str:
    """A context value may hold a secret (e.g. a key pasted into a custom macro)."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _author_comment(ctx: NotificationContext, service: bool, secrets: Tuple[str, ...]) -> Tuple[str, str]:
    """Author and comment, secrets scrubbed *before* they are cut (no prefix of one survives)."""
    prefix = "SERVICE" if service else "HOST"
    author = ctx.get("NOTIFICATIONAUTHORALIAS") or ctx.get("NOTIFICATIONAUTHOR") or ctx.get(prefix + "ACKAUTHOR")
    comment = ctx.get("NOTIFICATIONCOMMENT") or ctx.get(prefix + "ACKCOMMENT")
    return bound(one_line(_scrub(author, secrets)), 200), bound(paragraphs(_scrub(comment, secrets)), MAX_FIELD)


def state(ctx: NotificationContext) -> str:
    return ctx.get("SERVICESTATE" if ctx.is_service else "HOSTSTATE").strip().upper()


def resolve_priority(ctx: NotificationContext, configured: str) -> str:
    if configured in ("HIGH", "LOW"):
        return configured
    return "HIGH" if state(ctx) in _HIGH_STATES else "LOW"


def alert_key(ctx: NotificationContext) -> str:
    """``cmk/<site>/<host>[/<service>]``, case-folded, bounded (hash tail when long).

    Never the address, never problem ids: the same object always maps to the
    same iLert alert, whatever changed between PROBLEM and RECOVERY. iLert
    compares keys case-insensitively, so where folding loses something of the
    exact names (case, runs of blanks), ``~`` and a digest of the exact names
    follow: two objects whose names differ only there never share a key.
    """
    exact = _exact_names(ctx)
    key = _readable(exact)
    if key != "/".join(exact):
        key += "~" + sha256("\0".join(exact).encode("utf-8", "surrogatepass")).hexdigest()[:_EXACT_HASH_LEN]
    return _bounded(key)


def legacy_alert_key(ctx: NotificationContext) -> str:
    """The key of releases before the digest of exact names (folded only): alerts
    opened under it are still accepted and resolved under it after an upgrade."""
    return _bounded(_readable(_exact_names(ctx)))


def _exact_names(ctx: NotificationContext) -> List[str]:
    names = ["cmk", ctx.get("OMD_SITE"), ctx.get("HOSTNAME")]
    if ctx.is_service:
        names.append(ctx.get("SERVICEDESC"))
    return [("" if is_unresolved_macro(name) else name) or "-" for name in names]


def _readable(exact: List[str]) -> str:
    return "/".join(_plain(name) or "-" for name in exact).casefold()


def _bounded(key: str) -> str:
    if len(key) <= MAX_ALERT_KEY:
        return key
    digest = sha256(key.encode("utf-8")).hexdigest()[:_KEY_HASH_LEN]
    return key[: MAX_ALERT_KEY - _KEY_HASH_LEN - 1] + "~" + digest


def _plain(value: str) -> str:
    if is_unresolved_macro(value):
        return ""
    return " ".join(value.split())


def base_url(ctx: NotificationContext, prefix: Optional[UrlPrefix]) -> Optional[str]:
    """The site's GUI base (``https://host/site``) from any URL-prefix shape."""
    if prefix is None:
        return None
    if prefix.mode == "automatic":
        host = ctx.get("MONITORING_HOST").strip()
        site = ctx.get("OMD_SITE").strip()
        if not host or not site:
            return None
        return "%s://%s/%s" % (prefix.value, host, site)
    base = prefix.value.rstrip("/")
    if base.endswith("/check_mk"):
        base = base[: -len("/check_mk")]
    return base


def links(ctx: NotificationContext, prefix: Optional[UrlPrefix]) -> Tuple[Link, ...]:
    base = base_url(ctx, prefix)
    if base is None:
        return ()
    found: List[Link] = []
    host_url = ctx.get("HOSTURL").strip()
    if host_url.startswith("/"):
        found.append(Link(base + host_url, "Host %s in Checkmk" % _plain(ctx.get("HOSTNAME"))))
    service_url = ctx.get("SERVICEURL").strip()
    if ctx.is_service and service_url.startswith("/"):
        found.append(Link(base + service_url, "Service %s in Checkmk" % _plain(ctx.get("SERVICEDESC"))))
    return tuple(found)


def labels(ctx: NotificationContext) -> Tuple[Tuple[str, str], ...]:
    """Checkmk host and service labels (service labels win on a clash)."""
    found: Dict[str, str] = {}
    for prefix in ("HOSTLABEL_", "SERVICELABEL_"):
        if prefix == "SERVICELABEL_" and not ctx.is_service:
            continue
        for key, value in ctx.values.items():
            if key.startswith(prefix) and key != prefix:
                found[bound(key[len(prefix):], 255)] = bound(value, 255)
    return tuple(sorted(found.items())[:MAX_LABELS])


def custom_details(ctx: NotificationContext) -> Dict[str, Any]:
    """Structured facts for iLert's customDetails: site, host, service, states, ids."""
    service = ctx.is_service
    pre = "SERVICE" if service else "HOST"
    get = ctx.get
    out: Dict[str, Any] = {
        "source": "checkmk",
        "site": get("OMD_SITE"),
        "monitoring_host": get("MONITORING_HOST"),
        "host": get("HOSTNAME"),
        "host_alias": get("HOSTALIAS"),
        "host_address": get("HOSTADDRESS"),
        "what": "SERVICE" if service else "HOST",
        "notification_type": ctx.notification_type,
        "state": get(pre + "STATE"),
        "previous_hard_state": get("PREVIOUS" + pre + "HARDSTATE"),
        "problem_id": get(pre + "PROBLEMID"),
        "last_problem_id": get("LAST" + pre + "PROBLEMID"),
        "notification_number": get(pre + "NOTIFICATIONNUMBER"),
        "output": get(pre + "OUTPUT"),
        "perfdata": get(pre + "PERFDATA"),
        "host_tags": get("HOSTTAGS"),
        "date": get("LONGDATETIME"),
    }
    if service:
        out["service"] = get("SERVICEDESC")
    for key in ("EC_ID", "EC_RULE_ID", "EC_PRIORITY", "EC_FACILITY", "EC_PHASE"):
        if get(key):
            out[key.lower()] = get(key)
    problem_id = get(pre + "PROBLEMID")
    if problem_id.startswith("notify_test_"):
        out["test_notification"] = True
    cleaned: Dict[str, Any] = {}
    for key, value in out.items():
        if isinstance(value, str):
            if is_unresolved_macro(value) or not value:
                continue
            value = bound(one_line(value), MAX_PERFDATA if key == "perfdata" else MAX_FIELD)
        cleaned[key] = value
    return cleaned
