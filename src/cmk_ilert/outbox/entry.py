"""The on-disk format of one outbox entry: its fields, their check, their bytes.

An entry is a JSON object (sorted keys, UTF-8, no NaN) holding everything a
later run needs to send the event: the request without the key, a reference
to the key (a password-store id, or the key itself in this 0600 file), the
transport settings, the order (``seq``) and the delivery history. Files from
another version or edited by hand that lack a field delivery relies on fail
``valid_entry`` and go to the dead letters instead of blocking the queue.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, NamedTuple

#: Largest queue entry read (a checkmk-format body of a big context is ~100 kB).
MAX_ENTRY_BYTES = 4 << 20

#: Where an event is: the states of an entry and of a notify run's events.
QUEUED, DELIVERED, DEAD, SUPERSEDED = "queued", "delivered", "dead", "superseded"

Redactor = Callable[[str], str]


class Entry(NamedTuple):
    path: str
    identity: str
    group: str
    data: Dict[str, Any]

    @property
    def seq(self) -> str:
        return str(self.data.get("seq", ""))

    @property
    def next_attempt(self) -> float:
        return float(self.data.get("next_attempt", 0.0))

    @property
    def attempts(self) -> int:
        return int(self.data.get("attempts", 0))

    @property
    def created(self) -> float:
        return float(self.data.get("created", 0.0))


def valid_entry(data: Any) -> bool:
    """Every field delivery relies on is there and has the right type.

    Atomic writes never produce a torn entry, but a file from another version
    or edited by hand must go to the dead letters instead of blocking the queue.
    """
    if not isinstance(data, dict):
        return False
    request, transport = data.get("request"), data.get("transport", {})
    if not (isinstance(request, dict) and isinstance(request.get("url"), str)
            and isinstance(request.get("body"), dict) and isinstance(transport, dict)):
        return False
    if not isinstance(data.get("seq"), str):
        return False
    key = data.get("key")
    if key is not None and not (isinstance(key, dict) and any(isinstance(key.get(k), str) for k in ("store", "value"))):
        return False
    try:
        for name, default in (("created", 0.0), ("next_attempt", 0.0)):
            if not _finite(float(data.get(name, default))):
                return False
        int(data.get("attempts", 0))
        int(data.get("rate_limit", 50))
        if not _finite(float(transport.get("timeout", 10.0))):
            return False
    except (TypeError, ValueError, OverflowError):
        return False
    return True


def _finite(value: float) -> bool:
    return value == value and value not in (float("inf"), float("-inf"))


def encode(data: Dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True,
                      allow_nan=False).encode("utf-8", "replace")
