"""A guarded Livestatus write, for every action of sync (actions.py, comments.py, reopen.py):

an intent is recorded before the command; a run that finds an intent of an earlier run
waits until the core has surely applied it (INTENT_GRACE) before it asks the object's state;
after the command the object is asked again until the effect shows (CONFIRM_PAUSES).
``Writer`` is what those actions share: the run's options, state and finder, and ``send``.
"""

from __future__ import annotations

import time
from typing import Any, Callable, List, Mapping, Optional, Union

from ..base.output import Printer
from ..base.text import printable
from ..checkmk import livestatus
from ..ilert.alerts import RemoteAlert
from ..notify.mapping import MAX_ALERT_KEY
from . import state as sync_state
from .lookup import LiveObject, ObjectFinder, Wanted
from .objects import CheckmkSources
from .options import Options

#: How long Livestatus may take to apply a command: an intent younger than this is waited out
#: before the object's state is asked (asking right after a crash could show the old state).
INTENT_GRACE = 5.0
#: After a command, its object is asked for again after these pauses (3 s in all) until the
#: command shows; the core answers commands silently, so only this tells that it took effect.
CONFIRM_PAUSES = (0.05, 0.1, 0.2, 0.4, 0.75, 1.5)

#: Makes the sync state durable (Run._save).
Save = Callable[[], None]


class Writer:
    """The run's options, state, object finder, printer and ``save`` (Run._save), as every
    action writing to Checkmk uses them; ``send`` is their one guarded write."""

    def __init__(self, opts: Options, state: sync_state.SyncState, finder: ObjectFinder, printer: Printer,
                 save: Save, checkmk: Optional[CheckmkSources] = None) -> None:
        self.opts = opts
        self.state = state
        self.finder = finder
        self.printer = printer
        self.save = save
        self.checkmk = checkmk

    def send(self, tkey: str, verb: str, found: LiveObject, name: str, args: List[Any],
             shows: Callable[[LiveObject], bool]) -> bool:
        """Record the intent ``tkey`` durably, send ``name`` to ``found`` and ask again until
        ``shows``; False when it does not show in time (the intent stays: the next run asks the
        object first)."""
        self.state.intent[tkey] = {"t": time.time(), "r": verb}
        self.save()
        livestatus.command(self.finder.socket, name, args, self.finder.live_deadline(), self.finder.clock,
                           names=target(found))
        return confirmed(self.finder, found, shows)


def label(alert: RemoteAlert) -> str:
    """An alert in a line of output: its id and its key, cleaned and bounded."""
    return "alert %d %s" % (alert.id, printable(alert.alert_key, MAX_ALERT_KEY))


def settled(intent: Mapping[str, Any], finder: ObjectFinder) -> bool:
    """Wait until a command an earlier (killed) run may have sent has surely been applied;
    False when the run's time is too short for that (the next run finishes it)."""
    wait = float(intent.get("t", 0.0)) + INTENT_GRACE - time.time()
    if wait <= 0:
        return True
    if finder.clock() + wait + 1.0 > finder.deadline:
        return False
    time.sleep(wait)
    return True


def confirmed(finder: ObjectFinder, found: LiveObject, shows: Callable[[LiveObject], bool]) -> bool:
    """Whether the object shows the command's effect, asked again after each pause."""
    wanted = wanted_of(found)
    for pause in CONFIRM_PAUSES:
        if finder.clock() + pause + 1.0 > finder.deadline:
            return False
        time.sleep(pause)
        now: Union[LiveObject, str] = finder.find(wanted)
        if isinstance(now, LiveObject) and shows(now):
            return True
        if isinstance(now, str):
            return False
    return False


def wanted_of(found: LiveObject) -> Wanted:
    """The object again, by the exact names Livestatus answered."""
    return Wanted(found.host, found.service, True)


def target(found: LiveObject) -> List[str]:
    """The names a command addresses: host, and service if any (exactly as Livestatus has them)."""
    return [found.host] + ([found.service] if found.service else [])


def locate(alert: RemoteAlert, finder: ObjectFinder, checkmk: Optional[CheckmkSources]) -> Union[LiveObject, str]:
    """The alert's Checkmk object now, or why there is none (as Mirror.transition finds it)."""
    if checkmk is not None and checkmk.owns(alert):  # a key iLert made (objects.py)
        wanted = checkmk.wanted(alert, finder)
    else:
        wanted = finder.wanted(alert.alert_key)
    if isinstance(wanted, str):
        return wanted
    return finder.find(wanted)
