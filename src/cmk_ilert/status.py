"""``status``: what waits in the outbox, readable at 3 a.m., usable as a local check.

States (exit code and local check): 0 OK, 1 WARN (an event waits longer than
``--warn``), 2 CRIT (dead letters, or an event waits longer than ``--crit``),
3 UNKNOWN (there is no outbox: not the site user, not a site, a typo in
``CMK_ILERT_STATE_DIR``, or no notification with the outbox on has run yet).
Every time shown is clamped (a stepped clock or a tampered file
cannot show a negative or infinite wait), and every key an entry carries is
redacted before anything is printed.
"""

from __future__ import annotations

import json
import math
import os
import time
from typing import Any, Dict, List, Mapping

from . import alertlinks
from .delivery import entry_secrets
from .errors import EXIT_OK, EXIT_PERMANENT, EXIT_TEMPORARY
from .outbox import Outbox, check_safe_dir, due_at, unusable_reason
from .output import Printer
from .paths import state_dir
from .ratelimit import RateLimiter

EXIT_UNKNOWN = 3
#: ``status`` reports what ``coalesce`` dropped within this window.
SUPERSEDED_WINDOW = 24 * 3600.0
_VERDICT = {EXIT_OK: "OK", EXIT_TEMPORARY: "WARN", EXIT_PERMANENT: "CRIT", EXIT_UNKNOWN: "UNKNOWN"}


def collect(outbox: Outbox, now: float, printer: Printer) -> Dict[str, Any]:
    # Only the links of the keys shown are read: the cost of ``status`` does not grow with
    # the number of keys ever alerted.
    def link(key: Any) -> Any:
        return alertlinks.last(outbox.root, key) if isinstance(key, str) else None

    keys: List[Dict[str, Any]] = []
    for group, names in sorted(outbox.groups().items()):
        entries = outbox.load_group(group, names)
        if not entries:
            continue
        for entry in entries:
            printer.add_secrets(entry_secrets(entry.data))
        head = entries[0].data
        keys.append({
            "alert_key": head.get("alert_key"),
            "endpoint": _endpoint(head),
            "pending": len(entries),
            "oldest_age": _seconds(now - min(e.created for e in entries)),
            "attempts": entries[0].attempts,
            "next_attempt_in": _seconds(due_at(entries[0], now) - now),
            "last_error": printer.redact(str(head.get("last_error", ""))),
            "events": [e.data.get("event_type") for e in entries],
            "alert_url": link(head.get("alert_key")),
        })
    paused = []
    try:
        rate_files = sorted(n for n in os.listdir(outbox.rate) if n.endswith(".json") and not n.startswith("."))
    except OSError:
        rate_files = []
    for name in rate_files:
        until = RateLimiter(os.path.join(outbox.rate, name), 0, 60.0).paused_until(now)
        if until > now:
            paused.append({"rate_key": name[:-5], "paused_for": _seconds(until - now)})
    dead = []
    for path, record in outbox.dead_letters():
        dead.append({
            "file": path,
            "event_type": record.get("event_type"),
            "alert_key": record.get("alert_key"),
            "reason": printer.redact(str(record.get("reason", ""))),
            "endpoint": _endpoint(record),
            "age": _seconds(now - _number(record.get("dead_since"), now)),
            "alert_url": link(record.get("alert_key")),
        })
    superseded = [{"alert_key": r.get("alert_key"), "events": r.get("events"), "endpoint": _endpoint(r),
                   "ago": _seconds(now - _number(r.get("at"), now))}
                  for r in outbox.superseded_since(now - SUPERSEDED_WINDOW)]
    return {"directory": outbox.root, "exists": True, "keys": keys, "paused": paused, "dead": dead,
            "superseded": superseded,
            "pending": sum(k["pending"] for k in keys),
            "oldest_age": max((k["oldest_age"] for k in keys), default=0.0)}


def _endpoint(data: Mapping[str, Any]) -> str:
    if data.get("endpoint") == "rule":
        return "notification rule"
    text = "%s, key %s" % (data.get("endpoint"), data.get("key_hint"))
    url = data.get("api_url")
    if isinstance(url, str) and url and url != "https://api.ilert.com":
        text += ", " + url
    return text


def _number(value: Any, default: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) else default


def _seconds(value: float) -> float:
    """A non-negative, finite, rounded duration."""
    if not math.isfinite(value) or value < 0:
        return 0.0
    return round(value, 1)


