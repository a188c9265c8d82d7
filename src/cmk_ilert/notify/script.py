"""Entry point of the notification script Checkmk runs (kept import-light:
no argparse, no requests until an event really has to be sent)."""

from __future__ import annotations

import os
import sys
import threading
from typing import Callable, List, Mapping, NoReturn, Optional, Union

from ..base.errors import EXIT_PERMANENT, EXIT_TEMPORARY, CmkIlertError, where
from ..base.output import Printer
from .progress import Progress

#: Checkmk kills a notification plugin after 60 s; whatever happens (a hung
#: file system, a resolver that ignores signals), the run ends before that.
HARD_LIMIT = 55.0


def start_watchdog(seconds: float, message: Union[str, Callable[[], str]], code: int) -> threading.Timer:
    """Last resort: end the process after ``seconds`` with one line and ``code``.
    The outbox is crash-safe (every entry is durable before its first attempt),
    so ending in the middle of anything loses nothing that was queued; a
    callable ``message`` says what was queued at that moment."""

    def bail() -> None:
        try:
            text = message() if callable(message) else message
            os.write(1, ("cmk_ilert: %s\n" % text).encode("utf-8"))
        except OSError:
            pass
        os._exit(code)

    timer = threading.Timer(seconds, bail)
    timer.daemon = True
    timer.start()
    return timer


def main(argv: Optional[List[str]] = None, environ: Optional[Mapping[str, str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    env = os.environ if environ is None else environ
    printer = Printer()
    progress = Progress()
    watchdog = start_watchdog(HARD_LIMIT, lambda: progress.line(HARD_LIMIT), EXIT_TEMPORARY)
    try:
        return _main(args, env, printer, progress)
    finally:
        watchdog.cancel()


def exit_now(code: int) -> NoReturn:
    """End the process with ``code`` without tearing the interpreter down.

    By the time a run returns, everything that matters is on disk or with the
    kernel: outbox files are written with ``os.write`` (and fsync'd where the
    outbox promises it), locks are flocks the kernel drops, every output line
    was flushed. What is left is Python freeing every module and object, about
    20 ms once ``requests`` is imported (docs/performance.md, lever 10).
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def _main(args: List[str], env: Mapping[str, str], printer: Printer, progress: Optional[Progress] = None) -> int:
    try:
        from ..checkmk.context import from_environ, parse_bulk  # lazy: the watchdog is armed first
        from .run import run_notify  # lazy: as above

        if "--bulk" in args:
            data = sys.stdin.buffer.read().decode("utf-8", "replace")
            _, contexts = parse_bulk(data)
            if not contexts:
                printer.line("bulk call without notifications, nothing to do")
                return 0
            return run_notify(contexts, env, printer, bulk=True, progress=progress)
        return run_notify([from_environ(env)], env, printer, progress=progress)
    except CmkIlertError as exc:
        printer.line("error: %s" % exc)
        return exc.exit_code
    except KeyboardInterrupt:
        printer.line("interrupted")
        return 1
    except BaseException as exc:  # noqa: BLE001 - never a traceback in notify.log
        if isinstance(exc, SystemExit) and isinstance(exc.code, int):
            return exc.code
        printer.line("internal error (%s at %s): please report this with 'python3 -m cmk_ilert dry-run' output; "
                     "see 'python3 -m cmk_ilert status' for events already queued" % (type(exc).__name__,
                                                                                       where(exc)))
        return EXIT_PERMANENT
