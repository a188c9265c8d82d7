"""Checkmk notification -> iLert events (pure; the contract's Event mapping).

* PROBLEM -> ALERT; RECOVERY -> RESOLVE.
* ACKNOWLEDGEMENT -> ACCEPT with author and comment; with the ``api`` source
  type and ``comment_events``: ACCEPT, then the comment as a COMMENT event (so
  it also reaches an alert that was accepted before: iLert drops the comments
  of an ACCEPT it answers with ALREADY_ACCEPTED). With ``accept_comments`` the
  comment travels in the ACCEPT alone (one request instead of two); delivery
  sends the COMMENT only when iLert answers ALREADY_ACCEPTED (outbox/delivery).
* CUSTOM -> with ``forward_custom`` a test ALERT, followed by a RESOLVE when
  the object is OK/UP (nothing stays open); else ignored.
* FLAPPING*, DOWNTIME* -> with ``api`` and ``comment_events`` a COMMENT on the
  open alert; else ignored (iLert's Checkmk alert source ignores them).
* ALERTHANDLER* and anything else -> ignored.

One notification maps to one or two events; they share the alert key and are
delivered in the order given. ALERT events also carry what the rule's optional
templates make of the context: ``routingKey`` (routing_key, routing_key_fallback),
``severity`` (ilert_severity), ``services`` (ilert_services); runbook and graph
links (runbook_links, graph_link) go on every event that carries links.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Tuple, Union
from urllib.parse import quote, urlsplit

from ..base.digest import sha256
from ..base.secret import strip_cut_secret
from ..base.text import bound, is_unresolved_macro, one_line, paragraphs, render, render_value, value_macros
from ..checkmk.context import MAX_VALUE, NotificationContext
from ..checkmk.params import Settings, UrlPrefix, named
from ..ilert.event import ACCEPT, ALERT, COMMENT, RESOLVE, Comment, Event, Link

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
#: A routing key longer than this is not a routing key: it is not sent (the fallback applies).
MAX_ROUTING_KEY = 255
MAX_SERVICES = 20
MAX_SERVICE_ALIAS = 255
MAX_LINK_URL = 2000
_KEY_HASH_LEN = 16
#: Hex digits of the digest of exact names appended where folding loses information.
_EXACT_HASH_LEN = 10

_HIGH_STATES = frozenset(("CRITICAL", "CRIT", "DOWN", "UNREACHABLE", "UNREACH", "UNRE"))


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
        if api and settings.comment_events and accept.comments and not settings.accept_comments:
            # iLert answers ALREADY_ACCEPTED (and drops the comments) when the alert was
            # accepted before; its client libraries send comments as an event of their own.
            return (accept._replace(comments=()), _comment_event(accept, accept.comments))
        return (accept,)
    if upper == "CUSTOM":
        if not settings.forward_custom:
            return Ignored(ntype, key, "CUSTOM notifications are ignored: turn on %s to send them"
                           % named("forward_custom"))
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
        return Ignored(ntype, key, "%s notifications are ignored: %s is off" % (upper, named("comment_events")))
    if upper.startswith(("FLAPPING", "DOWNTIME", "ALERTHANDLER")):
        return Ignored(ntype, key, "%s notifications are not sent to iLert" % (ntype.split(" ")[0] or "this"))
    return Ignored(ntype or "-", key, "unknown notification type, nothing sent")


def _comment_event(event: Event, comments: Tuple[Comment, ...]) -> Event:
    return event._replace(event_type=COMMENT, comments=comments, details="", priority=None, routing_key=None,
                          links=(), labels=(), custom_details=(), severity=None, services=(), notes=())


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
    notes: List[str] = []
    routing: Optional[str] = None
    severity: Optional[int] = None
    services: Tuple[str, ...] = ()
    if event_type == ALERT:
        derived = template_values(values)
        routing = routing_key(derived, settings, notes)
        severity = resolve_severity(ctx, settings.severity, notes)
        services = service_aliases(derived, settings.services, notes)
    found_links = links(scrubbed, settings.url_prefix)
    if settings.runbook_links:
        found_links += runbook_links(scrubbed)
    if settings.graph_link:
        found_links += graph_links(scrubbed, settings.url_prefix)
    return Event(
        event_type=event_type,
        alert_key=key,
        summary=summary,
        notification_type=ctx.notification_type,
        details=details if event_type == ALERT else "",
        priority=resolve_priority(ctx, settings.priority) if event_type == ALERT else None,
        links=found_links,
        comments=comments,
        labels=labels(scrubbed),
        custom_details=tuple(custom_details(scrubbed).items()),
        routing_key=routing,
        severity=severity,
        services=services,
        notes=tuple(notes),
    )


# --- routing key, severity, services ------------------------------------------


def _has_macros(template: str) -> bool:
    return bool(value_macros(template))


def _one_value(template: str, values: Mapping[str, str], limit: int) -> Tuple[str, str]:
    """(value, why-not): the template rendered to one clean line; '' when any macro in it
    is empty (a half-filled key such as ``team-`` would route wrongly) or the result is
    longer than ``limit`` (a cut key would route wrongly too)."""
    used = {m: values.get(m, "").strip() for m in value_macros(template)}  # padding never pushes a value out
    empty = [m for m, v in used.items() if not v]
    if empty:
        return "", "$%s$ is empty" % bound(empty[0], 80)
    text = " ".join(render_value(template, used, limit + 1).translate(_CONTROL_ALL).split())
    if not text:
        return "", "it came out empty"
    if len(text) > limit:
        return "", "it is longer than %d characters" % limit
    return text, ""


_CONTROL_ALL = dict.fromkeys(list(range(32)) + [127], " ")


def template_values(values: Mapping[str, str]) -> Mapping[str, str]:
    """The context plus ``HOSTFOLDER``: the host's Setup folder, read from its ``/wato/<path>/``
    tag in ``HOSTTAGS`` as Checkmk's own folder condition does (cmk/base/events.py
    ``event_match_folder``); '' for the main folder or a host not managed in Setup."""
    if "HOSTFOLDER" in values:
        return values
    folder = ""
    for tag in values.get("HOSTTAGS", "")[:MAX_FIELD * 8].split():
        if tag.startswith("/wato/"):
            folder = tag[len("/wato/"):].rstrip("/")
            break
    out = dict(values)
    out["HOSTFOLDER"] = folder
    return out


def routing_key(values: Mapping[str, str], settings: Settings, notes: List[str]) -> Optional[str]:
    """The routing key an ALERT carries: the template, else its fallback, else none.

    A routing key without macros is sent as configured (as before templates existed).
    """
    template = settings.routing_key
    if template is None:
        return None
    tried = []
    for name, candidate in (("routing_key", template), ("routing_key_fallback", settings.routing_key_fallback)):
        if candidate is None:
            continue
        if not _has_macros(candidate):
            notes.append("routing key %r (%s, fixed)" % (bound(candidate, MAX_ROUTING_KEY), name))
            return candidate
        value, why = _one_value(candidate, values, MAX_ROUTING_KEY)
        if value:
            notes.append("routing key %r from %s %r" % (value, name, bound(candidate, 200)))
            return value
        tried.append("%s %r: %s" % (name, bound(candidate, 200), why))
    notes.append("no routing key: %s; the alert source's own escalation policy applies" % "; ".join(tried))
    return None


#: Severity from the state (1 = most severe): the default table of docs/configuration.md.
_STATE_SEVERITY = {
    "DOWN": 2, "CRITICAL": 2, "CRIT": 2,
    "UNREACHABLE": 3, "UNREACH": 3, "UNRE": 3, "WARNING": 3, "WARN": 3,
    "UNKNOWN": 4, "UNKN": 4,
}
#: Checkmk's default service levels (0, 10 silver, 20 gold, 30 platinum): gold raises the
#: severity one step, platinum two.
_SL_STEPS = ((30, 2), (20, 1))


def service_level(ctx: NotificationContext) -> int:
    """The object's service level: SVC_SL for a service (HOST_SL when it has none), HOST_SL for a host."""
    names = ("SVC_SL", "HOST_SL") if ctx.is_service else ("HOST_SL",)
    for name in names:
        raw = ctx.get(name).strip()
        if raw.lstrip("-").isdigit() and len(raw) < 10 and int(raw) > 0:
            return int(raw)
    return 0


