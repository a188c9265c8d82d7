"""``dead``, ``retry``, ``discard``: what an admin does with rejected events.

A dead letter (``outbox/deadletters``) keeps the rejected event. ``dead`` lists
them with an id each; ``retry`` puts them back in the queue, in their original
order, and delivers at once (as ``flush --now``); ``discard`` removes them, with
a line in ``journal/handled.jsonl``. Either way the dead letter is *handled*:
``status`` and ``heartbeat`` stop counting it.

A retry never breaks a key's order and never reopens what has recovered: a dead
letter is discarded instead of re-sent, with a line saying why, when an event of
its alert key was delivered after it was rejected (a RESOLVE: the problem has
recovered; anything else: sending it now would go around a later event), when
Livestatus says the object of a rejected ALERT is OK (UP) now, or
when it was set aside because its RESOLVE could not be stored on a full disk.
Re-sent events go through the queue, so ``coalesce`` still drops an ALERT whose
RESOLVE is retried with it. The key: an event from a rule that names a
password-store entry looks the key up when it is sent, so a key fixed in the
store reaches it; an event from a rule with the key typed in keeps the key it
was queued with (fix it in the rule, discard, and let Checkmk notify again).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..base.errors import EXIT_OK, EXIT_PERMANENT, EXIT_TEMPORARY, ConfigError
from ..base.fsutil import errno_name, replace_atomically, unlink
from ..base.locking import FileLock
from ..base.output import Printer
from ..checkmk import livestatus
from ..checkmk.paths import state_dir
from ..outbox import keyindex
from ..outbox.entry import encode, valid_entry
from ..outbox.flush import deliver_due
from ..outbox.layout import unusable_reason
from ..outbox.sender import entry_secrets
from ..outbox.store import Outbox
from .status import dead_id

#: A retry asks Livestatus whether a rejected ALERT's object is OK now, for at most this long.
LIVESTATUS_TIMEOUT = 2.0


def _outbox(env: Mapping[str, str], printer: Printer, command: str) -> Optional[Outbox]:
    outbox = Outbox(state_dir(env))
    if not outbox.exists():
        printer.line("%s: no outbox at %s, so no dead letters" % (command, outbox.root))
        return None
    try:
        outbox.ensure()
    except OSError as exc:
        raise ConfigError("outbox %s unusable: %s" % (outbox.root, unusable_reason(exc))) from None
    return outbox


def _selected(outbox: Outbox, ids: List[str], every: bool,
              printer: Printer) -> Tuple[List[Tuple[str, Dict[str, Any]]], List[str]]:
    letters = outbox.dead_letters()
    for _, record in letters:
        entry = record.get("entry")
        if isinstance(entry, dict):
            printer.add_secrets(entry_secrets(entry))
    if every:
        return letters, []
    by_id = {dead_id(path): (path, record) for path, record in letters}
    return [by_id[i] for i in ids if i in by_id], [i for i in ids if i not in by_id]


def _label(record: Mapping[str, Any]) -> str:
    return "%s %s" % (record.get("event_type") or "-", record.get("alert_key") or "?")


def run_dead(env: Mapping[str, str], printer: Printer, as_json: bool) -> int:
    outbox = _outbox(env, printer, "dead")
    letters, _ = _selected(outbox, [], True, printer) if outbox else ([], [])
    now = time.time()
    rows: List[Dict[str, Any]] = [
        {"id": dead_id(path), "event_type": r.get("event_type"), "alert_key": r.get("alert_key"),
         "reason": printer.redact(str(r.get("reason", ""))), "since": _number(r.get("dead_since"), now),
         "retry": "yes" if isinstance(r.get("entry"), dict) and not r.get("unresolved") else "no"}
        for path, r in letters]
    if as_json:
        printer.raw(json.dumps(rows, indent=2, ensure_ascii=False, allow_nan=False))
    elif outbox:
        if not rows:
            printer.raw("no dead letters")
        for row in rows:
            printer.raw("%s  %s %s, %ds ago: %s%s" % (
                row["id"], row["event_type"] or "-", row["alert_key"], max(0, int(now - row["since"])), row["reason"],
                "" if row["retry"] == "yes" else " (cannot be retried: discard it)"))
        if rows:
            printer.raw("fix the cause, then: retry ID... | retry --all (send again, in order) or "
                        "discard ID... | discard --all")
    return EXIT_PERMANENT if rows else EXIT_OK


def _chosen(env: Mapping[str, str], printer: Printer, ids: List[str], every: bool, verb: str
            ) -> Optional[Tuple[Outbox, List[Tuple[str, Dict[str, Any]]], int]]:
    """The outbox and the dead letters a ``retry``/``discard`` names, with the exit code so far
    (2 when an id names no dead letter); None without an outbox."""
    if not ids and not every:
        raise ConfigError("name the dead letters to %s (ids from 'dead'), or --all" % verb)
    outbox = _outbox(env, printer, verb)
    if outbox is None:
        return None
    chosen, unknown = _selected(outbox, ids, every, printer)
    for name in unknown:
        printer.line("%s: no dead letter %s" % (verb, name[:80]))
    return outbox, chosen, EXIT_PERMANENT if unknown else EXIT_OK


def run_discard(env: Mapping[str, str], printer: Printer, ids: List[str], every: bool) -> int:
    found = _chosen(env, printer, ids, every, "discard")
    if found is None:
        return EXIT_OK
    outbox, chosen, code = found
    now = time.time()
    for path, record in chosen:
        problem = outbox.discard(path, record, "discarded by the admin", now)
        printer.line("%s: %s" % (_label(record), problem or "discarded, not sent (id %s)" % dead_id(path)))
        code = max(code, EXIT_PERMANENT if problem else EXIT_OK)
    return code


def run_retry(env: Mapping[str, str], printer: Printer, ids: List[str], every: bool, max_time: float) -> int:
    found = _chosen(env, printer, ids, every, "retry")
    if found is None:
        return EXIT_OK
    outbox, chosen, code = found
    now = time.time()
    requeued = 0
    # oldest first per key: the order the events had
    chosen.sort(key=lambda item: (str(item[1].get("group", "")), _seq(item[1])))
    for path, record in chosen:
        label = _label(record)
        entry = record.get("entry")
        group = record.get("group")
        why = _not_again(outbox, record, env.get("OMD_ROOT", ""))
        if why:
            problem = outbox.discard(path, record, why, now)
            printer.line("%s: %s" % (label, problem or "discarded, not sent again: " + why))
            code = max(code, EXIT_PERMANENT if problem else EXIT_OK)
            continue
        if not (isinstance(entry, dict) and valid_entry(entry) and isinstance(group, str) and group):
            printer.line("%s: cannot be retried, the event was not kept (a rule that cannot be used, an unreadable "
                         "entry, or a dead letter of an older version); fix the cause, then discard %s"
                         % (label, dead_id(path)))
            code = EXIT_PERMANENT
            continue
        problem = _requeue(outbox, path, record, group, entry, now)
        if problem:
            printer.line("%s: not retried, %s" % (label, problem))
            code = max(code, EXIT_TEMPORARY)
            continue
        requeued += 1
        printer.line("%s: back in the queue (id %s)" % (label, dead_id(path)))
    if requeued:
        code = max(code, deliver_due(env, printer, max_time, force=True))
    return code


def _not_again(outbox: Outbox, record: Mapping[str, Any], omd_root: str = "") -> str:
    """Why a dead letter must not be sent again ('' if it may)."""
    if record.get("unresolved"):
        return "its problem recovered and its RESOLVE could not be stored (disk full); sent alone it would " \
               "open an alert for a problem that is gone"
    group = record.get("group")
    if not isinstance(group, str) or not group:
        return ""
    since = _number(record.get("dead_since"), 0.0)
    later = _mtime(os.path.join(outbox.sent, group + ".last"))
    if later <= since:
        if record.get("event_type") == "ALERT" and omd_root and _known_ok(outbox, record, omd_root):
            return "its object is OK in Checkmk now (Livestatus): the problem has recovered"
        return ""
    if outbox.closed(group) and _mtime(os.path.join(outbox.sent, group + ".closed")) > since:
        return "a RESOLVE of its alert key was delivered after it was rejected: the problem has recovered"
    return "a later event of its alert key was delivered after it was rejected: sent now, it would go around it"


def _known_ok(outbox: Outbox, record: Mapping[str, Any], omd_root: str) -> bool:
    """Whether Livestatus says the ALERT's host is UP or its service OK now. Unknown (no index
    entry, Livestatus not answering within LIVESTATUS_TIMEOUT) is not OK: the ALERT is sent."""
    target = keyindex.lookup(outbox.root, str(record.get("alert_key", "")))
    if target is None or not target.host:
        return False
    path = os.path.join(omd_root, *livestatus.SOCKET)
    if target.service:
        lines = ["GET services", "Columns: state", "Filter: host_name = %s" % livestatus.field(target.host),
                 "Filter: description = %s" % livestatus.field(target.service)]
    else:
        lines = ["GET hosts", "Columns: state", "Filter: name = %s" % livestatus.field(target.host)]
    try:
        rows = livestatus.query(path, lines, time.monotonic() + LIVESTATUS_TIMEOUT)
    except (livestatus.LivestatusError, OSError, ValueError):
        return False
    return len(rows) == 1 and bool(rows[0]) and rows[0][0] == 0


def _requeue(outbox: Outbox, path: str, record: Mapping[str, Any], group: str, entry: Dict[str, Any],
             now: float) -> str:
    """Put the event back in the queue as never tried, then remove its dead letter."""
    identity = dead_id(path)
    data = dict(entry)
    for name in ("last_error", "last_attempt"):
        data.pop(name, None)
    data.update({"attempts": 0, "next_attempt": 0.0, "reached": False, "created": now,
                 "retried": now, "first_created": entry.get("first_created", entry.get("created"))})
    lock = FileLock(outbox.group_lock_path(group))
    try:
        if not lock.acquire(wait=5.0):
            return "another run holds its alert key; try again"
    except OSError as exc:
        return "its alert key cannot be locked: %s" % errno_name(exc)
    try:
        unlink(os.path.join(outbox.sent, identity))  # the dedup marker of a rejected event
        unlink(os.path.join(outbox.sent, identity + ".try"))  # rejected: it opened nothing in iLert
        replace_atomically(outbox.queue_path(group, identity), encode(data), outbox.tmp)
    except OSError as exc:
        return "the queue cannot be written: %s" % errno_name(exc)
    finally:
        lock.release()
    outbox.discard(path, record, "sent again by retry", now, handled="retried")
    return ""


def _seq(record: Mapping[str, Any]) -> str:
    entry = record.get("entry")
    return str(entry.get("seq", "")) if isinstance(entry, dict) else ""


def _mtime(path: str) -> float:
    try:
        return os.lstat(path).st_mtime
    except OSError:
        return 0.0


def _number(value: Any, default: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if number == number and abs(number) != float("inf") else default
