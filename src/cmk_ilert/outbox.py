"""The durable outbox: every event is on disk before its first attempt.

Layout below the state directory (mode 0700; files 0600)::

    queue/<group>.<identity>.json   pending events (group = endpoint + alert key)
    sent/<identity>                 delivered markers, kept DEDUP_SECONDS for dedup
    dead/<identity>.json            permanently rejected events: reason, type, key
                                    (never the integration key or the payload)
    tmp/                            files being written
    locks/<group>.lock, flush.lock  flock files
    rate/<keyhash>.json             rate-limit state per integration key

Guarantees: an entry is written to ``tmp/``, fsync'd, then hard-linked into
``queue/`` (``os.link`` fails if the same event is already queued, which makes
dedup and enqueue one atomic step) and the directory is fsync'd. A delivered
entry gets its ``sent/`` marker *before* it is unlinked, and an enqueue checks
the marker *after* linking, so a concurrent duplicate can never slip through
the gap. A process killed at any point leaves either no entry or a complete
one (at-least-once: a kill between a successful POST and the marker means one
repeated POST, which iLert folds into the same alert by its alert key).
"""

from __future__ import annotations

import errno
import json
import os
import time
from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Tuple

DEDUP_SECONDS = 48 * 3600
MAX_AGE_SECONDS = 24 * 3600
BACKOFF_FIRST = 30.0
BACKOFF_MAX = 600.0
TMP_STALE_SECONDS = 600.0

QUEUED, DELIVERED, DEAD = "queued", "delivered", "dead"


class Entry(NamedTuple):
    path: str
    identity: str
    group: str
    data: Dict[str, Any]

    @property
    def seq(self) -> str:
        return str(self.data.get("seq", ""))

    @property
    def next_attempt(self) -> float:
        return float(self.data.get("next_attempt", 0.0))

    @property
    def attempts(self) -> int:
        return int(self.data.get("attempts", 0))

    @property
    def created(self) -> float:
        return float(self.data.get("created", 0.0))


