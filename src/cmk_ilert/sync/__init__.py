"""sync: what responders do in iLert, reflected in Checkmk through Livestatus.

Job: one bounded sync run (``run``) that lists this site's alerts in iLert and
acknowledges or comments the Checkmk objects they belong to, with its state
between runs (``state``: what was done, so nothing is applied twice).

May import: ``cmk_ilert.notify`` (the alert-key scheme), ``cmk_ilert.outbox``,
``cmk_ilert.ilert``, ``cmk_ilert.checkmk``, ``cmk_ilert.base``, the standard
library.
"""
