"""Nobody is paged for what already recovered (``coalesce``, on by default).

After an outage, or in a storm paced by the rate limit, the queue of one alert
key can hold an ALERT that was never sent and, behind it, the RESOLVE of the
same problem. Sending both pages somebody for a problem that is gone. The
pair is dropped instead ("superseded"), with every COMMENT, ACCEPT or repeated
ALERT queued between them.

Safety rules (pure function, the caller holds the alert key's lock):
* only at the head of the key's queue, so nothing overtakes anything;
* never when the ALERT may have reached iLert: an earlier attempt failed in a
  way that leaves open whether iLert processed it (a timeout after the
  connection was made, a reset, a 5xx), or an attempt marker written right
  before every ALERT is sent survives (a kill in the middle of the request).
  Attempts that certainly did not reach iLert (connection refused, DNS,
  connect timeout, unreachable proxy, 429) do not count: that is the outage
  case, where the pair is most worth dropping;
* never across keys or alert sources (a group is one endpoint + alert key);
* the RESOLVE itself is dropped only when iLert is known to hold no open
  alert for the key (``closed``: the last event of the key that may have
  reached iLert was a delivered RESOLVE). Otherwise an alert opened by an
  earlier ALERT could stay open forever: the never-sent ALERT and what
  follows it are dropped, the RESOLVE is sent;
* only when the ALERT's rule has ``coalesce`` on;
* never a run that holds a test alert (a CUSTOM notification with
  ``forward_custom``): it exists to be seen, its RESOLVE comes right behind it.
"""

from __future__ import annotations

from typing import Callable, List, Tuple

from .entry import Entry


def superseded(entries: List[Entry], attempted: Callable[[Entry], bool],
               closed: Callable[[], bool]) -> Tuple[List[List[Entry]], List[Entry]]:
    """Split a group's entries (oldest first) into the runs to drop and the rest.

    A run starts at a never-attempted ALERT at the head of the queue and ends at
    the first RESOLVE after it (or right before it, unless ``closed()``); after a
    run, the next head is examined again.
    """
    runs: List[List[Entry]] = []
    rest = list(entries)
    while rest:
        head = rest[0]
        if head.data.get("event_type") != "ALERT" or not head.data.get("coalesce", False) or attempted(head):
            break
        end = next((i for i, e in enumerate(rest) if i and e.data.get("event_type") == "RESOLVE"), None)
        if end is None or any(_is_test(e) for e in rest[:end + 1]):
            break
        if not closed():
            runs.append(rest[:end])  # the RESOLVE goes out: an earlier alert may be open
            rest = rest[end:]
            break
        runs.append(rest[:end + 1])
        rest = rest[end + 1:]
    return runs, rest


def _is_test(entry: Entry) -> bool:
    return str(entry.data.get("notification_type", "")).upper() == "CUSTOM"
