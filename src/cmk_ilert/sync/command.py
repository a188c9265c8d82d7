"""The ``sync`` command around one run: the user API key (password store or a 0600
file, never printed), the state directory's safety, one run at a time per site
(a lock), and a hard time bound (SIGALRM) even if a peer trickles bytes below
every timeout."""

from __future__ import annotations

import argparse
import os
import signal
import stat
import time
from typing import Any, Mapping

from ..base.errors import EXIT_OK, EXIT_TEMPORARY, ConfigError
from ..base.locking import FileLock
from ..base.output import Printer
from ..checkmk.password_store import site_lookup
from ..checkmk.paths import state_dir
from ..ilert.alerts import Interrupted
from ..outbox.layout import UnsafeStateDir, unusable_reason
from ..outbox.store import Outbox
from . import state as sync_state
from .options import DEFAULT_KEY_FILE, Options, options
from .run import Run

MAX_KEY_FILE = 4096


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

        value = site_lookup(opts.store_id)
        if not value or not value.strip():
            raise ConfigError("password store entry '%s' for the sync API key not found" % opts.store_id)
        return _one_key(value, "password store entry '%s'" % opts.store_id)
    home = env.get("HOME") or env.get("OMD_ROOT") or os.path.expanduser("~")
    path = opts.key_file or os.path.join(home, DEFAULT_KEY_FILE)

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
