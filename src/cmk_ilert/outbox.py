"""The durable outbox: every event is on disk before its first attempt.

Layout below the state directory (mode 0700, owned by the site user; files 0600)::

    queue/<group>.<identity>.json   pending events (group = endpoint + alert key)
    sent/<identity>                 delivered markers, kept DEDUP_SECONDS for dedup
    dead/<identity>.json            permanently rejected events: reason, type, key
                                    (never the integration key or the payload)
    tmp/                            files being written
    locks/<group>.lock, flush.lock  flock files (group locks pruned when idle)
    rate/<keyhash>.json             rate-limit state per integration key
    index/<keyhash>.json            alert key -> host/service, for ``sync`` (pruned
                                    when the key is closed and idle, ``prune_keys``)
    journal/superseded.jsonl        what ``coalesce`` dropped, when and why
    links/<keyhash>.json            the last iLert alert URL of an alert key
    sync/                           the state of ``sync`` (iLert -> Checkmk)
    sent/<identity>.try             an ALERT was (about to be) sent: never coalesce it
    sent/<group>.closed             the key's last event that may have reached iLert
                                    was a delivered RESOLVE: no alert of ours is open

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
import stat
import time
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Tuple

from .fsutil import (
    NotRegular,
    errno_name,
    fsync_path,
    read_regular,
    replace_atomically,
    touch,
    unlink,
    write_new,
)
from .locking import FileLock

DEDUP_SECONDS = 48 * 3600
MAX_AGE_SECONDS = 24 * 3600
BACKOFF_FIRST = 30.0
BACKOFF_MAX = 600.0
TMP_STALE_SECONDS = 600.0
#: ``index/`` and ``links/`` entries of a key never resolved through the outbox are kept this
#: long after its last ALERT: longer than ``sync``'s default look-back of 30 days.
OPEN_KEY_SECONDS = 35 * 24 * 3600
#: The per-key state is examined at most this often (``flush`` runs every minute), for at
#: most this long per flush.
KEY_PRUNE_INTERVAL = 3600.0
KEY_PRUNE_BUDGET = 10.0
#: Largest queue entry read (a checkmk-format body of a big context is ~100 kB).
MAX_ENTRY_BYTES = 4 << 20

QUEUED, DELIVERED, DEAD, SUPERSEDED = "queued", "delivered", "dead", "superseded"
SUBDIRS = ("queue", "sent", "dead", "tmp", "locks", "rate", "index", "journal", "links", "sync")
#: The journal of superseded events is rotated (one old file kept) at this size.
JOURNAL_MAX_BYTES = 256 * 1024

Redactor = Callable[[str], str]


class UnsafeStateDir(OSError):
    """The state directory can be written by another user: it is not used."""


def unusable_reason(exc: OSError) -> str:
    """One phrase for why the outbox cannot be used (never a path-bearing OS text)."""
    if isinstance(exc, UnsafeStateDir):
        return str(exc.strerror)
    return errno_name(exc)


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
        self.journal = os.path.join(root, "journal", "superseded.jsonl")
        #: identities of unreadable entries moved to the dead letters by this object
        self.buried: List[str] = []
        #: one line per sub-folder that was not a folder and was moved aside by ``ensure``
        self.repaired: List[str] = []

    # --- setup ---------------------------------------------------------------

    def ensure(self) -> None:
        """Create the layout, check who may write it, repair what is broken.

        Raises UnsafeStateDir when the directory belongs to another user or is
        writable by group or others, OSError when it cannot be created.
        """
        old = os.umask(0o077)
        try:
            os.makedirs(self.root, 0o700, exist_ok=True)
            check_safe_dir(self.root)
            for name in SUBDIRS:
                self._ensure_subdir(name)
        finally:
            os.umask(old)

    def _ensure_subdir(self, name: str) -> None:
        path = os.path.join(self.root, name)
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            _mkdir(path)
            return
        if stat.S_ISDIR(info.st_mode):
            return
        aside = "%s.broken-%d-%d" % (path, int(time.time()), os.getpid())
        os.rename(path, aside)
        _mkdir(path)
        self.repaired.append("outbox folder %s was not a folder: moved aside to %s and recreated" % (
            name, os.path.basename(aside)))

    def exists(self) -> bool:
        return os.path.isdir(self.queue)

    # --- enqueue -------------------------------------------------------------

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
                pending.append((len(results), identity, tmp, self._queue_path(group, identity)))
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
        if os.path.lexists(self._queue_path(group, identity)):
            return QUEUED
        if os.path.lexists(os.path.join(self.sent, identity)):
            return DELIVERED
        if os.path.lexists(os.path.join(self.dead, identity + ".json")):
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

    def dead_letter(self, entry: Entry, reason: str, now: float, redact: Optional[Redactor] = None) -> Optional[str]:
        """Keep what an admin needs to understand the failure, never the key or
        payload. Returns None, or why the entry could not be moved (it then stays
        queued)."""
        data = entry.data
        clean = redact or (lambda text: text)
        record = {
            "reason": clean(reason),
            "dead_since": now,
            "created": data.get("created"),
            "attempts": entry.attempts + 1,
            "event_type": data.get("event_type"),
            "notification_type": data.get("notification_type"),
            "alert_key": data.get("alert_key"),
            "summary": clean(str(data.get("summary", ""))),
            "endpoint": data.get("endpoint"),
            "api_url": data.get("api_url"),
            "key_hint": data.get("key_hint"),
        }
        try:
            self._bury(entry.path, entry.identity, record)
        except OSError as exc:
            return "could not move it to the dead letters, %s: it stays queued" % errno_name(exc)
        return None

    def dead_record(self, identity: str, record: Dict[str, Any]) -> bool:
        """A dead letter for an event that never was queued (a rule that cannot be
        used): written once per identity. Returns False if it could not be written."""
        target = os.path.join(self.dead, identity + ".json")
        if os.path.lexists(target):
            return True
        try:
            replace_atomically(target, encode(record), self.tmp)
        except OSError:
            return False
        return True

    def mark_attempt(self, entry: Entry) -> bool:
        """Written right before an ALERT is sent: it may reach iLert from now on,
        so it must never be coalesced away (also after a kill mid-request), and
        the key may have an open alert from now on. Returns whether the key was
        known to be closed before (for ``clear_attempt``)."""
        was_closed = self.closed(entry.group)
        self.forget_closed(entry.group)
        try:
            touch(os.path.join(self.sent, entry.identity + ".try"))
        except OSError:
            pass  # a full disk: the attempt is still recorded by reschedule() if it fails
        return was_closed

    def clear_attempt(self, entry: Entry, was_closed: bool) -> None:
        """The attempt certainly did not reach iLert (refused, DNS, 429, ...):
        as if it had not been made."""
        unlink(os.path.join(self.sent, entry.identity + ".try"))
        if was_closed:
            self.mark_closed(entry.group)

    def attempted(self, entry: Entry) -> bool:
        """Whether the event may have reached iLert: a failed attempt that may have
        been processed (recorded by reschedule), or an attempt in flight or killed."""
        reached = entry.data.get("reached")
        if reached is None:
            reached = entry.attempts > 0 or "last_attempt" in entry.data  # written by an older version
        return bool(reached) or os.path.lexists(os.path.join(self.sent, entry.identity + ".try"))

    def _closed_path(self, group: str) -> str:
        return os.path.join(self.sent, group + ".closed")

    def mark_closed(self, group: str) -> None:
        """A RESOLVE of ``group`` was delivered: iLert holds no open alert of it."""
        try:
            touch(self._closed_path(group))
        except OSError:
            pass  # unknown counts as "may be open": the next RESOLVE is sent, never dropped

    def closed(self, group: str) -> bool:
        return os.path.lexists(self._closed_path(group))

    def forget_closed(self, group: str) -> None:
        """An ALERT of ``group`` goes out (from the queue or directly): it may be open."""
        unlink(self._closed_path(group))

    def supersede(self, run: List[Entry], now: float) -> Optional[str]:
        """Drop a coalesced run: journal first, then a delivered marker per event
        (so a later duplicate of it, another contact's call, is not queued
        again), then the entries. Returns None, or why it could not be done (the
        entries then stay queued and are delivered normally)."""
        head = run[0].data
        record = {
            "at": now,
            "alert_key": head.get("alert_key"),
            "endpoint": head.get("endpoint"),
            "api_url": head.get("api_url"),
            "key_hint": head.get("key_hint"),
            "events": [e.data.get("event_type") for e in run],
            "queued_since": head.get("created"),
            "why": "the problem recovered before its ALERT was sent",
        }
        try:
            self._journal(encode(record) + b"\n")
            for entry in run:
                touch(os.path.join(self.sent, entry.identity))
        except OSError as exc:
            return "could not record it, %s: the events stay queued" % errno_name(exc)
        for entry in run:
            unlink(entry.path)
        return None

    def _journal(self, line: bytes) -> None:
        try:
            if os.lstat(self.journal).st_size > JOURNAL_MAX_BYTES:
                os.replace(self.journal, self.journal + ".1")
        except FileNotFoundError:
            pass
        fd = os.open(self.journal, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def superseded_since(self, since: float) -> List[Dict[str, Any]]:
        """Journal records newer than ``since`` (malformed lines are skipped)."""
        out: List[Dict[str, Any]] = []
        for path in (self.journal + ".1", self.journal):
            try:
                raw = read_regular(path, 4 * JOURNAL_MAX_BYTES)
            except OSError:
                continue
            for line in raw.splitlines():
                try:
                    record = json.loads(line.decode("utf-8", "replace"))
                except ValueError:
                    continue
                if isinstance(record, dict) and isinstance(record.get("at"), (int, float)) and record["at"] >= since:
                    out.append(record)
        return out

    def _bury(self, path: str, identity: str, record: Dict[str, Any]) -> None:
        target = os.path.join(self.dead, identity + ".json")
        replace_atomically(target, encode(record), self.tmp)
        unlink(path)

    # --- housekeeping ------------------------------------------------------------

    def prune(self, now: float) -> int:
        removed = self.prune_keys(now)
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

    def prune_keys(self, now: float, force: bool = False, budget: float = KEY_PRUNE_BUDGET) -> int:
        """Per-key state of keys that are closed and idle (at most once per
        KEY_PRUNE_INTERVAL): ``index/`` and ``links/`` entries of a key whose last
        RESOLVE was delivered DEDUP_SECONDS ago with no ALERT since, or whose last
        ALERT is OPEN_KEY_SECONDS old (never resolved through the outbox: beyond
        ``sync``'s look-back); lock files of groups with nothing queued, unused for
        DEDUP_SECONDS. At most ``budget`` seconds per call: what is left (a backlog of
        history after an upgrade) is examined by the next flush. Returns how many files
        were removed."""
        deadline = time.monotonic() + budget
        stamp = os.path.join(self.root, "index", ".pruned")
        try:
            info = os.lstat(stamp)
            if not force and now - KEY_PRUNE_INTERVAL < info.st_mtime <= now + 3600:
                return 0
        except OSError:
            pass
        try:
            touch(stamp)
        except OSError:
            return 0  # a full or read-only disk: nothing to gain by trying now
        removed = 0
        index, links = os.path.join(self.root, "index"), os.path.join(self.root, "links")
        for folder in (index, links):
            try:
                names = [n for n in os.listdir(folder) if n.endswith(".json")]
            except OSError:
                continue
            for name in names:
                if time.monotonic() > deadline:
                    unlink(stamp)  # not done: the next flush goes on
                    return removed
                path = os.path.join(folder, name)
                try:
                    age = _idle(now, os.lstat(path).st_mtime)
                except OSError:
                    continue
                if age < DEDUP_SECONDS:
                    continue
                if folder == links and age < OPEN_KEY_SECONDS and os.path.lexists(os.path.join(index, name)):
                    continue  # the key's index entry is kept: so is its link
                if folder == index and age < OPEN_KEY_SECONDS and not _closed_entry(path):
                    continue  # may be open in iLert: ``sync`` needs it
                if unlink(path):
                    removed += 1
        queued = set(self.groups())
        try:
            locks = [n for n in os.listdir(self.locks) if n.endswith(".lock") and n[:-5] not in queued]
        except OSError:
            locks = []
        for name in locks:
            if time.monotonic() > deadline:
                unlink(stamp)
                return removed
            path = os.path.join(self.locks, name)
            if path == self.flush_lock_path() or len(name) != 21:
                continue  # only group locks (16 hex digits)
            try:
                age = _idle(now, os.lstat(path).st_mtime)
            except OSError:
                continue
            if age < DEDUP_SECONDS:
                continue
            # Only a lock nobody holds is removed, while we hold it: a run that opened the
            # old file finds it gone once it gets the lock and opens the path again
            # (FileLock.acquire compares the inode), so two runs never hold one group.
            lock = FileLock(path)
            try:
                if not lock.acquire(wait=0.0):
                    continue
            except OSError:
                continue
            try:
                if unlink(path):
                    removed += 1
            finally:
                lock.release()
        return removed

    def dead_letters(self) -> List[Tuple[str, Dict[str, Any]]]:
        out: List[Tuple[str, Dict[str, Any]]] = []
        try:
            names = sorted(n for n in os.listdir(self.dead) if n.endswith(".json"))
        except OSError:
            return out
        for name in names:
            path = os.path.join(self.dead, name)
            try:
                record = json.loads(read_regular(path, 1 << 20).decode("utf-8"))
            except (OSError, ValueError, RecursionError):
                record = {"reason": "unreadable dead letter"}
            out.append((path, record if isinstance(record, dict) else {"reason": "unreadable dead letter"}))
        return out

    def group_lock_path(self, group: str) -> str:
        return os.path.join(self.locks, group + ".lock")

    def flush_lock_path(self) -> str:
        return os.path.join(self.locks, "flush.lock")

    def rate_path(self, rate_key: str) -> str:
        return os.path.join(self.rate, rate_key + ".json")


def check_safe_dir(path: str) -> None:
    """Refuse a state directory another user owns or can write (symlinks to it are fine)."""
    info = os.stat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeStateDir(errno.ENOTDIR, "state directory %s is not a directory" % path)
    if info.st_uid != os.geteuid():
        raise UnsafeStateDir(errno.EPERM, "state directory %s belongs to another user (uid %d), not used: "
                                          "remove it or give it to the site user" % (path, info.st_uid))
    if info.st_mode & 0o022:
        raise UnsafeStateDir(errno.EPERM, "state directory %s is writable by other users (mode %04o), not used: "
                                          "run chmod 700 on it" % (path, stat.S_IMODE(info.st_mode)))


def _mkdir(path: str) -> None:
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass


def backoff_delay(attempts: int) -> float:
    return float(min(BACKOFF_FIRST * (2 ** min(max(attempts, 1) - 1, 20)), BACKOFF_MAX))


def due_at(entry: Entry, now: float) -> float:
    """When the entry may be tried again. A time further ahead than the longest
    backoff (the clock was stepped back) is clamped to it."""
    return min(entry.next_attempt, now + BACKOFF_MAX)


def _idle(now: float, mtime: float) -> float:
    """Seconds since ``mtime``; a time up to an hour ahead (a clock stepped back) is "now",
    one further ahead cannot be trusted and counts as long ago (as in ``prune``)."""
    if mtime > now + 3600:
        return float(OPEN_KEY_SECONDS)
    return max(0.0, now - mtime)


def _closed_entry(path: str) -> bool:
    """Whether an ``index/`` entry says its key was closed by a delivered RESOLVE."""
    try:
        data = json.loads(read_regular(path, 65536).decode("utf-8"))
    except (OSError, ValueError):
        return True  # unreadable or malformed: no use to ``sync`` either
    return not isinstance(data, dict) or data.get("closed") is True


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
    key = data.get("key")
    if key is not None and not (isinstance(key, dict) and any(isinstance(key.get(k), str) for k in ("store", "value"))):
        return False
    try:
        for name, default in (("created", 0.0), ("next_attempt", 0.0)):
            if not _finite(float(data.get(name, default))):
                return False
        int(data.get("attempts", 0))
        int(data.get("rate_limit", 50))
        if not _finite(float(transport.get("timeout", 10.0))):
            return False
    except (TypeError, ValueError, OverflowError):
        return False
    return True


def _finite(value: float) -> bool:
    return value == value and value not in (float("inf"), float("-inf"))


def expired(entry: Entry, now: float, max_age: float = MAX_AGE_SECONDS) -> bool:
    return entry.created > 0 and now - entry.created > max_age


def encode(data: Dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True,
                      allow_nan=False).encode("utf-8", "replace")
