"""iLert's alerts REST API, read side: ``GET /api/alerts``, ``GET /api/alerts/{id}`` and
``GET /api/alerts/{id}/log-entries`` (one bounded page; logentries.py reads the entries).

Names as iLert's API reference (OpenAPI, docs.ilert.com "API Reference / Alerts") spells
them; docs/sync.md lists each with its source:

* ``Authorization: Bearer <user API key>`` (not an alert source's integration key);
* ``states`` (repeatable: PENDING, ACCEPTED, RESOLVED), ``sources`` (alert source ids),
  ``from`` / ``until`` (ISO-8601 UTC, on ``reportTime``, the alert's creation),
  ``start-index`` / ``max-results`` (at most 100);
* an alert: ``id``, ``status``, ``alertKey``, ``reportTime``, ``alertSource.id``,
  ``acknowledgedBy`` / ``resolvedBy`` (a user) with ``acknowledgedByType`` /
  ``resolvedByType`` (``USER`` or ``SOURCE``), ``responders`` (``user``, ``status``).

Every HTTP exchange goes through ``get_json`` -- one place to move onto another transport.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple
from urllib.parse import urlencode

from .. import __version__
from ..base.errors import EXIT_PERMANENT, EXIT_TEMPORARY, CmkIlertError
from ..base.text import bound, one_line, printable
from .origin import UNKNOWN, Origin, origin_of
from .transport import retry_after

MAX_BODY = 8 * 1024 * 1024
#: One page of an alert's log entries (100 entries) is read up to this many bytes.
LOG_PAGE_BYTES = 1024 * 1024
PAGE = 100
#: Most pages one listing reads (10,000 alerts).
MAX_PAGES = 100
STATUSES = ("PENDING", "ACCEPTED", "RESOLVED")
#: Requests one site sends with one user API key within any 60 s, across runs (docs/sync.md,
#: "Request budget"): a quarter of iLert's documented 120 per minute per user API key.
REQUESTS_PER_MINUTE = 30
#: ``from``/``until`` are compared with ``reportTime`` client-side with this slack (rounding).
TIME_SLACK = 1.0
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$")


class ApiError(CmkIlertError):
    """The API could not be read; ``exit_code`` 1 (retry later) or 2 (fix the setup)."""

    def __init__(self, message: str, exit_code: int, retry_after: Optional[float] = None,
                 rate_limited: bool = False) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.retry_after = retry_after
        self.rate_limited = rate_limited


class OutOfBudget(Exception):
    """The request budget (REQUESTS_PER_MINUTE within 60 s) is spent; the next run goes on."""


class Interrupted(Exception):
    """The run's hard time bound struck (raised from a signal handler); passes every handler here."""


class Answer(NamedTuple):
    status: int
    headers: Mapping[str, str]
    body: Any


class RemoteAlert(NamedTuple):
    """The part of an iLert alert ``sync`` uses."""

    id: int
    status: str
    alert_key: str
    report_time: str
    source_id: Optional[int]
    by: str  # who accepted (ACCEPTED) or resolved (RESOLVED) it, "" if unknown
    by_type: str  # "USER", "SOURCE" or ""
    origin: Origin = UNKNOWN  # source type and site markers (origin.py), for Checkmk-type sources


