"""What Checkmk shows of its objects, for ``sync --reconcile``: state, hard or soft, since when.

Columns and headers used exist in both Livestatus servers cmk_ilert talks to: Checkmk's
(``Checkmk/checkmk`` ``packages/livestatus/src/TableHosts.cc``, ``TableServices.cc``: a
service row joins its host as ``host_<column>``) and icinga2's
(``Icinga/icinga2`` ``lib/livestatus/hoststable.cpp``, ``servicestable.cpp``,
``livestatusquery.cpp`` for ``Limit``/``Or``/``And``):

hosts     name state state_type last_state_change plugin_output address alias
services  host_name description state state_type last_state_change plugin_output
          host_address host_alias
filters   state state_type acknowledged scheduled_downtime_depth notifications_enabled
          last_state_change, and for services host_state host_scheduled_downtime_depth

Every read is bounded: objects are asked for by exact name in batches of BATCH, problems
with ``Limit: MAX_PROBLEMS`` per table and only the names and times (the output of the few
acted on is read by name afterwards); each answer is capped by ``livestatus.MAX_ANSWER``
and the run's deadline.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

from ..checkmk import livestatus

#: Objects asked for by name in one query.
BATCH = 100
#: Problems read per table and run (the rest wait for a later run).
MAX_PROBLEMS = 5000

HOST_STATES = ("UP", "DOWN", "UNREACHABLE")
SERVICE_STATES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")

_HOST_COLUMNS = "name state state_type last_state_change plugin_output address alias"
_SERVICE_COLUMNS = ("host_name description state state_type last_state_change plugin_output host_address "
                    "host_alias")

Name = Tuple[str, str]  # (host, service); service "" for a host


class Shown(NamedTuple):
    """An object as Livestatus shows it."""

    host: str
    service: str
    state: int
    hard: bool
    since: float  # last_state_change
    output: str = ""
    address: str = ""
    alias: str = ""

    @property
    def name(self) -> Name:
        return self.host, self.service

    @property
    def state_name(self) -> str:
        names = SERVICE_STATES if self.service else HOST_STATES
        return names[self.state] if 0 <= self.state < len(names) else "UNKNOWN"


Query = Callable[[List[str]], List[List[Any]]]


def querier(socket: str, deadline: Callable[[], float], clock: Callable[[], float]) -> Query:
    """One bounded query per call, each with the time the run has left (``deadline()``)."""
    return lambda lines: livestatus.query(socket, lines, deadline(), clock)


def objects(query: Query, names: Iterable[Name]) -> Dict[Name, Shown]:
    """The objects of ``names`` Livestatus knows (exact names), in batches of BATCH.
    Names no header can carry (a line break or ``;``) are left out: never altered."""
    wanted = sorted({n for n in names if livestatus.addressable(n[0]) and livestatus.addressable(n[1])})
    found: Dict[Name, Shown] = {}
    hosts = [n for n in wanted if not n[1]]
    services = [n for n in wanted if n[1]]
    for start in range(0, len(hosts), BATCH):
        batch = hosts[start:start + BATCH]
        lines = ["GET hosts", "Columns: " + _HOST_COLUMNS] + ["Filter: name = %s" % h for h, _ in batch]
        lines += _or(len(batch))
        for row in query(lines):
            shown = _row(row, False)
            if shown is not None and shown.name in batch:
                found[shown.name] = shown
    for start in range(0, len(services), BATCH):
        batch = services[start:start + BATCH]  # sorted: a batch spans few hosts
        hosts_of = sorted({h for h, _ in batch})
        descriptions = sorted({s for _, s in batch})
        # (host in the batch's hosts) and (description in its descriptions): the host filter first,
        # which Livestatus servers answer from their host index; pairs across hosts are dropped below
        lines = ["GET services", "Columns: " + _SERVICE_COLUMNS]
        lines += ["Filter: host_name = %s" % h for h in hosts_of] + _or(len(hosts_of))
        lines += ["Filter: description = %s" % d for d in descriptions] + _or(len(descriptions))
        for row in query(lines):
            shown = _row(row, True)
            if shown is not None and shown.name in batch:
                found[shown.name] = shown
    return found


def problems(query: Query, before: float) -> Tuple[List[Shown], bool]:
    """Hard problems that Checkmk would notify about (not acknowledged, not in a downtime,
    notifications on; a service's host UP and not in a downtime, as the core holds back a
    service's notifications otherwise), in that state since ``before`` or earlier.
    Only names and times; (problems, whether a table hit MAX_PROBLEMS)."""
    common = ["Filter: state > 0", "Filter: state_type = 1", "Filter: acknowledged = 0",
              "Filter: scheduled_downtime_depth = 0", "Filter: notifications_enabled = 1",
              "Filter: last_state_change > 0", "Filter: last_state_change <= %d" % int(before),
              "Limit: %d" % MAX_PROBLEMS]
    hosts = query(["GET hosts", "Columns: name state state_type last_state_change"] + common)
    services = query(["GET services", "Columns: host_name description state state_type last_state_change",
                      "Filter: host_state = 0", "Filter: host_scheduled_downtime_depth = 0"] + common)
    found = [s for s in (_row(r, False, short=True) for r in hosts) if s is not None]
    found += [s for s in (_row(r, True, short=True) for r in services) if s is not None]
    return found, len(hosts) >= MAX_PROBLEMS or len(services) >= MAX_PROBLEMS


def _or(count: int) -> List[str]:
    return ["Or: %d" % count] if count > 1 else []


def _row(row: Sequence[Any], service: bool, short: bool = False) -> Optional[Shown]:
    try:
        if service:
            host, desc, state, state_type, since = row[:5]
            rest = row[5:8]
        else:
            host, state, state_type, since = row[:4]
            desc, rest = "", row[4:7]
    except (TypeError, ValueError):
        return None
    if not isinstance(host, str) or not isinstance(desc, str) or not host or (service and not desc):
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (state, state_type)) \
            or isinstance(since, bool) or not isinstance(since, (int, float)) or since < 0:
        return None
    texts = [v if isinstance(v, str) else "" for v in rest] if not short else []
    texts += [""] * (3 - len(texts))
    return Shown(host, desc, state, state_type == 1, float(since), texts[0], texts[1], texts[2])
