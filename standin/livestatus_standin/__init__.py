"""A local stand-in for Checkmk's Livestatus: a real Unix socket for tests and demos.

Answers ``GET hosts`` / ``GET services`` from fixture data (columns, filters, output formats,
``fixed16`` response headers, keep-alive), records ``COMMAND`` lines and applies the ones a
two-way sync uses (acknowledge, comment, remove acknowledgement), serves the HW/SW inventory
blobs from files like Livestatus does, and misbehaves on demand (slow, closed, garbage,
truncated, hanging, socket missing). Sources and limits: ``docs/standins.md`` and the module
docstrings. Never shipped to a Checkmk site.
"""

from .control import LivestatusStandIn
from .model import FixtureError
from .query import LivestatusError

__all__ = ["FixtureError", "LivestatusError", "LivestatusStandIn"]
