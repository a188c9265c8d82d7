"""Alert key -> (site, host, service): the way back from an iLert alert to Checkmk.

Alert keys are case-folded and long ones end in a hash (``mapping.alert_key``), so
the host and service of an iLert alert cannot be read back from its key. Every
ALERT that is prepared for delivery records the original names here; ``sync``
reads them to acknowledge or comment the right object through Livestatus.

Layout: ``index/<sha256(alert key)[:24]>.json`` below the state directory (the
outbox creates the folder), one small file per alert key (0600), written
atomically (temp file + rename) only when it is missing, names other objects or
is marked closed, so a storm of repeated problems costs one small read per event
(and a time stamp). ``"closed": true`` marks a key whose last RESOLVE was delivered;
the file's modification time is the key's last ALERT or that RESOLVE, which
``Outbox.prune`` uses to drop entries of closed, idle keys (docs/delivery.md).

``"route"`` (written with the ALERT): the rule parameters (``PARAMETER_*``) the ALERT
was prepared with, so that ``sync --reconcile`` can send a RESOLVE (or raise a missing
ALERT) to the same alert source, through the same mapping. Only a rule that holds no
secret itself (its API key in Checkmk's password store: the parameters name only the
store id) is kept whole; of a rule with a key or proxy password typed in, the parameters
holding it are left out and ``SECRET_TYPED_IN`` says so: a secret is kept on disk only while an event of it is queued
(docs/delivery.md), never for the lifetime of an index entry (docs/sync.md, "Reconcile").
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Mapping, NamedTuple, Optional, Tuple

from ..base.digest import sha256
from ..base.fsutil import read_regular, replace_atomically

INDEX_DIR = "index"
#: The route of a rule holding a secret itself: not kept (see the module docstring).
SECRET_TYPED_IN = "secret_typed_in"


class Target(NamedTuple):
    """The Checkmk object an alert key stands for (``service`` empty for hosts)."""

    alert_key: str
    site: str
    host: str
    service: str


def _path(root: str, alert_key: str) -> str:
    digest = sha256(alert_key.encode("utf-8", "surrogatepass")).hexdigest()[:24]
    return os.path.join(root, INDEX_DIR, digest + ".json")


def remember(root: str, target: Target, route: Optional[Mapping[str, str]] = None) -> None:
    """Record ``target`` (an ALERT of its key is on its way: the key may be open) and the
    ``route`` it went out by unless the index already holds exactly these, open; then
    only its time is refreshed (the key's last ALERT, which pruning reads). Never raises
    for I/O problems: the index is a convenience for ``sync``, not part of delivery."""
    path = _path(root, target.alert_key)
    try:
        data = _read(root, target.alert_key)
        if data is not None and _target(data, target.alert_key) == target and not data.get("closed") \
                and (route is None or data.get("route") == dict(route)):
            os.utime(path)
            return
        record: Dict[str, Any] = dict(target._asdict())
        if route is not None:
            record["route"] = dict(route)
        elif data is not None and _target(data, target.alert_key) == target and isinstance(data.get("route"), dict):
            record["route"] = data["route"]
        payload = json.dumps(record, ensure_ascii=False, sort_keys=True).encode("utf-8")
        # tmp/ of the outbox: a temporary file left by a kill is pruned by the next flush
        replace_atomically(path, payload, os.path.join(root, "tmp"), sync=False)
    except (OSError, ValueError):
        return


def mark_closed(root: str, alert_key: str) -> None:
    """A RESOLVE of ``alert_key`` was delivered: no alert of ours is open under it, so
    ``sync`` no longer needs the entry once the key has been idle (``Outbox.prune``).
    Never raises."""
    try:
        data = _read(root, alert_key)
        if data is None or _target(data, alert_key) is None or data.get("closed"):
            return
        data["closed"] = True
        payload = json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")
        replace_atomically(_path(root, alert_key), payload, os.path.join(root, "tmp"), sync=False)
    except (OSError, ValueError):
        return


def closed(root: str, alert_key: str) -> bool:
    """Whether the last RESOLVE of ``alert_key`` was delivered after its last ALERT."""
    data = _read(root, alert_key)
    return bool(data is not None and _target(data, alert_key) is not None and data.get("closed") is True)


def _read(root: str, alert_key: str) -> Optional[Dict[str, Any]]:
    try:
        raw = read_regular(_path(root, alert_key), 65536)
    except OSError:  # unknown, unreadable, not a regular file, too large
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _target(data: Dict[str, Any], alert_key: str) -> Optional[Target]:
    fields = [data.get(name) for name in Target._fields]
    texts = [value for value in fields if isinstance(value, str)]
    if len(texts) != len(fields) or texts[0] != alert_key:
        return None
    return Target(*texts)


def lookup(root: str, alert_key: str) -> Optional[Target]:
    """The recorded object of ``alert_key``, or None (unknown, unreadable, malformed)."""
    data = _read(root, alert_key)
    return None if data is None else _target(data, alert_key)


def route(root: str, alert_key: str) -> Optional[Dict[str, str]]:
    """The rule parameters the last ALERT of ``alert_key`` was prepared with, or None
    (unknown key, an entry written before routes were kept, malformed)."""
    return entry(root, alert_key)[1]


def entry(root: str, alert_key: str) -> Tuple[Optional[Target], Optional[Dict[str, str]]]:
    """The recorded object of ``alert_key`` and its route (each None if unknown), one read."""
    data = _read(root, alert_key)
    target = None if data is None else _target(data, alert_key)
    if data is None or target is None:
        return None, None
    found = data.get("route")
    if not isinstance(found, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in found.items()):
        return target, None
    return target, found
