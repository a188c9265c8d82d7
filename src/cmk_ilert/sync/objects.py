"""Alerts of Checkmk-type alert sources -> this site's hosts and services.

An alert that cmk_ilert opens through an ``api`` source has a key it made itself,
``cmk/<site>/<host>[/<service>]``, and ``sync.run`` maps it back. One opened through a
source of type **Checkmk** (``checkmk-ext``, Checkmk's own iLert method or cmk_ilert with
``ilert_source_type: checkmk``) has a key that **iLert** makes from the notification context
(Checkmk's plugin reads it back from the answer's ``incidentKey``); its scheme is not
documented and holds no site. This module maps such alerts, and only those of the alert
sources named with ``--alert-source`` (a key without a site proves nothing about the site):

1. a site marker of the alert (``ilert.origin``: ``customDetails.OMD_SITE``, ``site=`` of
   Checkmk links -- both assumed) that names another site, or several, leaves it alone;
2. the key is read as ``<host>`` or ``<host>/<service>`` (assumed; a Checkmk host name has no
   ``/``, ``cmk/utils/regex.py`` ``REGEX_HOST_NAME_CHARS``, so the first ``/`` splits);
3. the names are looked up in **this site's** Livestatus (the site's own core: a host of
   another site is not there): exact name first, else equal ignoring case, else (service
   descriptions) equal ignoring case and runs of blanks/tabs. One object on the first level
   that finds any is the target; several are ambiguous and nothing is done; the exact
   names Livestatus answered go on as a ``lookup.Wanted`` (exact), so the state query,
   the command and its confirmation are the same as for every alert.

Every refusal is one phrase for the run's log line.
"""

from __future__ import annotations

from typing import Any, Callable, List, Sequence, Set, Tuple, Union

from ..base.text import printable
from ..checkmk import livestatus
from ..ilert.alerts import RemoteAlert
from .lookup import ObjectFinder, Wanted

CHECKMK = "CHECKMK"
#: cmk_ilert's own key scheme, mapped by sync.lookup whatever the source type
OWN_PREFIX = "cmk/"
#: longest key looked up (a host name and a service description, with room to spare)
MAX_KEY = 1000

_TIERS: Tuple[Callable[[str], str], ...] = (
    lambda s: s,
    lambda s: s.casefold(),
    lambda s: " ".join(s.casefold().split()),
)


class CheckmkSources:
    """The Checkmk-type alerts this run may act on, and how to find their objects."""

    def __init__(self, sources: Sequence[int], site: str) -> None:
        self.sources = frozenset(sources)
        self.site = site
        #: ids of Checkmk-type alert sources seen but not named with --alert-source
        self.unnamed: Set[int] = set()

    def owns(self, alert: RemoteAlert) -> bool:
        """Whether ``alert`` is a Checkmk-type alert of a source named with --alert-source."""
        if alert.alert_key.casefold().startswith(OWN_PREFIX):
            return False
        kind = alert.origin.integration_type
        if kind not in (CHECKMK, ""):
            return False
        if alert.source_id is None or alert.source_id not in self.sources:
            if kind == CHECKMK and alert.source_id is not None:
                self.unnamed.add(alert.source_id)
            return False
        return True

    def hint(self) -> str:
        """One line for a run that left Checkmk-type alerts alone, else ""."""
        if not self.unnamed:
            return ""
        ids = sorted(self.unnamed)
        shown = ", ".join(str(i) for i in ids[:5]) + (", ..." if len(ids) > 5 else "")
        return ("alerts of Checkmk-type alert source%s %s left alone: name this site's source with "
                "--alert-source ID to sync them" % ("s" if len(ids) > 1 else "", shown))

    def wanted(self, alert: RemoteAlert, finder: ObjectFinder) -> Union[Wanted, str]:
        """The object of ``alert`` under this site's exact names, or why there is none."""
        found = self.target(alert, finder.socket, finder.live_deadline(), finder.clock)
        return found if isinstance(found, str) else Wanted(found[0], found[1], True)

    def target(self, alert: RemoteAlert, socket: str, deadline: float,
               clock: Callable[[], float]) -> Union[Tuple[str, str], str]:
        """(host, service) as this site's Livestatus names them, or why there is none."""
        refusal = self.other_site(alert)
        if refusal:
            return refusal
        key = alert.alert_key
        if len(key) > MAX_KEY:
            return "the alert key is longer than %d characters" % MAX_KEY
        if any(not c.isprintable() and c != "\t" for c in key):
            return "the alert key holds control characters"
        host, _, service = key.partition("/")
        host = host.strip()
        if not host:
            return "no host name in the key"
        if service:
            return _service(socket, host, service, deadline, clock)
        return _host(socket, host, deadline, clock)

    def other_site(self, alert: RemoteAlert) -> str:
        sites = {s.casefold(): s for s in alert.origin.sites}
        if not sites or set(sites) == {self.site.casefold()}:
            return ""
        if len(sites) > 1:
            return "the alert names several Checkmk sites (%s)" % printable(", ".join(sorted(sites.values())))
        return "the alert names Checkmk site %s, not this one" % printable(next(iter(sites.values())))


def _pick(candidates: Sequence[str], wanted: str) -> List[str]:
    """The candidates equal to ``wanted`` on the strictest level that finds any."""
    for norm in _TIERS:
        goal = norm(wanted)
        hits = sorted({c for c in candidates if norm(c) == goal})
        if hits:
            return hits
    return []


def _names(rows: List[List[Any]], width: int) -> List[Tuple[str, ...]]:
    out = []
    for row in rows:
        if isinstance(row, list) and len(row) >= width and all(isinstance(v, str) for v in row[:width]):
            out.append(tuple(row[:width]))
    return out


def _host(socket: str, host: str, deadline: float, clock: Callable[[], float]) -> Union[Tuple[str, str], str]:
    names = [n[0] for n in _names(livestatus.query(
        socket, ["GET hosts", "Columns: name", "Filter: name =~ %s" % host], deadline, clock), 1)]
    hits = _pick(names, host)
    if not hits:
        return "host %s is not monitored on this site" % printable(host)
    if len(hits) > 1:
        return "host %s matches %d hosts on this site (names differ only in case)" % (printable(host), len(hits))
    return hits[0], ""


def _service(socket: str, host: str, service: str, deadline: float,
             clock: Callable[[], float]) -> Union[Tuple[str, str], str]:
    rows = _names(livestatus.query(socket, [
        "GET services", "Columns: host_name description", "Filter: host_name =~ %s" % host], deadline, clock), 2)
    hosts = _pick([r[0] for r in rows], host)
    if not hosts:
        found = _host(socket, host, deadline, clock)
        if isinstance(found, str):
            return found
        return "%s is not monitored on this site" % printable("%s/%s" % (found[0], service))
    if len(hosts) > 1:
        return "host %s matches %d hosts on this site (names differ only in case)" % (printable(host), len(hosts))
    services = _pick([r[1] for r in rows if r[0] == hosts[0]], service)
    if not services:
        return "%s is not monitored on this site" % printable("%s/%s" % (hosts[0], service))
    if len(services) > 1:
        return "%s matches %d services on this site (names differ only in case or blanks)" % (
            printable("%s/%s" % (hosts[0], service)), len(services))
    return hosts[0], services[0]

