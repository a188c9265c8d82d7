"""``flush``: deliver what is due from the outbox (for the site cron).

Oldest alert key first, each key in order, within the rate limit, and within
``--max-time`` as a hard bound: every request is cut at the time left. A key
whose request hangs costs at most its timeout and is then in backoff, so the
next flush serves the other keys first. A file-system fault on one key is
reported in one line and the other keys go on.
"""

from __future__ import annotations

import json
import os
import time
from typing import Dict, List, Mapping, Optional, Set, Tuple

from ..base.errors import EXIT_OK, EXIT_PERMANENT, EXIT_TEMPORARY
from ..base.fsutil import errno_name, read_regular
from ..base.locking import FileLock
from ..base.output import Printer
from ..base.text import printable
from ..checkmk.paths import state_dir
from .delivery import Deliverer, Result, rate_window
from .entry import DEAD, DELIVERED, MAX_ENTRY_BYTES, QUEUED, SUPERSEDED
from .layout import unusable_reason
from .ratelimit import RateLimiter
from .store import Outbox


def deliver_due(
    environ: Mapping[str, str],
    printer: Printer,
    max_time: float,
    force: bool = False,
    quiet: bool = False,
) -> int:
    deadline = time.monotonic() + max_time
    outbox = Outbox(state_dir(environ))
    try:
        outbox.ensure()  # also on a fresh install: the local check then shows OK, "nothing sent yet"
    except OSError as exc:
        printer.line("flush: outbox %s unusable: %s" % (outbox.root, unusable_reason(exc)))
        return EXIT_TEMPORARY
    for line in outbox.repaired:
        printer.line("flush: " + line)
    flush_lock = FileLock(outbox.flush_lock_path())
    try:
        locked = flush_lock.acquire(wait=0.0)
    except OSError as exc:
        printer.line("flush: cannot open the flush lock: %s" % errno_name(exc))
        return EXIT_TEMPORARY
    if not locked:
        printer.line("flush: another flush is running, nothing to do")
        return EXIT_OK
    deliverer = Deliverer(rate_window(dict(environ)))
    counts = {DELIVERED: 0, QUEUED: 0, DEAD: 0}
    faults = 0
    try:
        outbox.prune(time.time())
        if force:
            _clear_pauses(outbox, deliverer)
        blocked: Set[str] = set()
        again = True
        while again and time.monotonic() < deadline:
            again = False
            index = outbox.groups()
            oldest: Dict[str, str] = {g: outbox.oldest_seq(g, index[g]) for g in index if g not in blocked}
            for group in sorted(oldest, key=oldest.__getitem__):
                if time.monotonic() >= deadline:
                    break
                try:
                    results, drained = _flush_group(outbox, deliverer, group, index[group], deadline, force)
                except OSError as exc:
                    printer.line("flush: %s skipped: %s" % (_group_name(outbox, index[group]), errno_name(exc)))
                    blocked.add(group)
                    faults += 1
                    continue
                printer.add_secrets(deliverer.redactor.secrets)
                if results is None:
                    continue  # a notification run is delivering this key right now
                for result in results:
                    counts[result.state] = counts.get(result.state, 0) + 1
                    if result.state != QUEUED or not quiet:
                        printer.line("%s: %s" % (result.label, result.detail))
                    again = again or result.state in (DELIVERED, DEAD, SUPERSEDED) or result.rate_limited
                if not drained and not (results and results[-1].rate_limited):
                    blocked.add(group)  # in backoff or failing: try again in a later flush
    finally:
        deliverer.close()
        flush_lock.release()
    for identity in outbox.buried:
        printer.line("flush: unreadable or malformed outbox entry %s moved to the dead letters" % identity)
        counts[DEAD] += 1
    pending = sum(len(v) for v in outbox.groups().values())
    if not quiet or counts[DELIVERED] or counts[DEAD] or faults or counts.get(SUPERSEDED):
        printer.line("flush: %d delivered, %d rejected, %d still queued%s" % (
            counts[DELIVERED], counts[DEAD], pending,
            ", %d superseded" % counts[SUPERSEDED] if counts.get(SUPERSEDED) else ""))
    if counts[DEAD]:
        return EXIT_PERMANENT
    return EXIT_TEMPORARY if pending or faults else EXIT_OK


def _flush_group(outbox: Outbox, deliverer: Deliverer, group: str, names: List[str], deadline: float,
                 force: bool) -> Tuple[Optional[List[Result]], bool]:
    lock = FileLock(outbox.group_lock_path(group))
    if not lock.acquire(wait=0.0):
        return None, False
    try:
        entries = outbox.load_group(group, names)
        remaining = deadline - time.monotonic()
        return deliverer.deliver_group(outbox, entries, deadline, remaining, force)
    finally:
        lock.release()


def _clear_pauses(outbox: Outbox, deliverer: Deliverer) -> None:
    try:
        names = os.listdir(outbox.rate)
    except OSError:
        return
    for name in names:
        if name.endswith(".json") and not name.startswith("."):
            RateLimiter(os.path.join(outbox.rate, name), 0, deliverer.window).clear_pause()


def _group_name(outbox: Outbox, names: List[str]) -> str:
    """An alert key group as the admin knows it: the alert key, its key hint and endpoint (read
    from its oldest readable entry), never the internal hash of its file names."""
    for name in sorted(names):
        try:
            data = json.loads(read_regular(os.path.join(outbox.queue, name), MAX_ENTRY_BYTES).decode("utf-8"))
        except (OSError, ValueError, RecursionError):
            continue
        if isinstance(data, dict):
            return "alert key %s (key %s, %s endpoint)" % (
                printable(str(data.get("alert_key", "?"))), printable(str(data.get("key_hint", "?")), 16),
                printable(str(data.get("endpoint", "?")), 16))
    return "an alert key whose queued entries cannot be read"
