"""The stand-in's memory: configuration, alerts, heartbeat pings, rate windows, request log.

Everything lives behind one re-entrant lock (``State.lock``). Endpoint code holds it across a
find-then-modify sequence so concurrent events for one alert key are applied one at a time.

Rate limit: fixed windows of ``rate_window`` seconds, aligned to multiples of the window since
the monotonic time the ``State`` was created (the same boundaries for every key), at most
``rate_limit`` requests per key and window (0 = unlimited). Real iLert documents 50/min per
alert source and **no** ``Retry-After`` header at all; the header is modelled here so clients
can be tested both ways (``retry_after_mode``): "always" (integer seconds, ceil of the time to
the next window, at least 1), "never", "alternate" (every other 429 has it) and
"seconds-float" (a fractional value such as "0.370", only for tests with scaled-down windows).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal, TypedDict, get_args

from .replies import ApiError

RetryAfterMode = Literal["always", "never", "alternate", "seconds-float"]
RETRY_AFTER_MODES: tuple[str, ...] = get_args(RetryAfterMode)
AlertStatus = Literal["PENDING", "ACCEPTED", "RESOLVED"]
AlertsOrder = Literal["asc", "desc"]
ALERTS_ORDERS: tuple[str, ...] = get_args(AlertsOrder)
#: where a checkmk-ext alert carries the sending site (endpoints.checkmk_site_marker); iLert
#: documents none of these: "none" is the documented minimum, the others are assumptions
CheckmkSiteMarker = Literal["none", "custom_details", "links"]
CHECKMK_SITE_MARKERS: tuple[str, ...] = get_args(CheckmkSiteMarker)
#: Who changed an alert: a user (responder) or the alert source (an event). The names follow
#: ilert-go ``AlertResponderTypes`` (USER / SOURCE), used here for ``acknowledgedByType`` and
#: ``resolvedByType`` (an inference: ilert-go does not say which values those fields take).
ActorType = Literal["USER", "SOURCE"]
FIRST_SOURCE_ID = 1001
#: Called with every request the stand-ins of this process log (after it was answered); the
#: test suite validates every event body against the schema derived from iLert's OpenAPI
#: document here (tests/conftest.py). An observer must not raise.
OBSERVERS: list[Callable[[LogEntry], None]] = []


class LogEntry(TypedDict):
    index: int
    mono: float  # time.monotonic() when the request was read
    time: float  # time.time() when the request was read
    method: str
    path: str  # as requested, query string included
    key: str | None  # integration or heartbeat key the request named, if any
    status: int | str  # HTTP status answered, or "reset" / "drop"
    body: Any  # decoded JSON body, else the raw text, None when empty
    headers: dict[str, str]
    fault: str | None  # the fault spec applied, if any
    response: Any  # the JSON body answered, None when empty


@dataclass
class Config:
    keys: set[str] = field(default_factory=set)
    unauthorized_keys: set[str] = field(default_factory=set)
    heartbeat_keys: set[str] = field(default_factory=set)
    rate_limit: int = 50
    rate_window: float = 60.0
    retry_after_mode: RetryAfterMode = "always"
    empty_202_body: bool = False
    #: user API keys (REST API, ``Authorization: Bearer <key>``) allowed to read alerts
    user_api_keys: set[str] = field(default_factory=set)
    #: user API keys that authenticate but lack the permission to read alerts (403)
    user_api_keys_no_read: set[str] = field(default_factory=set)
    #: requests per user API key and rate window (iLert documents 120/min); 0 = unlimited
    api_rate_limit: int = 120
    #: numeric alert source id per integration key; keys without one get the next free id
    source_ids: dict[str, int] = field(default_factory=dict)
    #: alert source name per integration key (default "Alert source <id>")
    source_names: dict[str, str] = field(default_factory=dict)
    #: integration type per key, ``api`` or ``checkmk``: a typed key is only found by its own
    #: endpoint (``/api/events`` or ``/api/v1/events/checkmk-ext/{key}``) and answered 404
    #: NO_ALERT_SOURCE_FOUND on the other; an untyped key is accepted on both
    source_types: dict[str, str] = field(default_factory=dict)
    #: seconds added to the wall clock for every timestamp the stand-in hands out
    #: (reportTime, acceptedAt, resolvedOn ...); lets a test create "old" alerts
    clock_offset: float = 0.0
    #: order of ``GET /api/alerts`` (by reportTime, then id); iLert documents none
    alerts_order: AlertsOrder = "asc"
    #: what a checkmk-ext alert tells about the Checkmk site that sent it (assumed; see
    #: endpoints.checkmk_site_marker): nothing, ``customDetails.OMD_SITE``, or ``links``
    checkmk_site_marker: CheckmkSiteMarker = "none"
    #: whether ``GET /api/alerts/{id}/log-entries?include=vars`` serves ``vars`` (who, what);
    #: iLert documents the parameter but not what ``vars`` carry (alerts_api.py, log entries)
    log_entry_vars: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "keys": sorted(self.keys),
            "unauthorized_keys": sorted(self.unauthorized_keys),
            "heartbeat_keys": sorted(self.heartbeat_keys),
            "rate_limit": self.rate_limit,
            "rate_window": self.rate_window,
            "retry_after_mode": self.retry_after_mode,
            "empty_202_body": self.empty_202_body,
            "user_api_keys": sorted(self.user_api_keys),
            "user_api_keys_no_read": sorted(self.user_api_keys_no_read),
            "api_rate_limit": self.api_rate_limit,
            "source_ids": dict(sorted(self.source_ids.items())),
            "source_names": dict(sorted(self.source_names.items())),
            "source_types": dict(sorted(self.source_types.items())),
            "clock_offset": self.clock_offset,
            "alerts_order": self.alerts_order,
            "checkmk_site_marker": self.checkmk_site_marker,
            "log_entry_vars": self.log_entry_vars,
        }


def _key_set(name: str, value: object) -> set[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"{name} must be a list of strings")
    keys = set(value)
    if not all(isinstance(key, str) and key for key in keys):
        raise ValueError(f"{name} must be a list of non-empty strings")
    return keys


_KEY_SETS = (
    "keys",
    "unauthorized_keys",
    "heartbeat_keys",
    "user_api_keys",
    "user_api_keys_no_read",
)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _source_ids(value: object) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise ValueError("source_ids must map integration keys to ids")
    ids = dict(value)
    for key, source_id in ids.items():
        if not isinstance(key, str) or not key:
            raise ValueError("source_ids: keys must be non-empty strings")
        if not _is_int(source_id) or source_id <= 0:
            raise ValueError("source_ids: ids must be integers > 0")
    if len(set(ids.values())) != len(ids):
        raise ValueError("source_ids: two keys share one id")
    return ids


def _source_names(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError("source_names must map integration keys to names")
    return dict(value)


SOURCE_TYPES = ("api", "checkmk")


def _source_types(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and k and v in SOURCE_TYPES for k, v in value.items()
    ):
        raise ValueError(f"source_types must map integration keys to one of {SOURCE_TYPES}")
    return dict(value)


def checked_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Validate configuration changes; raise ``ValueError`` naming the bad one."""
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if name in _KEY_SETS:
            out[name] = _key_set(name, value)
        elif name in ("rate_limit", "api_rate_limit"):
            if not _is_int(value) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0")
            out[name] = value
        elif name == "source_ids":
            out[name] = _source_ids(value)
        elif name == "source_names":
            out[name] = _source_names(value)
        elif name == "source_types":
            out[name] = _source_types(value)
        elif name == "clock_offset":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not ok or not math.isfinite(value):
                raise ValueError("clock_offset must be a finite number of seconds")
            out[name] = float(value)
        elif name == "alerts_order":
            if value not in ALERTS_ORDERS:
                raise ValueError(f"alerts_order must be one of {ALERTS_ORDERS}")
            out[name] = value
        elif name == "checkmk_site_marker":
            if value not in CHECKMK_SITE_MARKERS:
                raise ValueError(f"checkmk_site_marker must be one of {CHECKMK_SITE_MARKERS}")
            out[name] = value
        elif name == "rate_window":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not ok or not 0 < value < math.inf:
                raise ValueError("rate_window must be a number of seconds > 0")
            out[name] = float(value)
        elif name == "retry_after_mode":
            if value not in RETRY_AFTER_MODES:
                raise ValueError(f"retry_after_mode must be one of {RETRY_AFTER_MODES}")
            out[name] = value
        elif name in ("empty_202_body", "log_entry_vars"):
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false")
            out[name] = value
        else:
            raise ValueError(f"unknown setting {name!r}")
    return out


