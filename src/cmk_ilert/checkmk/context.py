"""Read Checkmk's notification input into immutable contexts.

Two transports exist (Checkmk's ``cmk/base/notify.py``: plugin calls and bulk
notifications; the handbook's notifications chapter):

* single: every context variable as an environment variable ``NOTIFY_<KEY>``;
* bulk (``--bulk``): on stdin, a first block of ``KEY=value`` parameter lines,
  then one block per notification, blocks separated by an empty line, newlines
  inside values encoded as ``\\x01``.

Every variable is optional: test notifications, Nagios cores and Event Console
notifications all leave some out, so callers use ``get()`` with a default.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Dict, List, Mapping, Tuple

ENV_PREFIX = "NOTIFY_"
#: Every value is cut here on the way in (nothing downstream needs more; a
#: megabyte of plugin output must not cost time before the event is durable).
MAX_VALUE = 65536
#: Longer variable names are not Checkmk's: they are dropped.
MAX_NAME = 256


class NotificationContext:
    """One notification: the context without the ``NOTIFY_`` prefix."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values: Mapping[str, str] = MappingProxyType(
            {_valid_text(k): _valid_text(v[:MAX_VALUE]) for k, v in values.items() if len(k) <= MAX_NAME})

    @property
    def values(self) -> Mapping[str, str]:
        return self._values

    def get(self, key: str, default: str = "") -> str:
        return self._values.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __repr__(self) -> str:
        # Never show values: parameters may hold secrets.
        return "NotificationContext(%s, %d keys)" % (self.notification_type or "?", len(self._values))

    @property
    def notification_type(self) -> str:
        return self._values.get("NOTIFICATIONTYPE", "").strip()

    @property
    def is_service(self) -> bool:
        what = self._values.get("WHAT", "").strip().upper()
        if what:
            return what == "SERVICE"
        desc = self._values.get("SERVICEDESC", "")
        return bool(desc) and not (desc.startswith("$") and desc.endswith("$"))

    def parameters(self) -> Dict[str, str]:
        return {k: v for k, v in self._values.items() if k.startswith("PARAMETER")}

    def with_values(self, extra: Mapping[str, str]) -> "NotificationContext":
        merged = dict(self._values)
        merged.update(extra)
        return NotificationContext(merged)


def from_environ(environ: Mapping[str, str]) -> NotificationContext:
    """The context of a single (non-bulk) notification.

    Python decodes non-UTF-8 bytes in the environment (a Nagios core passes
    Latin-1 plugin output through) as lone surrogates; they become U+FFFD here
    so that every later encoding step is safe.
    """
    n = len(ENV_PREFIX)
    return NotificationContext({k[n:]: v for k, v in environ.items() if k.startswith(ENV_PREFIX)})


def _valid_text(value: str) -> str:
    """Text that encodes to UTF-8: lone surrogates (undecodable bytes) become U+FFFD."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return value


def parse_bulk(text: str) -> Tuple[Dict[str, str], List[NotificationContext]]:
    """Parse the bulk stdin format into (parameters, contexts).

    Everything before the first empty line is the parameter block (possibly
    empty); every later block is one notification. Each context also gets the
    parameters of the first block unless it carries its own (one bulk never
    mixes parameter sets, so both sources agree).
    """
    params: Dict[str, str] = {}
    blocks: List[Dict[str, str]] = []
    current = params
    in_params = True
    for raw in text.split("\n"):
        line = raw.rstrip("\r")
        if not line:
            if in_params or current:
                current = {}
                blocks.append(current)
            in_params = False
            continue
        key, sep, value = line.partition("=")
        if not sep or not key:
            continue  # not a KEY=value line: tolerated, like Checkmk's own reader
        if key.startswith(ENV_PREFIX):
            key = key[len(ENV_PREFIX):]
        current[key] = value.replace("\x01", "\n")
    contexts = []
    for block in blocks:
        if block:
            merged = dict(params)
            merged.update(block)
            contexts.append(NotificationContext(merged))
    return params, contexts
