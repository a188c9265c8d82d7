"""Injectable faults: a FIFO queue, one fault consumed per matching request.

Fault specs (``int`` or ``str``):

* ``500``, ``"503"``, ... any status 300..599: answer it with an iLert-style error body
  (a ``429`` gets ``Retry-After`` according to the server's ``retry_after_mode``);
* ``"429:N"``: 429 with ``Retry-After: N`` (N a non-negative number, sent as written);
* ``"429-noretry"``: 429 without ``Retry-After``;
* ``"reset"``: read the request, then close with ``SO_LINGER 0`` (the client sees a reset);
* ``"drop"``: read the request, then close without answering;
* ``"delay:S"``: sleep S seconds, then handle the request normally;
* ``"redirect"``: 302 to ``https://example.invalid/``.

A fault can be restricted to a path prefix and/or an integration key (for path-key endpoints the
key in the path). Admin requests under ``/_standin/`` never consume faults.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal, Union

FaultKind = Literal["status", "reset", "drop", "delay", "redirect"]
FaultSpec = Union[int, str]  # Union: mypy checks this repo for Python 3.8
_SIMPLE: dict[str, FaultKind] = {
    "reset": "reset",
    "drop": "drop",
    "redirect": "redirect",
}


@dataclass(frozen=True)
class Fault:
    spec: str
    kind: FaultKind
    status: int = 0
    # "" = per the server's retry_after_mode, None = never, else the literal header value
    retry_after: str | None = ""
    delay: float = 0.0
    path_prefix: str | None = None
    key: str | None = None

    def matches(self, path: str, key: str | None) -> bool:
        if self.path_prefix is not None and not path.startswith(self.path_prefix):
            return False
        return self.key is None or self.key == key

    def as_json(self) -> dict[str, str | None]:
        return {"fault": self.spec, "path_prefix": self.path_prefix, "key": self.key}


def _number(text: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"bad fault spec {spec!r}: {text!r} is not a number") from None
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"bad fault spec {spec!r}: needs a finite number >= 0")
    return value


def parse_fault(
    spec: FaultSpec, path_prefix: str | None = None, key: str | None = None
) -> Fault:
    """Turn a fault spec into a ``Fault``; raise ``ValueError`` for a bad spec."""
    if isinstance(spec, bool) or not isinstance(spec, (int, str)):
        raise ValueError(f"bad fault spec {spec!r}: expected an int or a string")
    return replace(_parse(str(spec).strip()), path_prefix=path_prefix, key=key)


def _parse(text: str) -> Fault:
    if text.isdigit():
        status = int(text)
        if not 300 <= status <= 599:
            raise ValueError(f"bad fault spec {text!r}: status must be 300..599")
        return Fault(text, "status", status=status)
    if text.startswith("429:"):
        _number(text[4:], text)
        return Fault(text, "status", status=429, retry_after=text[4:].strip())
    if text == "429-noretry":
        return Fault(text, "status", status=429, retry_after=None)
    if text.startswith("delay:"):
        return Fault(text, "delay", delay=_number(text[6:], text))
    if text in _SIMPLE:
        return Fault(text, _SIMPLE[text])
    raise ValueError(f"unknown fault spec {text!r}")


class FaultQueue:
    """Thread-safe FIFO of pending faults."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, faults: Iterable[Fault]) -> None:
        with self._lock:
            self._faults.extend(faults)

    def take(self, path: str, key: str | None) -> Fault | None:
        """Remove and return the first pending fault that matches this request."""
        with self._lock:
            if not self._faults:
                return None
            for index, fault in enumerate(self._faults):
                if fault.matches(path, key):
                    return self._faults.pop(index)
            return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