def alert_url(base_url: str, alert_id: int) -> str:
    """Where an alert "lives": ``<base>/alert/<id>``, like iLert's web app links."""
    return f"{base_url}/alert/{alert_id}"


def iso_time(epoch: float) -> str:
    """iLert's date-time form: ISO-8601 UTC with milliseconds and ``Z``."""
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Actor:
    """Who changed an alert: a responder (``USER``, with a user name) or the alert source."""

    type: ActorType
    user: str | None = None


@dataclass
class Alert:
    id: int
    source_key: str
    alert_key: str  # as the first event spelled it
    origin: str  # "events" or "checkmk-ext"
    summary: str
    fields: dict[
        str, Any
    ]  # details, priority, links, ... of the first event (camelCase)
    created_at: float  # wall clock (plus clock_offset): iLert's reportTime
    status: AlertStatus = "PENDING"
    comments: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    accepted_at: float | None = None
    resolved_at: float | None = None
    accepted_by: Actor | None = None
    resolved_by: Actor | None = None
    #: responders in acceptance order: {"user": name, "status": ..., "acceptedAt": epoch}
    responders: list[dict[str, Any]] = field(default_factory=list)
    #: what happened to the alert, in order: {"id", "time", "action", "byType", "by", "text",
    #: "vars"}; served as its log entries (alerts_api.log_entries); ids increase across alerts
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def folded_key(self) -> str:
        return self.alert_key.casefold()

    @property
    def integration_type(self) -> str:
        return "CHECKMK" if self.origin == "checkmk-ext" else "API"

    def as_json(self, base_url: str) -> dict[str, Any]:
        """The admin view: everything the stand-in knows, integration key included."""
        return {
            "id": self.id,
            "alertKey": self.alert_key,
            "key": self.folded_key,
            "sourceKey": self.source_key,
            "origin": self.origin,
            "status": self.status,
            "summary": self.summary,
            **self.fields,
            "comments": [dict(c) for c in self.comments],
            "events": [dict(e) for e in self.events],
            "history": [dict(h) for h in self.history],
            "responders": [dict(r) for r in self.responders],
            "createdAt": self.created_at,
            "reportTime": iso_time(self.created_at),
            "acceptedAt": self.accepted_at,
            "resolvedAt": self.resolved_at,
            "acceptedBy": self.accepted_by.user if self.accepted_by else None,
            "acceptedByType": self.accepted_by.type if self.accepted_by else None,
            "resolvedBy": self.resolved_by.user if self.resolved_by else None,
            "resolvedByType": self.resolved_by.type if self.resolved_by else None,
            "alertUrl": alert_url(base_url, self.id),
        }


