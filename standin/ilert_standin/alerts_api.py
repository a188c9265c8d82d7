"""iLert's REST API for alerts, as far as a pull-based two-way sync needs it.

``GET /api/alerts`` (list, filtered and paged) and ``GET /api/alerts/{id}`` (one alert), both
behind ``Authorization: Bearer <user API key>``. Sources, all public (no copy of their code):

* OAS = iLert's OpenAPI spec, ``info.version`` v2.2026.3-r.4, as copied into ``iLert/ilert-cli``
  ``tests/fixtures/openapi.json`` (commit 54bfdc46): paths ``/alerts``, ``/alerts/{id}``,
  schemas ``Alert``, ``AlertResponder``, ``User``/``UserRel``, the "Authentication" and
  "Errors" sections of ``info.description``.
* GO = ``iLert/ilert-go`` ``alert.go`` (commits 1697a029, 6c340c5c): ``Alert`` struct,
  ``GetAlerts``; ``client.go`` ``WithAPIToken``.
* LIMITS = iLert docs "API Rate Limits" (``docs.ilert.com/developer-docs/rest-api/
  alertsource-throttle``): "API Key (User generated) 120 (can be increased) / 1 Minute".

Request, checked in this order (the stand-in's order; iLert documents none):

1. ``Authorization: Bearer <key>`` -- OAS "Authentication": "The REST API accepts bearer API
   tokens ... Make sure to send the ``Bearer`` prefix"; GO ``WithAPIToken`` sends
   ``Bearer <token>``. Missing header, another scheme, a bare key, an unknown key or an
   integration key -> 401. A key configured as ``user_api_keys_no_read`` -> 403 (OAS shows
   403 for "no permission" on other resources; the exact body is the stand-in's).
2. Rate limit per user API key: ``api_rate_limit`` per window (LIMITS: 120/min) -> 429, with
   ``Retry-After`` per ``retry_after_mode`` (iLert documents no Retry-After at all).
3. Query parameters of ``GET /api/alerts`` -- exactly the OAS names, anything else is a 400
   (a deliberate strictness, like the event schema: a misspelt filter must not pass tests):

   ``states``       repeatable, PENDING | ACCEPTED | RESOLVED (OAS enum; GO's extra status
                    constant ``NEW`` is not an accepted filter value). GO's ``GetAlerts`` sends
                    the singular ``state`` -- the OAS, its sample URLs (``?states=PENDING&
                    states=ACCEPTED``) and the 2026 spec say ``states``; ``state`` is refused
                    with a message naming ``states``.
   ``sources``      repeatable alert source ids (OAS; GO sends ``alert-source``, refused the
                    same way).
   ``responders``   repeatable user ids (OAS: "user ids of the user that is a responder").
   ``policies``     repeatable escalation policy ids (OAS); every stand-in alert has policy 1.
   ``from``/``until`` ISO-8601 date-times with a zone (OAS: "ISO-UTC e.g.
                    2021-05-25T21:24:56.771Z, based on reportTime"). They filter on
                    ``reportTime`` -- when the alert was *created* -- not on when it last
                    changed. Stand-in: ``from`` inclusive, ``until`` exclusive.
   ``start-index``  >= 0, default 0; ``max-results`` 1..100, default 50 (OAS maximum 100).
   ``include``      ``nextEscalationUser`` (list); also ``escalationRules`` for one alert.

   Order of the list: iLert documents none; the stand-in sorts by reportTime, then id,
   ascending (``alerts_order: "desc"`` reverses it, to test clients that assume one order).

Alert fields served (per field: where the name comes from):

====================  ==========================================================================
``id``                OAS ``Alert.id``, GO ``ID`` (int64)
``summary``           OAS, GO
``details``           OAS, GO ("" when the first event had none)
``reportTime``        OAS (date-time), GO ("ISO format"): when the alert was created
``resolvedOn``        OAS (date-time), GO; ``null`` while open
``status``            OAS enum PENDING | ACCEPTED | RESOLVED; GO also lists NEW (never served)
``alertSource``       OAS ``AlertSource`` (``$ref``), GO ``*AlertSource``: stand-in serves
                      ``{id, name, integrationType}`` (API or CHECKMK by the endpoint used)
``escalationPolicy``  OAS ``EscalationPolicy``: stand-in serves ``{id: 1, name: "Default"}``
``priority``          OAS ``AlertPriority`` HIGH | LOW: the first event's, else HIGH
``alertKey``          OAS, GO: as the first event spelled it
``nextEscalation``    OAS (read-only date-time), GO: always ``null`` here
``images``/``links``  OAS ``EventImage``/``EventLink``, GO: from the first event
``responders``        OAS ``AlertResponder``: ``{user: {id, firstName, lastName}, status:
                      PENDING | ACCEPTED, acceptedAt}``; one entry per responder who accepted
``acknowledgedBy``    GO only (``*User``, omitempty): the accepting user, ``null`` otherwise
``acknowledgedByType`` GO only: ``USER`` (a responder) or ``SOURCE`` (an ACCEPT event); values
                      after GO's ``AlertResponderTypes`` -- an inference
``resolvedBy``        GO only (``*User``); ``resolvedByType`` GO only, as above
``customDetails``     GO only (``map[string]interface{}``): from the first event
====================  ==========================================================================

Not modelled: ``assignedTo`` (OAS: deprecated), ``escalationRules`` content, teams, the
``team-context`` header, ``/alerts/count``, ``PUT /alerts/{id}/accept|resolve`` (the admin API
plays the responder instead), OAuth.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping, NamedTuple
from urllib.parse import parse_qsl

from .replies import ApiError, Reply
from .state import Alert, State, iso_time

LIST_PARAMS = (
    "states",
    "sources",
    "responders",
    "policies",
    "from",
    "until",
    "start-index",
    "max-results",
    "include",
)
ONE_PARAMS = ("include",)
STATES = ("PENDING", "ACCEPTED", "RESOLVED")
LIST_INCLUDES = ("nextEscalationUser",)
ONE_INCLUDES = ("escalationRules", "nextEscalationUser")
MAX_RESULTS = 100
DEFAULT_RESULTS = 50
POLICY = {"id": 1, "name": "Default"}
#: names other clients use, refused with a pointer to the API reference's name
_OTHER_NAMES = {
    "state": "states",
    "alert-source": "sources",
    "alert-sources": "sources",
    "assigned-to": "responders",
}


class ListQuery(NamedTuple):
    states: frozenset[str]
    sources: frozenset[int]
    responders: frozenset[str]
    policies: frozenset[int]
    since: float | None  # ``from``, epoch seconds, inclusive
    until: float | None  # exclusive
    start: int
    count: int
    include: frozenset[str]


def _invalid(message: str) -> ApiError:
    return ApiError(400, "INVALID_INPUT", message)


# -- authorization ----------------------------------------------------------------------
def bearer_key(headers: Mapping[str, str]) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header, else None."""
    value = headers.get("Authorization")
    if value is None:
        return None
    scheme, _, key = value.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key or " " in key:
        return None
    return key


