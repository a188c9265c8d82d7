"""Alert key -> (site, host, service): the way back from an iLert alert to Checkmk.

Alert keys are case-folded and long ones end in a hash (``mapping.alert_key``), so
the host and service of an iLert alert cannot be read back from its key. Every
ALERT that is prepared for delivery records the original names here; ``sync``
reads them to acknowledge or comment the right object through Livestatus.

Layout: ``index/<sha256(alert key)[:24]>.json`` below the state directory (the
outbox creates the folder), one small file per alert key (0600), written
atomically (temp file + rename) only when it is missing or names other objects,
so a storm of repeated problems costs one small read per event.
"""

from __future__ import annotations

import json
import os
from typing import NamedTuple, Optional

from ..base.digest import sha256
from ..base.fsutil import read_regular, replace_atomically

INDEX_DIR = "index"


class Target(NamedTuple):
    """The Checkmk object an alert key stands for (``service`` empty for hosts)."""

    alert_key: str
    site: str
    host: str
    service: str


def _path(root: str, alert_key: str) -> str:
    digest = sha256(alert_key.encode("utf-8", "surrogatepass")).hexdigest()[:24]
    return os.path.join(root, INDEX_DIR, digest + ".json")


def remember(root: str, target: Target) -> None:
    """Record ``target`` unless the index already holds exactly it. Never raises
    for I/O problems: the index is a convenience for ``sync``, not part of delivery."""
    path = _path(root, target.alert_key)
    try:
        if lookup(root, target.alert_key) == target:
            return
        payload = json.dumps(target._asdict(), ensure_ascii=False, sort_keys=True).encode("utf-8")
        # tmp/ of the outbox: a temporary file left by a kill is pruned by the next flush
        replace_atomically(path, payload, os.path.join(root, "tmp"), sync=False)
    except (OSError, ValueError):
        return


def lookup(root: str, alert_key: str) -> Optional[Target]:
    """The recorded object of ``alert_key``, or None (unknown, unreadable, malformed)."""
    try:
        raw = read_regular(_path(root, alert_key), 65536)
    except OSError:  # unknown, unreadable, not a regular file, too large
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    fields = [data.get(name) for name in Target._fields]
    texts = [value for value in fields if isinstance(value, str)]
    if len(texts) != len(fields) or texts[0] != alert_key:
        return None
    return Target(*texts)