class State:
    def __init__(
        self, config: Config, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.lock = threading.RLock()
        self.config = config
        self.clock = clock
        self.origin = clock()
        self._alerts: list[Alert] = []
        self._open: dict[tuple[str, str], Alert] = {}
        self._pings: list[dict[str, Any]] = []
        self._log: list[LogEntry] = []
        self._windows: dict[str, tuple[int, int]] = {}
        self._throttled = 0
        self._users: dict[str, dict[str, Any]] = {}
        self._next_log_id = 1
        self._assign_source_ids()

    # -- configuration -----------------------------------------------------------------
    def configure(self, changes: Mapping[str, Any]) -> None:
        checked = checked_changes(changes)
        with self.lock:
            for name, value in checked.items():
                setattr(self.config, name, value)
            if {"rate_window", "rate_limit", "api_rate_limit"} & set(checked):
                self._windows.clear()
            self._assign_source_ids()

    def wall(self) -> float:
        """The stand-in's wall clock: ``time.time()`` plus the configured offset."""
        return time.time() + self.config.clock_offset

    # -- alert sources -----------------------------------------------------------------
    def _assign_source_ids(self) -> None:
        """Every integration key gets an id: configured, else the next free one (keys in
        sorted order, from 1001), so a test knows a key's id without asking."""
        with self.lock:
            for key in sorted(self.config.keys | self.config.unauthorized_keys):
                self.source_id(key)

    def source_id(self, key: str) -> int:
        with self.lock:
            ids = self.config.source_ids
            if key not in ids:
                ids[key] = max(ids.values(), default=FIRST_SOURCE_ID - 1) + 1
            return ids[key]

    def sources(self) -> dict[str, dict[str, Any]]:
        """Every integration key with its alert source id and name (admin view)."""
        with self.lock:
            self._assign_source_ids()
            return {
                key: {
                    "id": source_id,
                    "name": self.config.source_names.get(key, f"Alert source {source_id}"),
                }
                for key, source_id in sorted(self.config.source_ids.items())
            }

    def source_json(self, alert: Alert) -> dict[str, Any]:
        """An alert's ``alertSource`` object (a subset of the OAS ``AlertSource``)."""
        source_id = self.source_id(alert.source_key)
        name = self.config.source_names.get(alert.source_key, f"Alert source {source_id}")
        return {"id": source_id, "name": name, "integrationType": alert.integration_type}

    # -- users (responders) ------------------------------------------------------------
    def user(self, name: str) -> dict[str, Any]:
        """The user object (OAS ``User`` subset) for a responder name, created on first use."""
        with self.lock:
            found = self._users.get(name)
            if found is None:
                first, _, last = name.partition(" ")
                slug = "".join(c for c in name.lower() if c.isalnum()) or "user"
                found = {
                    "id": 101 + len(self._users),
                    "firstName": first,
                    "lastName": last,
                    "email": f"{slug}@example.invalid",
                }
                self._users[name] = found
            return dict(found)

    def users(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(user, name=name) for name, user in self._users.items()]

    def check_source(self, key: str, endpoint: str | None = None) -> None:
        """Raise the answer iLert gives for a key that is not a usable alert source.

        ``endpoint`` (``api`` or ``checkmk``) is the kind of endpoint the key was posted to. A key
        of an alert source of the other type gets the answer of an unknown key: an assumption, as
        iLert documents no answer for it (its OpenAPI document lists only 202 for ``/events``)."""
        if key in self.config.unauthorized_keys:
            raise ApiError(
                401, "UNAUTHORIZED", "this integration key is not authorized"
            )
        if key not in self.config.keys:
            raise ApiError(404, "NO_ALERT_SOURCE_FOUND", "no alert source for this key")
        typed = self.config.source_types.get(key)
        if endpoint is not None and typed is not None and typed != endpoint:
            raise ApiError(404, "NO_ALERT_SOURCE_FOUND", "no alert source for this key")

    # -- rate limiting -----------------------------------------------------------------
    def rate_limited(self, key: str, now: float, user_api_key: bool = False) -> bool:
        """Count a request for ``key``; True when the current window is already full.

        Integration keys count against ``rate_limit``, user API keys (REST API) against
        ``api_rate_limit``, each key in its own window."""
        with self.lock:
            limit = self.config.api_rate_limit if user_api_key else self.config.rate_limit
            if limit <= 0:
                return False
            bucket = f"user-api-key\0{key}" if user_api_key else key
            index = int((now - self.origin) // self.config.rate_window)
            window = self._windows.get(bucket)
            count = window[1] if window is not None and window[0] == index else 0
            if count >= limit:
                return True
            self._windows[bucket] = (index, count + 1)
            return False

    def until_next_window(self, now: float) -> float:
        width = self.config.rate_window
        elapsed = now - self.origin
        return (math.floor(elapsed / width) + 1) * width - elapsed

    def retry_after(self, now: float) -> str | None:
        """The Retry-After value for a 429 under the configured mode (None: no header)."""
        with self.lock:
            self._throttled += 1
            mode = self.config.retry_after_mode
            if mode == "never" or (mode == "alternate" and self._throttled % 2 == 0):
                return None
            wait = self.until_next_window(now)
            if mode == "seconds-float":
                return f"{max(wait, 0.001):.3f}"
            return str(max(1, math.ceil(wait)))

    # -- alerts ------------------------------------------------------------------------
    def find_open(self, source_key: str, alert_key: str) -> Alert | None:
        return self._open.get((source_key, alert_key.casefold()))

    def create_alert(
        self,
        source_key: str,
        alert_key: str,
        origin: str,
        summary: str,
        fields: dict[str, Any],
    ) -> Alert:
        with self.lock:
            alert = Alert(
                id=len(self._alerts) + 1,
                source_key=source_key,
                alert_key=alert_key,
                origin=origin,
                summary=summary,
                fields=fields,
                created_at=self.wall(),
            )
            self._alerts.append(alert)
            self._open[(source_key, alert.folded_key)] = alert
            self.add_history(alert, "ALERT", Actor("SOURCE"), "alert created")
            return alert

    def add_history(
        self,
        alert: Alert,
        action: str,
        actor: Actor,
        text: str,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        with self.lock:
            alert.history.append(
                {
                    "id": self._next_log_id,
                    "time": self.wall(),
                    "action": action,
                    "byType": actor.type,
                    "by": actor.user,
                    "text": text,
                    "vars": dict(extra or {}),
                }
            )
            self._next_log_id += 1

    def set_status(
        self, alert: Alert, status: AlertStatus, actor: Actor | None = None
    ) -> None:
        """Accept or resolve ``alert``; ``actor`` defaults to the alert source (an event)."""
        actor = actor or Actor("SOURCE")
        with self.lock:
            now = self.wall()
            alert.status = status
            if status == "ACCEPTED":
                alert.accepted_at, alert.accepted_by = now, actor
                if actor.user is not None:
                    alert.responders.append(
                        {"user": actor.user, "status": "ACCEPTED", "acceptedAt": now}
                    )
            elif status == "RESOLVED":
                alert.resolved_at, alert.resolved_by = now, actor
                self._open.pop((alert.source_key, alert.folded_key), None)
            verb = "accepted" if status == "ACCEPTED" else "resolved"
            by = f" by {actor.user}" if actor.user else " by the alert source"
            action = "ACCEPT" if status == "ACCEPTED" else "RESOLVE"
            self.add_history(alert, action, actor, verb + by)

    def get(self, alert_id: int) -> Alert | None:
        with self.lock:
            if 1 <= alert_id <= len(self._alerts):
                return self._alerts[alert_id - 1]
            return None

    def snapshot(self) -> list[Alert]:
        with self.lock:
            return list(self._alerts)

    # -- what a responder does in iLert's app (admin API) ------------------------------
    def _existing(self, alert_id: int) -> Alert:
        alert = self.get(alert_id)
        if alert is None:
            raise ApiError(404, "NOT_FOUND", f"no alert with id {alert_id}")
        return alert

    def responder_accept(self, alert_id: int, user: str) -> Alert:
        with self.lock:
            alert = self._existing(alert_id)
            if alert.status == "RESOLVED":
                raise ApiError(400, "ALERT_ALREADY_RESOLVED", "the alert is resolved")
            if alert.status == "ACCEPTED":
                raise ApiError(
                    400, "ALERT_ALREADY_ACCEPTED", "the alert is already accepted"
                )
            self.user(user)
            self.set_status(alert, "ACCEPTED", Actor("USER", user))
            return alert

    def responder_resolve(self, alert_id: int, user: str) -> Alert:
        with self.lock:
            alert = self._existing(alert_id)
            if alert.status == "RESOLVED":
                raise ApiError(400, "ALERT_ALREADY_RESOLVED", "the alert is resolved")
            self.user(user)
            self.set_status(alert, "RESOLVED", Actor("USER", user))
            return alert

    def responder_comment(self, alert_id: int, user: str, content: str) -> Alert:
        with self.lock:
            alert = self._existing(alert_id)
            self.user(user)
            alert.comments.append({"creator": user, "content": content})
            self.add_history(
                alert, "COMMENT", Actor("USER", user), content, {"comment": content}
            )
            return alert

    def responder_reassign(self, alert_id: int, user: str, to: str) -> Alert:
        """``user`` assigns an accepted (or pending) alert to ``to``: it is PENDING again,
        nobody has accepted it (the stand-in's model of an "un-accept"; see alerts_api.py)."""
        with self.lock:
            alert = self._existing(alert_id)
            if alert.status == "RESOLVED":
                raise ApiError(400, "ALERT_ALREADY_RESOLVED", "the alert is resolved")
            self.user(user)
            self.user(to)
            alert.status = "PENDING"
            alert.accepted_at, alert.accepted_by = None, None
            alert.responders.clear()
            self.add_history(
                alert, "ASSIGN", Actor("USER", user), f"assigned to {to}", {"assignee": to}
            )
            return alert

    def escalate(self, alert_id: int, to: str, level: int) -> Alert:
        """The escalation policy moves a pending alert to ``level`` (responder ``to``)."""
        with self.lock:
            alert = self._existing(alert_id)
            if alert.status != "PENDING":
                raise ApiError(400, "ALERT_NOT_PENDING", "only a pending alert escalates")
            self.user(to)
            self.add_history(
                alert,
                "ESCALATE",
                Actor("SOURCE"),
                f"escalated to level {level} ({to})",
                {"level": str(level), "assignee": to},
            )
            return alert

    def add_log_entries(self, alert_id: int, count: int) -> Alert:
        """``count`` notification log entries (test volume: an alert with a long log)."""
        with self.lock:
            alert = self._existing(alert_id)
            for n in range(count):
                self.add_history(alert, "NOTIFY", Actor("SOURCE"), f"notification {n + 1} sent")
            return alert

    def alerts(self, base_url: str) -> list[dict[str, Any]]:
        with self.lock:
            return [alert.as_json(base_url) for alert in self._alerts]

    def alert(self, alert_id: int, base_url: str) -> dict[str, Any] | None:
        with self.lock:
            found = self.get(alert_id)
            return None if found is None else found.as_json(base_url)

    # -- heartbeats, request log -------------------------------------------------------
    def add_ping(
        self, key: str, method: str, path: str, mono: float, wall: float
    ) -> None:
        with self.lock:
            self._pings.append(
                {"key": key, "method": method, "path": path, "mono": mono, "time": wall}
            )

    def pings(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(ping) for ping in self._pings]

    def record(self, entry: LogEntry) -> None:
        with self.lock:
            entry["index"] = len(self._log)
            self._log.append(entry)
        for observer in list(OBSERVERS):
            observer(entry)

    def log(self, since: int = 0) -> list[LogEntry]:
        with self.lock:
            return [LogEntry(**entry) for entry in self._log[max(since, 0) :]]

    def reset(self) -> None:
        with self.lock:
            self._alerts.clear()
            self._open.clear()
            self._pings.clear()
            self._log.clear()
            self._windows.clear()
            self._throttled = 0
            self._users.clear()
            self._next_log_id = 1
