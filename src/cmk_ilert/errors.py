"""Exit codes and the few exception types the pipeline raises on purpose."""

from __future__ import annotations

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
