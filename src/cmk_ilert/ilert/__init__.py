"""ilert: iLert's two APIs as this package uses them.

Job: the iLert event (``event``: what iLert should learn, independent of the
wire), the two wire formats of the events API (``wire``: the ``api`` body of
``POST /api/events`` and the ``checkmk`` body of
``POST /api/v1/events/checkmk-ext/{key}``), one bounded HTTP exchange
(``transport``: wall-clock limit, capped answers, retry classification) and
the REST API's alerts and their log entries as ``sync`` needs them
(``alerts``, ``logentries``).

May import: ``cmk_ilert.checkmk`` (the context and settings a request is built
from), ``cmk_ilert.base``, the standard library and ``requests`` (lazily).
"""
