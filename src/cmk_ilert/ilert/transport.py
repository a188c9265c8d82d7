"""HTTP exchanges with ``requests``, bounded in wall-clock time, and the
classification of every answer.

One ``Transport`` owns one ``requests.Session`` (one TLS handshake per bulk),
never follows redirects, verifies TLS unless ``ignore_ssl``, uses the proxy
mode of the rule, and turns every answer or exception into an ``Outcome``:

* ``delivered``  2xx with iLert's JSON (or no body), or iLert's "no open alert
  for this key" / "already accepted/resolved" answers (the goal state holds);
* ``temporary``  network errors, timeouts, TLS and proxy failures, 408, 425,
  429, 5xx, and 2xx answers that are not iLert's (a captive portal's page);
* ``permanent``  redirects and every other 4xx: retrying cannot help.

Time: ``timeout`` bounds one whole exchange — name resolution, connecting to
every address, TLS, sending, every read — not each socket operation. Socket
timeouts alone cannot do that (a server that sends a byte every few seconds
never trips a read timeout, and urllib3 tries each resolved address with the
full connect timeout), so in the main thread an interval timer (SIGALRM)
aborts the exchange when its time is up, name resolution runs in a helper
thread that is abandoned when it hangs, and every socket operation also gets
a timeout no longer than what is left. The answer body is read up to
``MAX_ANSWER`` bytes: iLert's answers are tiny, an endless body is cut.

Exception texts from ``requests``/``urllib3`` are never passed on: they can
contain the URL, and in the ``checkmk`` wire format the URL holds the key.
Answer texts are never passed on either, only an error code that looks like
one (``[A-Z0-9_]``), so a server that echoes the request cannot leak the key.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import socket
import threading
import time
from typing import Any, Dict, Iterator, Mapping, NamedTuple, Optional, Tuple, Union
from urllib.parse import urlsplit

from .. import __version__
from ..checkmk.params import Proxy, named

DELIVERED, TEMPORARY, PERMANENT = "delivered", "temporary", "permanent"
USER_AGENT = "cmk_ilert/%s" % __version__
#: What Checkmk's built-in iLert method sends besides JSON headers (cmk/notification_plugins/ilert.py).
NATIVE_AGENT_HEADER = ("Agent", "checkmk/extension/1.0")

#: Bytes of an answer that are read at most (iLert answers with a few hundred).
MAX_ANSWER = 65536
#: An exchange is not started with less time than this left in the run's budget.
MIN_EXCHANGE = 1.0
#: Every pause a server can ask for (Retry-After) is capped here.
MAX_RETRY_AFTER = 600.0

_DONE_CODES = ("NO_OPEN", "NONE_OPEN", "ALREADY_ACCEPTED", "ALREADY_RESOLVED")
_TEMPORARY_STATUS = frozenset((408, 425, 429))
_PROXY_AUTH_FAILED = re.compile(r"tunnel connection failed: 407|407 proxy authentication required")
_CODE = re.compile(r"[A-Z][A-Z0-9_]{1,63}")
_DNS_FAILED = "DNS lookup failed: check " + named("ilert_api_url")
_NOT_CONNECTED = frozenset((_DNS_FAILED, "connection refused"))
_REFERENCE = re.compile(r"[A-Za-z0-9_.:/-]{1,120}")


class Outcome(NamedTuple):
    status: str
    detail: str
    http_status: Optional[int] = None
    retry_after: Optional[float] = None
    reference: str = ""
    alert_url: str = ""
    #: True when no byte was sent (time budget used up): nothing to count or back off.
    not_sent: bool = False
    #: False when iLert certainly did not process the request (refused connection, DNS,
    #: connect timeout, unreachable proxy, 429): such an ALERT may still be coalesced.
    may_have_reached: bool = True

    @property
    def rate_limited(self) -> bool:
        return self.http_status == 429


class Answer(NamedTuple):
    """What a server answered, body cut at ``MAX_ANSWER`` bytes."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    truncated: bool


class TransportConfig(NamedTuple):
    timeout: float
    verify: bool
    proxy: Proxy


class Deadline(BaseException):
    """Raised inside an exchange when its wall-clock limit is reached.

    A BaseException so that no ``except Exception`` in requests or urllib3 can
    swallow it; their ``finally`` blocks still close the connection.
    """


