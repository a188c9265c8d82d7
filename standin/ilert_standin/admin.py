"""The control API under ``/_standin/`` (not logged, not rate limited, never faulted).

GET  /_standin/health             {"ok": true, "next_window_in": seconds to the next rate window}
GET  /_standin/log?since=N        request log entries from index N
GET  /_standin/alerts             all alerts with comments, source events and history;
                                  GET /_standin/alerts/{id}: one alert
POST /_standin/alerts/{id}/accept    {"user": name}: a responder accepts it in iLert's app
POST /_standin/alerts/{id}/resolve   {"user": name}: a responder resolves it
POST /_standin/alerts/{id}/comments  {"user": name, "content": text}: a responder comments
POST /_standin/alerts/{id}/reassign  {"user": name, "to": name}: reassigned, PENDING again
POST /_standin/alerts/{id}/escalate  {"to": name, "level": n}: the policy escalates it
GET  /_standin/users              responders seen so far (name, id, firstName, lastName, email)
GET  /_standin/sources            alert sources: {integration key: {"id", "name"}}
GET  /_standin/pings              heartbeat pings
GET  /_standin/stats              wire counters: connections, nodelay_connections, responses,
                                  writes (see server.py: one write per answer, TCP_NODELAY)
GET  /_standin/faults             pending faults
POST /_standin/faults             {"faults": [...], "path_prefix": opt, "key": opt}: append
GET  /_standin/config             current configuration
POST /_standin/config             {"rate_limit": ..., ...}: change settings
POST /_standin/reset              clear alerts, users, pings, log, faults, rate windows, stats
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from .faults import FaultQueue, parse_fault
from .replies import ApiError, Reply
from .state import State

if TYPE_CHECKING:
    from .server import WireStats

PREFIX = "/_standin/"


def _object(body: Any, json_ok: bool) -> dict[str, Any]:
    if body is None:
        return {}
    if not json_ok or not isinstance(body, dict):
        raise ApiError(400, "INVALID_INPUT", "the body must be a JSON object")
    return body


def _since(query: str) -> int:
    values = parse_qs(query).get("since", ["0"])
    try:
        return int(values[-1])
    except ValueError:
        raise ApiError(400, "INVALID_INPUT", "since must be an integer") from None


def _optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise ApiError(400, "INVALID_INPUT", f"{name} must be a string")
    return value


def handle(
    state: State,
    faults: FaultQueue,
    stats: WireStats,
    method: str,
    path: str,
    query: str,
    body: Any,
    json_ok: bool,
    base_url: str,
) -> Reply:
    name = path[len(PREFIX) :]
    if method in ("GET", "HEAD"):
        if name == "stats":
            return Reply(200, stats.as_json())
        return _read(state, faults, name, query, base_url)
    if method != "POST":
        raise ApiError(405, "METHOD_NOT_ALLOWED", f"{method} is not supported here")
    data = _object(body, json_ok)
    if name == "faults":
        specs = data.get("faults", [])
        if not isinstance(specs, list):
            raise ApiError(400, "INVALID_INPUT", "faults must be a list")
        prefix, key = _optional_str(data, "path_prefix"), _optional_str(data, "key")
        try:
            parsed = [parse_fault(spec, prefix, key) for spec in specs]
        except ValueError as exc:
            raise ApiError(400, "INVALID_INPUT", str(exc)) from None
        faults.add(parsed)
        return Reply(200, {"pending": len(faults.pending())})
    if name == "config":
        try:
            state.configure(data)
        except ValueError as exc:
            raise ApiError(400, "INVALID_INPUT", str(exc)) from None
        return Reply(200, state.config.as_json())
    if name == "reset":
        faults.clear()
        state.reset()
        stats.reset()
        return Reply(200, {"ok": True})
    action = _responder_action(name)
    if action is not None:
        alert_id, verb = action
        if verb == "escalate":
            to, level = _optional_str(data, "to"), data.get("level")
            if not to or not isinstance(level, int) or isinstance(level, bool) or level < 1:
                raise ApiError(400, "INVALID_INPUT", "to (a name) and level (>= 1) are required")
            return Reply(200, state.escalate(alert_id, to, level).as_json(base_url))
        user = _optional_str(data, "user")
        if not user:
            raise ApiError(400, "INVALID_INPUT", "user (the responder's name) is required")
        if verb == "accept":
            alert = state.responder_accept(alert_id, user)
        elif verb == "resolve":
            alert = state.responder_resolve(alert_id, user)
        elif verb == "reassign":
            to = _optional_str(data, "to")
            if not to:
                raise ApiError(400, "INVALID_INPUT", "to (the new responder's name) is required")
            alert = state.responder_reassign(alert_id, user, to)
        else:
            content = _optional_str(data, "content")
            if not content:
                raise ApiError(400, "INVALID_INPUT", "content is required")
            alert = state.responder_comment(alert_id, user, content)
        return Reply(200, alert.as_json(base_url))
    raise ApiError(404, "NOT_FOUND", f"no admin resource {path}")


def _responder_action(name: str) -> tuple[int, str] | None:
    """(alert id, verb) for ``alerts/{id}/accept|resolve|comments|reassign|escalate``."""
    parts = name.split("/")
    if len(parts) == 3 and parts[0] == "alerts" and parts[1].isdigit():
        if parts[2] in ("accept", "resolve", "comments", "reassign", "escalate"):
            return int(parts[1]), parts[2]
    return None


def _read(
    state: State, faults: FaultQueue, name: str, query: str, base_url: str
) -> Reply:
    if name == "health":
        wait = state.until_next_window(state.clock())
        return Reply(200, {"ok": True, "next_window_in": wait})
    if name == "log":
        return Reply(200, state.log(_since(query)))
    if name == "alerts":
        return Reply(200, state.alerts(base_url))
    if name.startswith("alerts/") and name[7:].isdigit():
        alert = state.alert(int(name[7:]), base_url)
        if alert is not None:
            return Reply(200, alert)
    if name == "pings":
        return Reply(200, state.pings())
    if name == "users":
        return Reply(200, state.users())
    if name == "sources":
        return Reply(200, state.sources())
    if name == "faults":
        return Reply(200, [fault.as_json() for fault in faults.pending()])
    if name == "config":
        return Reply(200, state.config.as_json())
    raise ApiError(404, "NOT_FOUND", f"no admin resource /_standin/{name}")