def resolve_severity(ctx: NotificationContext, configured: str, notes: Optional[List[str]] = None) -> Optional[int]:
    if configured == "off":
        return None
    if configured.startswith("severity_"):
        fixed = int(configured[len("severity_"):])
        if notes is not None:
            notes.append("severity %d (fixed)" % fixed)
        return fixed
    now = state(ctx)
    base = _STATE_SEVERITY.get(now, 5)
    level = service_level(ctx)
    steps = next((n for floor, n in _SL_STEPS if level >= floor), 0)
    value = max(1, base - steps)
    if notes is not None:
        notes.append("severity %d (state %s, service level %d)" % (value, bound(now, 20) or "-", level))
    return value


def service_aliases(values: Mapping[str, str], template: str, notes: List[str]) -> Tuple[str, ...]:
    """iLert service aliases from the template: comma-separated, each one line, bounded,
    no duplicates, at most MAX_SERVICES; an alias longer than MAX_SERVICE_ALIAS is dropped."""
    if not template:
        return ()
    rendered = render_value(template, values, MAX_SERVICES * (MAX_SERVICE_ALIAS + 1))
    found: List[str] = []
    dropped = 0
    for part in rendered.replace("\n", ",").split(","):
        alias = " ".join(part.translate(_CONTROL_ALL).split())
        if not alias:
            continue
        if len(alias) > MAX_SERVICE_ALIAS:
            dropped += 1
            continue
        if alias not in found:
            found.append(alias)
    if len(found) > MAX_SERVICES:
        dropped += len(found) - MAX_SERVICES
        found = found[:MAX_SERVICES]
    if found:
        notes.append("services %s from ilert_services %r" % (", ".join(found), bound(template, 200)))
    else:
        notes.append("no services: ilert_services %r came out empty" % bound(template, 200))
    if dropped:
        notes.append("%d service alias(es) dropped (longer than %d characters or more than %d)" % (
            dropped, MAX_SERVICE_ALIAS, MAX_SERVICES))
    return tuple(found)


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