def get_json(url: str, headers: Mapping[str, str], timeout: float, deadline: float,
             clock: Callable[[], float] = time.monotonic, max_body: int = MAX_BODY) -> Answer:
    """One GET, bounded: no redirects, timeouts <= the time left, body capped at ``max_body``.

    Raises ApiError (temporary) for network failures and the budget running out; the
    caller classifies HTTP status codes. Exception texts are never passed on.
    """
    import requests  # lazy: only a sync run pays for it

    remaining = deadline - clock()
    if remaining <= 0.05:
        raise ApiError("time budget used up before the request", EXIT_TEMPORARY)
    limit = max(0.05, min(timeout, remaining))
    merged = {"Accept": "application/json", "User-Agent": "cmk_ilert/%s" % __version__}
    merged.update(headers)
    try:
        response = requests.get(url, headers=merged, timeout=(limit, limit), allow_redirects=False, stream=True)
    except Interrupted:
        raise
    except requests.exceptions.Timeout:
        raise ApiError("iLert did not answer within %.0fs" % limit, EXIT_TEMPORARY) from None
    except requests.exceptions.SSLError:
        raise ApiError("TLS error talking to iLert (certificate or handshake)", EXIT_TEMPORARY) from None
    except requests.exceptions.ProxyError:
        raise ApiError("proxy error talking to iLert", EXIT_TEMPORARY) from None
    except requests.exceptions.ConnectionError:
        raise ApiError("cannot connect to iLert (DNS, refused or reset)", EXIT_TEMPORARY) from None
    except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema):
        raise ApiError("invalid iLert API URL", EXIT_PERMANENT) from None
    except Exception as exc:  # noqa: BLE001 - never a traceback, never the exception text
        raise ApiError("request to iLert failed (%s)" % type(exc).__name__, EXIT_TEMPORARY) from None
    try:
        chunks: List[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(65536):
                size += len(chunk)
                if size > max_body:
                    raise ApiError("iLert's answer is larger than %d bytes" % max_body, EXIT_TEMPORARY)
                chunks.append(chunk)
                if clock() > deadline:
                    raise ApiError("time budget used up while reading iLert's answer", EXIT_TEMPORARY)
        except (ApiError, Interrupted):
            raise
        except Exception as exc:  # noqa: BLE001
            raise ApiError("reading iLert's answer failed (%s)" % type(exc).__name__, EXIT_TEMPORARY) from None
        raw = b"".join(chunks)
        body: Any = None
        if raw[:1] in (b"[", b"{"):
            try:
                body = json.loads(raw.decode("utf-8", "replace"))
            except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
                body = None
        return Answer(response.status_code, dict(response.headers), body)
    finally:
        response.close()


def check(answer: Answer, what: str) -> Any:
    """The body of a 200 answer; every other status becomes an ApiError."""
    status = answer.status
    if status == 200:
        return answer.body
    code = ""
    if isinstance(answer.body, dict):
        code = " " + printable(one_line(str(answer.body.get("code") or "")), 60)
    code = code.rstrip()
    if status in (401, 403):
        return _raise("HTTP %d%s: the API key was refused for %s; use a user API key that may read alerts"
                      % (status, code, what), EXIT_PERMANENT)
    if status == 429:
        wait = retry_after(answer.headers)
        raise ApiError("HTTP 429 rate limited by iLert", EXIT_TEMPORARY, wait, rate_limited=True)
    if status >= 500 or status == 408:
        return _raise("HTTP %d%s from iLert for %s" % (status, code, what), EXIT_TEMPORARY)
    if 300 <= status < 400:
        return _raise("HTTP %d redirect not followed: check --api-url" % status, EXIT_PERMANENT)
    return _raise("HTTP %d%s from iLert for %s: check --api-url and --alert-source" % (status, code, what),
                  EXIT_PERMANENT)


def _raise(message: str, exit_code: int) -> Any:
    raise ApiError(message, exit_code)


def iso(epoch: float) -> str:
    """``2021-05-25T21:24:56.771Z`` as the API reference writes its examples."""
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


class Client:
    """Reads alerts with one user API key; counts its requests.

    ``stamps`` (epoch seconds of the requests sent, shared with the sync state) bounds the
    requests to ``per_minute`` within any 60 s across runs: a request beyond it raises
    OutOfBudget before anything is sent. Listings check every filter they asked for on what
    came back (``filtered`` counts what did not match), and collect one note per malformed entry.
    """

    def __init__(self, api_url: str, key: str, timeout: float, deadline: float,
                 clock: Callable[[], float] = time.monotonic, stamps: Optional[List[float]] = None,
                 per_minute: int = REQUESTS_PER_MINUTE) -> None:
        self.api_url = api_url.rstrip("/")
        self._headers = {"Authorization": "Bearer " + key}
        self.timeout = timeout
        self.deadline = deadline
        self.clock = clock
        self.requests = 0
        self.stamps: List[float] = stamps if stamps is not None else []
        self.per_minute = per_minute
        self.filtered = 0
        #: (the entry's alertKey or "", why it was skipped) per malformed entry
        self.malformed: List[Tuple[str, str]] = []

    def can_request(self) -> bool:
        now = time.time()
        self.stamps[:] = [t for t in self.stamps if now - 60.0 < t <= now + 1.0]
        return len(self.stamps) < self.per_minute

    def _get(self, path: str, params: Sequence[Tuple[str, str]], what: str, max_body: int = MAX_BODY) -> Answer:
        if not self.can_request():
            raise OutOfBudget()
        url = self.api_url + path + ("?" + urlencode(list(params)) if params else "")
        self.requests += 1
        self.stamps.append(time.time())
        return get_json(url, self._headers, self.timeout, self.deadline, self.clock, max_body)

    def list(self, states: Sequence[str], sources: Sequence[int], since: Optional[float],
             until: Optional[float], max_pages: int = MAX_PAGES,
             start: int = 0) -> Tuple[List[RemoteAlert], bool, int]:
        """The alerts matching the filters, paged from ``start``: (alerts, complete, where the
        next page starts). Stops early, incomplete, when the request budget is spent."""
        base: List[Tuple[str, str]] = [("states", s) for s in states]
        base += [("sources", str(s)) for s in sources]
        if since is not None:
            base.append(("from", iso(since)))
        if until is not None:
            base.append(("until", iso(until)))
        found: Dict[int, RemoteAlert] = {}
        for _ in range(max_pages):
            params = base + [("start-index", str(start)), ("max-results", str(PAGE))]
            try:
                answer = self._get("/api/alerts", params, "GET /api/alerts")
            except OutOfBudget:
                return list(found.values()), False, start
            page = check(answer, "GET /api/alerts")
            if not isinstance(page, list):
                raise ApiError("iLert answered GET /api/alerts with something other than a list of alerts "
                               "(not JSON, or nested too deeply)", EXIT_TEMPORARY)
            for raw in page:
                alert = self._entry(raw)
                if alert is None:
                    continue
                if alert.status not in states or (sources and alert.source_id not in sources) \
                        or not _within(alert.report_time, since, until):
                    self.filtered += 1  # the server ignored a filter (e.g. a parameter spelling)
                    continue
                found[alert.id] = alert
            if len(page) < PAGE:
                return list(found.values()), True, 0
            start += len(page)
        return list(found.values()), False, start

    def _entry(self, raw: Any) -> Optional[RemoteAlert]:
        why = malformed(raw)
        if why:
            key = raw.get("alertKey") if isinstance(raw, dict) else None
            self.malformed.append((key if isinstance(key, str) else "", why))
            return None
        return parse_alert(raw)

    def log_page(self, alert_id: int, start: int) -> Optional[List[Any]]:
        """One page (``max-results`` PAGE) of ``GET /api/alerts/{id}/log-entries`` from
        ``start-index`` ``start``, English texts, with ``vars``; at most LOG_PAGE_BYTES read.
        None when iLert does not know the alert (404); the entries are parsed by logentries.py."""
        what = "GET /api/alerts/{id}/log-entries"
        params = [("lang", "en"), ("start-index", str(start)), ("max-results", str(PAGE)), ("include", "vars")]
        answer = self._get("/api/alerts/%d/log-entries" % alert_id, params, what, LOG_PAGE_BYTES)
        if answer.status == 404:
            return None
        page = check(answer, what)
        if not isinstance(page, list):
            raise ApiError("iLert answered %s with something other than a list of log entries (not JSON, or "
                           "nested too deeply)" % what, EXIT_TEMPORARY)
        return page

    def get(self, alert_id: int) -> Optional[RemoteAlert]:
        """One alert, or None if iLert does not know it (any more) or answered a malformed one."""
        answer = self._get("/api/alerts/%d" % alert_id, (), "GET /api/alerts/{id}")
        if answer.status == 404:
            return None
        body = check(answer, "GET /api/alerts/{id}")
        alert = self._entry(body)
        return alert if alert is not None and alert.id == alert_id else None


def _within(report_time: str, since: Optional[float], until: Optional[float]) -> bool:
    if since is None and until is None:
        return True
    moment = epoch(report_time)
    if moment is None:
        return False
    return (since is None or moment >= since - TIME_SLACK) and (until is None or moment <= until + TIME_SLACK)


def epoch(text: str) -> Optional[float]:
    """Seconds since the epoch of an ISO-8601 date-time as iLert writes ``reportTime``
    (``2021-05-25T21:24:56.771Z``; an offset instead of ``Z``, or none = UTC); None if it is not one."""
    match = _ISO.match(text) if isinstance(text, str) and len(text) <= 40 else None
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=timezone.utc)
    except ValueError:
        return None
    value = moment.timestamp() + (float("0." + fraction) if fraction else 0.0)
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        value -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return value


