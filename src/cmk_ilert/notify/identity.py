"""Stable names for events, endpoints and alert-key groups (pure functions).

Event identity = SHA-256 over the endpoint fingerprint and the notification
context *without* the per-contact variables (``CONTACT*``) and without the
rule parameters (``PARAMETER*``). Checkmk calls the script once per contact
with otherwise identical contexts, its spooler retries with the same context,
and a replay from the GUI repeats it, so all of these share one identity and
are delivered once. A real new notification differs at least in ``MICROTIME``
(and the notification number), so it gets a new identity. Two rules that send
the same notification to the same alert source also collapse into one event.
"""

from __future__ import annotations

from typing import Mapping

from ..base.digest import sha256
from ..checkmk.params import Settings

_EXCLUDED_PREFIXES = ("CONTACT", "PARAMETER")


def _digest(*parts: str) -> str:
    h = sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


def endpoint_fingerprint(settings: Settings) -> str:
    """Identifies (wire format, URL, key) without revealing the key."""
    return _digest("endpoint", settings.source_type, settings.api_url, settings.api_key.reveal())[:16]


def rate_key(settings: Settings) -> str:
    """One rate-limit bucket per iLert alert source (URL + integration key)."""
    return _digest("rate", settings.api_url, settings.api_key.reveal())[:16]


def group_of(endpoint: str, alert_key: str) -> str:
    """Events of one group are delivered strictly in order."""
    return _digest("group", endpoint, alert_key)[:16]


def event_identity(endpoint: str, values: Mapping[str, str]) -> str:
    parts = [endpoint]
    for key in sorted(values):
        if key.startswith(_EXCLUDED_PREFIXES):
            continue
        parts.append(key)
        parts.append(values[key])
    return _digest(*parts)[:32]