def _http_url(raw: str, values: Mapping[str, str]) -> str:
    """A notes/action URL as a link: Checkmk macros in it expanded once (as Checkmk's own
    ``substitute_context`` does), one line, http(s) with a host, bounded; else ''."""
    url = raw.strip()
    if "$" in url:
        url = render_value(url, {k: quote(v, safe="") for k, v in values.items() if len(v) < MAX_LINK_URL},
                           MAX_LINK_URL)
    url = url.strip()
    if not url or len(url) > MAX_LINK_URL or any(c.isspace() or not c.isprintable() for c in url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    return url


def runbook_links(ctx: NotificationContext) -> Tuple[Link, ...]:
    """The notes and action URLs of the host (and the service) as links (``runbook_links``)."""
    found: List[Link] = []
    host = _plain(ctx.get("HOSTNAME"))
    items = [("HOSTNOTESURL", "Notes for host %s" % host), ("HOSTACTIONURL", "Action for host %s" % host)]
    if ctx.is_service:
        service = _plain(ctx.get("SERVICEDESC"))
        items = [("SERVICENOTESURL", "Notes for service %s" % service),
                 ("SERVICEACTIONURL", "Action for service %s" % service)] + items
    seen = set()
    for name, text in items:
        url = _http_url(ctx.get(name), ctx.values)
        if url and url not in seen:
            seen.add(url)
            found.append(Link(url, bound(text, 200)))
    return tuple(found)


def graph_links(ctx: NotificationContext, prefix: Optional[UrlPrefix]) -> Tuple[Link, ...]:
    """The graphs page of the host or service in Checkmk (``graph_link``), built as Checkmk's
    own ``graph_url_from_context`` does (host_graphs / service_graphs views). A link, not an
    image: iLert would have to fetch an image itself, which a site behind a firewall refuses."""
    base = base_url(ctx, prefix)
    site = ctx.get("OMD_SITE").strip()
    host = ctx.get("HOSTNAME").strip()
    if base is None or not site or not host or is_unresolved_macro(host):
        return ()
    query = "siteopt=%s&host=%s" % (quote(site, safe=""), quote(host, safe=""))
    if ctx.is_service:
        service = ctx.get("SERVICEDESC").strip()
        query = "view_name=service_graphs&%s&service=%s" % (query, quote(service, safe=""))
        text = "Graphs of %s in Checkmk" % _plain(service)
    else:
        query = "view_name=host_graphs&" + query
        text = "Graphs of host %s in Checkmk" % _plain(host)
    url = "%s/check_mk/view.py?%s" % (base, query)
    if len(url) > MAX_LINK_URL:
        return ()
    return (Link(url, bound(text, 200)),)
