"""Rule parameters (``PARAMETER_*`` context keys) -> immutable Settings.

Checkmk flattens a rule's parameter dict into the context (``add_to_event_context``
in Checkmk's ``cmk/base/events.py``; per release with sources in docs/forms.md and
tests/forms/facts/): ``PARAMETER_<KEY>`` plain values, tuples joined by TAB (2.0) plus
``_1.._n`` sub-keys (2.1+), the 2.4+ FormSpec families
(``_1=cmk_postprocessed``, ``_2=<kind>``, ``_3_1``, ``_3_2``), ``True`` for
checkboxes, nothing at all for unset optional elements. ``parse_settings``
understands all of them; anything unusable raises ConfigError with a message
that names the parameter, never its secret value.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Mapping, NamedTuple, Optional, Tuple
from urllib.parse import urlsplit

from ..base.errors import ConfigError
from ..base.secret import Secret
from .password_store import Lookup, site_lookup

P = "PARAMETER_"

DEFAULT_API_URL = "https://api.ilert.com"
DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 50.0  # always below Checkmk's 60 s plugin limit
DEFAULT_RATE_LIMIT = 50

# Checkmk's built-in iLert defaults (Checkmk/checkmk cmk/gui/wato/_notification_parameter/_ilert.py).
DEFAULT_SUMMARY_HOST = "$NOTIFICATIONTYPE$ Host Alert: $HOSTNAME$ is $HOSTSTATE$ - $HOSTOUTPUT$"
DEFAULT_SUMMARY_SERVICE = (
    "$NOTIFICATIONTYPE$ Service Alert: $HOSTALIAS$/$SERVICEDESC$ is $SERVICESTATE$ - $SERVICEOUTPUT$"
)
DEFAULT_DETAILS_HOST = (
    "$HOSTOUTPUT$\n\n$LONGHOSTOUTPUT$\n\n"
    "Host: $HOSTNAME$ ($HOSTALIAS$, $HOSTADDRESS$)\n"
    "State: $HOSTSTATE$\nPrevious hard state: $PREVIOUSHOSTHARDSTATE$\n"
    "Site: $OMD_SITE$\nTime: $LONGDATETIME$"
)
DEFAULT_DETAILS_SERVICE = (
    "$SERVICEOUTPUT$\n\n$LONGSERVICEOUTPUT$\n\n"
    "Host: $HOSTNAME$ ($HOSTALIAS$, $HOSTADDRESS$)\n"
    "Service: $SERVICEDESC$\n"
    "State: $SERVICESTATE$\nPrevious hard state: $PREVIOUSSERVICEHARDSTATE$\n"
    "Site: $OMD_SITE$\nTime: $LONGDATETIME$"
)

SOURCE_TYPES = ("checkmk", "api")
#: The GUI title of each rule setting (both forms use the same ones): messages name a setting by
#: its title, with the key behind it (``named``), as docs/configuration.md does.
TITLES = {
    "ilert_api_key": "iLert integration key",
    "ilert_source_type": "iLert alert source type",
    "ilert_api_url": "iLert API base URL",
    "ilert_priority": "Alert priority",
    "ilert_summary_host": "Alert summary for host notifications",
    "ilert_summary_service": "Alert summary for service notifications",
    "ilert_details_host": "Alert details for host notifications",
    "ilert_details_service": "Alert details for service notifications",
    "url_prefix": "URL prefix for links to Checkmk",
    "proxy_url": "HTTP proxy",
    "ignore_ssl": "Disable TLS certificate verification",
    "timeout": "Request timeout",
    "forward_custom": "Forward custom notifications",
    "routing_key": "Routing key",
    "outbox": "Outbox for undelivered events",
    "rate_limit": "Rate limit",
    "comment_events": "Downtime and flapping as comments",
    "coalesce": "Coalesce queued events",
    "inventory_facts": "Inventory facts",
}
#: How the forms name the two source types.
SOURCE_TYPE_TITLES = {"api": "API", "checkmk": "Checkmk"}


def named(key: str) -> str:
    """A rule setting as messages name it: ``"iLert API base URL" (ilert_api_url)``."""
    return '"%s" (%s)' % (TITLES[key], key) if key in TITLES else key
PRIORITIES = ("auto", "HIGH", "LOW")
#: ``ilert_severity``: off (none sent, also when absent), auto (the table in mapping), or fixed.
SEVERITIES = ("off", "auto", "severity_1", "severity_2", "severity_3", "severity_4", "severity_5")
_FALSE_WORDS = frozenset(("", "false", "0", "no", "off", "none"))


class Proxy(NamedTuple):
    """``mode`` is ``environment``, ``none`` or ``url``; ``url`` may hold credentials."""

    mode: str
    url: Optional[Secret] = None


class UrlPrefix(NamedTuple):
    """Base for links back to Checkmk: ``automatic`` (scheme) or ``manual`` (url)."""

    mode: str
    value: str


class Settings(NamedTuple):
    """Everything a rule configures, resolved and validated.

    A NamedTuple rather than a dataclass: it is immutable, typed, and its
    import costs nothing on the notification hot path.
    """

    api_key: Secret
    source_type: str = "checkmk"
    api_url: str = DEFAULT_API_URL
    priority: str = "auto"
    summary_host: str = DEFAULT_SUMMARY_HOST
    summary_service: str = DEFAULT_SUMMARY_SERVICE
    details_host: str = DEFAULT_DETAILS_HOST
    details_service: str = DEFAULT_DETAILS_SERVICE
    url_prefix: Optional[UrlPrefix] = None
    proxy: Proxy = Proxy("environment")
    ignore_ssl: bool = False
    timeout: float = DEFAULT_TIMEOUT
    forward_custom: bool = False
    routing_key: Optional[str] = None
    outbox: bool = True
    rate_limit: int = DEFAULT_RATE_LIMIT
    comment_events: bool = True
    coalesce: bool = True
    inventory_facts: bool = False
    #: Used when the routing-key template yields nothing (a template itself).
    routing_key_fallback: Optional[str] = None
    #: One of SEVERITIES; ``off`` (absent) sends no severity.
    severity: str = "off"
    #: Template of the iLert service aliases an ALERT affects ('' = none).
    services: str = ""
    #: Notes and action URLs of host and service as links.
    runbook_links: bool = False
    #: A link to the graphs page of the host or service in Checkmk.
    graph_link: bool = False
    #: The acknowledgement's author and comment in the ACCEPT event itself.
    accept_comments: bool = False
    #: Password-store id the key came from: queued events keep the id, not the key.
    api_key_store_id: Optional[str] = None

    def secrets(self) -> Tuple[str, ...]:
        """Every secret string these settings hold (for the redaction guard)."""
        found = [self.api_key.reveal()]
        if self.proxy.url is not None:
            found.extend(proxy_secrets(self.proxy.url.reveal()))
        return tuple(s for s in found if s)


def parse_settings(context: Mapping[str, str], password_lookup: Optional[Lookup] = None) -> Settings:
    """Parse the ``PARAMETER_*`` keys of a notification context."""
    lookup: Callable[[str], Optional[str]] = password_lookup or site_lookup
    api_key, store_id = _api_key(context, lookup)
    return Settings(
        api_key=api_key,
        api_key_store_id=store_id,
        source_type=_choice(context, "ILERT_SOURCE_TYPE", SOURCE_TYPES, "checkmk", fold=str.lower),
        api_url=_api_url(context),
        priority=_priority(context),
        summary_host=_text(context, "ILERT_SUMMARY_HOST") or DEFAULT_SUMMARY_HOST,
        summary_service=_text(context, "ILERT_SUMMARY_SERVICE") or DEFAULT_SUMMARY_SERVICE,
        details_host=_text(context, "ILERT_DETAILS_HOST") or DEFAULT_DETAILS_HOST,
        details_service=_text(context, "ILERT_DETAILS_SERVICE") or DEFAULT_DETAILS_SERVICE,
        url_prefix=_url_prefix(context),
        proxy=_proxy(context),
        ignore_ssl=_flag(context, "IGNORE_SSL", default=False),
        timeout=_timeout(context),
        forward_custom=_flag(context, "FORWARD_CUSTOM", default=False),
        routing_key=_text(context, "ROUTING_KEY").strip() or None,
        outbox=_flag(context, "OUTBOX", default=True),
        rate_limit=_rate_limit(context),
        comment_events=_flag(context, "COMMENT_EVENTS", default=True),
        coalesce=_flag(context, "COALESCE", default=True),
        inventory_facts=_flag(context, "INVENTORY_FACTS", default=False),
        routing_key_fallback=_text(context, "ROUTING_KEY_FALLBACK").strip() or None,
        severity=_severity(context),
        services=_text(context, "ILERT_SERVICES").strip(),
        runbook_links=_flag(context, "RUNBOOK_LINKS", default=False),
        graph_link=_flag(context, "GRAPH_LINK", default=False),
        accept_comments=_flag(context, "ACCEPT_COMMENTS", default=False),
    )


# --- shape helpers -----------------------------------------------------------


def _family(context: Mapping[str, str], name: str) -> Dict[str, str]:
    """All keys of one parameter: '' for the plain key, '_1', '_3_2', ... for parts."""
    base = P + name
    out: Dict[str, str] = {}
    for key, value in context.items():
        if key == base:
            out[""] = value
        elif key.startswith(base + "_") and key[len(base) + 1 : len(base) + 2].isdigit():
            out[key[len(base):]] = value
    return out


def _parts(family: Mapping[str, str]) -> List[str]:
    """A tuple parameter as a list of its items, from ``_1.._n`` or the TAB join."""
    items: List[str] = []
    i = 1
    while "_%d" % i in family:
        items.append(family["_%d" % i])
        i += 1
    if items:
        return items
    plain = family.get("")
    if plain is None:
        return []
    return plain.split("\t")


def _text(context: Mapping[str, str], name: str) -> str:
    fam = _family(context, name)
    if "" in fam:
        return fam[""]
    parts = _parts(fam)
    return parts[-1] if parts else ""


def _is_false(value: str) -> bool:
    return value.strip().lower() in _FALSE_WORDS


def _flag(context: Mapping[str, str], name: str, default: bool) -> bool:
    """Checkboxes: ``True`` when ticked, absent when not (FixedValue style).

    Explicit choices (``True``/``False``) are honoured too; presence of any
    other value means on, as Checkmk's own ``ignore_ssl`` handling does.
    """
    fam = _family(context, name)
    if not fam:
        return default
    return not _is_false(fam.get("", fam.get("_1", "")))


def _choice(
    context: Mapping[str, str],
    name: str,
    allowed: Tuple[str, ...],
    default: str,
    fold: Callable[[str], str],
) -> str:
    raw = _text(context, name).strip()
    if not raw:
        return default
    for option in allowed:
        if fold(option) == fold(raw):
            return option
    raise ConfigError("parameter %s must be one of %s" % (named(name.lower()), ", ".join(allowed)))


def _priority(context: Mapping[str, str]) -> str:
    raw = _text(context, "ILERT_PRIORITY").strip()
    if not raw:
        return "auto"
    if raw.lower() == "auto":
        return "auto"
    if raw.upper() in ("HIGH", "LOW"):
        return raw.upper()
    raise ConfigError("parameter %s must be one of auto, HIGH, LOW" % named("ilert_priority"))


def _severity(context: Mapping[str, str]) -> str:
    """``off``/``auto``/``severity_N`` (both forms store these words); a bare 1..5 is accepted too."""
    fam = _family(context, "ILERT_SEVERITY")
    raw = (_parts(fam) or [""])[0].strip().lower()
    if not raw:
        return "off"
    if raw in ("1", "2", "3", "4", "5"):
        raw = "severity_" + raw
    if raw in SEVERITIES:
        return raw
    raise ConfigError("parameter ilert_severity must be one of %s" % ", ".join(SEVERITIES))


def _number(context: Mapping[str, str], name: str) -> Optional[float]:
    raw = _text(context, name).strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError("parameter %s must be a number" % named(name.lower())) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ConfigError("parameter %s must be a number" % named(name.lower()))
    return value


def _timeout(context: Mapping[str, str]) -> float:
    value = _number(context, "TIMEOUT")
    if value is None:
        return DEFAULT_TIMEOUT
    if value <= 0:
        raise ConfigError("parameter %s must be greater than 0 seconds" % named("timeout"))
    return min(value, MAX_TIMEOUT)


def _rate_limit(context: Mapping[str, str]) -> int:
    value = _number(context, "RATE_LIMIT")
    if value is None:
        return DEFAULT_RATE_LIMIT
    if value < 0 or value != int(value):
        raise ConfigError("parameter " + named("rate_limit") + " must be a whole number >= 0")
    return int(value)


# --- secrets -----------------------------------------------------------------

_EXPLICIT_KINDS = frozenset(("password", "explicit_password", "ilert_api_key", "explicit"))
_STORED_KINDS = frozenset(("store", "stored_password", "stored"))


def _api_key(context: Mapping[str, str], lookup: Lookup) -> Tuple[Secret, Optional[str]]:
    fam = _family(context, "ILERT_API_KEY")
    if not fam:
        raise ConfigError("parameter %s is missing: set it in the notification rule" % named("ilert_api_key"))
    kind, value = _secret_shape(fam)
    if kind == "stored":
        store_id = value.strip()
        found = lookup(store_id) if store_id else None
        if not found:
            raise ConfigError("password store entry '%s' for %s not found" % (_printable(store_id),
                                                                              named("ilert_api_key")))
        return Secret(check_key(found.strip(), "the password store entry '%s'" % _printable(store_id))), store_id
    if not value.strip():
        raise ConfigError("parameter %s is empty" % named("ilert_api_key"))
    return Secret(check_key(value.strip(), "parameter " + named("ilert_api_key"))), None


#: iLert integration keys are long tokens of letters, digits and a few signs.
MIN_KEY_LENGTH = 8
MAX_KEY_LENGTH = 512


def check_key(key: str, where: str) -> str:
    """An iLert key never holds whitespace or control characters and is not
    short (a short "key" would also make redaction eat ordinary words)."""
    if any(c.isspace() or not c.isprintable() for c in key):
        raise ConfigError("%s is not an iLert key: it contains whitespace or control characters" % where)
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigError("%s is not an iLert key: too short" % where)
    if len(key) > MAX_KEY_LENGTH:
        raise ConfigError("%s is not an iLert key: too long" % where)
    return key


def _printable(text: str) -> str:
    """A store id for a message: printable, bounded (ids are not secrets)."""
    return "".join(c if c.isprintable() else "?" for c in text[:80])


def _secret_shape(fam: Mapping[str, str]) -> Tuple[str, str]:
    """(``explicit``|``stored``, secret-or-store-id) from any password shape."""
    if fam.get("_1") == "cmk_postprocessed":
        # 2.4+ FormSpec Password: _2 kind, _3_1 id, _3_2 secret ("" when stored).
        kind = fam.get("_2", "")
        store_id = fam.get("_3_1") or fam.get("_3", "").split("\t", 1)[0]
        secret = fam.get("_3_2")
        if secret is None and "\t" in fam.get("_3", ""):
            secret = fam["_3"].split("\t", 1)[1]
        if kind == "explicit_password":
            # 2.5 may keep explicit passwords only in the store: fall back to the id.
            return ("explicit", secret) if secret else ("stored", store_id)
        if kind == "stored_password":
            return "stored", store_id
        raise ConfigError("parameter %s has an unknown password kind" % named("ilert_api_key"))
    plain = fam.get("")
    if plain is not None and "\t" in plain:
        kind, _, value = plain.partition("\t")  # split once: secrets may hold whitespace
    elif "_1" in fam and "_2" in fam:
        kind, value = fam["_1"], fam["_2"]
    elif plain is not None:
        return "explicit", plain
    else:
        raise ConfigError("parameter %s has an unknown shape" % named("ilert_api_key"))
    if kind in _STORED_KINDS:
        return "stored", value
    if kind in _EXPLICIT_KINDS:
        return "explicit", value
    raise ConfigError("parameter %s has an unknown password kind" % named("ilert_api_key"))


# --- URLs --------------------------------------------------------------------


def _api_url(context: Mapping[str, str]) -> str:
    raw = _text(context, "ILERT_API_URL").strip()
    if not raw:
        return DEFAULT_API_URL
    return validate_base_url(raw, named("ilert_api_url"))


def validate_base_url(raw: str, name: str) -> str:
    """An http(s) base URL without credentials, query or fragment; no trailing slash."""
    try:
        parts = urlsplit(raw)
        port = parts.port  # raises ValueError on a bad port
    except ValueError:
        raise ConfigError("parameter %s is not a valid URL" % name) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("parameter %s must be an http:// or https:// URL" % name)
    if parts.username is not None or parts.password is not None:
        raise ConfigError("parameter %s must not contain credentials" % name)
    if parts.query or parts.fragment or raw.endswith(("?", "#")):
        raise ConfigError("parameter %s must not contain a query or fragment" % name)
    del port
    return raw.rstrip("/")


_PROXY_ENV = frozenset(("FROM_ENVIRONMENT", "environment", "environment_proxy"))
_PROXY_NONE = frozenset(("NO_PROXY", "no_proxy"))
_PROXY_URL_KINDS = frozenset(("url", "explicit_proxy"))
_PROXY_GLOBAL_KINDS = frozenset(("global", "stored_proxy"))


def _proxy(context: Mapping[str, str]) -> Proxy:
    """absent/FROM_ENVIRONMENT -> environment; NO_PROXY/'' -> none; else a URL.

    Checkmk serialises the proxy before the script runs (2.1+). The tuple
    shapes of the un-serialised valuespec/FormSpec are accepted as a fallback.
    """
    fam = _family(context, "PROXY_URL")
    if not fam:
        return Proxy("environment")
    if "_1" in fam:
        parts = _parts(fam)
        if parts[0] == "cmk_postprocessed":
            parts = parts[1:]
        kind = parts[0] if parts else ""
        value = parts[1] if len(parts) > 1 else ""
        if kind in _PROXY_ENV:
            return Proxy("environment")
        if kind in _PROXY_NONE:
            return Proxy("none")
        if kind in _PROXY_URL_KINDS:
            return _proxy_url(value)
        if kind in _PROXY_GLOBAL_KINDS:
            raise ConfigError(
                "parameter " + named("proxy_url") + " refers to a global proxy that Checkmk did not resolve; "
                "choose an explicit proxy"
            )
        raise ConfigError("parameter " + named("proxy_url") + " has an unknown shape")
    value = fam.get("", "").strip()
    if value in _PROXY_ENV:
        return Proxy("environment")
    if value in _PROXY_NONE or not value:
        return Proxy("none")
    return _proxy_url(value)


def _proxy_url(value: str) -> Proxy:
    value = value.strip()
    try:
        parts = urlsplit(value if "://" in value else "http://" + value)
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise ConfigError("parameter " + named("proxy_url") + " is not a valid proxy URL") from None
    if parts.scheme not in ("http", "https", "socks5", "socks5h", "socks4") or not parts.hostname:
        raise ConfigError("parameter " + named("proxy_url") + " is not a valid proxy URL")
    return Proxy("url", Secret(parts.geturl()))


def proxy_secrets(url: str) -> List[str]:
    """The credential parts of a proxy URL, to be redacted from output."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    found = []
    if parts.password:
        found.append(parts.password)
        found.append(url)
    if parts.username and parts.password:
        found.append(parts.username + ":" + parts.password)
    return found