class _Alarm:
    """SIGALRM after ``seconds`` raises ``Deadline`` in the main thread.

    Blocking socket calls (connect, send, recv, TLS) are interrupted by the
    signal, and since the handler raises, Python does not retry them. Outside
    the main thread signals cannot be used; there the per-operation socket
    timeouts (never longer than what is left) are the bound.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.armed = False
        self._active = False
        self._previous: Any = None

    def __enter__(self) -> "_Alarm":
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
            self._previous = signal.signal(signal.SIGALRM, self._fire)
            self._active = True
            self.armed = True
            signal.setitimer(signal.ITIMER_REAL, max(self.seconds, 0.001))
        return self

    def _fire(self, signum: int, frame: Any) -> None:
        if self.armed:
            self.armed = False
            raise Deadline()

    def __exit__(self, *exc: object) -> None:
        self.armed = False  # first: a signal arriving from here on is ignored
        if self._active:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous if self._previous is not None else signal.SIG_DFL)
            self._active = False


def _resolves_within(host: str, port: int, seconds: float) -> bool:
    """Whether the system resolver answers (successfully or not) within ``seconds``.

    ``getaddrinfo`` cannot be interrupted by a signal, so it runs in a daemon
    thread that is simply abandoned when the resolver hangs.
    """
    done = threading.Event()

    def work() -> None:
        try:
            socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
        except (OSError, UnicodeError, ValueError):
            pass
        finally:
            done.set()

    threading.Thread(target=work, name="cmk_ilert-resolve", daemon=True).start()
    return done.wait(max(seconds, 0.0))


def _is_ip(host: str) -> bool:
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
            return True
        except (OSError, ValueError):
            continue
    return False


class Transport:
    def __init__(self, config: TransportConfig) -> None:
        import requests  # lazy: only runs that really send pay for the import

        self._requests = requests
        self.config = config
        self._resolved: Dict[str, bool] = {}
        self._session = self._new_session()

    def _new_session(self) -> Any:
        requests = self._requests
        config = self.config
        session = requests.Session()
        session.headers.update({
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "Content-Type": "application/json",
            # iLert's answers are tiny; no decompression means no decompression bomb either.
            "Accept-Encoding": "identity",
        })
        session.max_redirects = 0
        verify: Any = config.verify
        if config.proxy.mode in ("none", "url"):
            # Ignore proxy variables of the environment (and .netrc); keep a CA
            # bundle configured there, which trust_env would otherwise honour.
            session.trust_env = False
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            if verify and bundle:
                verify = bundle
        if config.proxy.mode == "url" and config.proxy.url is not None:
            url = config.proxy.url.reveal()
            session.proxies = {"http": url, "https": url}
        if not config.verify:
            try:
                import urllib3  # lazy: comes with requests; only when a session is built

                urllib3.disable_warnings()  # the admin chose ignore_ssl; no warning per event
            except Exception:  # noqa: BLE001
                pass
        session.verify = verify
        self._verify = verify
        return session

    def close(self) -> None:
        self._session.close()

    def post_json(self, url: str, body: Any, deadline: float, headers: Optional[Mapping[str, str]] = None) -> Outcome:
        """POST ``body`` as JSON; the classified outcome."""
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        answer = self.exchange("POST", url, deadline, data=data, headers=headers)
        return answer if isinstance(answer, Outcome) else classify_answer(answer)

    def exchange(self, method: str, url: str, deadline: float, data: Optional[bytes] = None,
                 headers: Optional[Mapping[str, str]] = None) -> Union[Answer, Outcome]:
        """One request and its answer within ``min(timeout, deadline - now)`` seconds.

        ``deadline`` is a ``time.monotonic()`` value. Returns the answer, or an
        Outcome for a request that failed (or was not started) before one arrived.
        """
        budget = min(self.config.timeout, deadline - time.monotonic())
        if budget < min(self.config.timeout, MIN_EXCHANGE):
            return Outcome(TEMPORARY, "not sent: the run's time budget is used up", not_sent=True,
                           may_have_reached=False)
        end = time.monotonic() + budget
        try:
            with _Alarm(budget):
                if not self._resolve(url, budget):
                    return Outcome(TEMPORARY, "DNS lookup gave no answer within %gs" % budget, may_have_reached=False)
                left = max(0.001, end - time.monotonic())
                response = self._session.request(method, url, data=data, headers=headers, stream=True,
                                                 timeout=(left, left), allow_redirects=False, verify=self._verify)
                try:
                    body, truncated = _read_capped(response)
                except BaseException:
                    response.close()
                    raise
                return Answer(response.status_code, response.headers, body, truncated)
        except Deadline:
            self._reset()  # a connection interrupted mid-way is not reused
            return Outcome(TEMPORARY, "timeout after %gs without a complete answer" % round(budget, 1))
        except Exception as exc:  # noqa: BLE001 - every failure becomes an Outcome
            outcome = classify_exception(exc, self._requests, budget)
            if outcome.detail.startswith("proxy"):
                name = self.proxy_name(url)
                if name:
                    outcome = outcome._replace(detail="%s (proxy %s)" % (outcome.detail, name))
            return outcome

    def _reset(self) -> None:
        try:
            self._session.close()
        except Exception:  # noqa: BLE001
            pass
        self._session = self._new_session()

    def _resolve(self, url: str, budget: float) -> bool:
        """Name resolution of the host this request connects to, bounded by ``budget``."""
        host = self._connect_host(url)
        if not host or _is_ip(host) or self._resolved.get(host):
            return True
        ok = _resolves_within(host, 443, budget)
        self._resolved[host] = ok
        return ok

    def _connect_host(self, url: str) -> str:
        try:
            return urlsplit(self._proxy_for(url) or url).hostname or ""
        except ValueError:
            return ""

    def proxy_name(self, url: str) -> str:
        """The proxy a request to ``url`` goes through as ``host:port`` (never its credentials),
        and where it was configured; '' for none."""
        proxy = self._proxy_for(url)
        if not proxy:
            return ""
        try:
            parts = urlsplit(proxy if "://" in proxy else "http://" + proxy)
            name = "%s:%s" % (parts.hostname or "?", parts.port or "-")
        except ValueError:
            name = "?"
        return name + (" from " + named("proxy_url") if self.config.proxy.mode == "url" else " from the environment")

    def _proxy_for(self, url: str) -> Optional[str]:
        proxy_url = None
        if self.config.proxy.mode == "url" and self.config.proxy.url is not None:
            proxy_url = self.config.proxy.url.reveal()
        elif self.config.proxy.mode == "environment":
            try:
                utils = self._requests.utils
                proxy_url = utils.select_proxy(url, utils.get_environ_proxies(url))
            except Exception:  # noqa: BLE001
                proxy_url = None
        return proxy_url


def _read_capped(response: Any) -> Tuple[bytes, bool]:
    """The answer body, at most ``MAX_ANSWER`` bytes. A body read to its end
    releases the connection for the next request of the session."""
    chunks = []
    total = 0
    for chunk in _chunks(response):
        chunks.append(chunk)
        total += len(chunk)
        if total > MAX_ANSWER:
            response.close()  # the rest is never read; the connection is not reused
            return b"".join(chunks)[:MAX_ANSWER], True
    return b"".join(chunks), False


def _chunks(response: Any) -> Iterator[bytes]:
    raw = response.raw
    while True:
        chunk = raw.read(8192)
        if not chunk:
            return
        yield chunk


def classify_answer(answer: Answer) -> Outcome:
    status = answer.status
    body = _json(answer.body)
    if 200 <= status < 300:
        if answer.truncated or (answer.body.strip() and not isinstance(body, dict)):
            return Outcome(TEMPORARY, "HTTP %d but not an iLert answer: a captive portal or proxy page?" % status,
                           status)
        return Outcome(DELIVERED, "HTTP %d" % status, status, reference=_reference(body), alert_url=_alert_url(body))
    raw_code = body.get("code") if isinstance(body, dict) else None
    code = raw_code if isinstance(raw_code, str) and _CODE.fullmatch(raw_code) else ""
    if status in (400, 409) and any(part in code for part in _DONE_CODES):
        return Outcome(DELIVERED, "HTTP %d %s: nothing left to do in iLert" % (status, code), status)
    label = "HTTP %d%s" % (status, (" " + code) if code else "")
    if status == 429:
        return Outcome(TEMPORARY, label + " rate limited by iLert", status, retry_after(answer.headers),
                       may_have_reached=False)
    if 500 <= status < 600:
        return Outcome(TEMPORARY, label + " server error at iLert", status, retry_after(answer.headers))
    if status in _TEMPORARY_STATUS:
        return Outcome(TEMPORARY, label, status, retry_after(answer.headers))
    if 300 <= status < 400:
        return Outcome(PERMANENT, label + " redirect not followed: check " + named("ilert_api_url"), status)
    if status == 407:
        return Outcome(PERMANENT, "HTTP 407 proxy authentication failed: check " + named("proxy_url"), status)
    if status in (401, 403, 404):
        return Outcome(PERMANENT, "%s rejected: check %s, %s and %s" % (
            label, named("ilert_api_key"), named("ilert_source_type"), named("ilert_api_url")), status)
    return Outcome(PERMANENT, label + " rejected by iLert", status)


def _reference(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    for name in ("incidentKey", "responseCode"):
        value = body.get(name)
        if isinstance(value, str) and _REFERENCE.fullmatch(value):
            return value
    return ""


def _alert_url(body: Any) -> str:
    """``alertUrl`` of iLert's 202 answer (ilert-go ``EventResponse``), if it is a plain https/http URL."""
    value = body.get("alertUrl") if isinstance(body, dict) else None
    if not isinstance(value, str) or len(value) > 500 or any(c.isspace() or ord(c) < 32 for c in value):
        return ""
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.password:
        return ""
    return value


