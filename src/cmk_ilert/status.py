"""``status``: what waits in the outbox, readable at 3 a.m., usable as a local check."""

from __future__ import annotations

import json
import os
import time
from typing import Any, Dict, List, Mapping

from .errors import EXIT_OK, EXIT_PERMANENT, EXIT_TEMPORARY
from .outbox import Outbox
from .output import Printer
from .paths import state_dir
from .ratelimit import RateLimiter


def collect(outbox: Outbox, now: float) -> Dict[str, Any]:
    keys: List[Dict[str, Any]] = []
    for group, names in sorted(outbox.groups().items()):
        entries = outbox.load_group(group, names)
        if not entries:
            continue
        head = entries[0].data
        keys.append({
            "alert_key": head.get("alert_key"),
            "endpoint": "%s, key %s" % (head.get("endpoint"), head.get("key_hint")),
            "pending": len(entries),
            "oldest_age": round(now - min(e.created for e in entries), 1),
            "attempts": entries[0].attempts,
            "next_attempt_in": round(max(0.0, entries[0].next_attempt - now), 1),
            "last_error": head.get("last_error", ""),
            "events": [e.data.get("event_type") for e in entries],
        })
    paused = []
    try:
        rate_files = sorted(os.listdir(outbox.rate))
    except FileNotFoundError:
        rate_files = []
    for name in rate_files:
        until = RateLimiter(os.path.join(outbox.rate, name), 0, 60.0).paused_until()
        if until > now:
            paused.append({"rate_key": name[:-5], "paused_for": round(until - now, 1)})
    dead = []
    for path, record in outbox.dead_letters():
        dead.append({
            "file": path,
            "event_type": record.get("event_type"),
            "alert_key": record.get("alert_key"),
            "reason": record.get("reason"),
            "endpoint": "%s, key %s" % (record.get("endpoint"), record.get("key_hint")),
            "age": round(now - float(record.get("dead_since") or now), 1),
        })
    return {"directory": outbox.root, "keys": keys, "paused": paused, "dead": dead,
            "pending": sum(k["pending"] for k in keys),
            "oldest_age": max((k["oldest_age"] for k in keys), default=0.0)}


def run_status(environ: Mapping[str, str], printer: Printer, warn: float, crit: float,
               local_check: bool, as_json: bool) -> int:
    outbox = Outbox(state_dir(environ))
    now = time.time()
    info = collect(outbox, now) if outbox.exists() else {
        "directory": outbox.root, "keys": [], "paused": [], "dead": [], "pending": 0, "oldest_age": 0.0}
    code = EXIT_OK
    if info["pending"] and info["oldest_age"] > warn:
        code = EXIT_TEMPORARY
    if info["dead"] or (info["pending"] and info["oldest_age"] > crit):
        code = EXIT_PERMANENT
    if as_json:
        info["exit_code"] = code
        printer.raw(json.dumps(info, indent=2, ensure_ascii=False))
        return code
    if local_check:
        text = "%d pending (oldest %s), %d dead letters" % (
            info["pending"], _age(info["oldest_age"]), len(info["dead"]))
        if info["dead"]:
            text += "; run 'python3 -m cmk_ilert status' for reasons"
        printer.raw('%d "iLert outbox" pending=%d|dead=%d|oldest_age=%.0f %s' % (
            code, info["pending"], len(info["dead"]), info["oldest_age"], text))
        return code
    verdict = {EXIT_OK: "OK", EXIT_TEMPORARY: "WARN", EXIT_PERMANENT: "CRIT"}[code]
    printer.raw("cmk_ilert outbox %s: %s" % (info["directory"], verdict))
    if not info["pending"]:
        printer.raw("  nothing pending: every event was delivered")
    else:
        printer.raw("  %d event(s) pending for %d alert key(s), oldest waiting %s" % (
            info["pending"], len(info["keys"]), _age(info["oldest_age"])))
        for k in info["keys"]:
            printer.raw("  - %s (%s): %d pending [%s], waiting %s, %d attempt(s), next try in %s%s" % (
                k["alert_key"], k["endpoint"], k["pending"], " ".join(str(e) for e in k["events"]),
                _age(k["oldest_age"]), k["attempts"], _age(k["next_attempt_in"]),
                ("; last error: " + k["last_error"]) if k["last_error"] else ""))
    for p in info["paused"]:
        printer.raw("  alert source %s paused for %s after iLert answered 429" % (p["rate_key"], _age(p["paused_for"])))
    if info["dead"]:
        printer.raw("  %d dead letter(s): rejected permanently, NOT delivered (fix the cause, then delete the file):"
                    % len(info["dead"]))
        for d in info["dead"]:
            printer.raw("  - %s %s (%s), %s ago: %s\n    %s" % (
                d["event_type"], d["alert_key"], d["endpoint"], _age(d["age"]), d["reason"], d["file"]))
    if info["pending"]:
        printer.raw("  deliver now: python3 -m cmk_ilert flush --now")
    return code


def _age(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return "%ds" % seconds
    if seconds < 7200:
        return "%dm" % (seconds // 60)
    return "%dh%02dm" % (seconds // 3600, seconds % 3600 // 60)
