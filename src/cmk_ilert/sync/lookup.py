"""Alert key -> the Checkmk object it belongs to, as Livestatus knows it.

The key index that delivery writes gives the exact names; without an entry, the
key's own (folded) parts are looked up case-insensitively, and an answer that
is not exactly one object is never acted on. Names that no Livestatus command
can carry (``;`` or a line break) are refused, never altered.
"""

from __future__ import annotations

import re
from typing import Any, Callable, List, NamedTuple, Optional, Tuple, Union

from ..base.text import printable
from ..checkmk import livestatus
from ..notify.mapping import MAX_ALERT_KEY
from ..outbox import keyindex

LIVESTATUS_TIMEOUT = 5.0
_HASHED_KEY = re.compile(r"~[0-9a-f]{16}$")
_EXACT_KEY = re.compile(r"~[0-9a-f]{10}$")


class LiveObject(NamedTuple):
    """A host (``service`` empty) or service as Livestatus knows it."""

    host: str
    service: str
    state: int
    acknowledged: bool
    comments: Tuple[str, ...]


class Wanted(NamedTuple):
    """Where an alert key points: exact names (key index) or folded names (the key itself)."""

    host: str
    service: str
    exact: bool


class ObjectFinder:
    """Finds this site's Checkmk object of an alert key (``wanted`` then ``find``)."""

    def __init__(self, root: str, site: str, prefix: str, socket: str, deadline: float,
                 clock: Callable[[], float]) -> None:
        self.root = root
        self.site = site
        self.prefix = prefix
        self.socket = socket
        self.deadline = deadline
        self.clock = clock

    def wanted(self, alert_key: str) -> Union[Wanted, str]:
        if len(alert_key) > MAX_ALERT_KEY:
            return "the alert key is longer than cmk_ilert's keys (%d characters)" % MAX_ALERT_KEY
        key = alert_key.casefold()
        if any(not c.isprintable() for c in key):
            return "the alert key holds control characters"
        target = keyindex.lookup(self.root, key)
        if target is not None and target.site.casefold() == self.site.casefold() and target.host:
            if not (livestatus.addressable(target.host) and livestatus.addressable(target.service)):
                return "%s cannot be addressed by a Livestatus command (';' or a line break in the name)" \
                    % printable("%s/%s" % (target.host, target.service) if target.service else target.host)
            return Wanted(target.host, target.service, True)
        if len(key) == MAX_ALERT_KEY and _HASHED_KEY.search(key):
            return "the key ends in a hash and this site's key index does not know it"
        if _EXACT_KEY.search(key) and not (len(key) == MAX_ALERT_KEY and _HASHED_KEY.search(key)):
            # a digest of the exact names (they differ from the folded ones): Livestatus is asked
            # case-insensitively; two objects whose names differ only in case are refused by find()
            key = key[:-11]
        host, _, service = key[len(self.prefix):].partition("/")
        if not host:
            return "no host name in the key"
        return Wanted(host, service, False)

    def find(self, wanted: Wanted) -> Union[LiveObject, str]:
        op = "=" if wanted.exact else "=~"
        if wanted.service:
            lines = ["GET services", "Columns: host_name description state acknowledged comments_with_info",
                     "Filter: host_name %s %s" % (op, wanted.host), "Filter: description %s %s" % (op, wanted.service)]
        else:
            lines = ["GET hosts", "Columns: name state acknowledged comments_with_info",
                     "Filter: name %s %s" % (op, wanted.host)]
        rows = livestatus.query(self.socket, lines, self.live_deadline(), self.clock)
        objects = [o for o in (_live_object(row, bool(wanted.service)) for row in rows) if o is not None]
        what = printable("%s%s" % (wanted.host, "/" + wanted.service if wanted.service else ""))
        if not objects:
            return "%s is not monitored on this site" % what
        if len(objects) > 1:
            return "%s matches %d objects in Livestatus (names differ only in case)" % (what, len(objects))
        found = objects[0]
        if not (livestatus.addressable(found.host) and livestatus.addressable(found.service)):
            return "%s cannot be addressed by a Livestatus command (';' or a line break in the name)" % what
        return found

    def live_deadline(self) -> float:
        return min(self.deadline, self.clock() + LIVESTATUS_TIMEOUT)


def _live_object(row: List[Any], service: bool) -> Optional[LiveObject]:
    try:
        if service:
            host, desc, state, acked, comments = row[:5]
        else:
            host, state, acked, comments = row[:4]
            desc = ""
    except (TypeError, ValueError):
        return None
    if not isinstance(host, str) or not isinstance(desc, str) or isinstance(state, bool) \
            or not isinstance(state, int):
        return None
    texts: List[str] = []
    for entry in comments if isinstance(comments, list) else ():
        if isinstance(entry, list) and entry and isinstance(entry[-1], str):
            texts.append(entry[-1])
    return LiveObject(host, desc, state, bool(acked), tuple(texts))


def describe(found: LiveObject) -> str:
    """The object for a log line: Livestatus' exact names, cleaned and bounded for printing."""
    return printable("%s/%s" % (found.host, found.service) if found.service else "host %s" % found.host)
