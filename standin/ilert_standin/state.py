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
from typing import Any, Literal, TypedDict, get_args

from .replies import ApiError

RetryAfterMode = Literal["always", "never", "alternate", "seconds-float"]
RETRY_AFTER_MODES: tuple[str, ...] = get_args(RetryAfterMode)
AlertStatus = Literal["PENDING", "ACCEPTED", "RESOLVED"]


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

    def as_json(self) -> dict[str, Any]:
        return {
            "keys": sorted(self.keys),
            "unauthorized_keys": sorted(self.unauthorized_keys),
            "heartbeat_keys": sorted(self.heartbeat_keys),
            "rate_limit": self.rate_limit,
            "rate_window": self.rate_window,
            "retry_after_mode": self.retry_after_mode,
            "empty_202_body": self.empty_202_body,
        }


def _key_set(name: str, value: object) -> set[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"{name} must be a list of strings")
    keys = set(value)
    if not all(isinstance(key, str) and key for key in keys):
        raise ValueError(f"{name} must be a list of non-empty strings")
    return keys


def checked_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Validate configuration changes; raise ``ValueError`` naming the bad one."""
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if name in ("keys", "unauthorized_keys", "heartbeat_keys"):
            out[name] = _key_set(name, value)
        elif name == "rate_limit":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError("rate_limit must be an integer >= 0")
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
        elif name == "empty_202_body":
            if not isinstance(value, bool):
                raise ValueError("empty_202_body must be true or false")
            out[name] = value
        else:
            raise ValueError(f"unknown setting {name!r}")
    return out


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
    created_at: float
    status: AlertStatus = "PENDING"
    comments: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    accepted_at: float | None = None
    resolved_at: float | None = None

    @property
    def folded_key(self) -> str:
        return self.alert_key.casefold()

    def as_json(self, base_url: str) -> dict[str, Any]:
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
            "createdAt": self.created_at,
            "acceptedAt": self.accepted_at,
            "resolvedAt": self.resolved_at,
            "alertUrl": f"{base_url}/_standin/alerts/{self.id}",
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

    # -- configuration -----------------------------------------------------------------
    def configure(self, changes: Mapping[str, Any]) -> None:
        checked = checked_changes(changes)
        with self.lock:
            for name, value in checked.items():
                setattr(self.config, name, value)
            if "rate_window" in checked or "rate_limit" in checked:
                self._windows.clear()

    def check_source(self, key: str) -> None:
        """Raise the answer iLert gives for a key that is not a usable alert source."""
        if key in self.config.unauthorized_keys:
            raise ApiError(
                401, "UNAUTHORIZED", "this integration key is not authorized"
            )
        if key not in self.config.keys:
            raise ApiError(404, "NO_ALERT_SOURCE_FOUND", "no alert source for this key")

    # -- rate limiting -----------------------------------------------------------------
    def rate_limited(self, key: str, now: float) -> bool:
        """Count a request for ``key``; True when the current window is already full."""
        with self.lock:
            limit = self.config.rate_limit
            if limit <= 0:
                return False
            index = int((now - self.origin) // self.config.rate_window)
            window = self._windows.get(key)
            count = window[1] if window is not None and window[0] == index else 0
            if count >= limit:
                return True
            self._windows[key] = (index, count + 1)
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
                created_at=time.time(),
            )
            self._alerts.append(alert)
            self._open[(source_key, alert.folded_key)] = alert
            return alert

    def set_status(self, alert: Alert, status: AlertStatus) -> None:
        with self.lock:
            alert.status = status
            if status == "ACCEPTED":
                alert.accepted_at = time.time()
            elif status == "RESOLVED":
                alert.resolved_at = time.time()
                self._open.pop((alert.source_key, alert.folded_key), None)

    def alerts(self, base_url: str) -> list[dict[str, Any]]:
        with self.lock:
            return [alert.as_json(base_url) for alert in self._alerts]

    def alert(self, alert_id: int, base_url: str) -> dict[str, Any] | None:
        with self.lock:
            if 1 <= alert_id <= len(self._alerts):
                return self._alerts[alert_id - 1].as_json(base_url)
            return None

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
