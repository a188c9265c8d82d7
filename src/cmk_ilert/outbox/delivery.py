"""Deliver outbox entries (or direct requests) in order, within limits.

``Deliverer`` owns the per-key rate limiters of a run and, through ``Sender``
(``sender.py``), its transports and the keys of the events it sends. For each
alert-key group it sends entries
oldest first and stops at the first temporary failure, so a RESOLVE never
overtakes its ALERT; a permanent failure moves the entry to the dead letters
and lets the next one go. Every request is bounded by the run's deadline.
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

from ..base.digest import sha256
from ..base.text import local_time
from ..checkmk.params import named
from ..checkmk.password_store import Lookup
from ..ilert.transport import DELIVERED as OK
from ..ilert.transport import MIN_EXCHANGE, PERMANENT
from . import keyindex
from . import links as alertlinks
from .coalesce import superseded
from .entry import DEAD, DELIVERED, QUEUED, SUPERSEDED, Entry
from .policy import due_at, expired
from .ratelimit import RateLimiter
from .sender import Sender
from .store import Outbox

DEFAULT_RATE_WINDOW = 60.0
SUPERSEDED_DETAIL = ("superseded, not sent: the problem recovered before its ALERT was sent, see "
                     + named("coalesce"))


class Result(NamedTuple):
    """What happened to one event in this run."""

    identity: str
    state: str  # delivered | queued | dead | ignored
    label: str  # "ALERT cmk/site/host"
    detail: str
    rate_limited: bool = False
    alert_url: str = ""


def rate_window(environ: Dict[str, str]) -> float:
    """``CMK_ILERT_RATE_WINDOW`` (seconds) scales iLert's one-minute window,
    for tests and benchmarks only."""
    try:
        value = float(environ.get("CMK_ILERT_RATE_WINDOW", DEFAULT_RATE_WINDOW))
    except ValueError:
        return DEFAULT_RATE_WINDOW
    return value if 0 < value < 86400 else DEFAULT_RATE_WINDOW


def label_of(data: Dict[str, Any]) -> str:
    return "%s %s" % (data.get("event_type", "?"), data.get("alert_key", "?"))


class Deliverer(Sender):
    """Delivers one alert key's entries in order (``deliver_group``), within the
    per-key rate limits; sending one request is ``Sender``'s job."""

    def __init__(self, window: float, sleep: Callable[[float], None] = time.sleep,
                 password_lookup: Optional[Lookup] = None) -> None:
        super().__init__(password_lookup)
        self.window = window
        self._sleep = sleep
        self._limiters: Dict[str, RateLimiter] = {}
        #: Why the last ``deliver_group`` left events queued without a result line for them
        #: (backoff, the client-side rate limit, a 429 pause, the run's time): '' when it did not.
        self.why = ""

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
        rest = list(entries)
        coalescing = True
        self.why = ""
        while rest:
            if coalescing:  # at every new head: after an outage the first RESOLVE goes out, the rest may fold
                rest, coalescing = _coalesce(outbox, rest, results)
                if not rest:
                    break
            entry = rest.pop(0)
            self.learn(entry.data)
            now = time.time()
            label = label_of(entry.data)
            if expired(entry, now):
                reason = "expired after %dh without delivery; last error: %s" % (
                    (now - entry.created) // 3600, entry.data.get("last_error", "none"))
                problem = outbox.dead_letter(entry, reason, now, self.redactor)
                results.append(Result(entry.identity, QUEUED if problem else DEAD, label, _joined(reason, problem)))
                continue
            if not force and due_at(entry, now) > now:
                self.why = "retry %d waits until %s after: %s" % (
                    entry.attempts + 1, local_time(due_at(entry, now)), entry.data.get("last_error", "an error"))
                return results, False  # in backoff: later entries of the key wait too
            if not self.fits(entry.data, deadline):
                self.why = "the run's time budget is used up"
                return results, False  # the run's time is up: the rest stays queued
            # Import requests and build the session *before* taking a slot: the
            # slot's timestamp must not run ahead of the request it stands for.
            self.transport(entry.data)
            limiter = self.limiter(outbox, entry.data)
            while True:
                wait = limiter.acquire()
                if wait <= 0:
                    break
                remaining = deadline - time.monotonic()
                if wait > max_wait or wait > remaining - MIN_EXCHANGE:
                    self.why = _rate_reason(limiter, entry.data, wait)
                    return results, False
                self._sleep(wait)
            if not os.path.lexists(entry.path):
                limiter.release(limiter.last_grant)
                continue  # delivered by another run while we waited
            alert = entry.data.get("event_type") == "ALERT"
            was_closed = outbox.mark_attempt(entry) if alert else False
            outcome = self.send(entry.data, deadline)
            now = time.time()
            if alert and not outcome.may_have_reached:
                outbox.clear_attempt(entry, was_closed)
            if outcome.not_sent:
                limiter.release(limiter.last_grant)
                if outcome.detail.startswith("not sent"):
                    self.why = outcome.detail
                    return results, False
                updated, problem = outbox.reschedule(entry, outcome.detail, now, redact=self.redactor,
                                                     reached=False)
                results.append(Result(entry.identity, QUEUED, label, _joined(
                    "queued for retry: %s, attempt %d, next in %ds" % (
                        outcome.detail, updated.attempts, max(0, int(due_at(updated, now) - now))), problem)))
                return results, False
            limiter.settle(limiter.last_grant, now)
            if outcome.status == OK:
                problem = outbox.mark_delivered(entry)
                if entry.data.get("event_type") == "RESOLVE":
                    outbox.mark_closed(entry.group)
                    keyindex.mark_closed(outbox.root, str(entry.data.get("alert_key", "")))
                detail = "delivered (%s%s)" % (outcome.detail, ", " + outcome.reference if outcome.reference else "")
                # a URL that holds a secret (a server echoing the request) is not iLert's link
                url = outcome.alert_url  # never one that holds (part of) a secret: see send()
                if url:
                    detail += ", alert " + url
                    alertlinks.remember(outbox.root, str(entry.data.get("alert_key", "")), url, now)
                results.append(Result(entry.identity, DELIVERED, label, _joined(detail, problem), alert_url=url))
                follow = comment_followup(entry.data, outcome.detail)
                if follow is not None:
                    queued = _queue_followup(outbox, entry, follow)
                    if queued is not None:
                        rest.insert(0, queued)
                continue
            if outcome.status == PERMANENT:
                problem = outbox.dead_letter(entry, outcome.detail, now, self.redactor)
                results.append(Result(entry.identity, QUEUED if problem else DEAD, label,
                                      _joined("rejected permanently (%s)" % outcome.detail, problem)))
                continue
            if outcome.rate_limited:
                pause = outcome.retry_after if outcome.retry_after is not None else self.window / 4
                until = limiter.pause(pause, now)
                _, problem = outbox.reschedule(entry, outcome.detail, now, backoff=False, redact=self.redactor,
                                               reached=outcome.may_have_reached)
                results.append(Result(entry.identity, QUEUED, label, _joined(
                    "queued: %s, key %s paused %.1fs, until %s" % (
                        outcome.detail, entry.data.get("key_hint", "?"), max(0.0, until - now), local_time(until)),
                    problem), True))
                return results, False
            updated, problem = outbox.reschedule(entry, outcome.detail, now, redact=self.redactor,
                                                 reached=outcome.may_have_reached)
            results.append(Result(entry.identity, QUEUED, label, _joined(
                "queued for retry (%s), attempt %d, next in %ds" % (
                    outcome.detail, updated.attempts, max(0, int(due_at(updated, now) - now))), problem)))
            return results, False
        return results, True


def comment_followup(data: Dict[str, Any], detail: str) -> Optional[Dict[str, Any]]:
    """The COMMENT that carries an ACCEPT's comments when iLert dropped them.

    With ``accept_comments`` the acknowledgement's author and comment travel in the ACCEPT
    itself (one request instead of two). iLert answers an ACCEPT for an alert that is already
    accepted with ALREADY_ACCEPTED and drops its comments: only then the comments follow as a
    COMMENT event (an entry of their own, right behind the ACCEPT). None otherwise.
    """
    if not data.get("comment_followup") or data.get("event_type") != "ACCEPT" or "ALREADY_ACCEPTED" not in detail:
        return None
    request = data.get("request")
    if not isinstance(request, dict):
        return None
    body = request.get("body")
    if not isinstance(body, dict) or not body.get("comments"):
        return None
    keep = ("eventType", "alertKey", "summary", "comments")
    follow = dict(data, event_type="COMMENT", seq=str(data.get("seq", "")) + "-c", attempts=0, next_attempt=0.0,
                  comment_followup=False,
                  request=dict(request, body=dict({k: body[k] for k in keep if k in body}, eventType="COMMENT")))
    for name in ("last_error", "last_attempt", "reached"):
        follow.pop(name, None)
    return follow


def _queue_followup(outbox: Outbox, entry: Entry, follow: Dict[str, Any]) -> Optional[Entry]:
    identity = sha256(("%s/comment" % entry.identity).encode()).hexdigest()[:32]
    try:
        states = outbox.enqueue([(entry.group, identity, follow)])
    except OSError:
        return None
    if not states or states[0][1] != QUEUED:
        return None
    return Entry(outbox.queue_path(entry.group, identity), identity, entry.group, follow)


def _coalesce(outbox: Outbox, entries: List[Entry], results: List[Result]) -> Tuple[List[Entry], bool]:
    """Drop the superseded runs at the head of ``entries`` (reported in ``results``).
    Returns what is left to send and whether coalescing may go on."""
    runs, rest = superseded(entries, outbox.attempted, lambda: outbox.closed(entries[0].group))
    for n, run in enumerate(runs):
        if outbox.supersede(run, time.time()):
            return [e for later in runs[n:] for e in later] + rest, False  # not recorded: delivered as usual
        for entry in run:
            results.append(Result(entry.identity, SUPERSEDED, label_of(entry.data), SUPERSEDED_DETAIL))
    return rest, True


def _rate_reason(limiter: RateLimiter, data: Dict[str, Any], wait: float) -> str:
    """Why a send slot was not granted: iLert's 429 pause or the client-side limit."""
    now = time.time()
    key = "key %s" % data.get("key_hint", "?")
    paused = limiter.paused_until(now)
    if paused > now:
        return "alert source %s paused after iLert's 429 until %s" % (key, local_time(paused))
    return "client-side rate limit: %d/min for alert source %s (%s), next slot at %s" % (
        limiter.limit, key, named("rate_limit"), local_time(now + wait))


def _joined(detail: str, problem: Optional[str]) -> str:
    return detail if not problem else "%s; %s" % (detail, problem)