def retry_after(headers: Any) -> Optional[float]:
    """``Retry-After`` in seconds (delta-seconds or HTTP-date), capped at
    ``MAX_RETRY_AFTER``; None when absent, non-finite, negative or garbage."""
    try:
        raw = headers.get("Retry-After") if headers is not None else None
    except Exception:  # noqa: BLE001
        return None
    if not raw:
        return None
    raw = str(raw).strip()
    if len(raw) > 64:  # no delta-seconds or HTTP date is this long: garbage, never cut into a number
        return None
    seconds: Optional[float]
    try:
        seconds = float(raw)
    except ValueError:
        seconds = _http_date_delta(raw)
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, MAX_RETRY_AFTER)


def _http_date_delta(raw: str) -> Optional[float]:
    try:
        import email.utils  # lazy: only for a Retry-After given as an HTTP date

        parsed = email.utils.parsedate_to_datetime(raw)
        if parsed is None:
            return None
        return max(0.0, parsed.timestamp() - time.time())
    except Exception:  # noqa: BLE001
        return None


def _json(content: bytes) -> Any:
    stripped = content.lstrip()
    if not stripped or stripped[:1] not in (b"{", b"["):
        return None
    try:
        return json.loads(stripped.decode("utf-8", "replace"))
    except (ValueError, RecursionError):
        return None


