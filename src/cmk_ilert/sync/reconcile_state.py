"""What ``sync --reconcile`` did, between runs: ``<state dir>/sync/reconcile.json`` (0600).

``done``  drift dealt with: ``"<what>:<alert id or key>:<state change>"`` -> {"t": epoch, "r": outcome};
          a line is printed and an event queued once per entry (bounded, pruned by age)
``last``  the counts of the last run that reconciled, for ``status``: {"t", "resolved", "raised",
          "reported", "left", "alone"}

Kept apart from ``state.json`` so that ``status`` reads the counts without loading ``sync``
(admin/status.py reads ``last`` with the same names). Written atomically like the state file;
a file of the wrong shape is started afresh (the outbox's identities still keep a queued
event from being queued twice).
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Tuple

from ..base.fsutil import fsync_path, read_regular, replace_atomically, unlink

FOLDER = "sync"
NAME = "reconcile.json"
MAX_FILE = 4 * 1024 * 1024
MAX_DONE = 10000
COUNTS = ("resolved", "raised", "reported", "left", "alone")


def path_of(state_dir: str) -> str:
    return os.path.join(state_dir, FOLDER, NAME)


def load(state_dir: str) -> Tuple[Dict[str, Dict[str, Any]], str]:
    """(done, note): note is "" or why the file was not used. Temporary files of a run
    killed mid-write are removed (the sync lock is held: nobody else writes here)."""
    folder = os.path.join(state_dir, FOLDER)
    try:
        names = os.listdir(folder)
    except OSError:
        names = []
    for name in names:
        if name.startswith("." + NAME + ".") and name.endswith(".tmp"):  # replace_atomically's names
            unlink(os.path.join(folder, name))
    try:
        data = json.loads(read_regular(path_of(state_dir), MAX_FILE).decode("utf-8"))
    except FileNotFoundError:
        return {}, ""
    except (OSError, ValueError):
        return {}, "the reconcile record %s was unreadable; starting afresh" % path_of(state_dir)
    done = data.get("done") if isinstance(data, dict) else None
    if not isinstance(done, dict) or not all(
            isinstance(k, str) and isinstance(v, dict) and _number(v.get("t")) for k, v in done.items()):
        return {}, "the reconcile record %s was of an unknown shape; starting afresh" % path_of(state_dir)
    return done, ""


def save(state_dir: str, done: Dict[str, Dict[str, Any]], last: Dict[str, Any], keep_after: float) -> None:
    kept = {k: v for k, v in done.items() if v["t"] >= keep_after}
    if len(kept) > MAX_DONE:
        kept = dict(sorted(kept.items(), key=lambda kv: kv[1]["t"])[-MAX_DONE:])
    folder = os.path.join(state_dir, FOLDER)
    os.makedirs(folder, 0o700, exist_ok=True)
    payload = json.dumps({"v": 1, "done": kept, "last": last}, ensure_ascii=False, sort_keys=True,
                         separators=(",", ":")).encode("utf-8")
    replace_atomically(path_of(state_dir), payload, folder)
    fsync_path(folder)


def _number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and value == value