def run_status(environ: Mapping[str, str], printer: Printer, warn: float, crit: float,
               local_check: bool, as_json: bool) -> int:
    outbox = Outbox(state_dir(environ))
    now = time.time()
    if not outbox.exists():
        return _missing(outbox, printer, local_check, as_json)
    try:
        check_safe_dir(outbox.root)
    except OSError as exc:
        return _unsafe(outbox, unusable_reason(exc), printer, local_check, as_json)
    info = collect(outbox, now, printer)
    code = EXIT_OK
    if info["pending"] and info["oldest_age"] > warn:
        code = EXIT_TEMPORARY
    if info["dead"] or (info["pending"] and info["oldest_age"] > crit):
        code = EXIT_PERMANENT
    if as_json:
        info["exit_code"] = code
        printer.raw(json.dumps(info, indent=2, ensure_ascii=False, allow_nan=False))
        return code
    if local_check:
        text = "%s pending, oldest %s, %s" % (info["pending"], _age(info["oldest_age"]),
                                              plural(len(info["dead"]), "dead letter"))
        if info["dead"]:
            text += "; run 'python3 -m cmk_ilert status' for reasons"
        printer.raw('%d "iLert outbox" pending=%d|dead=%d|oldest_age=%.0f %s' % (
            code, info["pending"], len(info["dead"]), info["oldest_age"], text))
        return code
    printer.raw("cmk_ilert outbox %s: %s" % (info["directory"], _VERDICT[code]))
    if not info["pending"]:
        printer.raw("  nothing pending: every event was delivered")
    else:
        printer.raw("  %s pending for %s, oldest waiting %s" % (
            plural(info["pending"], "event"), plural(len(info["keys"]), "alert key"), _age(info["oldest_age"])))
        for k in info["keys"]:
            printer.raw("  - %s [%s]: %d pending %s, waiting %s, %s, next try in %s%s" % (
                k["alert_key"], k["endpoint"], k["pending"], " ".join(str(e) for e in k["events"]),
                _age(k["oldest_age"]), plural(k["attempts"], "attempt"), _age(k["next_attempt_in"]),
                ("; last error: " + k["last_error"]) if k["last_error"] else ""))
            if k["alert_url"]:
                printer.raw("    last iLert alert: %s" % k["alert_url"])
    for p in info["paused"]:
        printer.raw("  alert source %s paused for %s after iLert answered 429" % (p["rate_key"], _age(p["paused_for"])))
    if info["dead"]:
        printer.raw("  %s: rejected permanently, NOT delivered; fix the cause, then delete the file:"
                    % plural(len(info["dead"]), "dead letter"))
        for d in info["dead"]:
            printer.raw("  - %s %s [%s], %s ago: %s\n    %s" % (
                d["event_type"] or "-", d["alert_key"], d["endpoint"], _age(d["age"]), d["reason"], d["file"]))
    if info["superseded"]:
        shown = info["superseded"][-5:]
        events = sum(len(r["events"] or []) for r in info["superseded"])
        printer.raw("  %s superseded in the last 24h, never sent because the problem had recovered first; "
                    "see coalesce:" % plural(events, "event"))
        for r in shown:
            printer.raw("  - %s [%s], %s ago: %s" % (r["alert_key"], r["endpoint"], _age(r["ago"]),
                                                    " ".join(str(e) for e in r["events"] or [])))
    if info["pending"]:
        printer.raw("  deliver now: python3 -m cmk_ilert flush --now")
    return code


def _missing(outbox: Outbox, printer: Printer, local_check: bool, as_json: bool) -> int:
    why = ("no outbox at %s: not the site user, not a site, a wrong CMK_ILERT_STATE_DIR, or no notification "
           "with the outbox on has run yet" % outbox.root)
    if as_json:
        printer.raw(json.dumps({"directory": outbox.root, "exists": False, "keys": [], "paused": [], "dead": [],
                                "superseded": [], "pending": 0, "oldest_age": 0.0, "exit_code": EXIT_UNKNOWN,
                                "problem": why},
                               indent=2, ensure_ascii=False))
    elif local_check:
        printer.raw('%d "iLert outbox" - %s' % (EXIT_UNKNOWN, why))
    else:
        printer.raw("cmk_ilert outbox %s: UNKNOWN" % outbox.root)
        printer.raw("  " + why)
    return EXIT_UNKNOWN


def _unsafe(outbox: Outbox, why: str, printer: Printer, local_check: bool, as_json: bool) -> int:
    """A state directory other users can write is not read (what it holds may be planted):
    CRIT, because notifications go out without the outbox until it is fixed."""
    if as_json:
        printer.raw(json.dumps({"directory": outbox.root, "exists": True, "keys": [], "paused": [], "dead": [],
                                "superseded": [], "pending": 0, "oldest_age": 0.0, "exit_code": EXIT_PERMANENT,
                                "problem": why}, indent=2, ensure_ascii=False))
    elif local_check:
        printer.raw('%d "iLert outbox" - %s' % (EXIT_PERMANENT, why))
    else:
        printer.raw("cmk_ilert outbox %s: CRIT" % outbox.root)
        printer.raw("  " + why)
    return EXIT_PERMANENT


def plural(count: int, word: str) -> str:
    return "%d %s%s" % (count, word, "" if count == 1 else "s")


def _age(seconds: float) -> str:
    seconds = int(seconds) if math.isfinite(seconds) and seconds > 0 else 0
    if seconds < 120:
        return "%ds" % seconds
    if seconds < 7200:
        return "%dm" % (seconds // 60)
    return "%dh%02dm" % (seconds // 3600, seconds % 3600 // 60)
