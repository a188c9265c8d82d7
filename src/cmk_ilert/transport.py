"""HTTP delivery with ``requests`` and the classification of every answer.

One ``Transport`` owns one ``requests.Session`` (one TLS handshake per bulk),
never follows redirects, verifies TLS unless ``ignore_ssl``, uses the proxy
mode of the rule, and turns every response or exception into an ``Outcome``:

* ``delivered``  2xx, or iLert's "no open alert for this key" /
  "already accepted/resolved" answers (the goal state already holds);
* ``temporary``  network errors, timeouts, TLS and proxy failures, 408, 425,
  429 and 5xx: worth retrying later;
* ``permanent``  redirects and every other 4xx: retrying cannot help.

Exception texts from ``requests``/``urllib3`` are never passed on: they can
contain the URL, and in the ``checkmk`` wire format the URL holds the key.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, NamedTuple, Optional

from . import __version__
from .params import Proxy
from .wire import WireRequest

DELIVERED, TEMPORARY, PERMANENT = "delivered", "temporary", "permanent"
USER_AGENT = "cmk_ilert/%s" % __version__

_DONE_CODES = ("NO_OPEN", "NONE_OPEN", "ALREADY_ACCEPTED", "ALREADY_RESOLVED")
_TEMPORARY_STATUS = frozenset((408, 425, 429))
_PROXY_AUTH_FAILED = re.compile(r"tunnel connection failed: 407|407 proxy authentication required")


class Outcome(NamedTuple):
    status: str
    detail: str
    http_status: Optional[int] = None
    retry_after: Optional[float] = None
    reference: str = ""

    @property
    def rate_limited(self) -> bool:
        return self.http_status == 429


class TransportConfig(NamedTuple):
    timeout: float
    verify: bool
    proxy: Proxy


class Transport:
    def __init__(self, config: TransportConfig) -> None:
        import requests  # lazy: only runs that really send pay for the import

        self._requests = requests
        self.config = config
        session = requests.Session()
        session.headers.update(
            {"User-Agent": USER_AGENT, "Accept": "application/json", "Content-Type": "application/json"}
        )
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
                import urllib3

                urllib3.disable_warnings()  # the admin chose ignore_ssl; no warning per event
            except Exception:  # noqa: BLE001
                pass
        session.verify = verify
        self._session = session
        self._verify = verify

    def close(self) -> None:
        self._session.close()

    def send(self, request: WireRequest) -> Outcome:
        data = json.dumps(request.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        timeout = self.config.timeout
        try:
            response = self._session.post(
                request.url, data=data, timeout=(timeout, timeout), allow_redirects=False, verify=self._verify
            )
        except Exception as exc:  # noqa: BLE001 - every failure becomes an Outcome
            return classify_exception(exc, self._requests, timeout)
        try:
            return classify_response(response.status_code, response.headers, response.content)
        finally:
            response.close()


def classify_response(status: int, headers: Any, content: bytes) -> Outcome:
    body = _json(content)
    code = str(body.get("code", "")) if isinstance(body, dict) else ""
    if 200 <= status < 300:
        ref = ""
        if isinstance(body, dict):
            ref = str(body.get("incidentKey") or body.get("responseCode") or "")
        return Outcome(DELIVERED, "HTTP %d" % status, status, reference=ref[:120])
    if status in (400, 409) and any(part in code.upper() for part in _DONE_CODES):
        return Outcome(DELIVERED, "HTTP %d %s: nothing left to do in iLert" % (status, code[:60]), status)
    label = "HTTP %d%s" % (status, (" " + code[:60]) if code else "")
    if status == 429:
        return Outcome(TEMPORARY, label + " rate limited by iLert", status, retry_after(headers))
    if status in _TEMPORARY_STATUS or 500 <= status < 600:
        return Outcome(TEMPORARY, label, status, retry_after(headers))
    if 300 <= status < 400:
        return Outcome(PERMANENT, label + " redirect not followed: check ilert_api_url", status)
    if status == 407:
        return Outcome(PERMANENT, "HTTP 407 proxy authentication failed: check proxy_url", status)
    if status in (401, 403, 404):
        return Outcome(PERMANENT, label + " rejected: check the integration key and ilert_source_type", status)
    return Outcome(PERMANENT, label + " rejected by iLert", status)


def retry_after(headers: Any) -> Optional[float]:
    try:
        raw = headers.get("Retry-After") if headers is not None else None
    except Exception:  # noqa: BLE001
        return None
    if not raw:
        return None
    raw = str(raw).strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        import email.utils
        import time

        parsed = email.utils.parsedate_to_datetime(raw)
        return max(0.0, parsed.timestamp() - time.time())
    except Exception:  # noqa: BLE001
        return None


def _json(content: bytes) -> Any:
    if not content or content[:1] not in (b"{", b"["):
        return None
    try:
        return json.loads(content[:65536].decode("utf-8", "replace"))
    except ValueError:
        return None


def classify_exception(exc: BaseException, requests: Any, timeout: float) -> Outcome:
    ex = requests.exceptions
    name = type(exc).__name__
    if isinstance(exc, ex.SSLError):
        return Outcome(TEMPORARY, "TLS error (certificate or handshake): check the CA or ignore_ssl")
    if isinstance(exc, ex.ProxyError):
        if _PROXY_AUTH_FAILED.search(_chain_text(exc)):
            return Outcome(PERMANENT, "proxy refused the credentials (407): check proxy_url")
        return Outcome(TEMPORARY, "proxy error: proxy unreachable or refused the request")
    if isinstance(exc, ex.Timeout):
        return Outcome(TEMPORARY, "timeout after %gs" % timeout)
    if isinstance(exc, ex.ConnectionError):
        return Outcome(TEMPORARY, _connection_reason(exc))
    if isinstance(exc, (ex.InvalidURL, ex.MissingSchema, ex.InvalidSchema, ex.URLRequired)):
        return Outcome(PERMANENT, "invalid URL: check ilert_api_url")
    if isinstance(exc, ex.TooManyRedirects):
        return Outcome(PERMANENT, "redirect not followed: check ilert_api_url")
    return Outcome(TEMPORARY, "unexpected error (%s)" % name)


def _connection_reason(exc: BaseException) -> str:
    """A fixed phrase for the cause; the exception text itself is never shown."""
    text = _chain_text(exc)
    if any(s in text for s in ("name or service not known", "nameresolution", "getaddrinfo", "nodename nor servname",
                               "temporary failure in name resolution", "no address associated")):
        return "DNS lookup failed: check ilert_api_url"
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
