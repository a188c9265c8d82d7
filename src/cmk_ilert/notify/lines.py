"""The words of a notify run: per-event states, the exit code they make and the
lines ``notify.log`` shows (shared by the outbox path and the direct fallback).

Exit code (Checkmk's protocol): 0 when every event of this call was delivered
or ignored by design, 1 when some are safely queued for a later run (or left
to Checkmk's retry), 2 when one was permanently rejected or the rule cannot be
used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Iterable

from ..base.errors import EXIT_OK, EXIT_PERMANENT, EXIT_TEMPORARY
from ..base.output import Printer
from ..checkmk.context import NotificationContext
from ..outbox.entry import DEAD, DELIVERED, QUEUED, SUPERSEDED

if TYPE_CHECKING:  # delivery is imported only when something is sent
    from ..outbox.delivery import Result

IGNORED = "ignored"
STATE_EXIT = {DELIVERED: EXIT_OK, IGNORED: EXIT_OK, SUPERSEDED: EXIT_OK, QUEUED: EXIT_TEMPORARY,
              DEAD: EXIT_PERMANENT}


def exit_code(states: Iterable[str]) -> int:
    return max((STATE_EXIT[s] for s in states), default=EXIT_OK)


def safe_type(ctx: NotificationContext) -> str:
    return " ".join(ctx.notification_type.split())[:40] or "?"


def summary(states: Iterable[str]) -> str:
    counts: Dict[str, int] = {}
    for s in states:
        counts[s] = counts.get(s, 0) + 1
    order = (DELIVERED, QUEUED, DEAD, IGNORED)
    words = {DELIVERED: "delivered", QUEUED: "queued", DEAD: "rejected", IGNORED: "ignored"}
    text = ", ".join("%d %s" % (counts.get(s, 0), words[s]) for s in order)
    if counts.get(SUPERSEDED):
        text += ", %d superseded" % counts[SUPERSEDED]
    return text


def print_result(printer: Printer, result: Result, own: bool) -> None:
    prefix = "" if own else "(earlier event) "
    printer.line("%s%s: %s" % (prefix, result.label, result.detail))