def authorize(state: State, headers: Mapping[str, str]) -> str:
    """The user API key of the request; raise 401/403 as iLert would."""
    key = bearer_key(headers)
    config = state.config
    if key is None:
        raise ApiError(
            401,
            "UNAUTHORIZED",
            "send the user API key as 'Authorization: Bearer <key>'",
        )
    if key in config.user_api_keys_no_read:
        raise ApiError(
            403, "FORBIDDEN", "this API key has no permission to read alerts"
        )
    if key not in config.user_api_keys:
        raise ApiError(401, "UNAUTHORIZED", "unknown API key")
    return key


# -- query parsing ----------------------------------------------------------------------
def _pairs(query: str, allowed: tuple[str, ...]) -> dict[str, list[str]]:
    try:
        pairs = parse_qsl(
            query, keep_blank_values=True, strict_parsing=bool(query), errors="strict"
        )
    except ValueError:
        raise _invalid("the query string is malformed") from None
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        if name not in allowed:
            hint = _OTHER_NAMES.get(name)
            extra = f" (the API reference names it '{hint}')" if hint else ""
            raise _invalid(f"unknown query parameter '{name}'{extra}")
        values.setdefault(name, []).append(value)
    return values


def _single(values: dict[str, list[str]], name: str) -> str | None:
    found = values.get(name)
    if not found:
        return None
    if len(found) > 1:
        raise _invalid(f"'{name}' may be given once")
    return found[0]