def classify_exception(exc: BaseException, requests: Any, timeout: float) -> Outcome:
    ex = requests.exceptions
    name = type(exc).__name__
    if isinstance(exc, ex.SSLError):
        return Outcome(TEMPORARY, "TLS error, certificate or handshake: check the CA or " + named("ignore_ssl"))
    if isinstance(exc, ex.ProxyError):
        if _PROXY_AUTH_FAILED.search(_chain_text(exc)):
            return Outcome(PERMANENT, "proxy refused the credentials, HTTP 407: check " + named("proxy_url"))
        return Outcome(TEMPORARY, "proxy error: proxy unreachable or refused the request", may_have_reached=False)
    if isinstance(exc, ex.ConnectTimeout):
        return Outcome(TEMPORARY, "timeout after %gs while connecting" % timeout, may_have_reached=False)
    if isinstance(exc, ex.Timeout):
        return Outcome(TEMPORARY, "timeout after %gs" % timeout)
    if isinstance(exc, ex.ConnectionError):
        reason = _connection_reason(exc)
        return Outcome(TEMPORARY, reason, may_have_reached=reason not in _NOT_CONNECTED)
    if isinstance(exc, ex.InvalidSchema) and "socks" in _chain_text(exc):
        return Outcome(PERMANENT, "a SOCKS proxy needs the Python module PySocks, which is not installed on this site: "
                                  "install it or use an HTTP proxy in " + named("proxy_url"))
    if isinstance(exc, (ex.InvalidURL, ex.MissingSchema, ex.InvalidSchema, ex.URLRequired)):
        return Outcome(PERMANENT, "invalid URL: check " + named("ilert_api_url") + " and " + named("proxy_url"))
    if isinstance(exc, ex.TooManyRedirects):
        return Outcome(PERMANENT, "redirect not followed: check " + named("ilert_api_url"))
    return Outcome(TEMPORARY, "unexpected error: %s" % name)


def _connection_reason(exc: BaseException) -> str:
    # (the phrases of _NOT_CONNECTED mean that no request can have been sent)
    """A fixed phrase for the cause; the exception text itself is never shown."""
    text = _chain_text(exc)
    if any(s in text for s in ("name or service not known", "nameresolution", "getaddrinfo", "nodename nor servname",
                               "temporary failure in name resolution", "no address associated")):
        return _DNS_FAILED
    if "refused" in text:
        return "connection refused"
    if "reset" in text or "aborted" in text or "remotedisconnected" in text or "badstatusline" in text:
        return "connection reset by peer"
    return "connection failed"


def _chain_text(exc: BaseException) -> str:
    """Lower-cased text of an exception and its causes, for classification only."""
    seen = set()
    texts = []
    current: Optional[BaseException] = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts.append(type(current).__name__ + " " + str(current))
        current = current.__cause__ or current.__context__
    for arg in getattr(exc, "args", ()):
        texts.append(type(arg).__name__ + " " + str(arg))
    return " ".join(texts).lower()
