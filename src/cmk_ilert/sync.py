"""``sync``: what responders do in iLert shows up in Checkmk, pulled by the site's cron.

Each run (bounded by ``--max-time``, one at a time per site):

1. lists this site's open alerts (``states=PENDING&states=ACCEPTED``) created within the
   look-back window, and the alerts created since the last run that are already RESOLVED;
   alerts seen open by an earlier run that left the open list are fetched one by one
   (``GET /api/alerts/{id}``) to learn whether they were resolved. ``from``/``until`` select by
   *creation* time (iLert's API reference), so "changed since the last run" cannot be asked
   for directly;
2. keeps the alerts whose key belongs to this site (``cmk/<site>/...``), maps each key back to
   the host/service (the key index that delivery writes, else the key's own parts looked up
   case-insensitively in Livestatus);
3. for each new transition (alert id + status) asks Livestatus for the object's state first:
   ACCEPTED by a responder + unacknowledged problem -> ``ACKNOWLEDGE_*_PROBLEM``;
   RESOLVED by a responder + still a problem -> ``ADD_*_COMMENT`` (never a fake recovery).

Crash safety: a transition is written to the state file as an *intent* before its command is
sent and as *done* after. Both commands are guarded by the state query of the next attempt
(an acknowledged problem is never acknowledged again; a comment starting "Resolved in iLert"
that names ``iLert alert <id>`` is never added again), and an intent younger than
INTENT_GRACE is waited out first, because Livestatus applies commands asynchronously. So a
SIGKILL at any point never applies a transition twice, and the next run completes it.

No echo loop: the acknowledgement is sent with notify=1, so Checkmk's ACKNOWLEDGEMENT
notification reaches iLert as ACCEPT on an alert that is already accepted, which iLert answers
with ALREADY_ACCEPTED and delivery counts as delivered; transitions that an event from Checkmk
caused in iLert (``acknowledgedByType``/``resolvedByType`` SOURCE) are never mirrored back.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import time
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Tuple, Union

from . import alertlinks, keyindex, livestatus, sync_state
from .errors import EXIT_OK, EXIT_TEMPORARY, ConfigError
from .ilert_alerts import ApiError, Client, Interrupted, RemoteAlert
from .locking import FileLock
from .mapping import MAX_ALERT_KEY
from .outbox import Outbox, UnsafeStateDir, unusable_reason
from .output import Printer
from .params import DEFAULT_API_URL, validate_base_url
from .paths import state_dir

DEFAULT_KEY_FILE = os.path.join("etc", "cmk_ilert", "sync.key")
#: Open alerts older than this are not looked at (an alert can stay open that long).
DEFAULT_LOOK_BACK_HOURS = 720.0
#: The first run (and every run after it) never looks further back than this before it.
FIRST_LOOK_BACK = 3600.0
#: ``from`` of the RESOLVED listing: the last complete run minus this overlap.
OVERLAP = 600.0
#: Alerts fetched one by one per run (the rest wait for the next run).
MAX_SINGLE = 20
#: Longest pause honoured from a Retry-After header.
MAX_PAUSE = 600.0
HTTP_TIMEOUT = 10.0
LIVESTATUS_TIMEOUT = 5.0
MAX_KEY_FILE = 4096
#: How long Livestatus may take to apply a command (see Run._settled).
INTENT_GRACE = 5.0

ACCEPTED, RESOLVED = "ACCEPTED", "RESOLVED"
_HASHED_KEY = re.compile(r"~[0-9a-f]{16}$")
_EXACT_KEY = re.compile(r"~[0-9a-f]{10}$")


class Options(NamedTuple):
    store_id: Optional[str]
    key_file: Optional[str]
    api_url: str
    sources: Tuple[int, ...]
    max_time: float
    quiet: bool
    dry_run: bool
    look_back: float  # seconds
    alert_url: str  # template with {id}, or ""


class LiveObject(NamedTuple):
    """A host (``service`` empty) or service as Livestatus knows it."""

    host: str
    service: str
    state: int
    acknowledged: bool
    comments: Tuple[str, ...]


class Wanted(NamedTuple):
    """Where an alert key points: exact names (key index) or folded names (the key itself)."""

    host: str
    service: str
    exact: bool


def add_arguments(parser: argparse.ArgumentParser) -> None:
    key = parser.add_mutually_exclusive_group()
    key.add_argument("--store-id", metavar="ID", help="Checkmk password store id of the iLert user API key")
    key.add_argument("--key-file", metavar="FILE",
                     help="file holding the iLert user API key on one line, mode 0600 "
                          "(default ~/%s)" % DEFAULT_KEY_FILE)
    parser.add_argument("--api-url", default=DEFAULT_API_URL, help="iLert base URL (default %(default)s)")
    parser.add_argument("--alert-source", metavar="ID", type=int, action="append", default=[],
                        help="only alerts of this iLert alert source id (repeatable; default: all the key may read)")
    parser.add_argument("--max-time", type=float, default=50.0, metavar="SECONDS",
                        help="stop after this many seconds (default 50, below the cron interval)")
    parser.add_argument("--look-back", type=float, default=DEFAULT_LOOK_BACK_HOURS, metavar="HOURS",
                        help="ignore alerts opened longer ago than this (default %(default)g)")
    parser.add_argument("--alert-url", default="", metavar="TEMPLATE",
                        help="link to an alert in your iLert account for Checkmk comments, '{id}' is the "
                             "alert id (default: no link)")
    parser.add_argument("--quiet", action="store_true", help="print only what was changed in Checkmk, and errors")
    parser.add_argument("--dry-run", action="store_true",
                        help="show what would be done; send no Livestatus command, change no state")


def options(args: argparse.Namespace) -> Options:
    api_url = validate_base_url(args.api_url.strip(), "--api-url")
    if not 0 < args.max_time <= 3600:
        raise ConfigError("--max-time must be between 0 and 3600 seconds")
    if not 0 < args.look_back <= 24 * 366:
        raise ConfigError("--look-back must be between 0 and 8784 hours")
    if any(s <= 0 for s in args.alert_source):
        raise ConfigError("--alert-source ids are positive numbers")
    template = args.alert_url.strip()
    if template and (not template.startswith(("https://", "http://")) or "{id}" not in template):
        raise ConfigError("--alert-url must be an http(s) URL containing {id}")
    return Options(args.store_id, args.key_file, api_url, tuple(args.alert_source), args.max_time, args.quiet,
                   args.dry_run, args.look_back * 3600.0, template)


def run_sync(args: argparse.Namespace, env: Mapping[str, str], printer: Printer) -> int:
    started = time.monotonic()
    opts = options(args)
    site = env.get("OMD_SITE", "").strip()
    omd_root = env.get("OMD_ROOT", "").strip()
    if not site or not omd_root:
        raise ConfigError("OMD_SITE/OMD_ROOT are not set: run sync as the site user, e.g. from the site's cron")
    key = read_key(opts, env)
    printer.add_secrets([key])
    root = state_dir(env)
    try:
        Outbox(root).ensure()  # the state directory: the site user's, writable by nobody else, 0700
    except UnsafeStateDir as exc:
        raise ConfigError(str(exc.strerror)) from None
    except OSError as exc:
        printer.line("sync: state directory %s unusable: %s" % (root, unusable_reason(exc)))
        return EXIT_TEMPORARY
    lock = FileLock(os.path.join(root, sync_state.FOLDER, "lock"))
    if not lock.acquire(wait=0.0):
        printer.line("sync: another sync is running, nothing to do")
        return EXIT_OK
    deadline = started + opts.max_time
    previous = _arm_backstop(opts.max_time + 1.0)
    try:
        run = Run(opts, site, omd_root, root, key, printer, deadline)
        return run.main()
    except Interrupted:
        printer.line("sync: stopped, the run's time budget (--max-time %g s) is used up" % opts.max_time)
        return EXIT_TEMPORARY
    finally:
        _disarm_backstop(previous)
        lock.release()


def read_key(opts: Options, env: Mapping[str, str]) -> str:
    """The user API key from the password store or a 0600 file; never printed."""
    if opts.store_id:
        from .password_store import site_lookup

        value = site_lookup(opts.store_id)
        if not value or not value.strip():
            raise ConfigError("password store entry '%s' for the sync API key not found" % opts.store_id)
        return _one_key(value, "password store entry '%s'" % opts.store_id)
    home = env.get("HOME") or env.get("OMD_ROOT") or os.path.expanduser("~")
    path = opts.key_file or os.path.join(home, DEFAULT_KEY_FILE)
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ConfigError("no key file %s: put the iLert user API key there (mode 0600) or use --store-id"
                          % path) from None
    except OSError as exc:
        raise ConfigError("cannot open the key file %s (%s)" % (path, type(exc).__name__)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError("the key file %s is not a regular file" % path)
        if info.st_mode & 0o077:
            raise ConfigError("the key file %s is accessible by group or others (mode %04o): chmod 600 it"
                              % (path, stat.S_IMODE(info.st_mode)))
        if info.st_size > MAX_KEY_FILE:
            raise ConfigError("the key file %s is too large for a key" % path)
        raw = os.read(fd, MAX_KEY_FILE + 1)
    except OSError as exc:
        raise ConfigError("cannot read the key file %s (%s)" % (path, type(exc).__name__)) from None
    finally:
        os.close(fd)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("the key file %s is not UTF-8 text" % path) from None
    return _one_key(text, "the key file %s" % path)


def _one_key(text: str, where: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) != 1 or any(c.isspace() or not c.isprintable() for c in lines[0]):
        raise ConfigError("%s must hold the iLert user API key on exactly one line" % where)
    return lines[0]


def _arm_backstop(seconds: float) -> Any:
    """SIGALRM after ``seconds``: a hard bound even if a peer trickles bytes below every timeout."""
    try:
        previous = signal.signal(signal.SIGALRM, _on_alarm)
    except ValueError:  # not the main thread
        return None
    signal.setitimer(signal.ITIMER_REAL, seconds)
    return previous


def _disarm_backstop(previous: Any) -> None:
    if previous is None:
        return
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


def _on_alarm(signum: int, frame: Any) -> None:
    raise Interrupted()


class Counts:
    def __init__(self) -> None:
        self.seen = 0
        self.acknowledged = 0
        self.commented = 0
        self.unchanged = 0
        self.skipped = 0


class Run:
    """One sync run."""

    def __init__(self, opts: Options, site: str, omd_root: str, root: str, key: str, printer: Printer,
                 deadline: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.opts = opts
        self.site = site
        self.prefix = "cmk/%s/" % " ".join(site.split()).casefold()
        self.socket = os.path.join(omd_root, *livestatus.SOCKET)
        self.root = root
        self.printer = printer
        self.deadline = deadline
        self.clock = clock
        self.client = Client(opts.api_url, key, HTTP_TIMEOUT, deadline, clock)
        self.state = sync_state.SyncState()
        self.counts = Counts()
        self.now = time.time()
        self.unsettled = False

    # -- the run ------------------------------------------------------------------------

    def main(self) -> int:
        state, note = sync_state.load(self.root)
        if note:
            self.printer.line("sync: " + note)
        self.state = state
        if not self.opts.dry_run:
            sync_state.clean_temporaries(self.root)
        if state.pause > self.now and not self.opts.dry_run:
            self.printer.line("sync: paused, iLert asked to wait %ds more (HTTP 429)" % (state.pause - self.now + 0.5))
            return EXIT_TEMPORARY
        if not state.first:
            state.first = self.now
        try:
            complete = self.sync()
        except ApiError as exc:
            if exc.rate_limited:
                pause = min(MAX_PAUSE, exc.retry_after if exc.retry_after is not None else 60.0)
                self.state.pause = time.time() + pause
                self.printer.line("sync: %s; pausing %ds" % (exc, pause))
            else:
                self.printer.line("sync: %s" % exc)
            self._save()
            return exc.exit_code
        except livestatus.LivestatusError as exc:
            self.printer.line("sync: %s; the next run retries" % exc)
            self._save()
            return EXIT_TEMPORARY
        complete = complete and not self.unsettled
        if complete:
            self.state.last = self.now
        self.state.prune(self.now - self.opts.look_back - 86400.0)
        self._save()
        self._summary()
        return EXIT_OK if complete else EXIT_TEMPORARY

    def sync(self) -> bool:
        opts = self.opts
        window = max(self.now - opts.look_back, self.state.first - FIRST_LOOK_BACK)
        open_alerts, complete = self.client.list(("PENDING", ACCEPTED), opts.sources, window, self.now)
        since = max(window, (self.state.last - OVERLAP) if self.state.last else self.now - FIRST_LOOK_BACK)
        resolved, complete_resolved = self.client.list((RESOLVED,), opts.sources, since, self.now)
        complete = complete and complete_resolved
        mine_open = [a for a in open_alerts if self.mine(a)]
        mine_resolved: Dict[int, RemoteAlert] = {a.id: a for a in resolved if self.mine(a)}
        open_ids = {a.id for a in mine_open}
        gone = [int(i) for i in self.state.watch if int(i) not in open_ids and int(i) not in mine_resolved]
        for alert_id in sorted(gone)[:MAX_SINGLE]:
            alert = self.client.get(alert_id)
            if alert is None or not self.mine(alert):
                self.state.watch.pop(str(alert_id), None)
            elif alert.status == RESOLVED:
                mine_resolved[alert.id] = alert
        complete = complete and len(gone) <= MAX_SINGLE
        for alert in mine_open:
            self.state.watch.setdefault(str(alert.id), {"t": self.now})
        for alert in mine_resolved.values():
            self.state.watch.pop(str(alert.id), None)
        transitions = [a for a in mine_open if a.status == ACCEPTED] + list(mine_resolved.values())
        self.counts.seen = len(mine_open) + len(mine_resolved)
        for alert in sorted(transitions, key=lambda a: (a.id, a.status)):
            self.transition(alert)
        return complete

    def mine(self, alert: RemoteAlert) -> bool:
        return alert.alert_key.casefold().startswith(self.prefix)

    # -- one transition ---------------------------------------------------------------------

    def transition(self, alert: RemoteAlert) -> None:
        tkey = "%d:%s" % (alert.id, alert.status)
        if tkey in self.state.done:
            return
        label = "alert %d %s" % (alert.id, alert.alert_key)
        if alert.by_type == "SOURCE":
            self.finish(tkey, "caused by an event from Checkmk", label, quietly=True)
            return
        wanted = self.wanted(alert.alert_key)
        if isinstance(wanted, str):
            self.counts.skipped += 1
            self.finish(tkey, "skipped: " + wanted, label, quietly=False)
            return
        intent = self.state.intent.get(tkey)
        if intent is not None and not self.opts.dry_run and not self._settled(intent):
            self.printer.line("sync: %s: an earlier run was stopped after deciding; the next run finishes it"
                              % label)
            self.unsettled = True
            return
        found = self.find(wanted)
        if isinstance(found, str):
            self.counts.skipped += 1
            self.finish(tkey, "skipped: " + found, label, quietly=False)
            return
        what = _what(found)
        marker = re.compile(r"^Resolved in iLert\b.*\biLert alert %d\b" % alert.id)
        if alert.status == ACCEPTED:
            if found.state == 0:
                return self.finish(tkey, "nothing to do: %s has no problem in Checkmk" % what, label)
            if found.acknowledged:
                return self.finish(tkey, "nothing to do: %s is already acknowledged in Checkmk" % what, label)
            name = "ACKNOWLEDGE_SVC_PROBLEM" if found.service else "ACKNOWLEDGE_HOST_PROBLEM"
            # sticky 2 (until OK/UP), notify 1 (see the module docstring), persistent 0
            args: List[Any] = [2, 1, 0, self.author(alert), "Accepted in iLert by %s (%s)" % (
                alert.by or "a responder", self.reference(alert))]
            done, verb = "acknowledged", "acknowledge"
        else:
            if found.state == 0:
                return self.finish(tkey, "nothing to do: %s shows no problem in Checkmk" % what, label)
            if any(marker.search(text) for text in found.comments):
                return self.finish(tkey, "nothing to do: %s already has the comment" % what, label)
            name = "ADD_SVC_COMMENT" if found.service else "ADD_HOST_COMMENT"
            # persistent 1: a record of what happened in iLert survives a core restart
            args = [1, self.author(alert), "Resolved in iLert by %s (%s). Checkmk still shows the problem." % (
                alert.by or "a responder", self.reference(alert))]
            done, verb = "commented", "comment"
        target = [found.host] + ([found.service] if found.service else [])
        if self.opts.dry_run:
            self.printer.line("sync: %s: would %s %s (%s in iLert%s)" % (
                label, verb, what, alert.status.lower(), _by(alert)))
            return None
        self.state.intent[tkey] = {"t": time.time(), "r": verb}
        self._save()
        livestatus.command(self.socket, name, target + args, self._live_deadline(), self.clock)
        self.state.intent.pop(tkey, None)
        if done == "acknowledged":
            self.counts.acknowledged += 1
        else:
            self.counts.commented += 1
        self.finish(tkey, "%s %s in Checkmk (%s in iLert%s)" % (done, what, alert.status.lower(), _by(alert)),
                    label, quietly=False, count=False)
        return None

    def _settled(self, intent: Mapping[str, Any]) -> bool:
        """Wait until a command an earlier (killed) run may have sent has surely been applied.

        Livestatus takes commands asynchronously; asking right after a crash could show the
        old state and send the command a second time. Returns False when the budget is short.
        """
        wait = float(intent.get("t", 0.0)) + INTENT_GRACE - time.time()
        if wait <= 0:
            return True
        if self.clock() + wait + 1.0 > self.deadline:
            return False
        time.sleep(wait)
        return True

    def finish(self, tkey: str, outcome: str, label: str, quietly: bool = True, count: bool = True) -> None:
        if count and outcome.startswith("nothing"):
            self.counts.unchanged += 1
        if not self.opts.dry_run:
            self.state.done[tkey] = {"t": time.time(), "r": outcome[:200]}
            if self.state.intent.pop(tkey, None) is not None or not count:
                self._save()  # a command was sent: record it at once; other outcomes at the end
        if not (quietly and self.opts.quiet):
            self.printer.line("sync: %s: %s" % (label, outcome))

    def author(self, alert: RemoteAlert) -> str:
        return "iLert: %s" % (alert.by or "a responder")

    def reference(self, alert: RemoteAlert) -> str:
        text = "iLert alert %d" % alert.id
        if self.opts.alert_url:
            text += " " + self.opts.alert_url.replace("{id}", str(alert.id))
        else:
            # the alertUrl iLert answered when delivery sent this key's last ALERT (alertlinks)
            url = alertlinks.last(self.root, alert.alert_key.casefold())
            if url and url.rstrip("/").endswith("/%d" % alert.id):
                text += " " + url
        return text

    # -- alert key -> Checkmk object --------------------------------------------------------

    def wanted(self, alert_key: str) -> Union[Wanted, str]:
        key = alert_key.casefold()
        if any(not c.isprintable() for c in key):
            return "the alert key holds control characters"
        target = keyindex.lookup(self.root, key)
        if target is not None and target.site.casefold() == self.site.casefold() and target.host:
            return Wanted(target.host, target.service, True)
        if len(key) == MAX_ALERT_KEY and _HASHED_KEY.search(key):
            return "the key ends in a hash and this site's key index does not know it"
        if _EXACT_KEY.search(key) and not (len(key) == MAX_ALERT_KEY and _HASHED_KEY.search(key)):
            # a digest of the exact names (they differ from the folded ones): Livestatus is asked
            # case-insensitively; two objects whose names differ only in case are refused by find()
            key = key[:-11]
        host, _, service = key[len(self.prefix):].partition("/")
        if not host:
            return "no host name in the key"
        return Wanted(host, service, False)

    def find(self, wanted: Wanted) -> Union[LiveObject, str]:
        op = "=" if wanted.exact else "=~"
        if wanted.service:
            lines = ["GET services", "Columns: host_name description state acknowledged comments_with_info",
                     "Filter: host_name %s %s" % (op, wanted.host), "Filter: description %s %s" % (op, wanted.service)]
        else:
            lines = ["GET hosts", "Columns: name state acknowledged comments_with_info",
                     "Filter: name %s %s" % (op, wanted.host)]
        rows = livestatus.query(self.socket, lines, self._live_deadline(), self.clock)
        objects = [o for o in (_live_object(row, bool(wanted.service)) for row in rows) if o is not None]
        what = "%s%s" % (wanted.host, "/" + wanted.service if wanted.service else "")
        if not objects:
            return "%s is not monitored on this site" % what
        if len(objects) > 1:
            return "%s matches %d objects in Livestatus (names differ only in case)" % (what, len(objects))
        found = objects[0]
        if any(c in found.host + found.service for c in ";\n\r"):
            return "%s cannot be addressed by a Livestatus command" % what
        return found

    def _live_deadline(self) -> float:
        return min(self.deadline, self.clock() + LIVESTATUS_TIMEOUT)

    # -- bookkeeping ----------------------------------------------------------------------------

    def _save(self) -> None:
        if not self.opts.dry_run:
            sync_state.save(self.root, self.state)

    def _summary(self) -> None:
        c = self.counts
        if self.opts.quiet and not (c.acknowledged or c.commented):
            return
        self.printer.line("sync: %d open or resolved alerts of site %s, %d acknowledged, %d commented, %d unchanged, "
                          "%d skipped (%d requests to iLert)%s" % (
                              c.seen, self.site, c.acknowledged, c.commented, c.unchanged, c.skipped,
                              self.client.requests, ", dry run: nothing changed" if self.opts.dry_run else ""))


def _live_object(row: List[Any], service: bool) -> Optional[LiveObject]:
    try:
        if service:
            host, desc, state, acked, comments = row[:5]
        else:
            host, state, acked, comments = row[:4]
            desc = ""
    except (TypeError, ValueError):
        return None
    if not isinstance(host, str) or not isinstance(desc, str) or isinstance(state, bool) \
            or not isinstance(state, int):
        return None
    texts: List[str] = []
    for entry in comments if isinstance(comments, list) else ():
        if isinstance(entry, list) and entry and isinstance(entry[-1], str):
            texts.append(entry[-1])
    return LiveObject(host, desc, state, bool(acked), tuple(texts))


def _what(found: LiveObject) -> str:
    return "%s/%s" % (found.host, found.service) if found.service else "host %s" % found.host


def _by(alert: RemoteAlert) -> str:
    return " by %s" % alert.by if alert.by else ""

