"""``status``: what waits in the outbox, readable at 3 a.m., usable as a local check.

States (exit code and local check): 0 OK, 1 WARN (an event waits longer than
``--warn``), 2 CRIT (dead letters not yet retried or discarded, an event waits
longer than ``--crit``, or the outbox cannot be written; see ``health``),
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
from typing import Any, Dict, List, Mapping, Tuple

from ..base.errors import EXIT_OK, EXIT_PERMANENT, EXIT_TEMPORARY
from ..base.fsutil import errno_name, read_regular, unlink, write_new
from ..base.output import Printer
from ..base.text import local_time
from ..checkmk.paths import state_dir
from ..outbox import links as alertlinks
from ..outbox.layout import check_safe_dir, unusable_reason
from ..outbox.policy import due_at
from ..outbox.ratelimit import RateLimiter
from ..outbox.sender import entry_secrets
from ..outbox.store import Outbox

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
    sources: Dict[str, str] = {}  # rate-limit file name -> the endpoint and key hint it stands for
    for group, names in sorted(outbox.groups().items()):
        entries = outbox.load_group(group, names)
        if not entries:
            continue
        for entry in entries:
            printer.add_secrets(entry_secrets(entry.data))
        head = entries[0].data
        for entry in entries:
            sources.setdefault(str(entry.data.get("rate_key", "")), _endpoint(entry.data))
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
            paused.append({"rate_key": name[:-5], "paused_for": _seconds(until - now), "until": local_time(until),
                           "source": sources.get(name[:-5], "an alert source without queued events")})
    dead = []
    for path, record in outbox.dead_letters():
        kept = record.get("entry")
        if isinstance(kept, dict):
            printer.add_secrets(entry_secrets(kept))
        dead.append({
            "id": dead_id(path),
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
            "superseded": superseded, "writable": _writable(outbox), "reserve": outbox.has_reserve(),
            "reconcile": reconcile_counts(outbox.root, now),
            "sent_recently": _sent_recently(outbox),
            "pending": sum(k["pending"] for k in keys),
            "oldest_age": max((k["oldest_age"] for k in keys), default=0.0)}


def dead_id(path: str) -> str:
    """What ``retry`` and ``discard`` take: the dead letter's file name without ``.json``."""
    name = os.path.basename(path)
    return name[:-len(".json")] if name.endswith(".json") else name


def health(info: Mapping[str, Any], warn: float, crit: float) -> Tuple[int, List[str]]:
    """The one notion of health, for ``status`` and ``heartbeat``: the state and why.

    CRIT ("this site cannot notify"): an event rejected and not yet handled (a dead
    letter: a wrong or revoked key, a wrong URL or source type, ...; it stays until it
    is retried or discarded), an event (so its key: failing, or paused by iLert's rate
    limit) waiting longer than ``crit``, or an outbox that cannot be written.
    WARN: an event waiting longer than ``warn``, or no space reserve (it was used on
    a full disk and there is no room yet to make it again)."""
    reasons: List[str] = []
    code = EXIT_OK
    if info["pending"] and info["oldest_age"] > warn:
        code = EXIT_TEMPORARY
        reasons.append("an event has waited %s" % _age(info["oldest_age"]))
    if info["pending"] and info["oldest_age"] > crit:
        code = EXIT_PERMANENT
    if not info.get("reserve", True):
        code = max(code, EXIT_TEMPORARY)
        reasons.append("no space reserve: the disk was full (or is); free space, the next flush makes it again")
    if info["dead"]:
        code = EXIT_PERMANENT
        first = info["dead"][0]
        reasons.append("%s not handled (%s)" % (plural(len(info["dead"]), "rejected event"), first["reason"][:120]))
    if info.get("writable"):
        code = EXIT_PERMANENT
        reasons.append("the outbox cannot be written: %s" % info["writable"])
    return code, reasons


def _writable(outbox: Outbox) -> str:
    """'' if a small file can be written in the outbox now, else why not."""
    probe = os.path.join(outbox.tmp, ".probe.%d.tmp" % os.getpid())
    try:
        write_new(probe, b"\0" * 4096, sync=False)
    except OSError as exc:
        return errno_name(exc)
    unlink(probe)
    return ""


