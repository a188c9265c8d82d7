"""Notification contexts as Checkmk builds them (the variables of Checkmk's notification context,
handbook chapter "Notifications", and Checkmk's own plugin tests), one per type."""

from __future__ import annotations

import hashlib
from typing import Dict, Mapping

from .site import KEY_API, KEY_CMK

BASE_SERVICE: Dict[str, str] = {
    "WHAT": "SERVICE",
    "OMD_SITE": "mysite",
    "MONITORING_HOST": "cmk.example.net",
    "HOSTNAME": "web01",
    "HOSTALIAS": "Web server 01",
    "HOSTADDRESS": "10.0.0.11",
    "HOSTSTATE": "UP",
    "HOSTSHORTSTATE": "UP",
    "SERVICEDESC": "CPU load",
    "SERVICESTATE": "CRITICAL",
    "SERVICESHORTSTATE": "CRIT",
    "SERVICEOUTPUT": "CRIT - 15 min load: 12.40 (!!)",
    "LONGSERVICEOUTPUT": "load1: 14.1\\nload5: 13.0\\nload15: 12.4",
    "SERVICEPERFDATA": "load1=14.1;4;8;0; load5=13.0;4;8;0;",
    "PREVIOUSSERVICEHARDSTATE": "OK",
    "SERVICEPROBLEMID": "171",
    "LASTSERVICEPROBLEMID": "171",
    "SERVICENOTIFICATIONNUMBER": "1",
    "HOSTURL": "/check_mk/index.py?start_url=view.py%3Fview_name%3Dhoststatus%26host%3Dweb01%26site%3Dmysite",
    "SERVICEURL": "/check_mk/index.py?start_url=view.py%3Fview_name%3Dservice%26host%3Dweb01%26service%3DCPU%20load",
    "HOSTTAGS": "/wato/ cmk-agent prod site:mysite tcp",
    "HOSTLABEL_cmk/os_family": "linux",
    "SERVICELABEL_team": "web",
    "LONGDATETIME": "Sun Nov 22 10:00:00 UTC 2026",
    "MICROTIME": "1795341600000000",
    "CONTACTNAME": "alice",
    "CONTACTEMAIL": "alice@example.net",
    "CONTACTS": "alice,bob",
}

BASE_HOST: Dict[str, str] = {
    "WHAT": "HOST",
    "OMD_SITE": "mysite",
    "MONITORING_HOST": "cmk.example.net",
    "HOSTNAME": "db01",
    "HOSTALIAS": "Database 01",
    "HOSTADDRESS": "10.0.0.21",
    "HOSTSTATE": "DOWN",
    "HOSTSHORTSTATE": "DOWN",
    "HOSTOUTPUT": "CRIT - 10.0.0.21: rta nan, lost 100%",
    "PREVIOUSHOSTHARDSTATE": "UP",
    "HOSTPROBLEMID": "42",
    "LASTHOSTPROBLEMID": "42",
    "HOSTNOTIFICATIONNUMBER": "1",
    "HOSTURL": "/check_mk/index.py?start_url=view.py%3Fview_name%3Dhoststatus%26host%3Ddb01%26site%3Dmysite",
    "LONGDATETIME": "Sun Nov 22 10:00:00 UTC 2026",
    "MICROTIME": "1795341600000000",
    "CONTACTNAME": "alice",
    "CONTACTS": "alice",
}


def api_params(url: str, key: str = KEY_API, **extra: str) -> Dict[str, str]:
    params = {
        "PARAMETER_ILERT_API_KEY": "password\t" + key,
        "PARAMETER_ILERT_API_KEY_1": "password",
        "PARAMETER_ILERT_API_KEY_2": key,
        "PARAMETER_ILERT_SOURCE_TYPE": "api",
        "PARAMETER_ILERT_API_URL": url,
    }
    params.update({"PARAMETER_" + k.upper(): v for k, v in extra.items()})
    return params


def checkmk_params(url: str, key: str = KEY_CMK, **extra: str) -> Dict[str, str]:
    params = api_params(url, key, **extra)
    params["PARAMETER_ILERT_SOURCE_TYPE"] = "checkmk"
    return params


def service(ntype: str, params: Mapping[str, str], **overrides: str) -> Dict[str, str]:
    ctx = dict(BASE_SERVICE, NOTIFICATIONTYPE=ntype)
    if ntype == "RECOVERY":
        ctx.update(SERVICESTATE="OK", SERVICESHORTSTATE="OK", SERVICEOUTPUT="OK - 15 min load: 0.40",
                   PREVIOUSSERVICEHARDSTATE="CRITICAL", SERVICEPROBLEMID="0")
    if ntype == "ACKNOWLEDGEMENT":
        ctx.update(NOTIFICATIONAUTHOR="cmkadmin", NOTIFICATIONAUTHORALIAS="Carol Admin",
                   NOTIFICATIONCOMMENT="Working on it", SERVICEACKAUTHOR="cmkadmin", SERVICEACKCOMMENT="Working on it")
    ctx.update(params)
    ctx.update(overrides)
    return ctx


def host(ntype: str, params: Mapping[str, str], **overrides: str) -> Dict[str, str]:
    ctx = dict(BASE_HOST, NOTIFICATIONTYPE=ntype)
    if ntype == "RECOVERY":
        ctx.update(HOSTSTATE="UP", HOSTSHORTSTATE="UP", HOSTOUTPUT="OK - 10.0.0.21: rta 0.4ms",
                   PREVIOUSHOSTHARDSTATE="DOWN", HOSTPROBLEMID="0")
    if ntype == "ACKNOWLEDGEMENT":
        ctx.update(NOTIFICATIONAUTHOR="cmkadmin", NOTIFICATIONCOMMENT="Rebooting", HOSTACKAUTHOR="cmkadmin",
                   HOSTACKCOMMENT="Rebooting")
    ctx.update(params)
    ctx.update(overrides)
    return ctx


def alert_key(site: str, host: str, service: str = "") -> str:
    """The alert key of docs/configuration.md: ``cmk/<site>/<host>[/<service>]`` case-folded, and
    ``~`` with 10 hex digits of SHA-256 over the exact names (NUL-separated) where folding changed
    them (not for names longer than 200 characters, which end in a hash anyway)."""
    exact = ["cmk", site, host] + ([service] if service else [])
    key = "/".join(" ".join(name.split()) for name in exact).casefold()
    if key != "/".join(exact):
        key += "~" + hashlib.sha256("\0".join(exact).encode("utf-8")).hexdigest()[:10]
    return key