def _integer(text: str, name: str) -> int:
    if not text.isascii() or not text.lstrip("-").isdigit():
        raise _invalid(f"'{name}' must be an integer, not '{text}'")
    return int(text)


def parse_time(text: str, name: str) -> float:
    """An ISO-8601 date-time with a zone (``Z`` or an offset) as epoch seconds."""
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise _invalid(f"'{name}' must be an ISO-8601 date-time, not '{text}'") from None
    if moment.tzinfo is None:
        raise _invalid(f"'{name}' needs a time zone, e.g. 2021-05-25T21:24:56.771Z")
    return moment.timestamp()


def _includes(values: dict[str, list[str]], allowed: tuple[str, ...]) -> frozenset[str]:
    found = frozenset(values.get("include", ()))
    bad = sorted(found - set(allowed))
    if bad:
        raise _invalid(f"include: unknown value '{bad[0]}'")
    return found


def parse_list_query(query: str) -> ListQuery:
    values = _pairs(query, LIST_PARAMS)
    states = frozenset(values.get("states", ()))
    bad = sorted(states - set(STATES))
    if bad:
        raise _invalid(f"states: '{bad[0]}' is not one of {', '.join(STATES)}")
    sources = frozenset(_integer(v, "sources") for v in values.get("sources", ()))
    policies = frozenset(_integer(v, "policies") for v in values.get("policies", ()))
    start, count = _paging(values)
    since_text, until_text = _single(values, "from"), _single(values, "until")
    return ListQuery(
        states=states,
        sources=sources,
        responders=frozenset(values.get("responders", ())),
        policies=policies,
        since=None if since_text is None else parse_time(since_text, "from"),
        until=None if until_text is None else parse_time(until_text, "until"),
        start=start,
        count=count,
        include=_includes(values, LIST_INCLUDES),
    )


# -- the public representation ----------------------------------------------------------
def _user_ref(state: State, name: str) -> dict[str, Any]:
    user = state.user(name)
    return {k: user[k] for k in ("id", "firstName", "lastName")}


def _by(state: State, actor: Any) -> dict[str, Any] | None:
    return None if actor is None or actor.user is None else state.user(actor.user)