def _sent_recently(outbox: Outbox) -> bool:
    try:
        return bool(os.listdir(outbox.sent))
    except OSError:
        return False


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
    code, reasons = health(info, warn, crit)
    if as_json:
        info["exit_code"] = code
        info["reasons"] = reasons
        printer.raw(json.dumps(info, indent=2, ensure_ascii=False, allow_nan=False))
        return code
    if local_check:
        text = "%s pending, oldest %s, %s" % (info["pending"], _age(info["oldest_age"]),
                                              plural(len(info["dead"]), "dead letter"))
        if info["writable"]:
            text += "; the outbox cannot be written: %s" % info["writable"]
        elif not info["reserve"]:
            text += "; no space reserve: the disk was full"
        if info["dead"]:
            text += "; run 'python3 -m cmk_ilert dead' for reasons"
        if not (info["pending"] or info["dead"] or info["sent_recently"]):
            text += ", nothing sent yet"
        printer.raw('%d "iLert outbox" pending=%d|dead=%d|oldest_age=%.0f %s' % (
            code, info["pending"], len(info["dead"]), info["oldest_age"], text))
        return code
    printer.raw("cmk_ilert outbox %s: %s" % (info["directory"], _VERDICT[code]))
    if info["writable"]:
        printer.raw("  the outbox cannot be written: %s; free space or fix the permissions" % info["writable"])
    if not info["reserve"]:
        printer.raw("  no space reserve: it was used to store an event on a full disk, or there is no room to make "
                    "it again; free space, the next flush makes it again")
    if not info["pending"] and not info["sent_recently"] and not info["dead"]:
        printer.raw("  nothing pending, nothing sent yet")
    elif not info["pending"]:
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
        printer.raw("  alert source [%s] paused after iLert answered 429, until %s (%s)" % (
            p["source"], p["until"], _age(p["paused_for"])))
    if info["dead"]:
        printer.raw("  %s: rejected permanently, NOT delivered; fix the cause, then 'retry' (sends them again, "
                    "in order) or 'discard' them:" % plural(len(info["dead"]), "dead letter"))
        for d in info["dead"]:
            printer.raw("  - %s %s [%s], %s ago: %s\n    id %s" % (
                d["event_type"] or "-", d["alert_key"], d["endpoint"], _age(d["age"]), d["reason"], d["id"]))
    if info["superseded"]:
        shown = info["superseded"][-5:]
        events = sum(len(r["events"] or []) for r in info["superseded"])
        printer.raw("  %s superseded in the last 24h, never sent because the problem had recovered first; "
                    "see \"Coalesce queued events\" (coalesce):" % plural(events, "event"))
        for r in shown:
            printer.raw("  - %s [%s], %s ago: %s" % (r["alert_key"], r["endpoint"], _age(r["ago"]),
                                                    " ".join(str(e) for e in r["events"] or [])))
    r = info["reconcile"]
    if r:
        printer.raw("  sync --reconcile: last run resolved %d stale, reported %d missing (%d raised), %d left for "
                    "the next runs, %d left alone (%s ago)" % (r["resolved"], r["reported"], r["raised"], r["left"],
                                                               r["alone"], _age(r["ago"])))
    if info["pending"]:
        printer.raw("  deliver now: python3 -m cmk_ilert flush --now")
    return code


#: What the last ``sync --reconcile`` run did: ``sync/reconcile_state.py`` writes it (read
#: here without loading ``sync``: ``status`` runs from the local check).
RECONCILE_FILE = ("sync", "reconcile.json")
RECONCILE_COUNTS = ("resolved", "raised", "reported", "left", "alone")


def reconcile_counts(root: str, now: float) -> Any:
    """The counts of the last reconciling sync run, or None (never, unreadable, odd)."""
    try:
        data = json.loads(read_regular(os.path.join(root, *RECONCILE_FILE), 4 << 20).decode("utf-8"))
    except (OSError, ValueError):
        return None
    last = data.get("last") if isinstance(data, dict) else None
    if not isinstance(last, dict):
        return None
    out: Dict[str, Any] = {}
    for name in RECONCILE_COUNTS:
        value = last.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return None
        out[name] = value
    out["ago"] = _seconds(now - _number(last.get("t"), now))
    return out


def _missing(outbox: Outbox, printer: Printer, local_check: bool, as_json: bool) -> int:
    why = ("no outbox at %s: not the site user, not a site, a wrong CMK_ILERT_STATE_DIR, or no notification "
           "with the outbox on has run yet" % outbox.root)
    return _unread(outbox, False, EXIT_UNKNOWN, why, printer, local_check, as_json)


def _unsafe(outbox: Outbox, why: str, printer: Printer, local_check: bool, as_json: bool) -> int:
    """A state directory other users can write is not read (what it holds may be planted):
    CRIT, because notifications go out without the outbox until it is fixed."""
    return _unread(outbox, True, EXIT_PERMANENT, why, printer, local_check, as_json)


def _unread(outbox: Outbox, exists: bool, code: int, why: str, printer: Printer, local_check: bool,
            as_json: bool) -> int:
    """The verdict of an outbox that is not read, in each output format."""
    if as_json:
        printer.raw(json.dumps({"directory": outbox.root, "exists": exists, "keys": [], "paused": [], "dead": [],
                                "superseded": [], "pending": 0, "oldest_age": 0.0, "exit_code": code,
                                "problem": why}, indent=2, ensure_ascii=False))
    elif local_check:
        printer.raw('%d "iLert outbox" - %s' % (code, why))
    else:
        printer.raw("cmk_ilert outbox %s: %s" % (outbox.root, _VERDICT[code]))
        printer.raw("  " + why)
    return code


def plural(count: int, word: str) -> str:
    return "%d %s%s" % (count, word, "" if count == 1 else "s")


def _age(seconds: float) -> str:
    seconds = int(seconds) if math.isfinite(seconds) and seconds > 0 else 0
    if seconds < 120:
        return "%ds" % seconds
    if seconds < 7200:
        return "%dm" % (seconds // 60)
    return "%dh%02dm" % (seconds // 3600, seconds % 3600 // 60)
