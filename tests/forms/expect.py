"""What a stored parameter value *means*, independent of how Checkmk flattens it.

``expected_settings(value)`` reads a parameter dict as saved by either form (legacy valuespec shapes
or modern FormSpec shapes) and returns the ``Settings`` the script must derive from it. The
contract tests compare it with ``parse_settings(flatten(value, release))``. Written from the form
definitions and the contract table, not from ``checkmk/params.py``. Python 3.8 compatible.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Tuple

from doubles._legacy_core import FAKE_GLOBAL_PROXIES, FAKE_PASSWORD_STORE

from cmk_ilert.base.secret import Secret
from cmk_ilert.checkmk.params import (
    DEFAULT_DETAILS_HOST,
    DEFAULT_DETAILS_SERVICE,
    DEFAULT_SUMMARY_HOST,
    DEFAULT_SUMMARY_SERVICE,
    Proxy,
    Settings,
    UrlPrefix,
)

#: the parameter table of docs/configuration.md: every form offers exactly these keys
CONTRACT_KEYS = (
    "ilert_api_key",
    "ilert_source_type",
    "ilert_api_url",
    "ilert_priority",
    "ilert_summary_host",
    "ilert_summary_service",
    "ilert_details_host",
    "ilert_details_service",
    "url_prefix",
    "proxy_url",
    "ignore_ssl",
    "timeout",
    "forward_custom",
    "routing_key",
    "outbox",
    "rate_limit",
    "comment_events",
    "coalesce",
    "inventory_facts",
    "routing_key_fallback",
    "ilert_severity",
    "ilert_services",
    "runbook_links",
    "graph_link",
    "accept_comments",
)
#: contract defaults of the keys whose default is a plain value (absent = this value)
CONTRACT_DEFAULTS = {
    "ilert_source_type": "checkmk",
    "ilert_api_url": "https://api.ilert.com",
    "ilert_priority": "auto",
    "timeout": 10,
    "outbox": True,
    "rate_limit": 50,
    "comment_events": True,
    "coalesce": True,
    "inventory_facts": False,
}
#: what a new rule starts with where that differs from "absent": a new rule gets the full product
#: (source type API), while a rule saved without the key (an earlier version's default) stays Checkmk
NEW_RULE_DEFAULTS = dict(CONTRACT_DEFAULTS, ilert_source_type="api")


def password_lookup(store_id: str) -> Optional[str]:
    return FAKE_PASSWORD_STORE.get(store_id)


class InvalidKey(Exception):
    """The value is savable in the form, but it is not an iLert key: the script must refuse it."""


def _checked(key: str) -> str:
    # iLert integration keys are tokens: no whitespace, no control characters, 8+ characters.
    if len(key) < 8 or any(c.isspace() or not c.isprintable() for c in key):
        raise InvalidKey(key)
    return key


def _api_key(value: Any) -> Tuple[Secret, Optional[str]]:
    """(key, password-store id it came from)."""
    if isinstance(value, tuple) and len(value) == 2:
        kind, setting = value
        if kind == "store":
            return Secret(_checked(FAKE_PASSWORD_STORE[setting].strip())), setting
        return Secret(_checked(setting.strip())), None  # ("password", key)
    if isinstance(value, tuple) and len(value) == 3 and value[0] == "cmk_postprocessed":
        store_id, secret = value[2]
        if value[1] == "stored_password" or not secret:
            return Secret(_checked(FAKE_PASSWORD_STORE[store_id].strip())), store_id
        return Secret(_checked(secret.strip())), None
    raise AssertionError("unexpected api key shape %r" % (value,))


def _url_prefix(value: Any) -> Optional[UrlPrefix]:
    if value is None:
        return None
    if isinstance(value, dict):  # legacy
        ((kind, setting),) = value.items()
    else:  # modern cascading choice
        kind, setting = value
        if kind in ("automatic_http", "automatic_https"):
            kind, setting = "automatic", kind.split("_", 1)[1]
    if kind == "automatic":
        return UrlPrefix("automatic", setting)
    return UrlPrefix("manual", setting.strip().rstrip("/"))


def _proxy(value: Any) -> Proxy:
    if value is None:
        return Proxy("environment")
    if len(value) == 3:  # FormSpec
        kind, setting = {
            "environment_proxy": "environment",
            "no_proxy": "no_proxy",
            "stored_proxy": "global",
            "explicit_proxy": "url",
        }[value[1]], value[2]
    else:
        kind, setting = value
    if kind == "environment":
        return Proxy("environment")
    if kind == "no_proxy":
        return Proxy("none")
    if kind == "global":
        return Proxy("url", Secret(FAKE_GLOBAL_PROXIES[setting]))
    return Proxy("url", Secret(setting))


def _flag(value: Any, default: bool) -> bool:
    if value is None:
        return default
    return bool(value)


def expected_settings(params: Mapping[str, Any]) -> Settings:
    get = params.get
    defaults = CONTRACT_DEFAULTS
    routing_key = get("routing_key")
    api_key, store_id = _api_key(params["ilert_api_key"])
    return Settings(
        api_key=api_key,
        api_key_store_id=store_id,
        source_type=get("ilert_source_type", defaults["ilert_source_type"]),
        api_url=get("ilert_api_url", defaults["ilert_api_url"]).strip().rstrip("/"),
        priority=get("ilert_priority", defaults["ilert_priority"]),
        # templates: absent -> Checkmk's built-in defaults (= DEFAULT_* of checkmk/params.py and of both
        # forms, checked in test_legacy_form / test_modern_form)
        summary_host=get("ilert_summary_host") or DEFAULT_SUMMARY_HOST,
        summary_service=get("ilert_summary_service") or DEFAULT_SUMMARY_SERVICE,
        details_host=get("ilert_details_host") or DEFAULT_DETAILS_HOST,
        details_service=get("ilert_details_service") or DEFAULT_DETAILS_SERVICE,
        url_prefix=_url_prefix(get("url_prefix")),
        proxy=_proxy(get("proxy_url")),
        ignore_ssl=_flag(get("ignore_ssl"), False),
        timeout=float(get("timeout", defaults["timeout"])),
        forward_custom=_flag(get("forward_custom"), False),
        routing_key=(routing_key.strip() or None) if routing_key is not None else None,
        outbox=_flag(get("outbox"), defaults["outbox"]),
        rate_limit=int(get("rate_limit", defaults["rate_limit"])),
        comment_events=_flag(get("comment_events"), defaults["comment_events"]),
        coalesce=_flag(get("coalesce"), defaults["coalesce"]),
        inventory_facts=_flag(get("inventory_facts"), defaults["inventory_facts"]),
        # new in issue 18: absent = today's behaviour (no fallback, no severity, no services,
        # no extra links, ACCEPT and COMMENT apart)
        routing_key_fallback=_stripped(get("routing_key_fallback")),
        severity=_severity(get("ilert_severity")),
        services=(get("ilert_services") or "").strip(),
        runbook_links=_flag(get("runbook_links"), False),
        graph_link=_flag(get("graph_link"), False),
        accept_comments=_flag(get("accept_comments"), False),
    )


def _stripped(value: Any) -> Optional[str]:
    return (value.strip() or None) if value is not None else None


def _severity(value: Any) -> str:
    """Legacy DropdownChoice word, or the modern SingleChoice name (the same words)."""
    if value is None:
        return "off"
    return value


#: what the script must make of a savable value that is not an iLert key (see ``_checked``)
INVALID_KEY = "refused: not an iLert key"


def expected_outcome(params: Mapping[str, Any]) -> Any:
    """``expected_settings``, or INVALID_KEY for a key the script must refuse."""
    try:
        return expected_settings(params)
    except InvalidKey:
        return INVALID_KEY


def parsed_outcome(context: Mapping[str, str]) -> Any:
    """What ``parse_settings`` makes of a flattened context, in the same terms."""
    from cmk_ilert.base.errors import ConfigError
    from cmk_ilert.checkmk.params import parse_settings

    try:
        return parse_settings(context, password_lookup=password_lookup)
    except ConfigError as exc:
        if "is not an iLert key" in str(exc):
            return INVALID_KEY
        raise