def malformed(raw: Any) -> str:
    """Why an entry of a listing cannot be trusted ("" if it can): one bounded, clean line."""
    if not isinstance(raw, dict):
        return "an entry that is not an alert object"
    alert_id = raw.get("id")
    if isinstance(alert_id, bool) or not isinstance(alert_id, int) or alert_id <= 0:
        return "an entry without a usable alert id"
    label = "alert %d" % alert_id
    if raw.get("status") not in STATUSES:
        return label + ": malformed entry (unknown status)"
    if not isinstance(raw.get("alertKey"), str) or not raw.get("alertKey"):
        return label + ": malformed entry (no alertKey)"
    responders = raw.get("responders")
    if responders is not None and not isinstance(responders, list):
        return label + ": malformed entry (responders is not a list)"
    for name in ("acknowledgedBy", "resolvedBy", "alertSource"):
        if raw.get(name) is not None and not isinstance(raw.get(name), dict):
            return label + ": malformed entry (%s is not an object)" % name
    return ""


def parse_alert(raw: Any) -> Optional[RemoteAlert]:
    """A RemoteAlert from one list entry, or None when it lacks what sync needs."""
    if not isinstance(raw, dict):
        return None
    alert_id = raw.get("id")
    status = raw.get("status")
    key = raw.get("alertKey")
    if isinstance(alert_id, bool) or not isinstance(alert_id, int) or alert_id <= 0:
        return None
    if status not in STATUSES or not isinstance(key, str) or not key:
        return None
    source = raw.get("alertSource")
    source_id = source.get("id") if isinstance(source, dict) else None
    if isinstance(source_id, bool) or not isinstance(source_id, int):
        source_id = None
    by, by_type = "", ""
    if status == "ACCEPTED":
        by, by_type = _person(raw.get("acknowledgedBy")), _word(raw.get("acknowledgedByType"))
        responders = raw.get("responders")
        if not by and isinstance(responders, list):
            for responder in responders:
                if isinstance(responder, dict) and responder.get("status") == "ACCEPTED":
                    by = _person(responder.get("user"))
                    if by:
                        break
    elif status == "RESOLVED":
        by, by_type = _person(raw.get("resolvedBy")), _word(raw.get("resolvedByType"))
    report = raw.get("reportTime")
    return RemoteAlert(alert_id, status, key, report if isinstance(report, str) else "", source_id, by, by_type,
                       origin_of(raw))


def _person(user: Any) -> str:
    """A readable name of an iLert user object."""
    if not isinstance(user, dict):
        return ""
    names = [user.get("firstName"), user.get("lastName")]
    name = " ".join(n.strip() for n in names if isinstance(n, str) and n.strip())
    for other in ("username", "email"):
        if not name and isinstance(user.get(other), str):
            name = user[other].strip()
    return bound(one_line(name), 80)


def _word(value: Any) -> str:
    return value.upper() if isinstance(value, str) and value.isalpha() else ""
