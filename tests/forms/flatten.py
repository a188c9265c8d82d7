"""How Checkmk turns a rule's parameter dict into ``PARAMETER_*`` context keys, per release.

Which rules apply to a release comes from its fact file (``facts.FACTS[release].flattening``:
``tuples`` "tab_only" / "tab_and_items", ``proxy`` "resolved_or_omitted" / "serialised"); each
fact file also carries literal examples that ``test_flatten_facts.py`` checks this model against.
Mirrors ``add_to_event_context`` (our own code, written from the sources below):

2.0 - ``cmk/base/events.py`` (fork victorwitkamp/checkmk, id 45234939328):
  list -> ``<P>S`` = items joined by spaces + ``<P>_1..n``; dict -> ``<P>_<KEY.upper()>``; anything
  else -> ``plugin_param_to_string``: str as is, int/float ``str()`` (bool is an int: "True"/"False"),
  None -> "", tuple/list -> items joined by TAB (TypeError if an item is not a str), else ``repr``.
  ``PARAMETER_PROXY_URL`` -> ``config.get_http_proxy(value)`` (``cmk/base/config.py`` 2.0 era,
  id 1214244853): environment -> None (key left out), global -> its URL (None if unknown),
  url -> the URL, no_proxy -> "".
2.1+ - ``cmk/base/events.py`` id 1219679225 (2.1/2.2), id 3282295375 (newest): list/tuple -> plain key
  (``S`` suffix for lists) joined by space/TAB only if every item is a str, always ``<P>_1..n``
  (recursive); dict as above; str/int/float ``str()``; None ""; else ``repr``.
  ``PARAMETER_PROXY_URL`` -> ``get_http_proxy(value).serialize()`` (``cmk/utils/http_proxy_config.py``,
  id 13320939036): ``FROM_ENVIRONMENT``, ``NO_PROXY`` or the URL; understands the valuespec tuples
  and the FormSpec ``("cmk_postprocessed", kind, value)`` shape; unknown global proxy -> environment.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from facts import FACTS

PREFIX = "PARAMETER"


def flatten(
    params: Mapping[str, Any],
    release: str,
    global_proxies: Optional[Mapping[str, str]] = None,
) -> Dict[str, str]:
    """The ``PARAMETER_*`` context keys (without ``NOTIFY_``) for ``params`` on ``release``."""
    proxies = dict(global_proxies or {})
    context = {}  # type: Dict[str, str]
    rules = FACTS[release].flattening
    if (rules.tuples, rules.proxy) == ("tab_only", "resolved_or_omitted"):
        _add_20(context, PREFIX, params, proxies)
    elif (rules.tuples, rules.proxy) == ("tab_and_items", "serialised"):
        _add_21(context, PREFIX, params, proxies)
    else:
        raise ValueError("no model of the flattening %r" % (rules,))
    return context


def _add_20(context, prefix, param, proxies):
    if isinstance(param, list):
        context[prefix + "S"] = " ".join(param)
        for nr, value in enumerate(param):
            _add_20(context, "%s_%d" % (prefix, nr + 1), value, proxies)
    elif isinstance(param, dict):
        for key, value in param.items():
            varname = "%s_%s" % (prefix, key.upper())
            if varname == "PARAMETER_PROXY_URL":
                if isinstance(value, str):
                    value = ("url", value)
                value = _get_http_proxy_20(value, proxies)
                if value is None:
                    continue
            _add_20(context, varname, value, proxies)
    else:
        context[prefix] = _plugin_param_to_string_20(param)


def _plugin_param_to_string_20(value):
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    if value is None:
        return ""
    if isinstance(value, (tuple, list)):
        return "\t".join(value)  # TypeError on non-str items, as in 2.0
    return repr(value)


def _get_http_proxy_20(value, proxies):
    if not isinstance(value, tuple):
        return None
    proxy_type, setting = value  # a 3-tuple (FormSpec) would fail here, as in 2.0
    if proxy_type == "environment":
        return None
    if proxy_type == "global":
        return proxies.get(setting)
    if proxy_type == "url":
        return setting
    if proxy_type == "no_proxy":
        return ""
    return None


def _add_21(context, prefix, param, proxies):
    if isinstance(param, (list, tuple)):
        if all(isinstance(item, str) for item in param):
            suffix, separator = ("S", " ") if isinstance(param, list) else ("", "\t")
            _add_21(context, prefix + suffix, separator.join(param), proxies)
        for nr, value in enumerate(param, start=1):
            _add_21(context, "%s_%d" % (prefix, nr), value, proxies)
    elif isinstance(param, dict):
        for key, value in param.items():
            varname = "%s_%s" % (prefix, key.upper())
            if varname == "PARAMETER_PROXY_URL":
                if isinstance(value, str):
                    value = ("url", value)
                value = serialize_proxy(value, proxies)
            _add_21(context, varname, value, proxies)
    elif isinstance(param, (str, int, float)):
        context[prefix] = str(param)
    elif param is None:
        context[prefix] = ""
    else:
        context[prefix] = repr(param)


def serialize_proxy(value, proxies):
    """``http_proxy_config_from_user_setting(value, proxies).serialize()``"""
    if not isinstance(value, tuple):
        return "FROM_ENVIRONMENT"
    if len(value) == 3 and value[0] == "cmk_postprocessed":
        proxy_type = {"stored_proxy": "global", "explicit_proxy": "url", "no_proxy": "no_proxy"}.get(
            value[1], "environment"
        )
        setting = value[2]
    else:
        proxy_type, setting = value
    if proxy_type == "environment":
        return "FROM_ENVIRONMENT"
    if proxy_type == "global" and str(setting) in proxies:
        return proxies[str(setting)]
    if proxy_type == "url":
        return str(setting)
    if proxy_type == "no_proxy":
        return "NO_PROXY"
    return "FROM_ENVIRONMENT"
