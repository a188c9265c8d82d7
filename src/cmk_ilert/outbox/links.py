"""The last iLert alert URL per alert key: from Checkmk straight into the alert.

iLert answers an event with ``alertUrl`` (ilert-go ``EventResponse``). The
``notify.log`` line of the delivery shows it; this keeps the last one per
alert key (``links/<sha256(alert key)[:24]>``, 0600, replaced atomically) so
``status`` can show it next to pending events and dead letters. Never raises:
a link is a convenience, not part of delivery.
"""

from __future__ import annotations

import json
import os
from typing import Optional

from ..base.digest import sha256
from ..base.fsutil import read_regular, replace_atomically

LINKS_DIR = "links"


def _path(root: str, alert_key: str) -> str:
    digest = sha256(alert_key.encode("utf-8", "surrogatepass")).hexdigest()[:24]
    return os.path.join(root, LINKS_DIR, digest + ".json")


def remember(root: str, alert_key: str, url: str, now: float) -> None:
    if not url or last(root, alert_key) == url:
        return
    path = _path(root, alert_key)
    try:
        payload = json.dumps({"alert_key": alert_key, "alert_url": url, "at": now}).encode("utf-8")
        replace_atomically(path, payload, os.path.join(root, "tmp"), sync=False)  # the outbox made both folders
    except (OSError, ValueError):
        return


def last(root: str, alert_key: str) -> Optional[str]:
    try:
        data = json.loads(read_regular(_path(root, alert_key), 4096).decode("utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and data.get("alert_key") == alert_key and isinstance(data.get("alert_url"), str):
        return str(data["alert_url"])
    return None
