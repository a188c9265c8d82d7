"""``heartbeat``: tell iLert this site can still notify (for the site cron).

Pings at most once per ``--min-interval`` (iLert allows 5 pings a minute per
heartbeat key) and skips the ping while the outbox holds an event older than
``--max-pending-age``, so a stuck notification path turns into an iLert alert.
The URL carries the heartbeat key and is never printed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time
from typing import Mapping

from .errors import EXIT_OK, EXIT_PERMANENT, EXIT_TEMPORARY, ConfigError
from .outbox import Outbox
from .output import Printer
from .params import validate_base_url
from .paths import state_dir


def run_heartbeat(args: argparse.Namespace, env: Mapping[str, str], printer: Printer) -> int:
    url = (args.url or env.get("ILERT_HEARTBEAT_URL", "")).strip()
    if args.url_file:
        try:
            with open(args.url_file, "r", encoding="utf-8") as handle:
                url = handle.read().strip()
        except OSError as exc:
            raise ConfigError("cannot read the heartbeat URL file (%s)" % type(exc).__name__) from None
    if not url:
        raise ConfigError("no heartbeat URL: use --url-file, $ILERT_HEARTBEAT_URL or the argument")
    printer.add_secrets([url, url.rstrip("/").rsplit("/", 1)[-1]])
    validate_base_url(url, "heartbeat URL")
    outbox = Outbox(state_dir(env))
    now = time.time()
    if outbox.exists():
        from .status import collect

        info = collect(outbox, now)
        if info["pending"] and info["oldest_age"] > args.max_pending_age:
            printer.line("heartbeat: skipped, an event has waited %ds in the outbox" % info["oldest_age"])
            return EXIT_TEMPORARY
    outbox.ensure()
    stamp = os.path.join(outbox.root, "heartbeat-%s.last" % hashlib.sha256(url.encode()).hexdigest()[:16])
    try:
        last = os.stat(stamp).st_mtime
    except FileNotFoundError:
        last = 0.0
    if now - last < args.min_interval:
        printer.line("heartbeat: skipped, last ping %ds ago" % (now - last))
        return EXIT_OK
    import requests

    try:
        response = requests.get(url, timeout=(args.timeout, args.timeout), allow_redirects=False,
                                headers={"User-Agent": "cmk_ilert heartbeat"})
        status = response.status_code
        response.close()
    except Exception as exc:  # noqa: BLE001
        printer.line("heartbeat: failed (%s)" % type(exc).__name__)
        return EXIT_TEMPORARY
    if 200 <= status < 300:
        with open(stamp, "w"):
            pass
        printer.line("heartbeat: ok (HTTP %d)" % status)
        return EXIT_OK
    printer.line("heartbeat: failed (HTTP %d)" % status)
    return EXIT_TEMPORARY if status == 429 or status >= 500 else EXIT_PERMANENT
