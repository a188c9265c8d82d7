"""notify: the notification pipeline Checkmk runs, from context to exit code.

Job: the script's entry (``script``: watchdog, argument handling, no traceback
ever), the mapping of a notification to iLert events (``mapping``, pure), event
identities for dedup and order (``identity``), optional hardware facts from the
site's inventory (``inventory``), and the notify run itself (``run``: events →
outbox → delivery → one line per event and Checkmk's exit code; ``fallback``:
direct delivery, in order, when the outbox cannot be used).

May import: ``cmk_ilert.outbox``, ``cmk_ilert.ilert``, ``cmk_ilert.checkmk``,
``cmk_ilert.base``, the standard library.
"""
