"""``inventory_facts`` after the events are safe.

A lookup in the site's HW/SW inventory may be slow (a huge or crafted file), so it
never runs before an event is durable in the outbox: queued entries are rewritten
with their facts afterwards, under their key's lock and only while undelivered;
direct deliveries get them in memory. Each lookup has its own budget
(``inventory.DEFAULT_BUDGET``) and all lookups of a run share
``inventory.RUN_BUDGET``: a late lookup means an alert without facts, never a lost
or delayed event.
"""

from __future__ import annotations

import os
import time
from typing import Any, Dict, List, Optional, Tuple

from ..base.fsutil import replace_atomically
from ..base.locking import FileLock
from ..ilert.wire import build
from ..outbox.entry import QUEUED, encode
from ..outbox.store import Outbox
from .prepare import Prepared


class Enrichment:
    """``inventory_facts`` after the events are safe: a lookup may be slow (a huge or
    crafted inventory), so it never runs before an event is durable, each lookup has
    its own budget (``inventory.DEFAULT_BUDGET``) and all lookups of a run share
    ``inventory.RUN_BUDGET``; a late lookup means an alert without facts, never a lost
    or delayed event."""

    def __init__(self, omd_root: str) -> None:
        self.omd_root = omd_root
        self.budget = 0.0
        self.late = 0
        self._end: Optional[float] = None

    def _facts(self, item: Prepared) -> Optional[Dict[str, Any]]:
        """The item's request with facts, or None (no facts, or no time left)."""
        assert item.enrich is not None
        from . import inventory  # lazy: only rules with inventory_facts pay for the import

        if self._end is None:
            self.budget = inventory.RUN_BUDGET
            self._end = time.monotonic() + inventory.RUN_BUDGET
        remaining = self._end - time.monotonic()
        if remaining <= 0:
            self.late += 1
            return None
        event, ctx, settings = item.enrich
        found = inventory.lookup(self.omd_root or ctx.get("OMD_ROOT"), ctx.get("HOSTNAME"),
                                 min(inventory.DEFAULT_BUDGET, remaining))
        if not found:
            return None
        request = build(inventory.apply(event, found), ctx, settings)
        return {"url": request.url, "body": request.body, "key_in": request.key_in}

    def in_memory(self, items: List[Prepared]) -> None:
        for item in items:
            if item.enrich is not None:
                request = self._facts(item)
                if request is not None:
                    item.data = dict(item.data, request=request)

    def queued(self, items: List[Prepared], enqueued: List[Tuple[str, str]], outbox: Outbox) -> None:
        """Rewrite queued entries with their facts, each under its key's lock and only while
        it waits undelivered (a run that delivered it meanwhile is never undone)."""
        for item, (identity, state) in zip(items, enqueued):
            if item.enrich is None or state != QUEUED:
                continue
            lock = FileLock(outbox.group_lock_path(item.group))
            try:
                if not lock.acquire(wait=0.0):
                    continue  # another run delivers the key right now: no facts
            except OSError:
                continue
            try:
                path = outbox.queue_path(item.group, identity)
                if not os.path.lexists(path) or os.path.lexists(os.path.join(outbox.sent, identity)):
                    continue
                request = self._facts(item)
                if request is None:
                    continue
                data = dict(item.data, request=request)
                try:
                    replace_atomically(path, encode(data), outbox.tmp)
                except OSError:
                    continue  # the entry without facts stays queued
                item.data = data
            finally:
                lock.release()
