"""``heartbeat``: tell iLert this site can still notify (for the site cron).

Pings at most once per ``--min-interval`` (iLert allows 5 pings a minute per
heartbeat key) and only while ``status`` would not say CRIT with ``--max-pending-age``
as its limit (one notion of health, ``status.health``): no ping while an event was
rejected and is not yet retried or discarded (wrong or revoked key, wrong URL or
source type), while an event (its key failing or paused) has waited longer than
``--max-pending-age``, or while the outbox cannot be written. A skipped ping says
why in one line and exits 1, so iLert alerts when this site can no longer notify.
The URL carries the heartbeat key and is never printed. One ping is bounded by
``--timeout`` (wall clock), and overlapping runs do not pile up: a run that
finds another one pinging the same URL exits at once.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Mapping

from ..base.digest import sha256
from ..base.errors import EXIT_OK, EXIT_PERMANENT, EXIT_TEMPORARY, ConfigError
from ..base.fsutil import errno_name, read_regular, touch
from ..base.locking import FileLock
from ..base.output import Printer
from ..checkmk.params import Proxy, validate_base_url
from ..checkmk.paths import state_dir
from ..ilert.transport import Answer, Transport, TransportConfig
from ..outbox.layout import unusable_reason
from ..outbox.store import Outbox
from .status import collect, health


def run_heartbeat(args: argparse.Namespace, env: Mapping[str, str], printer: Printer) -> int:
    url = (args.url or env.get("ILERT_HEARTBEAT_URL", "")).strip()
    if args.url_file:
        try:
            url = read_regular(args.url_file, 4096).decode("utf-8", "replace").strip()
        except OSError as exc:
            raise ConfigError("cannot read the heartbeat URL file %s: %s" % (args.url_file, errno_name(exc))) from None
    if not url:
        raise ConfigError("no heartbeat URL: use --url-file, $ILERT_HEARTBEAT_URL or the argument")
    printer.add_secrets([url, url.rstrip("/").rsplit("/", 1)[-1]])
    validate_base_url(url, "heartbeat URL")
    outbox = Outbox(state_dir(env))
    now = time.time()
    try:
        outbox.ensure()  # first: a directory other users can write is neither read nor used
    except OSError as exc:
        printer.line("heartbeat: outbox %s unusable: %s" % (outbox.root, unusable_reason(exc)))
        return EXIT_TEMPORARY
    info = collect(outbox, now, printer)
    code, reasons = health(info, args.max_pending_age, args.max_pending_age)
    if code == EXIT_PERMANENT:
        printer.line("heartbeat: skipped, this site cannot notify: %s; see status" % "; ".join(reasons))
        return EXIT_TEMPORARY
    digest = sha256(url.encode("utf-8", "replace")).hexdigest()[:16]
    lock = FileLock(os.path.join(outbox.locks, "heartbeat-%s.lock" % digest))
    try:
        locked = lock.acquire(wait=0.0)
    except OSError:
        locked = False
    if not locked:
        if not args.quiet:
            printer.line("heartbeat: skipped, another heartbeat is running")
        return EXIT_OK
    try:
        return _ping(url, os.path.join(outbox.root, "heartbeat-%s.last" % digest), now, args, printer)
    finally:
        lock.release()


def _ping(url: str, stamp: str, now: float, args: argparse.Namespace, printer: Printer) -> int:
    try:
        last = os.lstat(stamp).st_mtime
    except OSError:
        last = 0.0
    if 0 <= now - last < args.min_interval:
        if not args.quiet:
            printer.line("heartbeat: skipped, last ping %ds ago" % (now - last))
        return EXIT_OK

    timeout = min(max(float(args.timeout), 1.0), 50.0)
    transport = Transport(TransportConfig(timeout, True, Proxy("environment")))
    try:
        answer = transport.exchange("GET", url, time.monotonic() + timeout,
                                    headers={"User-Agent": "cmk_ilert heartbeat"})
    finally:
        transport.close()
    if not isinstance(answer, Answer):
        printer.line("heartbeat: failed, %s" % answer.detail)
        return EXIT_TEMPORARY
    status = answer.status
    if 200 <= status < 300:
        try:
            touch(stamp)
        except OSError as exc:
            printer.line("heartbeat: ok (HTTP %d), but the stamp could not be written: %s" % (status, errno_name(exc)))
            return EXIT_OK
        if not args.quiet:
            printer.line("heartbeat: ok (HTTP %d)" % status)
        return EXIT_OK
    printer.line("heartbeat: failed (HTTP %d)" % status)
    return EXIT_TEMPORARY if status == 429 or status >= 500 else EXIT_PERMANENT
