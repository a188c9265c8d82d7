"""The durable outbox: every event is on disk before its first attempt.

Guarantees: an entry is written to ``tmp/``, fsync'd, then hard-linked into
``queue/`` (``os.link`` fails if the same event is already queued, which makes
dedup and enqueue one atomic step) and the directory is fsync'd. A delivered
entry gets its ``sent/`` marker *before* it is unlinked, an enqueue checks the
marker *after* linking, and loading a group drops entries whose marker exists
(a kill between marker and unlink), so a delivered event is never posted again.
A process killed at any point leaves either no entry or a complete one
(at-least-once: a kill between a successful POST and the marker means one
repeated POST, which iLert folds into the same alert by its alert key).

Hostile state: the directory must belong to the site user and be writable by
nobody else (``UnsafeStateDir`` otherwise); a sub-folder that is not a folder
is moved aside and recreated; only regular files are read; anything else in
``queue/`` is buried. Failures to write *after* an entry is durable never lose
it: it stays queued and the caller reports the failure.
"""

from __future__ import annotations

import errno
import json
import os
import time
from typing import Any, Dict, Iterable, List, Optional, Tuple

from ..base.fsutil import NotRegular, errno_name, fsync_path, read_regular, replace_atomically, touch, unlink, write_new
from .deadletters import DeadLetters
from .entry import DEAD, DELIVERED, MAX_ENTRY_BYTES, QUEUED, Entry, Redactor, encode, valid_entry
from .keystate import KEY_PRUNE_BUDGET, prune_keys
from .policy import DEDUP_SECONDS, TMP_STALE_SECONDS, backoff_delay