class Outbox:
    def __init__(self, root: str) -> None:
        self.root = root
        self.queue = os.path.join(root, "queue")
        self.sent = os.path.join(root, "sent")
        self.dead = os.path.join(root, "dead")
        self.tmp = os.path.join(root, "tmp")
        self.locks = os.path.join(root, "locks")
        self.rate = os.path.join(root, "rate")
        #: identities of unreadable entries moved to the dead letters by this object
        self.buried: List[str] = []

    # --- setup ---------------------------------------------------------------

    def ensure(self) -> None:
        old = os.umask(0o077)
        try:
            for path in (self.root, self.queue, self.sent, self.dead, self.tmp, self.locks, self.rate):
                try:
                    os.makedirs(path, 0o700)
                except FileExistsError:
                    pass
        finally:
            os.umask(old)

    def exists(self) -> bool:
        return os.path.isdir(self.queue)

    # --- enqueue -------------------------------------------------------------

    def enqueue(self, items: Iterable[Tuple[str, str, Dict[str, Any]]]) -> List[Tuple[str, str]]:
        """Write ``(group, identity, data)`` items durably.

        Returns ``(identity, state)`` per item: ``queued`` for a new entry, or
        the state of the earlier copy for a duplicate (``queued``/``delivered``/
        ``dead``) together with a ``duplicate`` flag folded into the state
        string as ``duplicate-<state>``.
        """
        # fsync batching: write every new entry to tmp/ unsynced, fsync them
        # all back to back, then link them into queue/. Each entry is still on
        # disk before it becomes visible in queue/ (and before any attempt).
        results: List[Tuple[str, str]] = []
        pending: List[Tuple[int, str, str, str]] = []  # (result index, identity, tmp, final)
        pid = os.getpid()
        for n, (group, identity, data) in enumerate(items):
            known = self.state_of(identity, group)
            if known is not None:
                results.append((identity, "duplicate-" + known))
                continue
            tmp = os.path.join(self.tmp, "%s.%d.%d.tmp" % (identity, pid, n))
            _write_file(tmp, _encode(data), sync=False)
            pending.append((len(results), identity, tmp, self._queue_path(group, identity)))
            results.append((identity, QUEUED))
        for _, _, tmp, _ in pending:
            _fsync(tmp)
        written = False
        for index, identity, tmp, final in pending:
            try:
                os.link(tmp, final)
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    for _, _, rest, _ in pending:
                        _unlink(rest)
                    raise
                _unlink(tmp)
                results[index] = (identity, "duplicate-" + QUEUED)
                continue
            _unlink(tmp)
            written = True
            if os.path.exists(os.path.join(self.sent, identity)):
                # Delivered by another run between our check and our link.
                _unlink(final)
                results[index] = (identity, "duplicate-" + DELIVERED)
        if written:
            _fsync(self.queue)
        return results

    def state_of(self, identity: str, group: str) -> Optional[str]:
        """Where an event is now: queued, delivered, dead, or unknown (None)."""
        if os.path.exists(self._queue_path(group, identity)):
            return QUEUED
        if os.path.exists(os.path.join(self.sent, identity)):
            return DELIVERED
        if os.path.exists(os.path.join(self.dead, identity + ".json")):
            return DEAD
        return None

    def _queue_path(self, group: str, identity: str) -> str:
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

    def load_group(self, group: str, names: Optional[List[str]] = None) -> List[Entry]:
        """The pending entries of one group, oldest first. Unreadable entries
        (which atomic writes should never produce) go to the dead letters."""
        if names is None:
            prefix = group + "."
            names = [n for n in self.names() if n.startswith(prefix)]
        entries: List[Entry] = []
        for name in names:
            path = os.path.join(self.queue, name)
            identity = name[len(group) + 1 : -len(".json")]
            try:
                with open(path, "rb") as handle:
                    data = json.loads(handle.read().decode("utf-8"))
                if not valid_entry(data):
                    raise ValueError("not an outbox entry")
            except FileNotFoundError:
                continue  # delivered meanwhile by another run
            except (OSError, ValueError):
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
                with open(os.path.join(self.queue, name), "rb") as handle:
                    data = json.loads(handle.read().decode("utf-8"))
                seqs.append(data["seq"] if valid_entry(data) else "")
            except (OSError, ValueError, AttributeError):
                seqs.append("")  # unreadable: load_group will bury it; handle it first
        return min(seqs) if seqs else ""

    # --- transitions -----------------------------------------------------------

    def mark_delivered(self, entry: Entry) -> None:
        marker = os.path.join(self.sent, entry.identity)
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
        _unlink(entry.path)

    def reschedule(self, entry: Entry, error: str, now: float, backoff: bool = True) -> Entry:
        data = dict(entry.data)
        if backoff:
            data["attempts"] = entry.attempts + 1
            delay = min(BACKOFF_FIRST * (2 ** (data["attempts"] - 1)), BACKOFF_MAX)
            data["next_attempt"] = now + delay
        data["last_error"] = error
        data["last_attempt"] = now
        tmp = os.path.join(self.tmp, "%s.%d.r.tmp" % (entry.identity, os.getpid()))
        _write_file(tmp, _encode(data))
        if not os.path.exists(entry.path):
            _unlink(tmp)  # delivered by someone else meanwhile
            return entry
        os.replace(tmp, entry.path)
        return Entry(entry.path, entry.identity, entry.group, data)

    def dead_letter(self, entry: Entry, reason: str, now: float) -> None:
        """Keep what an admin needs to understand the failure, never the key or payload."""
        data = entry.data
        record = {
            "reason": reason,
            "dead_since": now,
            "created": data.get("created"),
            "attempts": entry.attempts + 1,
            "event_type": data.get("event_type"),
            "notification_type": data.get("notification_type"),
            "alert_key": data.get("alert_key"),
            "summary": data.get("summary"),
            "endpoint": data.get("endpoint"),
            "key_hint": data.get("key_hint"),
        }
        self._bury(entry.path, entry.identity, record)

    def _bury(self, path: str, identity: str, record: Dict[str, Any]) -> None:
        target = os.path.join(self.dead, identity + ".json")
        tmp = os.path.join(self.tmp, "%s.%d.d.tmp" % (identity, os.getpid()))
        _write_file(tmp, _encode(record))
        os.replace(tmp, target)
        _unlink(path)

    # --- housekeeping ------------------------------------------------------------

    def prune(self, now: float) -> int:
        removed = 0
        for folder, age in ((self.sent, DEDUP_SECONDS), (self.tmp, TMP_STALE_SECONDS)):
            try:
                names = os.listdir(folder)
            except FileNotFoundError:
                continue
            for name in names:
                path = os.path.join(folder, name)
                try:
                    if os.stat(path).st_mtime < now - age:
                        os.unlink(path)
                        removed += 1
                except FileNotFoundError:
                    pass
        return removed

    def dead_letters(self) -> List[Tuple[str, Dict[str, Any]]]:
        out: List[Tuple[str, Dict[str, Any]]] = []
        try:
            names = sorted(os.listdir(self.dead))
        except FileNotFoundError:
            return out
        for name in names:
            path = os.path.join(self.dead, name)
            try:
                with open(path, "rb") as handle:
                    record = json.loads(handle.read().decode("utf-8"))
            except (OSError, ValueError):
                record = {"reason": "unreadable dead letter"}
            out.append((path, record if isinstance(record, dict) else {}))
        return out

    def group_lock_path(self, group: str) -> str:
        return os.path.join(self.locks, group + ".lock")

    def flush_lock_path(self) -> str:
        return os.path.join(self.locks, "flush.lock")

    def rate_path(self, rate_key: str) -> str:
        return os.path.join(self.rate, rate_key + ".json")


def valid_entry(data: Any) -> bool:
    """Every field delivery relies on is there and has the right type.

    Atomic writes never produce a torn entry, but a file from another version
    or edited by hand must go to the dead letters instead of blocking the queue.
    """
    if not isinstance(data, dict):
        return False
    request, transport = data.get("request"), data.get("transport", {})
    if not (isinstance(request, dict) and isinstance(request.get("url"), str)
            and isinstance(request.get("body"), dict) and isinstance(transport, dict)):
        return False
    if not isinstance(data.get("seq"), str):
        return False
    try:
        float(data.get("created", 0.0))
        float(data.get("next_attempt", 0.0))
        int(data.get("attempts", 0))
        int(data.get("rate_limit", 50))
        float(transport.get("timeout", 10.0))
    except (TypeError, ValueError):
        return False
    return True



def expired(entry: Entry, now: float, max_age: float = MAX_AGE_SECONDS) -> bool:
    return entry.created > 0 and now - entry.created > max_age


def _encode(data: Dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def _write_file(path: str, payload: bytes, sync: bool = True) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(payload)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def _fsync(path: str) -> None:
    """fsync a written file or a directory (to make a link/rename durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
