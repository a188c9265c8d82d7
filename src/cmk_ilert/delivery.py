"""Deliver outbox entries (or direct requests) in order, within limits.

``Deliverer`` owns the HTTP transports of a run (one per transport setting,
so a bulk call reuses one session), the per-key rate limiters and the keys of
the events it sends (resolved from the password store at send time when the
entry only holds a store id). For each alert-key group it sends entries
oldest first and stops at the first temporary failure, so a RESOLVE never
overtakes its ALERT; a permanent failure moves the entry to the dead letters
and lets the next one go. Every request is bounded by the run's deadline.
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

from . import alertlinks, keyindex
from .coalesce import superseded
from .outbox import DEAD, DELIVERED, QUEUED, SUPERSEDED, Entry, Outbox, due_at, expired
from .output import Redactor
from .params import Proxy, proxy_secrets
from .password_store import Lookup, site_lookup
from .ratelimit import RateLimiter
from .secret import Secret, shares_fragment
from .transport import DELIVERED as OK
from .transport import MIN_EXCHANGE, PERMANENT, TEMPORARY, Outcome, Transport, TransportConfig
from .wire import KEY_IN_BODY, KEY_IN_PATH, finalize, request_headers

DEFAULT_RATE_WINDOW = 60.0
SUPERSEDED_DETAIL = "superseded, not sent: the problem recovered before its ALERT was sent, see coalesce"


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


def transport_config(data: Dict[str, Any]) -> TransportConfig:
    t = data.get("transport", {})
    url = t.get("proxy_url")
    return TransportConfig(
        float(t.get("timeout", 10.0)),
        bool(t.get("verify", True)),
        Proxy(str(t.get("proxy_mode", "environment")), Secret(url) if url else None),
    )


def label_of(data: Dict[str, Any]) -> str:
    return "%s %s" % (data.get("event_type", "?"), data.get("alert_key", "?"))


def entry_secrets(data: Dict[str, Any], key: Optional[str] = None) -> List[str]:
    """Every secret an entry carries or stands for: its key (also one written
    into the request by an older version) and proxy credentials."""
    found: List[str] = [key] if key else []
    ref = data.get("key")
    if isinstance(ref, dict) and isinstance(ref.get("value"), str):
        found.append(ref["value"])
    request = data.get("request")
    if isinstance(request, dict) and request.get("key_in") not in (KEY_IN_BODY, KEY_IN_PATH):
        body = request.get("body")
        if isinstance(body, dict) and isinstance(body.get("integrationKey"), str):
            found.append(body["integrationKey"])
        url = request.get("url")
        if isinstance(url, str) and "/checkmk-ext/" in url:
            from urllib.parse import unquote

            found.append(unquote(url.rsplit("/", 1)[-1]))
    proxy = data.get("transport", {}).get("proxy_url") if isinstance(data.get("transport"), dict) else None
    if isinstance(proxy, str):
        found.extend(proxy_secrets(proxy))
    return [s for s in found if s]


class Deliverer:
    def __init__(self, window: float, sleep: Callable[[float], None] = time.sleep,
                 password_lookup: Optional[Lookup] = None) -> None:
        self.window = window
        self._sleep = sleep
        self._lookup = password_lookup or site_lookup
        self._transports: Dict[TransportConfig, Transport] = {}
        self._limiters: Dict[str, RateLimiter] = {}
        #: keys resolved from the password store in this run, by store id
        self.keys: Dict[str, str] = {}
        #: every secret of the entries handled so far (for the printer and the dead letters)
        self.redactor = Redactor()
        #: After the first request of a run, a request is only started if its full
        #: timeout still fits the run's budget (Checkmk kills plugins at 60 s); the
        #: first one gets what is left of the budget if that is less.
        self.sent_any = False

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

    def key_of(self, data: Dict[str, Any]) -> Tuple[str, str]:
        """(key, problem): the integration key of an entry, resolving a store id now.
        An entry written before keys were kept apart has it inside the request ('')."""
        ref = data.get("key")
        if not isinstance(ref, dict):
            return "", ""
        if isinstance(ref.get("value"), str):
            return ref["value"], ""
        store_id = str(ref.get("store", ""))
        key = self.keys.get(store_id)
        if key is None:
            found = self._lookup(store_id)
            if not found:
                return "", "password store entry '%s' is not readable now" % store_id[:80]
            key = self.keys[store_id] = found.strip()
        return key, ""

    def learn(self, data: Dict[str, Any]) -> Tuple[str, str]:
        """Resolve the entry's key and remember its secrets for redaction."""
        key, problem = self.key_of(data)
        self.redactor.add(entry_secrets(data, key))
        return key, problem

    def fits(self, data: Dict[str, Any], deadline: float) -> bool:
        """Whether a request for ``data`` may start now within the run's budget."""
        remaining = deadline - time.monotonic()
        timeout = transport_config(data).timeout
        if remaining < min(timeout, MIN_EXCHANGE):
            return False
        return not self.sent_any or remaining >= timeout

    def send(self, data: Dict[str, Any], deadline: float) -> Outcome:
        self.sent_any = True
        key, problem = self.learn(data)
        if problem:
            return Outcome(TEMPORARY, problem, not_sent=True)
        request = data["request"]
        url, body = finalize(request["url"], request["body"], str(request.get("key_in", "")), key)
        headers = request_headers(str(data.get("endpoint", "")))
        outcome = self.transport(data).post_json(url, body, deadline, headers)
        # What the answer says is shown and kept; a server that echoes the request (or part of
        # the key: the redactor finds only whole secrets) has its words dropped, not printed.
        secrets = [s for s in self.redactor.secrets if "://" not in s]  # keys, passwords; not whole proxy URLs
        if outcome.reference and shares_fragment(outcome.reference, secrets):
            outcome = outcome._replace(reference="")
        if outcome.alert_url and shares_fragment(outcome.alert_url, secrets):
            outcome = outcome._replace(alert_url="")
        return outcome

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
                return results, False  # in backoff: later entries of the key wait too
            if not self.fits(entry.data, deadline):
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
                    "queued: %s, key paused %.1fs" % (outcome.detail, max(0.0, until - now)), problem), True))
                return results, False
            updated, problem = outbox.reschedule(entry, outcome.detail, now, redact=self.redactor,
                                                 reached=outcome.may_have_reached)
            results.append(Result(entry.identity, QUEUED, label, _joined(
                "queued for retry (%s), attempt %d, next in %ds" % (
                    outcome.detail, updated.attempts, max(0, int(due_at(updated, now) - now))), problem)))
            return results, False
        return results, True


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


def _joined(detail: str, problem: Optional[str]) -> str:
    return detail if not problem else "%s; %s" % (detail, problem)