class Outbox(DeadLetters):
    """The queue: enqueue, read a key's entries in order, record attempts, prune.
    The layout is ``Layout``'s, the coalescing markers ``Markers``', the dead
    letters ``DeadLetters``' (which build on the markers' journal)."""

    def enqueue(self, items: Iterable[Tuple[str, str, Dict[str, Any]]]) -> List[Tuple[str, str]]:
        """Write ``(group, identity, data)`` items durably.

        Returns ``(identity, state)`` per item: ``queued`` for a new entry, or
        the state of the earlier copy for a duplicate folded into the state
        string as ``duplicate-<state>``. Raises OSError (nothing half-written
        stays behind) when the entries cannot be written.
        """
        # fsync batching: write every new entry to tmp/ unsynced, fsync them
        # all back to back, then link them into queue/. Each entry is still on
        # disk before it becomes visible in queue/ (and before any attempt).
        results: List[Tuple[str, str]] = []
        pending: List[Tuple[int, str, str, str]] = []  # (result index, identity, tmp, final)
        pid = os.getpid()
        try:
            for n, (group, identity, data) in enumerate(items):
                known = self.state_of(identity, group)
                if known is not None:
                    results.append((identity, "duplicate-" + known))
                    continue
                tmp = os.path.join(self.tmp, "%s.%d.%d.tmp" % (identity, pid, n))
                pending.append((len(results), identity, tmp, self.queue_path(group, identity)))
                write_new(tmp, encode(data), sync=False)
                results.append((identity, QUEUED))
            for _, _, tmp, _ in pending:
                fsync_path(tmp)
        except BaseException:
            for _, _, tmp, _ in pending:
                unlink(tmp)
            raise
        written = False
        for index, identity, tmp, final in pending:
            try:
                os.link(tmp, final)
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    for _, _, rest, _ in pending:
                        unlink(rest)
                    raise
                unlink(tmp)
                results[index] = (identity, "duplicate-" + QUEUED)
                continue
            unlink(tmp)
            written = True
            if os.path.exists(os.path.join(self.sent, identity)):
                # Delivered by another run between our check and our link.
                unlink(final)
                results[index] = (identity, "duplicate-" + DELIVERED)
        if written:
            fsync_path(self.queue)
        return results

    def state_of(self, identity: str, group: str) -> Optional[str]:
        """Where an event is now: queued, delivered, dead, or unknown (None)."""
        if os.path.lexists(self.queue_path(group, identity)):
            return QUEUED
        if os.path.lexists(os.path.join(self.sent, identity)):
            return DELIVERED
        if os.path.lexists(os.path.join(self.dead, identity + ".json")):
            return DEAD
        return None

    def queue_path(self, group: str, identity: str) -> str:
        """Where an entry of ``group`` with ``identity`` is queued (the one name format of ``queue/``)."""
        return os.path.join(self.queue, "%s.%s.json" % (group, identity))

    # --- reading -------------------------------------------------------------

    def names(self) -> List[str]:
        try:
            return [n for n in os.listdir(self.queue) if n.endswith(".json")]
        except FileNotFoundError:
            return []

    def groups(self, names: Optional[List[str]] = None) -> Dict[str, List[str]]:
        out: Dict[str, List[str]] = {}
        for name in self.names() if names is None else names:
            group, _, rest = name.partition(".")
            if rest:
                out.setdefault(group, []).append(name)
        return out

    def has_group(self, group: str) -> bool:
        """Whether any entry of ``group`` is queued (names only, nothing is opened)."""
        prefix = group + "."
        return any(name.startswith(prefix) for name in self.names())

    def load_group(self, group: str, names: Optional[List[str]] = None) -> List[Entry]:
        """The pending entries of one group, oldest first. Entries that were
        delivered already (marker present) are dropped; unreadable, malformed
        or non-regular ones go to the dead letters."""
        if names is None:
            prefix = group + "."
            names = [n for n in self.names() if n.startswith(prefix)]
        entries: List[Entry] = []
        for name in names:
            path = os.path.join(self.queue, name)
            identity = name[len(group) + 1: -len(".json")]
            if os.path.lexists(os.path.join(self.sent, identity)):
                unlink(path)  # delivered; a kill came between the marker and the unlink
                continue
            try:
                data = json.loads(read_regular(path, MAX_ENTRY_BYTES).decode("utf-8"))
                if not valid_entry(data):
                    raise ValueError("not an outbox entry")
            except FileNotFoundError:
                continue  # delivered meanwhile by another run
            except NotRegular as exc:
                self._bury(path, identity, {"reason": "outbox entry is not a regular file (%s)" % exc.strerror,
                                            "created": time.time(), "dead_since": time.time()})
                self.buried.append(identity)
                continue
            except (OSError, ValueError, RecursionError):
                self._bury(path, identity, {"reason": "unreadable or malformed outbox entry", "created": time.time(),
                                            "dead_since": time.time()})
                self.buried.append(identity)
                continue
            entries.append(Entry(path, identity, group, data))
        entries.sort(key=lambda e: e.seq)
        return entries

    def oldest_seq(self, group: str, names: List[str]) -> str:
        """Sort key of a group's oldest entry (for oldest-key-first flushing)."""
        seqs = []
        for name in names:
            try:
                data = json.loads(read_regular(os.path.join(self.queue, name), MAX_ENTRY_BYTES).decode("utf-8"))
                seqs.append(data["seq"] if valid_entry(data) else "")
            except (OSError, ValueError, RecursionError):
                seqs.append("")  # unreadable or odd: load_group buries it; handle it first
        return min(seqs) if seqs else ""

    # --- transitions -----------------------------------------------------------

    def mark_delivered(self, entry: Entry) -> Optional[str]:
        """Marker first, then unlink. Returns None, or what could not be done
        (the event *was* delivered either way)."""
        problem = None
        try:
            touch(os.path.join(self.sent, entry.identity))
        except OSError as exc:
            problem = "could not write its delivered marker, %s" % errno_name(exc)
        try:
            touch(os.path.join(self.sent, entry.group + ".last"))  # for `retry`: a later event went out
        except OSError:
            pass
        if not unlink(entry.path):
            problem = "could not remove it from the queue: it may be sent once more"
        return problem

    def reschedule(self, entry: Entry, error: str, now: float, backoff: bool = True,
                   redact: Optional[Redactor] = None, reached: bool = True) -> Tuple[Entry, Optional[str]]:
        """Record a failed attempt (attempts, next try, last error, whether it may
        have reached iLert). When that cannot be written the entry stays as it was
        (it is durable) and the reason is returned."""
        data = dict(entry.data)
        data["reached"] = bool(entry.data.get("reached")) or reached
        if backoff:
            data["attempts"] = entry.attempts + 1
            data["next_attempt"] = now + backoff_delay(data["attempts"])
        data["last_error"] = redact(error) if redact else error
        data["last_attempt"] = now
        if not os.path.lexists(entry.path):
            return entry, None  # delivered by someone else meanwhile
        try:
            replace_atomically(entry.path, encode(data), self.tmp)
        except OSError as exc:
            return entry, "could not record the retry, %s: the event stays queued" % errno_name(exc)
        return Entry(entry.path, entry.identity, entry.group, data), None

    def prune(self, now: float) -> int:
        removed = prune_keys(self, self.groups, now)
        deadline = time.monotonic() + KEY_PRUNE_BUDGET  # the rest waits for the next flush
        for folder, age in ((self.sent, DEDUP_SECONDS), (self.tmp, TMP_STALE_SECONDS)):
            try:
                names = os.listdir(folder)
            except OSError:
                continue
            for name in names:
                if time.monotonic() > deadline:
                    break
                path = os.path.join(folder, name)
                try:
                    info = os.lstat(path)
                    # a future mtime (clock stepped back) counts as old: it cannot be trusted
                    if info.st_mtime < now - age or info.st_mtime > now + 3600:
                        os.unlink(path)
                        removed += 1
                except OSError:
                    pass
        return removed
