"""Deliver outbox entries (or direct requests) in order, within limits.

``Deliverer`` owns the HTTP transports of a run (one per transport setting,
so a bulk call reuses one session) and the per-key rate limiters. For each
alert-key group it sends entries oldest first and stops at the first
temporary failure, so a RESOLVE never overtakes its ALERT; a permanent
failure moves the entry to the dead letters and lets the next one go.
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Dict, List, NamedTuple, Tuple

from .outbox import DEAD, DELIVERED, QUEUED, Entry, Outbox, expired
from .params import Proxy
from .ratelimit import RateLimiter
from .secret import Secret
from .transport import DELIVERED as OK
from .transport import PERMANENT, Outcome, Transport, TransportConfig
from .wire import WireRequest

DEFAULT_RATE_WINDOW = 60.0


class Result(NamedTuple):
    """What happened to one event in this run."""

    identity: str
    state: str  # delivered | queued | dead | ignored
    label: str  # "ALERT cmk/site/host"
    detail: str
    rate_limited: bool = False


def rate_window(environ: Dict[str, str]) -> float:
    """``CMK_ILERT_RATE_WINDOW`` (seconds) scales iLert's one-minute window,
    for tests and benchmarks only."""
    try:
        value = float(environ.get("CMK_ILERT_RATE_WINDOW", DEFAULT_RATE_WINDOW))
    except ValueError:
        return DEFAULT_RATE_WINDOW
    return value if value > 0 else DEFAULT_RATE_WINDOW


def transport_config(data: Dict[str, Any]) -> TransportConfig:
    t = data.get("transport", {})
    url = t.get("proxy_url")
    return TransportConfig(
        float(t.get("timeout", 10.0)),
        bool(t.get("verify", True)),
        Proxy(str(t.get("proxy_mode", "environment")), Secret(url) if url else None),
    )


def wire_request(data: Dict[str, Any]) -> WireRequest:
    req = data["request"]
    return WireRequest(req["url"], req["body"], str(data.get("endpoint", "")), str(data.get("key_hint", "")))


def label_of(data: Dict[str, Any]) -> str:
    return "%s %s" % (data.get("event_type", "?"), data.get("alert_key", "?"))


class Deliverer:
    def __init__(self, window: float, sleep: Callable[[float], None] = time.sleep) -> None:
        self.window = window
        self._sleep = sleep
        self._transports: Dict[TransportConfig, Transport] = {}
        #: After the first request of a run, a request is only started if a full
        #: timeout still fits the run's budget (Checkmk kills plugins at 60 s).
        self.sent_any = False
        self._limiters: Dict[str, RateLimiter] = {}

    def close(self) -> None:
        for transport in self._transports.values():
            transport.close()
        self._transports.clear()

    def transport(self, data: Dict[str, Any]) -> Transport:
        config = transport_config(data)
        transport = self._transports.get(config)
        if transport is None:
            transport = self._transports[config] = Transport(config)
        return transport

    def send(self, data: Dict[str, Any]) -> Outcome:
        return self.transport(data).send(wire_request(data))

    def limiter(self, outbox: Outbox, data: Dict[str, Any]) -> RateLimiter:
        key = str(data.get("rate_key", "default"))
        limit = int(data.get("rate_limit", 50))
        limiter = self._limiters.get(key)
        if limiter is None or limiter.limit != limit:
            limiter = self._limiters[key] = RateLimiter(outbox.rate_path(key), limit, self.window)
        return limiter

    def deliver_group(
        self,
        outbox: Outbox,
        entries: List[Entry],
        deadline: float,
        max_wait: float,
        force: bool = False,
    ) -> Tuple[List[Result], bool]:
        """Send ``entries`` (one group, oldest first). Returns the results and
        whether the group was drained completely."""
        results: List[Result] = []
        for entry in entries:
            now = time.time()
            label = label_of(entry.data)
            if expired(entry, now):
                reason = "expired after %dh without delivery; last error: %s" % (
                    (now - entry.created) // 3600, entry.data.get("last_error", "none"))
                outbox.dead_letter(entry, reason, now)
                results.append(Result(entry.identity, DEAD, label, reason))
                continue
            if not force and entry.next_attempt > now:
                return results, False  # in backoff: later entries of the key wait too
            if self.sent_any and deadline - time.monotonic() < transport_config(entry.data).timeout:
                return results, False  # another slow request would overrun the run's time budget
            # Import requests and build the session *before* taking a slot: the
            # slot's timestamp must not run ahead of the request it stands for.
            self.transport(entry.data)
            limiter = self.limiter(outbox, entry.data)
            while True:
                wait = limiter.acquire()
                if wait <= 0:
                    break
                remaining = deadline - time.monotonic()
                if wait > max_wait or wait > remaining:
                    return results, False
                self._sleep(wait)
            if not os.path.exists(entry.path):
                continue  # delivered by another run while we waited
            self.sent_any = True
            outcome = self.send(entry.data)
            now = time.time()
            limiter.settle(limiter.last_grant, now)
            if outcome.status == OK:
                outbox.mark_delivered(entry)
                detail = "delivered (%s%s)" % (outcome.detail, ", " + outcome.reference if outcome.reference else "")
                results.append(Result(entry.identity, DELIVERED, label, detail))
                continue
            if outcome.status == PERMANENT:
                outbox.dead_letter(entry, outcome.detail, now)
                results.append(Result(entry.identity, DEAD, label, "rejected permanently (%s)" % outcome.detail))
                continue
            if outcome.rate_limited:
                pause = outcome.retry_after if outcome.retry_after is not None else self.window / 4
                limiter.pause(pause, now)
                outbox.reschedule(entry, outcome.detail, now, backoff=False)
                results.append(Result(entry.identity, QUEUED, label,
                                      "queued: %s, key paused %.1fs" % (outcome.detail, pause), True))
                return results, False
            updated = outbox.reschedule(entry, outcome.detail, now)
            results.append(Result(entry.identity, QUEUED, label, "queued for retry (%s), attempt %d, next in %ds" % (
                outcome.detail, updated.attempts, max(0, int(updated.next_attempt - now)))))
            return results, False
        return results, True
