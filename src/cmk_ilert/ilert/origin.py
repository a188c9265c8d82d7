"""Where an iLert alert came from: its alert source's type and any Checkmk site it names.

``sync`` acts only on alerts of this site. An alert opened through an ``api`` source by
cmk_ilert carries the site in its key (``cmk/<site>/...``); one opened through a source of
type Checkmk (``checkmk-ext``) has a key iLert makes and that holds no site. This module
reads, bounded and defensively, what else an alert object may tell:

* ``alertSource.integrationType`` (OAS ``AlertSource.integrationType``, e.g. ``API``,
  ``CHECKMK``) -- documented;
* site markers, both **assumed** (iLert documents neither for its Checkmk sources):
  ``customDetails.OMD_SITE`` (ilert-go's ``Alert.customDetails`` map; the Checkmk context
  that the sender posts holds ``OMD_SITE``), and the ``site`` parameter of Checkmk GUI
  links in ``links[].href`` (Checkmk's ``HOSTURL``/``SERVICEURL``:
  ``/check_mk/index.py?start_url=view.py?...&site=<OMD_SITE>``, ``cmk/base/events.py``).

An alert without markers is not known to be another site's; ``sync.objects`` decides what
that means. Values are bounded: at most MAX_LINKS links of at most MAX_HREF characters,
site names of at most MAX_SITE printable characters.
"""

from __future__ import annotations

from typing import Any, List, NamedTuple, Tuple
from urllib.parse import parse_qsl, urlsplit

MAX_LINKS = 20
MAX_HREF = 2000
MAX_SITE = 64


class Origin(NamedTuple):
    """What an alert says about its source: integration type ("" unknown), site markers."""

    integration_type: str
    sites: Tuple[str, ...]


UNKNOWN = Origin("", ())


def origin_of(raw: Any) -> Origin:
    """The Origin of one alert object as iLert's API serves it (never raises)."""
    if not isinstance(raw, dict):
        return UNKNOWN
    source = raw.get("alertSource")
    kind = source.get("integrationType") if isinstance(source, dict) else None
    integration_type = kind.upper() if isinstance(kind, str) and kind.isalnum() and len(kind) <= 40 else ""
    sites: List[str] = []
    details = raw.get("customDetails")
    if isinstance(details, dict):
        _add(sites, details.get("OMD_SITE"))
    links = raw.get("links")
    for link in links[:MAX_LINKS] if isinstance(links, list) else ():
        href = link.get("href") if isinstance(link, dict) else None
        if isinstance(href, str) and len(href) <= MAX_HREF:
            for site in _link_sites(href):
                _add(sites, site)
    return Origin(integration_type, tuple(sites))


def _add(sites: List[str], value: Any) -> None:
    if not isinstance(value, str):
        return
    site = value.strip()
    if site and len(site) <= MAX_SITE and site.isprintable() and site not in sites:
        sites.append(site)


def _link_sites(href: str) -> List[str]:
    """``site=`` values of a Checkmk GUI link, also inside its ``start_url`` parameter."""
    try:
        query = urlsplit(href).query
        pairs = parse_qsl(query)
        found = [value for name, value in pairs if name == "site"]
        for name, value in pairs:
            if name == "start_url":
                inner = urlsplit(value).query
                found += [v for n, v in parse_qsl(inner) if n == "site"]
    except ValueError:
        return []
    return found
