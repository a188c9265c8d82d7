"""The ``sync`` command's options: its arguments, their defaults and checks."""

from __future__ import annotations

import argparse
import os
from typing import NamedTuple, Optional, Tuple

from ..base.errors import ConfigError
from ..checkmk.params import DEFAULT_API_URL, validate_base_url

DEFAULT_KEY_FILE = os.path.join("etc", "cmk_ilert", "sync.key")
#: Open alerts older than this are not looked at (an alert can stay open that long).
DEFAULT_LOOK_BACK_HOURS = 720.0
#: ``--reconcile-grace``: an object must show its state this long before drift is acted on.
DEFAULT_RECONCILE_GRACE_MINUTES = 15.0
#: ``--reconcile-max``: RESOLVEs and ALERTs queued (and problems reported) per run.
DEFAULT_RECONCILE_MAX = 20


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
    # drift between iLert and Checkmk (sync/reconcile.py); off by default
    reconcile: bool = False
    reconcile_raise: bool = False
    reconcile_grace: float = DEFAULT_RECONCILE_GRACE_MINUTES * 60.0  # seconds
    reconcile_max: int = DEFAULT_RECONCILE_MAX


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
    parser.add_argument("--reconcile", action="store_true",
                        help="resolve this site's alerts that stay open in iLert while Checkmk shows the object "
                             "OK/UP, and report hard problems without an open iLert alert (docs/sync.md)")
    parser.add_argument("--reconcile-raise", action="store_true",
                        help="with --reconcile: also raise those problems in iLert through the outbox")
    parser.add_argument("--reconcile-grace", type=float, default=DEFAULT_RECONCILE_GRACE_MINUTES, metavar="MINUTES",
                        help="act only on states Checkmk has shown this long (default %(default)g)")
    parser.add_argument("--reconcile-max", type=int, default=DEFAULT_RECONCILE_MAX, metavar="N",
                        help="at most N resolves/raises (and N problems reported) per run, oldest first "
                             "(default %(default)d)")
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
    if args.reconcile_raise and not args.reconcile:
        raise ConfigError("--reconcile-raise needs --reconcile")
    if not 0 <= args.reconcile_grace <= 7 * 24 * 60:
        raise ConfigError("--reconcile-grace must be between 0 and 10080 minutes")
    if not 1 <= args.reconcile_max <= 1000:
        raise ConfigError("--reconcile-max must be between 1 and 1000")
    return Options(args.store_id, args.key_file, api_url, tuple(args.alert_source), args.max_time, args.quiet,
                   args.dry_run, args.look_back * 3600.0, template, args.reconcile, args.reconcile_raise,
                   args.reconcile_grace * 60.0, args.reconcile_max)
