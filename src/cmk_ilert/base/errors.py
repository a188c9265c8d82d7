"""Exit codes and the few exception types the pipeline raises on purpose."""

from __future__ import annotations

import os

#: Checkmk's notification protocol: 0 sent, 1 retry later, 2 do not retry.
EXIT_OK = 0
EXIT_TEMPORARY = 1
EXIT_PERMANENT = 2


class CmkIlertError(Exception):
    """Base class; ``exit_code`` says how Checkmk should treat the failure."""

    exit_code = EXIT_PERMANENT


class ConfigError(CmkIlertError):
    """Rule parameters that cannot be used. Messages never contain a secret."""

    exit_code = EXIT_PERMANENT


class ContextError(CmkIlertError):
    """Notification input (environment or bulk stdin) that cannot be read."""

    exit_code = EXIT_PERMANENT


def where(exc: BaseException) -> str:
    """``file:line`` of the innermost frame: enough to report a bug, never a value."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return "?"
    return "%s:%d" % (os.path.basename(tb.tb_frame.f_code.co_filename), tb.tb_lineno)
