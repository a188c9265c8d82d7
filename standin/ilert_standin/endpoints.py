"""What the modelled iLert endpoints do with a request, independent of HTTP I/O.

Order of checks for both event endpoints: body decodable (only ``/api/events``, which needs the
key from it) -> key known (404/401) -> rate window (429) -> schema (400) -> alert state (202/200
or 400). So every request that names a known key counts against its window, valid or not, and a
throttled request never changes alert state.

``COMMENT`` events: the OAS ``Event.eventType`` enum has ``COMMENT`` and ``comments:
[{creator, content}]`` (``EventComment``); ``iLert/ilert-rust`` ``src/ilert_builders.rs``
``event_with_comment`` sends an alert key and comments. They append their comments to the open
(pending or accepted) alert of the key and answer ``EVENT_APPENDED``; without an open alert
they get 400 ``NO_OPEN_ALERT_WITH_KEY`` (the code ilert-go's event example matches). A COMMENT
needs ``alertKey`` and at least one comment (a stand-in strictness: one without comments is a
client bug). ``summary`` stays required for COMMENT as for every type, because the OAS
``Event`` schema lists it as required without exception -- ilert-rust omits it for COMMENT, so
the real API may be laxer; a client that sends one passes both readings. ACCEPT, RESOLVE and
COMMENT without ``alertKey`` are rejected as ``INVALID_INPUT``.

202 answers to ``/api/events`` carry ``{"alertKey", "alertUrl", "responseCode"}``: the field
names of ilert-go ``event.go`` ``EventResponse``. The OAS declares ``EventResponse`` as a bare
``object`` and documents no values, so the ``responseCode`` values are the stand-in's own:
``NEW_ALERT_CREATED``, ``EVENT_APPENDED`` (ALERT on an open alert, COMMENT), ``ALERT_ACCEPTED``,
``ALERT_RESOLVED``. ``alertUrl`` is ``<stand-in base>/alert/<id>`` (iLert's points into its web
app); ``empty_202_body`` answers with no body at all, as the OAS allows.

``checkmk-ext``: iLert's Checkmk guide (``iLert/docs`` ``integrations/inbound-integrations/
checkmk/native.md``, FAQ) says the integration processes PROBLEM, ACKNOWLEDGEMENT and
RECOVERY and ignores the rest "including FLAPPING* and DOWNTIME*". The stand-in answers those
200 with the incident key and changes nothing (what iLert answers is not documented).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from .replies import ApiError, Reply, error_body
from .schema import (
    Event,
    SchemaError,
    event_key,
    expand_macros,
    parse_checkmk_context,
    parse_event,
)
from .state import Actor, Alert, State, alert_url

INVALID = "INVALID_INPUT"
_FIRST_EVENT_FIELDS = {
    "details",
    "priority",
    "severity",
    "images",
    "links",
    "labels",
    "custom_details",
    "routing_key",
    "services",
}
# Checkmk's documented default summaries, used when the context carries no template.
DEFAULT_SUMMARY_HOST = (
    "$NOTIFICATIONTYPE$ Host Alert: $HOSTNAME$ is $HOSTSTATE$ - $HOSTOUTPUT$"
)
DEFAULT_SUMMARY_SERVICE = (
    "$NOTIFICATIONTYPE$ Service Alert: $HOSTALIAS$/$SERVICEDESC$ is $SERVICESTATE$"
    " - $SERVICEOUTPUT$"
)
CHECKMK_PROCESSED = ("PROBLEM", "RECOVERY", "ACKNOWLEDGEMENT")


def throttled(state: State, now: float, retry_after: str | None = "") -> Reply:
    """A 429; ``retry_after`` "" = per the configured mode, None = no header."""
    if retry_after == "":
        retry_after = state.retry_after(now)
    headers = [("Retry-After", retry_after)] if retry_after is not None else []
    body = error_body(
        429, "TOO_MANY_REQUESTS", "rate limit exceeded, retry in a new window"
    )
    return Reply(429, body, headers)


def _invalid(message: str) -> ApiError:
    return ApiError(400, INVALID, message)


def _event_record(event_type: str, summary: str, payload: Any) -> dict[str, Any]:
    return {
        "eventType": event_type,
        "summary": summary,
        "time": time.time(),
        "payload": payload,
    }


# -- POST /api/events ------------------------------------------------------------------
def post_event(
    state: State, body: Any, json_ok: bool, now: float, base_url: str
) -> Reply:
    if not json_ok:
        raise _invalid("the request body is not valid JSON")
    key = event_key(body)
    if key is None:
        try:
            parse_event(body)
        except SchemaError as exc:
            raise _invalid(str(exc)) from None
        raise _invalid("integrationKey is required")
    state.check_source(key, "api")
    if state.rate_limited(key, now):
        return throttled(state, now)
    try:
        event = parse_event(body)
    except SchemaError as exc:
        raise _invalid(str(exc)) from None
    with state.lock:
        alert, code = _apply_event(state, key, event, body)
    if state.config.empty_202_body:
        return Reply(202)
    body_out = {
        "alertKey": alert.alert_key,
        "alertUrl": alert_url(base_url, alert.id),
        "responseCode": code,
    }
    return Reply(202, body_out)


def _apply_event(
    state: State, source: str, event: Event, payload: Any
) -> tuple[Alert, str]:
    record = _event_record(event.event_type, event.summary, payload)
    comments = [c.model_dump(exclude_none=True) for c in event.comments or ()]
    if event.event_type == "ALERT":
        alert_key = event.alert_key or uuid.uuid4().hex
        alert = state.find_open(source, alert_key)
        code = "EVENT_APPENDED"
        if alert is None:
            fields = event.model_dump(
                by_alias=True, exclude_none=True, include=_FIRST_EVENT_FIELDS
            )
            alert = state.create_alert(
                source, alert_key, "events", event.summary, fields
            )
            code = "NEW_ALERT_CREATED"
        else:
            state.add_history(alert, "ALERT", Actor("SOURCE"), "event appended")
    else:
        if not event.alert_key:
            raise _invalid(f"alertKey is required for eventType {event.event_type}")
        if event.event_type == "COMMENT" and not event.comments:
            raise _invalid("comments are required for eventType COMMENT")
        alert = state.find_open(source, event.alert_key)
        if alert is None:
            raise ApiError(400, "NO_OPEN_ALERT_WITH_KEY", "no open alert with this key")
        code = "EVENT_APPENDED"
        if event.event_type == "ACCEPT":
            if alert.status == "ACCEPTED":
                raise ApiError(
                    400, "ALERT_ALREADY_ACCEPTED", "the alert is already accepted"
                )
            state.set_status(alert, "ACCEPTED")
            code = "ALERT_ACCEPTED"
        elif event.event_type == "RESOLVE":
            state.set_status(alert, "RESOLVED")
            code = "ALERT_RESOLVED"
    if comments:  # an event's comments (COMMENT, or with an ACCEPT/RESOLVE/ALERT) by the source
        text = "; ".join(c.get("content", "") for c in comments)
        state.add_history(alert, "COMMENT", Actor("SOURCE"), text, {"comment": text})
    alert.comments.extend(comments)
    alert.events.append(record)
    return alert, code


# -- POST /api/v1/events/checkmk-ext/{key} ---------------------------------------------
def checkmk_alert_key(context: dict[str, str]) -> str:
    """The alert key of a checkmk-ext alert: ``host`` or ``host/service``, case-folded.

    Certain: iLert makes this key, not the sender -- Checkmk's own plugin
    (``Checkmk/checkmk`` ``cmk/notification_plugins/ilert.py``) posts the bare context and
    reads the key back from the 2xx answer's ``incidentKey``; and an admin may replace it
    with an alert key template (OAS ``AlertSource.alertKeyTemplate``). Assumed: the
    default scheme. iLert documents none; iLert's bidirectional mode finds "the problem
    related to the ilert alert" (``iLert/docs`` ``.../checkmk/native.md``), so host and
    service are kept somewhere. The stand-in keys by host and service description as
    sent, case-folded, and nothing of the site: two sites sending the same host name
    to one alert source share an alert, the case ``sync`` must not mistake for its own.
    """
    host = context.get("HOSTNAME", "")
    if context.get("WHAT") == "SERVICE":
        return f"{host}/{context.get('SERVICEDESC', '')}".casefold()
    return host.casefold()


def checkmk_site_marker(mode: str, context: dict[str, str]) -> dict[str, Any]:
    """Alert fields that name the sending site, per ``checkmk_site_marker`` (all assumed).

    What the sender certainly sends: the whole notification context, ``OMD_SITE``,
    ``HOSTNAME``, ``SERVICEDESC`` included (``cmk/notification_plugins/utils.py``
    ``collect_context``), and in it ``HOSTURL``/``SERVICEURL``, Checkmk GUI links whose
    ``start_url`` names ``site=<OMD_SITE>`` (``cmk/base/events.py``
    ``complete_raw_context``). Whether iLert's alert object keeps any of it is not
    documented: the OAS ``Alert`` has no such field, ilert-go's ``Alert`` has
    ``customDetails`` (a map) and ``links``. So:

    * ``none`` (default): nothing -- the documented minimum;
    * ``custom_details``: ``customDetails`` with ``OMD_SITE``, ``HOSTNAME`` and
      ``SERVICEDESC`` of the first event, as if iLert kept the raw payload's fields there;
    * ``links``: ``links`` to the host and service views, built from the URL prefix
      (``PARAMETER_URL_PREFIX_MANUAL``, else ``https://checkmk.invalid/<site>``) and
      ``HOSTURL``/``SERVICEURL``, as if iLert built links from the Checkmk rule's URL prefix.
    """
    if mode == "custom_details":
        names = ("OMD_SITE", "HOSTNAME", "SERVICEDESC")
        return {"customDetails": {n: context[n] for n in names if n in context}}
    if mode == "links":
        site = context.get("OMD_SITE", "")
        prefix = context.get("PARAMETER_URL_PREFIX_MANUAL") or f"https://checkmk.invalid/{site}"
        links = []
        for name, text in (("HOSTURL", "Host in Checkmk"), ("SERVICEURL", "Service in Checkmk")):
            if context.get(name):
                links.append({"href": prefix.rstrip("/") + context[name], "text": text})
        return {"links": links}
    return {}


def _checkmk_fields(
    context: dict[str, str], service: bool
) -> tuple[str, dict[str, Any]]:
    param = (
        "PARAMETER_ILERT_SUMMARY_SERVICE" if service else "PARAMETER_ILERT_SUMMARY_HOST"
    )
    default = DEFAULT_SUMMARY_SERVICE if service else DEFAULT_SUMMARY_HOST
    summary = expand_macros(context.get(param) or default, context)
    prefix = "SERVICE" if service else "HOST"
    output = context.get(f"{prefix}OUTPUT", "")
    long_output = context.get(f"LONG{prefix}OUTPUT", "")
    fields: dict[str, Any] = {"details": f"{output}\n{long_output}".strip()}
    priority = context.get("PARAMETER_ILERT_PRIORITY", "").upper()
    if priority in ("HIGH", "LOW"):
        fields["priority"] = priority
    return summary, fields


def post_checkmk(state: State, key: str, body: Any, json_ok: bool, now: float) -> Reply:
    state.check_source(key, "checkmk")
    if state.rate_limited(key, now):
        return throttled(state, now)
    if not json_ok:
        raise _invalid("the request body is not valid JSON")
    try:
        context = parse_checkmk_context(body)
    except SchemaError as exc:
        raise _invalid(str(exc)) from None
    kind = context.get("NOTIFICATIONTYPE")
    if not kind:
        raise _invalid("NOTIFICATIONTYPE is required")
    alert_key = checkmk_alert_key(context)
    if kind not in CHECKMK_PROCESSED:
        return Reply(200, {"incidentKey": alert_key})
    if not context.get("HOSTNAME"):
        raise _invalid("HOSTNAME is required")
    service = context.get("WHAT") == "SERVICE"
    summary, fields = _checkmk_fields(context, service)
    fields.update(checkmk_site_marker(state.config.checkmk_site_marker, context))
    record = _event_record(kind, summary, context)
    with state.lock:
        alert = state.find_open(key, alert_key)
        if kind == "PROBLEM":
            if alert is None:
                alert = state.create_alert(
                    key, alert_key, "checkmk-ext", summary, fields
                )
        elif alert is None:
            raise ApiError(400, "NONE_OPEN_FOR_KEY", "no open alert for this key")
        elif kind == "RECOVERY":
            state.set_status(alert, "RESOLVED")
        else:
            if alert.status == "ACCEPTED":
                raise ApiError(
                    400, "ALERT_ALREADY_ACCEPTED", "the alert is already accepted"
                )
            state.set_status(alert, "ACCEPTED")
            if context.get("NOTIFICATIONCOMMENT"):
                alert.comments.append(
                    {
                        "creator": context.get("NOTIFICATIONAUTHOR", ""),
                        "content": context["NOTIFICATIONCOMMENT"],
                    }
                )
                text = context["NOTIFICATIONCOMMENT"]
                state.add_history(alert, "COMMENT", Actor("SOURCE"), text, {"comment": text})
        alert.events.append(record)
    return Reply(200, {"incidentKey": alert_key})


# -- heartbeats ------------------------------------------------------------------------
def ping(
    state: State, key: str, method: str, path: str, mono: float, wall: float
) -> Reply:
    if key not in state.config.heartbeat_keys:
        raise ApiError(404, "NO_HEARTBEAT_FOUND", "no heartbeat for this key")
    state.add_ping(key, method, path, mono, wall)
    return Reply(202)
