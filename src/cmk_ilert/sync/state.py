"""The state of ``sync``: ``<state dir>/sync/state.json`` (0600), written like the outbox.

Written atomically (temp file in the same folder, fsync, rename, fsync of the folder) and
validated on read: a file of the wrong shape is set aside (``state.json.bad``) and sync
starts afresh -- never a crash. Contents:

``first``    when this site first synced (the earliest ``from`` ever asked for is an hour before)
``last``     start of the last complete sync (``from`` of the next one, minus an overlap)
``pause``    epoch until which iLert asked us to wait (429 Retry-After)
``done``     transitions dealt with: ``"<alert id>:<status>"`` -> {"t": epoch, "r": outcome}
``intent``   transitions whose Livestatus command is about to be / was just sent
``watch``    open alerts of this site seen by the last run: ``"<alert id>"`` -> {"t": first seen}
``requests`` epoch times of the requests to iLert within the last minute (the request budget
             holds across runs)
``cursor``   a listing that a run left unfinished: ``"open"``/``"resolved"`` ->
             {"from": epoch, "until": epoch, "start": next start-index}; the next run goes on there
``comments`` per open alert whose log entries were read (comments.py): ``"<alert id>"`` ->
             {"t": read last, "n": next start-index, "id": highest log entry id dealt with};
             dropped with the alert's ``watch`` entry
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Tuple

from ..base.fsutil import NotRegular, fsync_path, read_regular, replace_atomically

FOLDER = "sync"
NAME = "state.json"
MAX_FILE = 16 * 1024 * 1024
MAX_DONE = 20000
MAX_WATCH = 5000
MAX_REQUESTS = 1000


class SyncState:
    """Mutable while a run works on it; ``save()`` makes it durable."""

    def __init__(self, data: Optional[Dict[str, Any]] = None) -> None:
        data = data or {}
        self.first: float = float(data.get("first", 0.0))
        self.last: float = float(data.get("last", 0.0))
        self.pause: float = float(data.get("pause", 0.0))
        self.done: Dict[str, Dict[str, Any]] = dict(data.get("done", {}))
        self.intent: Dict[str, Dict[str, Any]] = dict(data.get("intent", {}))
        self.watch: Dict[str, Dict[str, Any]] = dict(data.get("watch", {}))
        self.requests: List[float] = [float(t) for t in data.get("requests", [])]
        self.cursor: Dict[str, Dict[str, float]] = dict(data.get("cursor", {}))
        self.comments: Dict[str, Dict[str, float]] = dict(data.get("comments", {}))

    def as_json(self) -> Dict[str, Any]:
        return {"v": 1, "first": self.first, "last": self.last, "pause": self.pause, "done": self.done,
                "intent": self.intent, "watch": self.watch, "requests": self.requests[-MAX_REQUESTS:],
                "cursor": self.cursor, "comments": self.comments}

    def prune(self, keep_after: float) -> None:
        """Forget transitions and watched alerts older than ``keep_after`` (and bound both)."""
        self.done = _newest({k: v for k, v in self.done.items() if v["t"] >= keep_after}, MAX_DONE)
        self.watch = _newest({k: v for k, v in self.watch.items() if v["t"] >= keep_after}, MAX_WATCH)
        self.comments = {k: v for k, v in self.comments.items() if k in self.watch}


def _newest(entries: Dict[str, Dict[str, Any]], limit: int) -> Dict[str, Dict[str, Any]]:
    if len(entries) <= limit:
        return entries
    keep = sorted(entries.items(), key=lambda kv: kv[1]["t"])[-limit:]
    return dict(keep)


def path_of(state_dir: str) -> str:
    return os.path.join(state_dir, FOLDER, NAME)


def load(state_dir: str) -> Tuple[SyncState, str]:
    """The stored state and a note ("" if fine, else why it was reset)."""
    path = path_of(state_dir)
    try:
        raw = read_regular(path, MAX_FILE)
    except FileNotFoundError:
        return SyncState(), ""
    except NotRegular:
        return SyncState(), _set_aside(path, "not a regular file or too large")
    except OSError as exc:
        return SyncState(), _set_aside(path, "unreadable (%s)" % type(exc).__name__)
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:
        return SyncState(), _set_aside(path, "not valid JSON")
    if not valid(data):
        return SyncState(), _set_aside(path, "of an unknown shape")
    return SyncState(data), ""


def valid(data: Any) -> bool:
    """Exactly the shape ``SyncState.as_json`` writes."""
    if not isinstance(data, dict) or data.get("v") != 1:
        return False
    for name in ("first", "last", "pause"):
        value = data.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value < 0:
            return False
    for name in ("done", "intent", "watch"):
        table = data.get(name)
        if not isinstance(table, dict):
            return False
        for key, entry in table.items():
            if not isinstance(key, str) or not isinstance(entry, dict):
                return False
            moment = entry.get("t")
            if isinstance(moment, bool) or not isinstance(moment, (int, float)) or moment != moment:
                return False
            if name != "watch" and not isinstance(entry.get("r", ""), str):
                return False
    requests = data.get("requests", [])  # both absent in files of earlier versions
    if not isinstance(requests, list) or not all(_number(t) for t in requests):
        return False
    cursor = data.get("cursor", {})
    if not isinstance(cursor, dict):
        return False
    for name, entry in cursor.items():
        if name not in ("open", "resolved") or not isinstance(entry, dict) \
                or sorted(entry) != ["from", "start", "until"] or not all(_number(v) for v in entry.values()):
            return False
    comments = data.get("comments", {})  # absent in files of earlier versions
    if not isinstance(comments, dict):
        return False
    for name, entry in comments.items():
        if not name.isdigit() or not isinstance(entry, dict) or sorted(entry) != ["id", "n", "t"] \
                or not all(_number(v) for v in entry.values()):
            return False
    return True


def _number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and 0 <= value < float("inf")


def _set_aside(path: str, why: str) -> str:
    try:
        os.replace(path, path + ".bad")
    except OSError:
        pass
    return "sync state %s was %s; set aside as %s.bad, starting afresh" % (path, why, NAME)


def save(state_dir: str, state: SyncState) -> None:
    """Atomic and durable; raises OSError if the disk refuses."""
    folder = os.path.join(state_dir, FOLDER)
    os.makedirs(folder, 0o700, exist_ok=True)
    data = json.dumps(state.as_json(), ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    replace_atomically(os.path.join(folder, NAME), data, folder)  # 0600, fsync'd, renamed into place
    fsync_path(folder)  # the rename itself must survive a crash


def clean_temporaries(state_dir: str) -> None:
    """Temp files of runs killed mid-write."""
    folder = os.path.join(state_dir, FOLDER)
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if name.startswith("." + NAME + ".") and name.endswith(".tmp"):  # replace_atomically's names
            try:
                os.unlink(os.path.join(folder, name))
            except OSError:
                pass
