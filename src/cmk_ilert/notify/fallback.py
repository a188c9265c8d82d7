"""Direct delivery, the fallback of a notify run whose outbox cannot take its
events (disk full, permissions, a directory another user can write) or whose
rule has the outbox off.

Order is never broken: an event is sent directly only if the queue of its
alert key is empty, or once the queued events of that key were delivered
first; when that cannot be established, it is not sent and Checkmk's retry
gets exit 1. One attempt per event: Checkmk's spooler owns the retries.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, List, Optional, Set

from ..base.fsutil import errno_name
from ..base.locking import FileLock
from ..base.output import Printer
from ..outbox.entry import DEAD, DELIVERED, QUEUED
from ..outbox.layout import check_safe_dir
from ..outbox.store import Outbox
from .lines import print_result
from .prepare import Prepared

if TYPE_CHECKING:  # delivery (transport, sockets, rate limits) is imported only when something is sent
    from ..outbox.delivery import Deliverer

#: A single notification waits at most this long for a rate-limit slot; longer
#: waits are left to the site cron's flush so the core is not held up.
SINGLE_MAX_RATE_WAIT = 2.0


def state_dir_trusted(root: str) -> bool:
    """Whether the state directory may be read: missing, or the site user's and writable by nobody else."""
    try:
        check_safe_dir(root)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


def _earlier_queued(outbox: Outbox, group: str) -> Optional[bool]:
    """Whether events of ``group`` wait in the outbox (None: cannot tell)."""
    try:
        names = os.listdir(outbox.queue)
    except (FileNotFoundError, NotADirectoryError):
        return False  # no queue can exist there
    except OSError:
        return None
    prefix = group + "."
    return any(name.startswith(prefix) and name.endswith(".json") for name in names)


def deliver_direct(items: List[Prepared], outbox: Outbox, deliverer: Deliverer, printer: Printer,
                    deadline: float, why: str, trusted: bool, disk_full: bool = False) -> List[str]:
    """One attempt each, in order, never around earlier queued events of a key;
    Checkmk's spooler owns retries. ``disk_full``: a RESOLVE that cannot be sent
    because of the key's queued events, which were tried already, sets them aside
    (``dead/*.unresolved.json``, a rename): delivered later alone, they would open an
    alert for a problem that is gone."""
    from ..ilert.transport import DELIVERED as OK  # lazy: transport only when something is sent
    from ..ilert.transport import PERMANENT  # lazy: as above
    from ..outbox.delivery import comment_followup  # lazy: as above

    states: List[str] = []
    held: Set[str] = set()  # groups in which an event of this call was not delivered
    retry = "%s: Checkmk may retry" % why
    for item in items:
        if item.group in held:
            printer.line("%s: not sent, an earlier event of this alert key was not delivered; %s" % (item.label, retry))
            states.append(QUEUED)
            continue
        blocker = _clear_the_way(item, outbox, deliverer, printer, deadline, trusted)
        if blocker:
            if disk_full and trusted and item.data["event_type"] == "RESOLVE" and _set_aside(outbox, item.group):
                blocker += ("; they are set aside, not to be sent without it: 'status' shows the key, "
                            "'dead' lists them")
            printer.line("%s: not sent, %s; %s" % (item.label, blocker, retry))
            states.append(QUEUED)
            held.add(item.group)
            continue
        if not deliverer.fits(item.data, deadline):
            printer.line("%s: not sent, the run's time budget is used up; %s" % (item.label, retry))
            states.append(QUEUED)
            held.add(item.group)
            continue
        if item.data["event_type"] == "ALERT":
            outbox.forget_closed(item.group)  # coalescing must not think the key is closed later
        outcome = deliverer.send(item.data, deadline)
        printer.add_secrets(deliverer.redactor.secrets)
        if outcome.status == OK:
            state, text = DELIVERED, "delivered (%s)" % outcome.detail
            if outcome.alert_url:
                text += ", alert " + outcome.alert_url
        elif outcome.status == PERMANENT:
            state, text = DEAD, "rejected permanently (%s)" % outcome.detail
        else:
            state, text = QUEUED, "failed temporarily (%s); %s" % (outcome.detail, retry)
        printer.line("%s: %s" % (item.label, text))
        states.append(state)
        if state != DELIVERED:
            held.add(item.group)
            continue
        follow = comment_followup(item.data, outcome.detail)
        if follow is not None and deliverer.fits(follow, deadline):
            extra = deliverer.send(follow, deadline)  # one attempt, like every event here
            printer.line("%s %s: %s (%s)" % (follow["event_type"], follow["alert_key"], "delivered" if
                                             extra.status == OK else "not delivered", extra.detail))
    return states


def _clear_the_way(item: Prepared, outbox: Outbox, deliverer: Deliverer, printer: Printer,
                   deadline: float, trusted: bool) -> str:
    """Deliver the queued events of the item's alert key first. Returns '' when
    the way is clear, else why the item must not be sent now."""
    earlier = _earlier_queued(outbox, item.group)
    if earlier is False:
        return ""
    if earlier is None:
        return "the outbox cannot be read, so earlier events of this alert key may be waiting"
    if not trusted:
        return "events of this alert key lie in a state directory other users can write, which is not read"
    lock = FileLock(outbox.group_lock_path(item.group))
    try:
        locked = lock.acquire(wait=min(5.0, max(0.0, deadline - time.monotonic())))
    except OSError as exc:
        return "earlier events of this alert key wait in the outbox, which cannot be locked: %s" % errno_name(exc)
    if not locked:
        return "earlier events of this alert key wait in the outbox and another run is delivering them"
    try:
        entries = outbox.load_group(item.group)
        results, drained = deliverer.deliver_group(outbox, entries, deadline, SINGLE_MAX_RATE_WAIT)
    finally:
        lock.release()
    printer.add_secrets(deliverer.redactor.secrets)
    for result in results:
        print_result(printer, result, own=False)
    if not drained:
        return "earlier events of this alert key wait in the outbox and could not be delivered first"
    return ""


def _set_aside(outbox: Outbox, group: str) -> bool:
    """Move the queued events of ``group`` to the dead letters (renames: no space needed)."""
    lock = FileLock(outbox.group_lock_path(group))
    try:
        if not lock.acquire(wait=2.0):
            return False
    except OSError:
        return False
    try:
        entries = outbox.load_group(group)
        return bool(entries) and all([outbox.set_aside(entry) for entry in entries])
    except OSError:
        return False
    finally:
        lock.release()
