"""What icinga2's Livestatus feature answers differently from Checkmk's (``dialect="icinga2"``).

Source: a real icinga2 2.13.6 daemon's answers (Debian 12's ``icinga2`` 2.13.6-2+deb12u2; every
difference below was seen there, and ``tests/sync/test_real_livestatus.py`` checks the stand-in
against that daemon on every CI run), and where they come from in ``Icinga/icinga2``:
``lib/livestatus/livestatusquery.cpp`` (``LivestatusQuery`` constructor: unknown headers fall
through; ``Execute``: an exception is answered ``452``, ``SendResponse``: an error body only with
``fixed16``), ``lib/livestatus/attributefilter.cpp`` (``AttributeFilter::Apply``, commit
``621eed3f``: ``=~`` is ``boost::iequals``, a regex that does not compile matches nothing,
``Unknown operator for column``), ``lib/livestatus/hoststable.cpp`` / ``servicestable.cpp``
(``AcknowledgedAccessor``).

* Boolean columns are JSON ``true``/``false`` (``acknowledged``, ``host_acknowledged``), where
  Checkmk answers ``0``/``1``. Filters still compare them as numbers (``acknowledged = 1``).
* ``=~`` (case-insensitive equality) and ``~~`` (case-insensitive regex) fold ASCII letters only:
  ``MÜ =~ mü`` does not match.
* An unknown column (in ``Columns:`` or a ``Filter:``), an unknown filter operator or a number
  that does not parse (also an empty one) is ``452`` with ``Error: <message>`` and a stack trace
  (Checkmk: ``400``); without ``ResponseHeader: fixed16`` an error is not written at all (the
  client reads an empty answer). An unknown header is ignored; an invalid regular expression
  matches nothing (both ``200``).
* A command answers only when its lines ask for ``ResponseHeader: fixed16``: ``200`` and an
  empty body, or ``452`` when it failed -- unknown object, wrong number of arguments,
  ``Missing timestamp in command``, and acknowledging an object that has no problem
  (``The service 'X' is OK.``).
"""

from __future__ import annotations

from typing import Any

CHECKMK, ICINGA2 = "checkmk", "icinga2"
DIALECTS = (CHECKMK, ICINGA2)
#: columns icinga2 answers as JSON booleans (those the stand-in models)
BOOLEAN_COLUMNS = frozenset({"acknowledged", "host_acknowledged"})
#: the status of a request icinga2 cannot parse (Checkmk: 400)
BAD_REQUEST = {CHECKMK: 400, ICINGA2: 452}
#: command effects icinga2 answers with 452 (the stand-in's effect phrases, commands.py)
FAILED_EFFECTS = ("error", "ignored", "discarded")


def rendered(dialect: str, column: str, value: Any) -> Any:
    """A column's value as the dialect writes it."""
    if dialect == ICINGA2 and column in BOOLEAN_COLUMNS and isinstance(value, int):
        return bool(value)
    return value


def fold(dialect: str, text: str) -> str:
    """Case folding of ``=~``: Unicode for Checkmk's stand-in, ASCII letters only for icinga2."""
    if dialect == ICINGA2:
        return text.translate(_ASCII_LOWER)
    return text.casefold()


_ASCII_LOWER = {ord(c): ord(c.lower()) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
