"""A local stand-in for iLert's event APIs: a real HTTP(S) server for tests, demos, benchmarks.

Models ``POST /api/events`` (iLert's generic Events API), ``POST /api/v1/events/checkmk-ext/{key}``
(Checkmk's native plugin), heartbeat pings, ``GET /api/alerts`` and ``GET /api/alerts/{id}``
(the REST API a two-way sync reads, behind a user API key), per-key rate limits and injectable
faults; an admin API plays the responders (accept, resolve, comment). Never shipped to a
Checkmk site.

Run it in-process with ``StandIn`` or as ``python -m ilert_standin`` and drive it with
``StandInClient``.
"""

from .client import StandInClient, StandInError
from .control import StandIn
from .faults import Fault, FaultSpec, parse_fault
from .state import LogEntry, RetryAfterMode

__all__ = [
    "Fault",
    "FaultSpec",
    "LogEntry",
    "RetryAfterMode",
    "StandIn",
    "StandInClient",
    "StandInError",
    "parse_fault",
]