def public_alert(
    state: State, alert: Alert, include: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """An alert as ``GET /api/alerts`` serves it (no integration key, no admin fields)."""
    fields = alert.fields
    body: dict[str, Any] = {
        "id": alert.id,
        "summary": alert.summary,
        "details": fields.get("details", ""),
        "reportTime": iso_time(alert.created_at),
        "resolvedOn": None if alert.resolved_at is None else iso_time(alert.resolved_at),
        "status": alert.status,
        "alertSource": state.source_json(alert),
        "escalationPolicy": dict(POLICY),
        "priority": fields.get("priority", "HIGH"),
        "alertKey": alert.alert_key,
        "nextEscalation": None,
        "images": list(fields.get("images", [])),
        "links": list(fields.get("links", [])),
        "responders": [
            {
                "user": _user_ref(state, r["user"]),
                "status": r["status"],
                "acceptedAt": iso_time(r["acceptedAt"]),
            }
            for r in alert.responders
        ],
        "acknowledgedBy": _by(state, alert.accepted_by),
        "resolvedBy": _by(state, alert.resolved_by),
        "customDetails": dict(fields.get("customDetails", {})),
    }
    if alert.accepted_by is not None:
        body["acknowledgedByType"] = alert.accepted_by.type
    if alert.resolved_by is not None:
        body["resolvedByType"] = alert.resolved_by.type
    if "nextEscalationUser" in include:
        body["nextEscalationUser"] = None
    if "escalationRules" in include:
        body["escalationRules"] = []
    return body


def _matches(state: State, alert: Alert, q: ListQuery) -> bool:
    if q.states and alert.status not in q.states:
        return False
    if q.sources and state.source_id(alert.source_key) not in q.sources:
        return False
    if q.policies and POLICY["id"] not in q.policies:
        return False
    if q.responders:
        ids = {str(state.user(r["user"])["id"]) for r in alert.responders}
        if not ids & q.responders:
            return False
    if q.since is not None and alert.created_at < q.since:
        return False
    return q.until is None or alert.created_at < q.until


# -- endpoints --------------------------------------------------------------------------
def list_alerts(state: State, query: str) -> Reply:
    q = parse_list_query(query)
    with state.lock:
        found = [a for a in state.snapshot() if _matches(state, a, q)]
        found.sort(
            key=lambda a: (a.created_at, a.id),
            reverse=state.config.alerts_order == "desc",
        )
        page = found[q.start : q.start + q.count]
        return Reply(200, [public_alert(state, a, q.include) for a in page])


def get_alert(state: State, alert_id: str, query: str) -> Reply:
    include = _includes(_pairs(query, ONE_PARAMS), ONE_INCLUDES)
    with state.lock:
        alert = state.get(int(alert_id)) if alert_id.isdigit() else None
        if alert is None:
            raise ApiError(404, "NOT_FOUND", f"no alert with id {alert_id}")
        return Reply(200, public_alert(state, alert, include))


# -- log entries ------------------------------------------------------------------------
#: ``GET /api/alerts/{id}/log-entries``: OAS path ``/alerts/{id}/log-entries`` (parameters
#: ``lang`` en|de, ``start-index``, ``max-results`` <= 100 default 50, ``include`` = ``vars``,
#: ``filter-types``), answer an array of OAS ``LogEntry`` {id, timestamp, logEntryType, text,
#: alertId, filterTypes, vars}; GO ``GetAlertLogEntries`` / ``AlertLogEntry`` (id, timestamp,
#: logEntryType, text, alertId).
LOG_PARAMS = ("lang", "start-index", "max-results", "include", "filter-types")
LOG_LANGS = ("en", "de")
#: OAS ``LogFilterType`` and the ``filter-types`` parameter's enum
LOG_FILTER_TYPES = (
    "NOTIFICATIONS",
    "ALERT_SOURCE_EVENTS",
    "CALL_ROUTING_EVENTS",
    "ALERT_UPDATES",
    "CONNECTOR_EVENTS",
    "INCIDENT_COMMUNICATIONS",
)
#: history action and actor type -> (OAS ``logEntryType``, filter type). The type names are the
#: OAS enum's; which one iLert writes for which action, and the filter groups, are the
#: stand-in's reading of the names (iLert documents neither).
_LOG_TYPES: dict[tuple[str, str], tuple[str, str]] = {
    ("ALERT", "SOURCE"): ("AlertReceivedLogEntry", "ALERT_SOURCE_EVENTS"),
    ("ACCEPT", "USER"): ("UserResponseLogEntry", "ALERT_UPDATES"),
    ("ACCEPT", "SOURCE"): ("AlertSourceResponseLogEntry", "ALERT_SOURCE_EVENTS"),
    ("RESOLVE", "USER"): ("UserResponseLogEntry", "ALERT_UPDATES"),
    ("RESOLVE", "SOURCE"): ("AlertSourceResponseLogEntry", "ALERT_SOURCE_EVENTS"),
    ("COMMENT", "USER"): ("AlertCommentAddedLogEntry", "ALERT_UPDATES"),
    ("COMMENT", "SOURCE"): ("AlertCommentAddedBySystemLogEntry", "ALERT_SOURCE_EVENTS"),
    ("ASSIGN", "USER"): ("AlertAssignedByUserLogEntry", "ALERT_UPDATES"),
    ("ESCALATE", "SOURCE"): ("AlertEscalatedToLevelLogEntry", "ALERT_UPDATES"),
    ("NOTIFY", "SOURCE"): ("NotificationLogEntry", "NOTIFICATIONS"),
}


def _log_text(state: State, entry: Mapping[str, Any]) -> str:
    """The entry's ``text``: an English sentence naming who did what (the wording is the
    stand-in's; the OAS only says ``text`` is a string in the language ``lang`` asks for)."""
    by = entry["by"]
    action = entry["action"]
    if action == "COMMENT":
        who = by if by else "the alert source"
        return f"{who} commented: {entry['text']}"
    if by:
        return f"{by}: {entry['text']}"
    return str(entry["text"])


def public_log_entry(
    state: State, alert: Alert, entry: Mapping[str, Any], with_vars: bool
) -> dict[str, Any]:
    kind, group = _LOG_TYPES.get(
        (entry["action"], entry["byType"]), ("AlertReceivedLogEntry", "ALERT_SOURCE_EVENTS")
    )
    body: dict[str, Any] = {
        "id": entry["id"],
        "timestamp": iso_time(entry["time"]),
        "logEntryType": kind,
        "text": _log_text(state, entry),
        "alertId": alert.id,
        "filterTypes": [group],
    }
    if with_vars:
        # OAS: ``vars`` is a map of strings; which keys iLert puts there is not documented.
        # The stand-in's assumption: ``user`` (who, as the user's name) plus the action's own.
        extra: dict[str, str] = {}
        if entry["by"]:
            extra["user"] = str(entry["by"])
        extra.update({k: str(v) for k, v in entry.get("vars", {}).items()})
        body["vars"] = extra
    return body


def _paging(values: dict[str, list[str]]) -> tuple[int, int]:
    """``start-index`` and ``max-results`` of a listing, checked as the alert listings are."""
    start_text, count_text = _single(values, "start-index"), _single(values, "max-results")
    start = 0 if start_text is None else _integer(start_text, "start-index")
    count = DEFAULT_RESULTS if count_text is None else _integer(count_text, "max-results")
    if start < 0:
        raise _invalid("'start-index' must be >= 0")
    if not 1 <= count <= MAX_RESULTS:
        raise _invalid(f"'max-results' must be 1..{MAX_RESULTS}")
    return start, count


def log_entries(state: State, alert_id: str, query: str) -> Reply:
    values = _pairs(query, LOG_PARAMS)
    lang = _single(values, "lang")
    if lang is not None and lang not in LOG_LANGS:
        raise _invalid(f"lang: '{lang}' is not one of {', '.join(LOG_LANGS)}")
    start, count = _paging(values)
    include = _includes(values, ("vars",))
    groups = frozenset(values.get("filter-types", ()))
    bad = sorted(groups - set(LOG_FILTER_TYPES))
    if bad:
        raise _invalid(f"filter-types: unknown value '{bad[0]}'")
    with state.lock:
        alert = state.get(int(alert_id)) if alert_id.isdigit() else None
        if alert is None:
            raise ApiError(404, "NOT_FOUND", f"no alert with id {alert_id}")
        with_vars = "vars" in include and state.config.log_entry_vars
        entries = [public_log_entry(state, alert, h, with_vars) for h in alert.history]
        if groups:
            entries = [e for e in entries if set(e["filterTypes"]) & groups]
        return Reply(200, entries[start : start + count])