def _url_prefix(context: Mapping[str, str]) -> Optional[UrlPrefix]:
    """Every URL-prefix shape of 2.0-2.5 (docs/forms.md lists them with their sources)."""
    auto = context.get(P + "URL_PREFIX_AUTOMATIC", "").strip()
    if auto:
        return UrlPrefix("automatic", "https" if auto.lower() == "https" else "http")
    manual = context.get(P + "URL_PREFIX_MANUAL", "").strip()
    if manual:
        return UrlPrefix("manual", validate_base_url(manual, named("url_prefix")))
    fam = _family(context, "URL_PREFIX")
    parts = _parts(fam)
    if not parts:
        return None
    if len(parts) == 1:
        return _prefix_word(parts[0], "")
    return _prefix_word(parts[0], parts[1])


def _prefix_word(kind: str, value: str) -> Optional[UrlPrefix]:
    kind = kind.strip()
    value = value.strip()
    low = kind.lower()
    if low in ("automatic_http", "automatic_https"):
        return UrlPrefix("automatic", low.split("_", 1)[1])
    if low == "automatic":
        return UrlPrefix("automatic", "https" if value.lower() == "https" else "http")
    if low == "manual":
        return UrlPrefix("manual", validate_base_url(value, named("url_prefix"))) if value else None
    if "://" in kind:  # a plain URL
        return UrlPrefix("manual", validate_base_url(kind, named("url_prefix")))
    if not kind:
        return None
    raise ConfigError("parameter " + named("url_prefix") + " has an unknown shape")
