"""An alert's log entries as ``sync`` reads them (``GET /api/alerts/{id}/log-entries``).

Pure functions of what iLert answered. Sources (docs/sync.md, "Comments"):

* iLert OpenAPI v2.2026.3-r.4, ``/alerts/{id}/log-entries`` and schema ``LogEntry``:
  ``id`` (int64), ``timestamp``, ``logEntryType`` (an enum that holds
  ``AlertCommentAddedLogEntry`` and ``AlertCommentAddedBySystemLogEntry``), ``text``,
  ``alertId``, ``filterTypes``, ``vars`` (a map of strings, with ``include=vars``);
* ``iLert/ilert-go`` ``alert.go`` ``AlertLogEntry`` (id, timestamp, logEntryType, text,
  alertId) and ``GetAlertLogEntries``.

Neither says what ``vars`` carry nor how ``text`` is worded. Assumed, and only used when
present: the author's name under one of AUTHOR_VARS, the comment under one of CONTENT_VARS.
Without them the entry's ``text`` is taken as iLert wrote it (it names the author there, as
far as iLert's web app shows log entries).
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple, Optional, Tuple

from ..base.text import bound

#: A comment a user wrote on the alert in iLert (OAS ``LogEntry.logEntryType``).
USER_COMMENT = "AlertCommentAddedLogEntry"
#: ``vars`` keys read for the author and for the comment (assumed; iLert documents none).
AUTHOR_VARS = ("user", "userName", "username", "author", "creator")
CONTENT_VARS = ("comment", "content")
#: Longest ``text``/value looked at (a longer one is cut before it is cleaned).
MAX_RAW = 8192
MAX_AUTHOR = 80


class LogEntry(NamedTuple):
    id: int
    kind: str  # ``logEntryType``, "" when absent
    text: str  # one line, bounded
    author: str  # from ``vars`` (one line, bounded), "" if not known
    content: str  # the comment from ``vars``, else ``text``


def parse(raw: Any, alert_id: int) -> Optional[LogEntry]:
    """A LogEntry, or None when the entry is not one (no positive id, another alert's)."""
    if not isinstance(raw, dict):
        return None
    entry_id = raw.get("id")
    if isinstance(entry_id, bool) or not isinstance(entry_id, int) or entry_id <= 0:
        return None
    owner = raw.get("alertId")
    if owner is not None and owner != alert_id:
        return None
    kind = raw.get("logEntryType")
    text = _line(raw.get("text"))
    values = raw.get("vars")
    values = values if isinstance(values, dict) else {}
    author = bound(_first(values, AUTHOR_VARS), MAX_AUTHOR)
    content = _first(values, CONTENT_VARS) or text
    return LogEntry(entry_id, kind if isinstance(kind, str) else "", text, author, content)


def _first(values: Mapping[str, Any], names: Tuple[str, ...]) -> str:
    for name in names:
        value = _line(values.get(name))
        if value:
            return value
    return ""


def _line(value: Any) -> str:
    """One line: every character that is not printable (line breaks, tabs, control and
    format characters such as bidi overrides) becomes a space, runs of spaces one space."""
    if not isinstance(value, str):
        return ""
    return " ".join("".join(c if c.isprintable() else " " for c in value[:MAX_RAW]).split())
